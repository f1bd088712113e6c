package identity

import (
	"fmt"
)

// Signer signs identity-update texts on behalf of one member: a wallet
// ([*EthereumSigner]), an installation ([*InstallationSigner]), or a
// caller's own (e.g. a remote wallet). [SignatureRequest.Sign] calls it
// once per update from the caller's goroutine; an implementation may block
// while a person approves.
type Signer interface {
	// Identifier returns the member whose signatures this signer makes.
	Identifier() MemberIdentifier
	// SignIdentityText signs text, the signature text of an identity
	// update, and returns the signature in the kind fit for the member.
	SignIdentityText(text string) (UnverifiedSignature, error)
}

// pendingAction is an action and the members that still have to sign it.
type pendingAction struct {
	action Action
	// signer is the initial identifier, existing member or recovery
	// identifier; newMember is the new member (AddAssociation only).
	signer, newMember MemberIdentifier
}

// SignatureRequest collects the actions of one identity update, then one
// signature from each member that must sign, the way libxmtp's
// SignatureRequestBuilder does: a member that signs several actions signs
// once, and that one signature fills every place it is needed. It is not
// safe for concurrent use.
type SignatureRequest struct {
	inboxID           InboxID
	clientTimestampNs uint64
	actions           []pendingAction
	sigs              map[memberKey]UnverifiedSignature
}

// NewSignatureRequest starts an update for inboxID stamped with
// clientTimestampNs (the caller's clock, in Unix nanoseconds).
func NewSignatureRequest(inboxID InboxID, clientTimestampNs uint64) *SignatureRequest {
	return &SignatureRequest{inboxID: inboxID, clientTimestampNs: clientTimestampNs, sigs: map[memberKey]UnverifiedSignature{}}
}

// CreateInbox adds a CreateInbox action for identifier (an Ethereum address
// or passkey) with nonce; the identifier signs it. It must come first.
func (r *SignatureRequest) CreateInbox(identifier MemberIdentifier, nonce uint64) *SignatureRequest {
	r.actions = append(r.actions, pendingAction{
		action: Action{Kind: ActionCreateInbox, Member: identifier, Nonce: nonce},
		signer: identifier,
	})
	return r
}

// AddAssociation adds newMember, signed by newMember and by existing (a
// member or the recovery identifier).
func (r *SignatureRequest) AddAssociation(newMember, existing MemberIdentifier) *SignatureRequest {
	r.actions = append(r.actions, pendingAction{
		action:    Action{Kind: ActionAddAssociation, Member: newMember},
		signer:    existing,
		newMember: newMember,
	})
	return r
}

// RevokeAssociation revokes member, signed by the recovery identifier.
func (r *SignatureRequest) RevokeAssociation(recovery, member MemberIdentifier) *SignatureRequest {
	r.actions = append(r.actions, pendingAction{
		action: Action{Kind: ActionRevokeAssociation, Member: member},
		signer: recovery,
	})
	return r
}

// ChangeRecoveryAddress makes newRecovery (an Ethereum address or passkey)
// the recovery identifier, signed by the current recovery identifier.
func (r *SignatureRequest) ChangeRecoveryAddress(recovery, newRecovery MemberIdentifier) *SignatureRequest {
	r.actions = append(r.actions, pendingAction{
		action: Action{Kind: ActionChangeRecoveryAddress, Member: newRecovery},
		signer: recovery,
	})
	return r
}

// SignatureText returns the text every signer signs (spec §5.3).
func (r *SignatureRequest) SignatureText() string {
	actions := make([]Action, len(r.actions))
	for i, p := range r.actions {
		actions[i] = p.action
	}
	return SignatureText(string(r.inboxID), r.clientTimestampNs, actions)
}

// MissingSigners returns the members whose signature is still needed, each
// once, in order of first need.
func (r *SignatureRequest) MissingSigners() []MemberIdentifier {
	var out []MemberIdentifier
	seen := map[memberKey]bool{}
	for _, p := range r.actions {
		for _, m := range []MemberIdentifier{p.signer, p.newMember} {
			if m.IsZero() || seen[m.key()] {
				continue
			}
			seen[m.key()] = true
			if _, ok := r.sigs[m.key()]; !ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// AddSignature verifies sig over the request's text and stores it for its
// signer. It fails with a [*SignatureError] if sig does not verify, and
// with [ErrUnknownSigner] if its signer is not a missing signer.
func (r *SignatureRequest) AddSignature(sig UnverifiedSignature) error {
	v, err := VerifySignature(r.SignatureText(), sig)
	if err != nil {
		return err
	}
	for _, m := range r.MissingSigners() {
		if m.Equal(v.signer) {
			r.sigs[m.key()] = sig
			return nil
		}
	}
	return fmt.Errorf("%w: %s %s", ErrUnknownSigner, v.signer.kind, v.signer)
}

// Sign asks s to sign the request's text and adds the signature.
func (r *SignatureRequest) Sign(s Signer) error {
	sig, err := s.SignIdentityText(r.SignatureText())
	if err != nil {
		return fmt.Errorf("identity: sign identity update: %w", err)
	}
	return r.AddSignature(sig)
}

// Build returns the signed update, or [ErrMissingSignature] while a signer
// is missing.
func (r *SignatureRequest) Build() (*UnverifiedUpdate, error) {
	if missing := r.MissingSigners(); len(missing) > 0 {
		return nil, fmt.Errorf("%w: %d signers missing", ErrMissingSignature, len(missing))
	}
	u := &UnverifiedUpdate{InboxID: string(r.inboxID), ClientTimestampNs: r.clientTimestampNs}
	for _, p := range r.actions {
		ua := UnverifiedAction{Action: p.action, Signature: r.sigs[p.signer.key()]}
		if !p.newMember.IsZero() {
			ua.NewMemberSignature = r.sigs[p.newMember.key()]
		}
		u.Actions = append(u.Actions, ua)
	}
	return u, nil
}
