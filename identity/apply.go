package identity

import (
	"fmt"
)

// ApplyUpdates applies verified updates in order to state (nil: the inbox
// does not exist yet) and returns the new state, following every rule of
// spec §5.5 as libxmtp's association log does. The first broken rule stops
// the whole computation with a [*RuleError]; state itself is never changed.
//
// Sequence ids (spec §3.3): published updates must come in strictly
// increasing sequence-id order after state's own; an unpublished update
// (sequence id 0, e.g. one a node is about to accept) may only come last.
// ApplyUpdates(state, nil) returns state.
func ApplyUpdates(state *State, updates []*VerifiedUpdate) (*State, error) {
	for i, u := range updates {
		next, err := applyUpdate(state, u, i)
		if err != nil {
			return nil, err
		}
		state = next
	}
	return state, nil
}

// StateAt returns the state of an inbox log "up to and including" sequence
// id seq, as libxmtp computes it for group membership (spec §3.3): it
// applies the updates with sequence ids ≤ seq and fails with [RuleSequence]
// unless the last of them has exactly sequence id seq. updates must be the
// inbox's published log from its start, in order.
func StateAt(updates []*VerifiedUpdate, seq uint64) (*State, error) {
	var upto []*VerifiedUpdate
	for _, u := range updates {
		if u.sequenceID > seq {
			break
		}
		upto = append(upto, u)
	}
	if len(upto) == 0 || upto[len(upto)-1].sequenceID != seq {
		return nil, &RuleError{Rule: RuleSequence, Update: len(upto), Action: -1, Detail: fmt.Sprintf("no update with sequence id %d", seq)}
	}
	return ApplyUpdates(nil, upto)
}

func ruleErr(rule Rule, update, action int, format string, args ...any) error {
	return &RuleError{Rule: rule, Update: update, Action: action, Detail: fmt.Sprintf(format, args...)}
}

// applyUpdate applies one update: its actions in order, then the inbox id
// check, then records its signatures as seen.
func applyUpdate(s *State, u *VerifiedUpdate, ui int) (*State, error) {
	if s != nil && u.sequenceID != 0 && (s.open || u.sequenceID <= s.sequenceID) {
		return nil, ruleErr(RuleSequence, ui, -1, "sequence id %d does not follow %d", u.sequenceID, s.sequenceID)
	}
	var cur *State
	if s != nil {
		cur = s.clone()
	}
	for ai, a := range u.actions {
		var err error
		switch a.Kind {
		case ActionCreateInbox:
			cur, err = applyCreate(cur, a, ui, ai)
		case ActionAddAssociation:
			err = applyAdd(cur, a, u.clientTimestampNs, ui, ai)
		case ActionRevokeAssociation:
			err = applyRevoke(cur, a, ui, ai)
		case ActionChangeRecoveryAddress:
			err = applyChangeRecovery(cur, a, ui, ai)
		default:
			err = fmt.Errorf("%w: action kind %d", ErrInternal, a.Kind)
		}
		if err != nil {
			return nil, err
		}
	}
	if cur == nil {
		return nil, ruleErr(RuleNotCreated, ui, -1, "update has no actions")
	}
	if string(cur.inboxID) != u.inboxID {
		return nil, ruleErr(RuleWrongInboxID, ui, -1, "update names inbox %q", u.inboxID)
	}
	for _, raw := range u.signatures() {
		cur.seen[string(raw)] = struct{}{}
	}
	if u.sequenceID == 0 {
		cur.open = true
	} else {
		cur.sequenceID = u.sequenceID
	}
	return cur, nil
}

// applyCreate: CreateInbox is only allowed on no state; its signer must be
// the initial identifier with a signature kind fit for it; legacy
// signatures need nonce 0.
func applyCreate(s *State, a VerifiedAction, ui, ai int) (*State, error) {
	if s != nil {
		return nil, ruleErr(RuleMultipleCreate, ui, ai, "inbox %s exists", s.inboxID)
	}
	sig := a.Signature
	if !sig.signer.Equal(a.Member) {
		return nil, ruleErr(RuleMissingExistingMember, ui, ai, "create inbox not signed by its initial identifier")
	}
	if !sig.kind.allowedFor(a.Member.kind) {
		return nil, ruleErr(RuleSignatureNotAllowed, ui, ai, "%s signature for %s", sig.kind, a.Member.kind)
	}
	if sig.kind == SignatureLegacyDelegated && a.Nonce != 0 {
		return nil, ruleErr(RuleLegacySignatureReuse, ui, ai, "legacy signature with nonce %d", a.Nonce)
	}
	id, err := ComputeInboxID(a.Member, a.Nonce)
	if err != nil {
		return nil, ruleErr(RuleInvalidAccountAddress, ui, ai, "initial identifier is not 0x and 40 hex digits")
	}
	return &State{
		inboxID:  id,
		members:  map[memberKey]Member{a.Member.key(): {Identifier: a.Member, AddedOnChainID: sig.chainIDPtr()}},
		recovery: a.Member,
		seen:     map[string]struct{}{},
	}, nil
}

// replayCheck refuses signatures already used by earlier updates.
func replayCheck(s *State, ui, ai int, sigs ...VerifiedSignature) error {
	for _, sig := range sigs {
		if _, ok := s.seen[string(sig.raw)]; ok {
			return ruleErr(RuleReplay, ui, ai, "%s signature already used", sig.kind)
		}
	}
	return nil
}

