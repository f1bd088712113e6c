package identity

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/association"
	"mlsbridge/wire/identityapi"
)

// UnverifiedAction is one decoded, unchecked action of an identity update.
type UnverifiedAction struct {
	Action
	// Signature is the initial identifier's signature (CreateInbox), the
	// existing member's or recovery identifier's (AddAssociation), or the
	// recovery identifier's (RevokeAssociation, ChangeRecoveryAddress).
	Signature UnverifiedSignature
	// NewMemberSignature is the new member's signature (AddAssociation
	// only; nil otherwise).
	NewMemberSignature UnverifiedSignature
}

// UnverifiedUpdate is a decoded identity update whose signatures are not
// checked (spec §5.2 IdentityUpdate). Nothing in it is trusted until
// [UnverifiedUpdate.Verify] succeeds.
type UnverifiedUpdate struct {
	// InboxID is the update's inbox_id, verbatim (it may be malformed).
	InboxID string
	// ClientTimestampNs is the signer's clock, shown in the signature text;
	// nobody checks it.
	ClientTimestampNs uint64
	Actions           []UnverifiedAction
	// SequenceID is the update's place in the inbox log assigned by the node
	// (spec §3.3), or 0 for an update not yet published.
	SequenceID uint64
}

// DecodeUpdate decodes the protobuf bytes of an IdentityUpdate. Malformed
// input gives a [*DecodeError]; it never panics.
func DecodeUpdate(b []byte) (*UnverifiedUpdate, error) {
	var p association.IdentityUpdate
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, &DecodeError{Reason: "malformed protobuf", Err: err}
	}
	return UpdateFromProto(&p)
}

// DecodeUpdateLog converts one entry of a GetIdentityUpdates response,
// keeping its sequence id.
func DecodeUpdateLog(l *identityapi.GetIdentityUpdatesResponse_IdentityUpdateLog) (*UnverifiedUpdate, error) {
	if l.GetUpdate() == nil {
		return nil, decodeErr("update", "missing")
	}
	u, err := UpdateFromProto(l.GetUpdate())
	if err != nil {
		return nil, err
	}
	u.SequenceID = l.GetSequenceId()
	return u, nil
}

// UpdateFromProto converts a wire IdentityUpdate with libxmtp's decoding
// rules (serialization.rs): every action and signature oneof must be set,
// identifiers are kept verbatim (an unspecified or unknown identifier kind
// means Ethereum; a passkey identifier string is hex), installation keys
// must be 32 bytes, and smart-contract-wallet account ids must be CAIP-10.
// (libxmtp also refuses here an installation key that is not a curve point;
// this package refuses it when verifying, with the same end result.)
func UpdateFromProto(p *association.IdentityUpdate) (*UnverifiedUpdate, error) {
	u := &UnverifiedUpdate{InboxID: p.GetInboxId(), ClientTimestampNs: p.GetClientTimestampNs()}
	for i, a := range p.GetActions() {
		ua, err := decodeAction(fmt.Sprintf("actions[%d]", i), a)
		if err != nil {
			return nil, err
		}
		u.Actions = append(u.Actions, ua)
	}
	return u, nil
}

func decodeAction(field string, a *association.IdentityAction) (UnverifiedAction, error) {
	var ua UnverifiedAction
	var err error
	switch k := a.GetKind().(type) {
	case *association.IdentityAction_CreateInbox:
		c := k.CreateInbox
		ua.Kind, ua.Nonce = ActionCreateInbox, c.GetNonce()
		if ua.Member, err = decodePublicIdentifier(field+".create_inbox.initial_identifier", c.GetInitialIdentifier(), c.GetInitialIdentifierKind(), c.RelyingParty); err != nil {
			return ua, err
		}
		ua.Signature, err = decodeSignature(field+".create_inbox.initial_identifier_signature", c.GetInitialIdentifierSignature())
	case *association.IdentityAction_Add:
		ad := k.Add
		ua.Kind = ActionAddAssociation
		if ua.NewMemberSignature, err = decodeSignature(field+".add.new_member_signature", ad.GetNewMemberSignature()); err != nil {
			return ua, err
		}
		if ua.Signature, err = decodeSignature(field+".add.existing_member_signature", ad.GetExistingMemberSignature()); err != nil {
			return ua, err
		}
		ua.Member, err = decodeMember(field+".add.new_member_identifier", ad.GetNewMemberIdentifier())
	case *association.IdentityAction_Revoke:
		r := k.Revoke
		ua.Kind = ActionRevokeAssociation
		if ua.Signature, err = decodeSignature(field+".revoke.recovery_identifier_signature", r.GetRecoveryIdentifierSignature()); err != nil {
			return ua, err
		}
		ua.Member, err = decodeMember(field+".revoke.member_to_revoke", r.GetMemberToRevoke())
	case *association.IdentityAction_ChangeRecoveryAddress:
		c := k.ChangeRecoveryAddress
		ua.Kind = ActionChangeRecoveryAddress
		if ua.Member, err = decodePublicIdentifier(field+".change_recovery_address.new_recovery_identifier", c.GetNewRecoveryIdentifier(), c.GetNewRecoveryIdentifierKind(), c.RelyingParty); err != nil {
			return ua, err
		}
		ua.Signature, err = decodeSignature(field+".change_recovery_address.existing_recovery_identifier_signature", c.GetExistingRecoveryIdentifierSignature())
	default:
		return ua, decodeErr(field, "action kind missing")
	}
	return ua, err
}

