package identity

import (
	"errors"
	"testing"
)

// ruleCase is one named case of the association rules: a log of verified
// updates applied from no state, the rule it must break (empty: allowed),
// and where.
type ruleCase struct {
	name    string
	updates []*VerifiedUpdate
	rule    Rule
	update  int // index of the failing update
	action  int // index of the failing action, -1 for the whole update
	check   func(t *testing.T, s *State)
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ApplyUpdates(nil, tc.updates)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				return
			}
			if !errors.Is(err, tc.rule) {
				t.Fatalf("error = %v, want rule %q", err, tc.rule)
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Update != tc.update || re.Action != tc.action {
				t.Fatalf("error = %#v, want update %d action %d", err, tc.update, tc.action)
			}
			if s != nil {
				t.Error("a state was returned with the error")
			}
		})
	}
}

func wantMembers(want ...MemberIdentifier) func(t *testing.T, s *State) {
	return func(t *testing.T, s *State) {
		t.Helper()
		ms := s.Members()
		if len(ms) != len(want) {
			t.Fatalf("members = %v, want %v", ms, want)
		}
		for _, w := range want {
			if !s.IsMember(w) {
				t.Errorf("%v is not a member; members %v", w, ms)
			}
		}
	}
}

func TestRulesCreateInbox(t *testing.T) {
	w, w2 := addr(1), addr(2)
	inbox := inboxOf(t, w, 1)
	inbox0 := inboxOf(t, w, 0)
	runRuleCases(t, []ruleCase{
		{name: "create", updates: []*VerifiedUpdate{vupdate(inbox, 1, vcreate(w, 1, vsig(w, SignatureERC191)))},
			check: func(t *testing.T, s *State) {
				wantMembers(w)(t, s)
				if s.InboxID() != inbox || !s.RecoveryIdentifier().Equal(w) || s.SequenceID() != 1 {
					t.Errorf("state %v %v %d", s.InboxID(), s.RecoveryIdentifier(), s.SequenceID())
				}
				if m, _ := s.Member(w); m.AddedBy != nil || m.AddedOnChainID != nil {
					t.Errorf("creator member %+v", m)
				}
			}},
		{name: "create with smart contract wallet records the chain", updates: []*VerifiedUpdate{vupdate(inbox, 1, vcreate(w, 1, withChain(vsig(w, SignatureERC1271), 8453)))},
			check: func(t *testing.T, s *State) {
				if m, _ := s.Member(w); m.AddedOnChainID == nil || *m.AddedOnChainID != 8453 {
					t.Errorf("chain id %v", m.AddedOnChainID)
				}
			}},
		{name: "legacy create with nonce 0", updates: []*VerifiedUpdate{vupdate(inbox0, 1, vcreate(w, 0, vsig(w, SignatureLegacyDelegated)))}},
		{name: "passkey create", updates: []*VerifiedUpdate{vupdate(inboxOf(t, pkey(1), 0), 1, vcreate(pkey(1), 0, vsig(pkey(1), SignatureP256)))}},
		{name: "second create", rule: RuleMultipleCreate, update: 1, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(w, 1, vsig(w, SignatureERC191))),
			vupdate(inbox, 2, vcreate(w, 1, vsig(w, SignatureERC191)))}},
		{name: "two creates in one update", rule: RuleMultipleCreate, update: 0, action: 1, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(w, 1, vsig(w, SignatureERC191)), vcreate(w, 1, vsig(w, SignatureERC191)))}},
		{name: "create signed by another wallet", rule: RuleMissingExistingMember, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(w, 1, vsig(w2, SignatureERC191)))}},
		{name: "create with installation-key kind", rule: RuleSignatureNotAllowed, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(w, 1, vsig(w, SignatureInstallationKey)))}},
		{name: "passkey create with erc-191 kind", rule: RuleSignatureNotAllowed, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(pkey(1), 0, vsig(pkey(1), SignatureERC191)))}},
		{name: "legacy create with nonce 1", rule: RuleLegacySignatureReuse, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(w, 1, vsig(w, SignatureLegacyDelegated)))}},
		{name: "malformed address", rule: RuleInvalidAccountAddress, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vcreate(EthereumMember("0x12"), 1, vsig(EthereumMember("0x12"), SignatureERC191)))}},
		{name: "wrong inbox id", rule: RuleWrongInboxID, update: 0, action: -1, updates: []*VerifiedUpdate{
			vupdate(inbox0, 1, vcreate(w, 1, vsig(w, SignatureERC191)))}},
		{name: "no actions and no inbox", rule: RuleNotCreated, update: 0, action: -1, updates: []*VerifiedUpdate{vupdate(inbox, 1)}},
		{name: "add before create", rule: RuleNotCreated, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vadd(inst(1), vsig(w, SignatureERC191), vsig(inst(1), SignatureInstallationKey)))}},
		{name: "revoke before create", rule: RuleNotCreated, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vrevoke(inst(1), vsig(w, SignatureERC191)))}},
		{name: "change recovery before create", rule: RuleNotCreated, update: 0, action: 0, updates: []*VerifiedUpdate{
			vupdate(inbox, 1, vchange(w2, vsig(w, SignatureERC191)))}},
	})
}