// chainCheck: a member added through a smart-contract wallet must sign on
// the same chain, and a member added otherwise must not sign with one.
func chainCheck(m Member, sig VerifiedSignature, ui, ai int) error {
	var had, has uint64
	if m.AddedOnChainID != nil {
		had = *m.AddedOnChainID
	}
	if sig.hasChainID {
		has = sig.chainID
	}
	if (m.AddedOnChainID != nil) != sig.hasChainID || had != has {
		return ruleErr(RuleChainIDMismatch, ui, ai, "added on chain %d, signing on chain %d", had, has)
	}
	return nil
}

func (s VerifiedSignature) chainIDPtr() *uint64 {
	if !s.hasChainID {
		return nil
	}
	id := s.chainID
	return &id
}

// applyAdd follows libxmtp's AddAssociation checks in their order.
func applyAdd(s *State, a VerifiedAction, clientTimestampNs uint64, ui, ai int) error {
	if s == nil {
		return ruleErr(RuleNotCreated, ui, ai, "add association before create inbox")
	}
	existing, newSig := a.Signature, a.NewMemberSignature
	if err := replayCheck(s, ui, ai, existing, newSig); err != nil {
		return err
	}
	if !newSig.signer.Equal(a.Member) {
		return ruleErr(RuleNewMemberSignatureMismatch, ui, ai, "new %s signed by another member", a.Member.kind)
	}
	if newSig.signer.Equal(existing.signer) {
		return ruleErr(RuleAddSelf, ui, ai, "")
	}
	if existing.signer.kind != MemberInstallation &&
		(existing.kind == SignatureLegacyDelegated || newSig.kind == SignatureLegacyDelegated) {
		id, err := ComputeInboxID(existing.signer, 0)
		if err != nil {
			return ruleErr(RuleInvalidAccountAddress, ui, ai, "existing signer is not 0x and 40 hex digits")
		}
		if id != s.inboxID {
			return ruleErr(RuleLegacySignatureReuse, ui, ai, "legacy signature outside the signer's nonce-0 inbox")
		}
	}
	if !newSig.kind.allowedFor(a.Member.kind) {
		return ruleErr(RuleSignatureNotAllowed, ui, ai, "%s signature for new %s", newSig.kind, a.Member.kind)
	}
	addedBy, err := existingEntity(s, existing, ui, ai)
	if err != nil {
		return err
	}
	if !existing.kind.allowedFor(addedBy.kind) {
		return ruleErr(RuleSignatureNotAllowed, ui, ai, "%s signature for existing %s", existing.kind, addedBy.kind)
	}
	if existing.signer.kind == MemberInstallation && a.Member.kind == MemberInstallation {
		return ruleErr(RuleMemberNotAllowed, ui, ai, "installation cannot add installation")
	}
	s.members[newSig.signer.key()] = Member{
		Identifier:        newSig.signer,
		AddedBy:           &addedBy,
		ClientTimestampNs: clientTimestampNs,
		AddedOnChainID:    newSig.chainIDPtr(),
	}
	return nil
}

// existingEntity returns who vouches for a new member: the existing member
// that signed (on the chain it was added on), or else the recovery
// identifier signing with a non-legacy signature.
func existingEntity(s *State, existing VerifiedSignature, ui, ai int) (MemberIdentifier, error) {
	if m, ok := s.members[existing.signer.key()]; ok {
		if err := chainCheck(m, existing, ui, ai); err != nil {
			return MemberIdentifier{}, err
		}
		return m.Identifier, nil
	}
	if !existing.signer.Equal(s.recovery) {
		return MemberIdentifier{}, ruleErr(RuleMissingExistingMember, ui, ai, "existing %s signer is neither a member nor the recovery identifier", existing.signer.kind)
	}
	if existing.kind == SignatureLegacyDelegated {
		return MemberIdentifier{}, ruleErr(RuleLegacySignatureReuse, ui, ai, "recovery identifier signed with a legacy signature")
	}
	return s.recovery, nil
}

// recoverySignerCheck is shared by revoke and change-recovery: replay,
// chain id, no legacy signatures, signer is the recovery identifier.
func recoverySignerCheck(s *State, sig VerifiedSignature, ui, ai int) error {
	if err := replayCheck(s, ui, ai, sig); err != nil {
		return err
	}
	if m, ok := s.members[sig.signer.key()]; ok {
		if err := chainCheck(m, sig, ui, ai); err != nil {
			return err
		}
	}
	if sig.kind == SignatureLegacyDelegated {
		return ruleErr(RuleSignatureNotAllowed, ui, ai, "%s signature for %s", sig.kind, MemberEthereum)
	}
	if !sig.signer.Equal(s.recovery) {
		return ruleErr(RuleMissingExistingMember, ui, ai, "%s signer is not the recovery identifier", sig.signer.kind)
	}
	return nil
}

// applyRevoke removes the member and every installation it added (one
// level). Revoking a non-member changes nothing.
func applyRevoke(s *State, a VerifiedAction, ui, ai int) error {
	if s == nil {
		return ruleErr(RuleNotCreated, ui, ai, "revoke association before create inbox")
	}
	if err := recoverySignerCheck(s, a.Signature, ui, ai); err != nil {
		return err
	}
	for k, m := range s.members {
		if m.Identifier.kind == MemberInstallation && m.AddedBy != nil && m.AddedBy.Equal(a.Member) {
			delete(s.members, k)
		}
	}
	delete(s.members, a.Member.key())
	return nil
}

// applyChangeRecovery sets a new recovery identifier, which need not be a
// member.
func applyChangeRecovery(s *State, a VerifiedAction, ui, ai int) error {
	if s == nil {
		return ruleErr(RuleNotCreated, ui, ai, "change recovery address before create inbox")
	}
	if err := recoverySignerCheck(s, a.Signature, ui, ai); err != nil {
		return err
	}
	s.recovery = a.Member
	return nil
}