// decodePublicIdentifier reads a string identifier with its kind, as
// libxmtp's Identifier::from_proto does.
func decodePublicIdentifier(field, s string, kind association.IdentifierKind, relyingParty *string) (MemberIdentifier, error) {
	if kind != association.IdentifierKind_IDENTIFIER_KIND_PASSKEY {
		return EthereumMember(Address(s)), nil
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return MemberIdentifier{}, decodeErr(field, "passkey identifier is not hex")
	}
	return PasskeyMember(key, relyingParty), nil
}

func decodeMember(field string, m *association.MemberIdentifier) (MemberIdentifier, error) {
	switch k := m.GetKind().(type) {
	case *association.MemberIdentifier_EthereumAddress:
		return EthereumMember(Address(k.EthereumAddress)), nil
	case *association.MemberIdentifier_InstallationPublicKey:
		return installationKeyMember(clone(k.InstallationPublicKey)), nil
	case *association.MemberIdentifier_Passkey:
		return PasskeyMember(clone(k.Passkey.GetKey()), k.Passkey.RelyingParty), nil
	}
	return MemberIdentifier{}, decodeErr(field, "member identifier missing")
}

func decodeSignature(field string, s *association.Signature) (UnverifiedSignature, error) {
	switch k := s.GetSignature().(type) {
	case *association.Signature_Erc_191:
		return &ERC191Signature{Bytes: clone(k.Erc_191.GetBytes())}, nil
	case *association.Signature_Erc_6492:
		id, err := ParseAccountID(k.Erc_6492.GetAccountId())
		if err != nil {
			return nil, &DecodeError{Field: field + ".erc_6492.account_id", Reason: "not a caip-10 account id", Err: err}
		}
		return &SmartContractWalletSignature{AccountID: id, BlockNumber: k.Erc_6492.GetBlockNumber(), Signature: clone(k.Erc_6492.GetSignature())}, nil
	case *association.Signature_InstallationKey:
		pub := k.InstallationKey.GetPublicKey()
		if len(pub) != ed25519.PublicKeySize {
			return nil, decodeErr(field+".installation_key.public_key", "must be 32 bytes")
		}
		return &InstallationKeySignature{Signature: clone(k.InstallationKey.GetBytes()), PublicKey: clone(pub)}, nil
	case *association.Signature_DelegatedErc_191:
		d := k.DelegatedErc_191
		if d.GetSignature() == nil {
			return nil, decodeErr(field+".delegated_erc_191.signature", "missing")
		}
		if d.GetDelegatedKey() == nil {
			return nil, decodeErr(field+".delegated_erc_191.delegated_key", "missing")
		}
		return &LegacyDelegatedSignature{DelegatedKey: decodeLegacyKey(d.GetDelegatedKey()), Signature: clone(d.GetSignature().GetBytes())}, nil
	case *association.Signature_Passkey:
		pk := k.Passkey
		return &PasskeySignature{
			PublicKey:         clone(pk.GetPublicKey()),
			Signature:         clone(pk.GetSignature()),
			AuthenticatorData: clone(pk.GetAuthenticatorData()),
			ClientDataJSON:    clone(pk.GetClientDataJson()),
		}, nil
	}
	return nil, decodeErr(field, "signature missing")
}