func TestRulesAddAssociation(t *testing.T) {
	w, w2, i1, i2, p := addr(1), addr(2), inst(1), inst(2), pkey(1)
	inbox := inboxOf(t, w, 1)
	inbox0 := inboxOf(t, w, 0)
	ws := vsig(w, SignatureERC191)
	// base: create + first installation with one wallet signature, as libxmtp does.
	base := func(seq uint64) *VerifiedUpdate {
		ws := vsig(w, SignatureERC191)
		return vupdate(inbox, seq, vcreate(w, 1, ws), vadd(i1, ws, vsig(i1, SignatureInstallationKey)))
	}
	base0 := vupdate(inbox0, 1, vcreate(w, 0, ws))
	i2sig := vsig(i2, SignatureInstallationKey)
	runRuleCases(t, []ruleCase{
		{name: "create and first installation share the wallet signature", updates: []*VerifiedUpdate{base(1)},
			check: func(t *testing.T, s *State) {
				wantMembers(w, i1)(t, s)
				m, _ := s.Member(i1)
				if m.AddedBy == nil || !m.AddedBy.Equal(w) || m.ClientTimestampNs != 1001 {
					t.Errorf("installation member %+v", m)
				}
				if got := s.Installations(); len(got) != 1 || got[0] != mustInst(i1) {
					t.Errorf("Installations = %v", got)
				}
			}},
		{name: "wallet adds installation", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w, SignatureERC191), vsig(i2, SignatureInstallationKey)))},
			check: wantMembers(w, i1, i2)},
		{name: "wallet adds wallet", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(w2, vsig(w, SignatureERC191), vsig(w2, SignatureERC191)))},
			check: wantMembers(w, w2, i1)},
		{name: "installation adds wallet", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(w2, vsig(i1, SignatureInstallationKey), vsig(w2, SignatureERC191)))},
			check: func(t *testing.T, s *State) {
				m, _ := s.Member(w2)
				if m.AddedBy == nil || !m.AddedBy.Equal(i1) {
					t.Errorf("added by %v", m.AddedBy)
				}
			}},
		{name: "wallet adds passkey", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(p, vsig(w, SignatureERC191), vsig(p, SignatureP256)))},
			check: wantMembers(w, i1, p)},
		{name: "passkey adds installation", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(p, vsig(w, SignatureERC191), vsig(p, SignatureP256))),
			vupdate(inbox, 3, vadd(i2, vsig(p, SignatureP256), i2sig))},
			check: wantMembers(w, i1, p, i2)},
		{name: "recovery identifier that is not a member adds", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vchange(w2, vsig(w, SignatureERC191))),
			vupdate(inbox, 3, vadd(i2, vsig(w2, SignatureERC191), i2sig))},
			check: func(t *testing.T, s *State) {
				m, _ := s.Member(i2)
				if m.AddedBy == nil || !m.AddedBy.Equal(w2) {
					t.Errorf("added by %v", m.AddedBy)
				}
			}},
		{name: "re-adding a member overwrites it", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(w2, vsig(w, SignatureERC191), vsig(w2, SignatureERC191))),
			vupdate(inbox, 3, vadd(i1, vsig(w2, SignatureERC191), vsig(i1, SignatureInstallationKey)))},
			check: func(t *testing.T, s *State) {
				m, _ := s.Member(i1)
				if !m.AddedBy.Equal(w2) || m.ClientTimestampNs != 1003 {
					t.Errorf("re-added member %+v", m)
				}
			}},
		{name: "legacy signature by member on nonce-0 inbox", updates: []*VerifiedUpdate{base0,
			vupdate(inbox0, 2, vadd(i2, vsig(w, SignatureLegacyDelegated), i2sig))}},
		{name: "legacy signature on nonce-1 inbox", rule: RuleLegacySignatureReuse, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w, SignatureLegacyDelegated), i2sig))}},
		{name: "legacy signature by recovery identifier that is not a member", rule: RuleLegacySignatureReuse, update: 2, action: 0, updates: []*VerifiedUpdate{base0,
			vupdate(inbox0, 2, vrevoke(w, vsig(w, SignatureERC191))),
			vupdate(inbox0, 3, vadd(i2, vsig(w, SignatureLegacyDelegated), i2sig))}},
		{name: "installation adds installation", rule: RuleMemberNotAllowed, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(i1, SignatureInstallationKey), i2sig))}},
		{name: "signer is not a member", rule: RuleMissingExistingMember, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w2, SignatureERC191), i2sig))}},
		{name: "revoked installation cannot add", rule: RuleMissingExistingMember, update: 2, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vrevoke(i1, vsig(w, SignatureERC191))),
			vupdate(inbox, 3, vadd(w2, vsig(i1, SignatureInstallationKey), vsig(w2, SignatureERC191)))}},
		{name: "new member signature by someone else", rule: RuleNewMemberSignatureMismatch, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w, SignatureERC191), vsig(inst(3), SignatureInstallationKey)))}},
		{name: "add self", rule: RuleAddSelf, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(w, vsig(w, SignatureERC191), vsig(w, SignatureERC191)))}},
		{name: "installation signed with erc-191 kind", rule: RuleSignatureNotAllowed, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w, SignatureERC191), vsig(i2, SignatureERC191)))}},
		{name: "passkey signed with erc-191 kind", rule: RuleSignatureNotAllowed, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(p, vsig(w, SignatureERC191), vsig(p, SignatureERC191)))}},
		{name: "existing wallet signed with p256 kind", rule: RuleSignatureNotAllowed, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w, SignatureP256), i2sig))}},
		{name: "replayed new-member signature", rule: RuleReplay, update: 2, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, vsig(w, SignatureERC191), i2sig)),
			vupdate(inbox, 3, vadd(i2, vsig(w, SignatureERC191), i2sig))}},
		{name: "replayed existing-member signature", rule: RuleReplay, update: 2, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, ws, i2sig)),
			vupdate(inbox, 3, vadd(inst(3), ws, vsig(inst(3), SignatureInstallationKey)))}},
		{name: "same signature twice within one update", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, ws, i2sig), vadd(inst(3), ws, vsig(inst(3), SignatureInstallationKey)))}},
		{name: "member added without chain signs with chain", rule: RuleChainIDMismatch, update: 1, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(i2, withChain(vsig(w, SignatureERC1271), 1), i2sig))}},
		{name: "scw member signs on its chain", updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(w2, vsig(w, SignatureERC191), withChain(vsig(w2, SignatureERC1271), 8))),
			vupdate(inbox, 3, vadd(i2, withChain(vsig(w2, SignatureERC1271), 8), i2sig))}},
		{name: "scw member signs on another chain", rule: RuleChainIDMismatch, update: 2, action: 0, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox, 2, vadd(w2, vsig(w, SignatureERC191), withChain(vsig(w2, SignatureERC1271), 8))),
			vupdate(inbox, 3, vadd(i2, withChain(vsig(w2, SignatureERC1271), 9), i2sig))}},
		{name: "update names another inbox", rule: RuleWrongInboxID, update: 1, action: -1, updates: []*VerifiedUpdate{base(1),
			vupdate(inbox0, 2, vadd(i2, vsig(w, SignatureERC191), i2sig))}},
	})
}

func mustInst(m MemberIdentifier) InstallationID {
	id, _ := m.InstallationID()
	return id
}

func TestRulesRevokeAndRecovery(t *testing.T) {
	w, w2, i1, i2, i3, p := addr(1), addr(2), inst(1), inst(2), inst(3), pkey(1)
	inbox := inboxOf(t, w, 1)
	ws := vsig(w, SignatureERC191)
	base := vupdate(inbox, 1, vcreate(w, 1, ws), vadd(i1, ws, vsig(i1, SignatureInstallationKey)))
	once := vsig(w, SignatureERC191)
	// w adds w2, w2 adds i2, w adds i3.
	grow := vupdate(inbox, 2,
		vadd(w2, vsig(w, SignatureERC191), vsig(w2, SignatureERC191)),
		vadd(i2, vsig(w2, SignatureERC191), vsig(i2, SignatureInstallationKey)),
		vadd(i3, vsig(w, SignatureERC191), vsig(i3, SignatureInstallationKey)))
	runRuleCases(t, []ruleCase{
		{name: "revoke installation", updates: []*VerifiedUpdate{base, vupdate(inbox, 2, vrevoke(i1, vsig(w, SignatureERC191)))},
			check: wantMembers(w)},
		{name: "revoke two installations with one signature", updates: []*VerifiedUpdate{base, grow,
			vupdate(inbox, 3, vrevoke(i1, once), vrevoke(i3, once))},
			check: wantMembers(w, w2, i2)},
		{name: "revoking a wallet takes the installations it added", updates: []*VerifiedUpdate{base, grow,
			vupdate(inbox, 3, vrevoke(w2, vsig(w, SignatureERC191)))},
			check: wantMembers(w, i1, i3)},
		{name: "revoking the creator takes only its own installations", updates: []*VerifiedUpdate{base, grow,
			vupdate(inbox, 3, vrevoke(w, vsig(w, SignatureERC191)))},
			check: func(t *testing.T, s *State) {
				wantMembers(w2, i2)(t, s)
				if !s.RecoveryIdentifier().Equal(w) {
					t.Error("recovery identifier changed by a revoke")
				}
			}},
		{name: "revoking a non-member changes nothing", updates: []*VerifiedUpdate{base, vupdate(inbox, 2, vrevoke(inst(9), vsig(w, SignatureERC191)))},
			check: wantMembers(w, i1)},
		{name: "revoke by a member that is not the recovery identifier", rule: RuleMissingExistingMember, update: 2, action: 0, updates: []*VerifiedUpdate{base, grow,
			vupdate(inbox, 3, vrevoke(i1, vsig(w2, SignatureERC191)))}},
		{name: "installation cannot revoke", rule: RuleMissingExistingMember, update: 1, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vrevoke(i1, vsig(i1, SignatureInstallationKey)))}},
		{name: "revoke with legacy signature", rule: RuleSignatureNotAllowed, update: 1, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vrevoke(i1, vsig(w, SignatureLegacyDelegated)))}},
		{name: "revoke replays the create signature", rule: RuleReplay, update: 1, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vrevoke(i1, ws))}},
		{name: "revoke by recovery member on another chain", rule: RuleChainIDMismatch, update: 1, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vrevoke(i1, withChain(vsig(w, SignatureERC1271), 5)))}},
		{name: "change recovery address", updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vchange(w2, vsig(w, SignatureERC191))),
			vupdate(inbox, 3, vrevoke(i1, vsig(w2, SignatureERC191)))},
			check: func(t *testing.T, s *State) {
				wantMembers(w)(t, s)
				if !s.RecoveryIdentifier().Equal(w2) {
					t.Errorf("recovery = %v", s.RecoveryIdentifier())
				}
			}},
		{name: "old recovery identifier can no longer revoke", rule: RuleMissingExistingMember, update: 2, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vchange(w2, vsig(w, SignatureERC191))),
			vupdate(inbox, 3, vrevoke(i1, vsig(w, SignatureERC191)))}},
		{name: "passkey recovery identifier revokes", updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vchange(p, vsig(w, SignatureERC191))),
			vupdate(inbox, 3, vrevoke(i1, vsig(p, SignatureP256)))},
			check: wantMembers(w)},
		{name: "change recovery by non-recovery member", rule: RuleMissingExistingMember, update: 2, action: 0, updates: []*VerifiedUpdate{base, grow,
			vupdate(inbox, 3, vchange(w2, vsig(w2, SignatureERC191)))}},
		{name: "change recovery with legacy signature", rule: RuleSignatureNotAllowed, update: 1, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vchange(w2, vsig(w, SignatureLegacyDelegated)))}},
		{name: "change recovery replays a signature", rule: RuleReplay, update: 1, action: 0, updates: []*VerifiedUpdate{base,
			vupdate(inbox, 2, vchange(w2, ws))}},
		{name: "empty update on an existing inbox", updates: []*VerifiedUpdate{base, vupdate(inbox, 2)}, check: wantMembers(w, i1)},
	})
}