// SignatureText returns the text every signature of u must sign (spec
// §5.3).
func (u *UnverifiedUpdate) SignatureText() string {
	actions := make([]Action, len(u.Actions))
	for i, a := range u.Actions {
		actions[i] = a.Action
	}
	return SignatureText(u.InboxID, u.ClientTimestampNs, actions)
}

// SmartContractWalletChecks lists u's smart-contract-wallet signatures with
// what a chain verifier needs, in action order.
func (u *UnverifiedUpdate) SmartContractWalletChecks() []SmartContractWalletCheck {
	var out []SmartContractWalletCheck
	hash := EIP191Hash(u.SignatureText())
	for i, a := range u.Actions {
		for _, rs := range a.roleSignatures() {
			if s, ok := rs.sig.(*SmartContractWalletSignature); ok {
				out = append(out, SmartContractWalletCheck{
					Action: i, Role: rs.role, AccountID: s.AccountID, BlockNumber: s.BlockNumber,
					Hash: hash, Signature: clone(s.Signature),
				})
			}
		}
	}
	return out
}

type roleSignature struct {
	role SignatureRole
	sig  UnverifiedSignature
}

// roleSignatures returns the action's signatures with their roles, in the
// order libxmtp lists them.
func (a UnverifiedAction) roleSignatures() []roleSignature {
	switch a.Kind {
	case ActionCreateInbox:
		return []roleSignature{{RoleInitialIdentifier, a.Signature}}
	case ActionAddAssociation:
		return []roleSignature{{RoleExistingMember, a.Signature}, {RoleNewMember, a.NewMemberSignature}}
	case ActionRevokeAssociation, ActionChangeRecoveryAddress:
		return []roleSignature{{RoleRecoveryIdentifier, a.Signature}}
	}
	return nil
}

// Verify checks every signature of u against its signature text and
// returns the verified update. A failing signature gives a
// [*SignatureError]; a smart-contract-wallet signature always fails with
// one wrapping [ErrSmartContractWalletUnsupported]. Verification alone does
// not check the association rules: [ApplyUpdates] does.
func (u *UnverifiedUpdate) Verify() (*VerifiedUpdate, error) {
	text := u.SignatureText()
	v := &VerifiedUpdate{inboxID: u.InboxID, clientTimestampNs: u.ClientTimestampNs, sequenceID: u.SequenceID}
	for i, a := range u.Actions {
		va := VerifiedAction{Action: a.Action}
		switch a.Kind {
		case ActionCreateInbox, ActionAddAssociation, ActionRevokeAssociation, ActionChangeRecoveryAddress:
		default:
			return nil, &DecodeError{Field: fmt.Sprintf("actions[%d]", i), Reason: "unknown action kind"}
		}
		for _, rs := range a.roleSignatures() {
			vs, err := verifyAt(text, rs.sig, i, rs.role)
			if err != nil {
				return nil, err
			}
			if rs.role == RoleNewMember {
				va.NewMemberSignature = vs
			} else {
				va.Signature = vs
			}
		}
		v.actions = append(v.actions, va)
	}
	return v, nil
}

// Proto returns u's wire form, as libxmtp encodes it: a passkey subject's
// relying party is also copied to the action's relying_party field.
func (u *UnverifiedUpdate) Proto() *association.IdentityUpdate {
	p := &association.IdentityUpdate{InboxId: u.InboxID, ClientTimestampNs: u.ClientTimestampNs}
	for _, a := range u.Actions {
		p.Actions = append(p.Actions, a.proto())
	}
	return p
}

// Marshal returns the deterministic protobuf encoding of [UnverifiedUpdate.Proto].
func (u *UnverifiedUpdate) Marshal() ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(u.Proto())
	if err != nil {
		return nil, fmt.Errorf("identity: encode identity update: %w", err)
	}
	return b, nil
}

func sigProto(s UnverifiedSignature) *association.Signature {
	if s == nil {
		return nil
	}
	return s.proto()
}