func TestRulesSequenceIDs(t *testing.T) {
	w := addr(1)
	inbox := inboxOf(t, w, 1)
	base := func(seq uint64) *VerifiedUpdate { return vupdate(inbox, seq, vcreate(w, 1, vsig(w, SignatureERC191))) }
	add := func(seq uint64) *VerifiedUpdate {
		return vupdate(inbox, seq, vadd(inst(byte(seq)), vsig(w, SignatureERC191), vsig(inst(byte(seq)), SignatureInstallationKey)))
	}
	runRuleCases(t, []ruleCase{
		{name: "increasing, not contiguous", updates: []*VerifiedUpdate{base(3), add(7), add(20)},
			check: func(t *testing.T, s *State) {
				if s.SequenceID() != 20 {
					t.Errorf("SequenceID = %d", s.SequenceID())
				}
			}},
		{name: "unpublished update last", updates: []*VerifiedUpdate{base(3), add(0)},
			check: func(t *testing.T, s *State) {
				if s.SequenceID() != 3 || len(s.Installations()) != 1 {
					t.Errorf("SequenceID = %d, installations %v", s.SequenceID(), s.Installations())
				}
			}},
		{name: "repeated sequence id", rule: RuleSequence, update: 1, action: -1, updates: []*VerifiedUpdate{base(3), add(3)}},
		{name: "decreasing sequence id", rule: RuleSequence, update: 2, action: -1, updates: []*VerifiedUpdate{base(3), add(9), add(5)}},
		{name: "published after unpublished", rule: RuleSequence, update: 2, action: -1, updates: []*VerifiedUpdate{base(3), add(0), add(9)}},
	})
}

func TestApplyUpdatesKeepsInputState(t *testing.T) {
	w, i1 := addr(1), inst(1)
	inbox := inboxOf(t, w, 1)
	s1, err := ApplyUpdates(nil, []*VerifiedUpdate{vupdate(inbox, 1, vcreate(w, 1, vsig(w, SignatureERC191)))})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ApplyUpdates(s1, []*VerifiedUpdate{vupdate(inbox, 2, vadd(i1, vsig(w, SignatureERC191), vsig(i1, SignatureInstallationKey)))})
	if err != nil {
		t.Fatal(err)
	}
	if s1.IsMember(i1) || !s2.IsMember(i1) || s1.SequenceID() != 1 || s2.SequenceID() != 2 {
		t.Fatal("ApplyUpdates changed its input state")
	}
	// A failing update leaves the input alone too.
	bad := vupdate(inbox, 3, vadd(inst(2), vsig(addr(9), SignatureERC191), vsig(inst(2), SignatureInstallationKey)))
	if _, err := ApplyUpdates(s2, []*VerifiedUpdate{bad}); err == nil || len(s2.Installations()) != 1 {
		t.Fatal("failed update changed the state")
	}
	if same, err := ApplyUpdates(s2, nil); err != nil || same != s2 {
		t.Fatal("ApplyUpdates(s, nil) is not s")
	}
}