func (a UnverifiedAction) proto() *association.IdentityAction {
	rp := relyingPartyPtr(a.Member)
	switch a.Kind {
	case ActionCreateInbox:
		return &association.IdentityAction{Kind: &association.IdentityAction_CreateInbox{CreateInbox: &association.CreateInbox{
			InitialIdentifier:          a.Member.String(),
			Nonce:                      a.Nonce,
			InitialIdentifierSignature: sigProto(a.Signature),
			InitialIdentifierKind:      identifierKind(a.Member),
			RelyingParty:               rp,
		}}}
	case ActionAddAssociation:
		return &association.IdentityAction{Kind: &association.IdentityAction_Add{Add: &association.AddAssociation{
			NewMemberIdentifier:     memberProto(a.Member),
			ExistingMemberSignature: sigProto(a.Signature),
			NewMemberSignature:      sigProto(a.NewMemberSignature),
			RelyingParty:            rp,
		}}}
	case ActionRevokeAssociation:
		return &association.IdentityAction{Kind: &association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{
			MemberToRevoke:              memberProto(a.Member),
			RecoveryIdentifierSignature: sigProto(a.Signature),
		}}}
	case ActionChangeRecoveryAddress:
		return &association.IdentityAction{Kind: &association.IdentityAction_ChangeRecoveryAddress{ChangeRecoveryAddress: &association.ChangeRecoveryAddress{
			NewRecoveryIdentifier:               a.Member.String(),
			ExistingRecoveryIdentifierSignature: sigProto(a.Signature),
			NewRecoveryIdentifierKind:           identifierKind(a.Member),
			RelyingParty:                        rp,
		}}}
	}
	return &association.IdentityAction{}
}

func relyingPartyPtr(m MemberIdentifier) *string {
	if rp, ok := m.RelyingParty(); ok && m.kind == MemberPasskey {
		return &rp
	}
	return nil
}

func identifierKind(m MemberIdentifier) association.IdentifierKind {
	if m.kind == MemberPasskey {
		return association.IdentifierKind_IDENTIFIER_KIND_PASSKEY
	}
	return association.IdentifierKind_IDENTIFIER_KIND_ETHEREUM
}

func memberProto(m MemberIdentifier) *association.MemberIdentifier {
	switch m.kind {
	case MemberEthereum:
		return &association.MemberIdentifier{Kind: &association.MemberIdentifier_EthereumAddress{EthereumAddress: m.value}}
	case MemberInstallation:
		return &association.MemberIdentifier{Kind: &association.MemberIdentifier_InstallationPublicKey{InstallationPublicKey: []byte(m.value)}}
	case MemberPasskey:
		return &association.MemberIdentifier{Kind: &association.MemberIdentifier_Passkey{Passkey: &association.Passkey{Key: []byte(m.value), RelyingParty: relyingPartyPtr(m)}}}
	}
	return nil
}

// VerifiedAction is an action whose signatures verified over its update's
// signature text.
type VerifiedAction struct {
	Action
	// Signature is the initial identifier's, existing member's or recovery
	// identifier's signature, as in [UnverifiedAction].
	Signature VerifiedSignature
	// NewMemberSignature is set for AddAssociation only.
	NewMemberSignature VerifiedSignature
}

// VerifiedUpdate is an identity update whose every signature verified.
// Only [UnverifiedUpdate.Verify] makes one; it is immutable and safe to
// share. It says nothing yet about whether the association rules allow it:
// [ApplyUpdates] decides that.
type VerifiedUpdate struct {
	inboxID           string
	clientTimestampNs uint64
	actions           []VerifiedAction
	sequenceID        uint64
}

// InboxID returns the update's inbox_id, verbatim.
func (v *VerifiedUpdate) InboxID() string { return v.inboxID }

// ClientTimestampNs returns the signer's clock.
func (v *VerifiedUpdate) ClientTimestampNs() uint64 { return v.clientTimestampNs }

// SequenceID returns the update's sequence id in the inbox log, or 0 for
// an unpublished update.
func (v *VerifiedUpdate) SequenceID() uint64 { return v.sequenceID }

// Actions returns a copy of the verified actions.
func (v *VerifiedUpdate) Actions() []VerifiedAction {
	return append([]VerifiedAction(nil), v.actions...)
}

// signatures returns the raw bytes of every signature, in order.
func (v *VerifiedUpdate) signatures() [][]byte {
	var out [][]byte
	for _, a := range v.actions {
		out = append(out, a.Signature.raw)
		if a.Kind == ActionAddAssociation {
			out = append(out, a.NewMemberSignature.raw)
		}
	}
	return out
}