func TestStateAt(t *testing.T) {
	w := addr(1)
	inbox := inboxOf(t, w, 1)
	log := []*VerifiedUpdate{
		vupdate(inbox, 4, vcreate(w, 1, vsig(w, SignatureERC191))),
		vupdate(inbox, 9, vadd(inst(1), vsig(w, SignatureERC191), vsig(inst(1), SignatureInstallationKey))),
		vupdate(inbox, 12, vadd(inst(2), vsig(w, SignatureERC191), vsig(inst(2), SignatureInstallationKey))),
	}
	for _, tc := range []struct {
		seq   uint64
		insts int
		ok    bool
	}{{4, 0, true}, {9, 1, true}, {12, 2, true}, {0, 0, false}, {3, 0, false}, {10, 0, false}, {13, 0, false}} {
		s, err := StateAt(log, tc.seq)
		if !tc.ok {
			if !errors.Is(err, RuleSequence) {
				t.Errorf("StateAt(%d) error = %v, want RuleSequence", tc.seq, err)
			}
			continue
		}
		if err != nil || len(s.Installations()) != tc.insts || s.SequenceID() != tc.seq {
			t.Errorf("StateAt(%d) = %v, %v", tc.seq, s, err)
		}
	}
}

func TestStateDiff(t *testing.T) {
	w, w2, i1, i2 := addr(1), addr(2), inst(1), inst(2)
	inbox := inboxOf(t, w, 1)
	ws := vsig(w, SignatureERC191)
	s1, err := ApplyUpdates(nil, []*VerifiedUpdate{vupdate(inbox, 1, vcreate(w, 1, ws), vadd(i1, ws, vsig(i1, SignatureInstallationKey)))})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ApplyUpdates(s1, []*VerifiedUpdate{vupdate(inbox, 2,
		vadd(w2, vsig(w, SignatureERC191), vsig(w2, SignatureERC191)),
		vadd(i2, vsig(w2, SignatureERC191), vsig(i2, SignatureInstallationKey)),
		vrevoke(i1, vsig(w, SignatureERC191)))})
	if err != nil {
		t.Fatal(err)
	}
	d := StateDiff(s1, s2)
	if len(d.NewMembers) != 2 || len(d.RemovedMembers) != 1 || !d.RemovedMembers[0].Equal(i1) {
		t.Errorf("diff = %+v", d)
	}
	if ni := d.NewInstallations(); len(ni) != 1 || ni[0] != mustInst(i2) {
		t.Errorf("NewInstallations = %v", ni)
	}
	if ri := d.RemovedInstallations(); len(ri) != 1 || ri[0] != mustInst(i1) {
		t.Errorf("RemovedInstallations = %v", ri)
	}
	first := StateDiff(nil, s1)
	if len(first.NewMembers) != 2 || len(first.RemovedMembers) != 0 {
		t.Errorf("first diff = %+v", first)
	}
	if !StateDiff(s2, s2).IsEmpty() {
		t.Error("diff of a state with itself is not empty")
	}
	if addrs := s2.Addresses(); len(addrs) != 2 {
		t.Errorf("Addresses = %v", addrs)
	}
	// Members lists by adding time, the creator last.
	ms := s2.Members()
	if !ms[len(ms)-1].Identifier.Equal(w) {
		t.Errorf("creator not last: %v", ms)
	}
}
