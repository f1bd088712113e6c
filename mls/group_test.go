package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// testClient is one client of a test group: its keys and group state.
type testClient struct {
	name    string
	sigPriv []byte
	bundle  *KeyPackageBundle
	g       *Group
}

func newTestClient(t *testing.T, cs CipherSuite, name string) *testClient {
	t.Helper()
	priv, _, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeyPackageBundle(nil, cs, priv, NewBasicCredential([]byte(name)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &testClient{name: name, sigPriv: priv, bundle: b}
}

// deliver processes msg at every client in to and merges the commit it
// stages, if any.
func deliver(t *testing.T, msg *MLSMessage, to ...*testClient) []*ProcessedMessage {
	t.Helper()
	b, err := msg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var out []*ProcessedMessage
	for _, c := range to {
		m, err := ParseMLSMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := c.g.Process(m)
		if err != nil {
			t.Fatalf("%s: process %v: %v", c.name, m.WireFormat, err)
		}
		if pm.Commit != nil {
			if err := c.g.MergeStagedCommit(pm.Commit); err != nil {
				t.Fatalf("%s: merge: %v", c.name, err)
			}
		}
		out = append(out, pm)
	}
	return out
}

// commitAndDeliver has from commit opts, merges it and delivers it to to.
func commitAndDeliver(t *testing.T, from *testClient, opts CommitOptions, to ...*testClient) *CommitResult {
	t.Helper()
	res, err := from.g.Commit(opts)
	if err != nil {
		t.Fatalf("%s: commit: %v", from.name, err)
	}
	deliver(t, res.Commit, to...)
	if err := from.g.MergePendingCommit(); err != nil {
		t.Fatalf("%s: merge pending: %v", from.name, err)
	}
	return res
}

func checkAgree(t *testing.T, cs ...*testClient) {
	t.Helper()
	ref := cs[0]
	for _, c := range cs[1:] {
		if c.g.Epoch() != ref.g.Epoch() {
			t.Fatalf("%s at epoch %d, %s at %d", c.name, c.g.Epoch(), ref.name, ref.g.Epoch())
		}
		if !bytes.Equal(c.g.EpochAuthenticator(), ref.g.EpochAuthenticator()) {
			t.Fatalf("%s and %s disagree on the epoch authenticator of epoch %d", c.name, ref.name, c.g.Epoch())
		}
		if !bytes.Equal(c.g.TreeHash(), ref.g.TreeHash()) {
			t.Fatalf("%s and %s disagree on the tree hash", c.name, ref.name)
		}
		a, _ := c.g.ExportSecret("test", []byte("ctx"), 32)
		b, _ := ref.g.ExportSecret("test", []byte("ctx"), 32)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s and %s export different secrets", c.name, ref.name)
		}
	}
}

func checkApp(t *testing.T, from *testClient, text string, to ...*testClient) {
	t.Helper()
	msg, err := from.g.Encrypt([]byte(text), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pm := range deliver(t, msg, to...) {
		if string(pm.ApplicationData) != text || pm.Sender.LeafIndex != from.g.OwnLeafIndex() || string(pm.AuthenticatedData) != "aad" {
			t.Fatalf("got %q from leaf %d, want %q from %d", pm.ApplicationData, pm.Sender.LeafIndex, text, from.g.OwnLeafIndex())
		}
	}
}

// newThreeMemberGroup creates alice's group and adds bob and carol.
func newThreeMemberGroup(t *testing.T, cs CipherSuite, cfg Config) (alice, bob, carol *testClient) {
	t.Helper()
	alice, bob, carol = newTestClient(t, cs, "alice"), newTestClient(t, cs, "bob"), newTestClient(t, cs, "carol")
	var err error
	alice.g, err = NewGroup(cfg, cs, []byte("group-"+cs.String()), alice.sigPriv, NewBasicCredential([]byte("alice")), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := alice.g.Commit(CommitOptions{Adds: []KeyPackage{bob.bundle.KeyPackage, carol.bundle.KeyPackage}})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	var tree []byte
	if !cfg.UseRatchetTreeExtension {
		if tree, err = alice.g.RatchetTree(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*testClient{bob, carol} {
		if c.g, err = JoinFromWelcome(cfg, res.Welcome, c.bundle, tree); err != nil {
			t.Fatalf("%s: join: %v", c.name, err)
		}
	}
	checkAgree(t, alice, bob, carol)
	return alice, bob, carol
}

func TestGroupThreeMembers(t *testing.T) {
	for _, cs := range []CipherSuite{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
		MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448} {
		for _, wf := range []WireFormat{WireFormatPrivateMessage, WireFormatPublicMessage} {
			t.Run(fmt.Sprintf("%v/%v", cs, wf), func(t *testing.T) {
				cfg := Config{HandshakeWireFormat: wf, UseRatchetTreeExtension: wf == WireFormatPublicMessage, PaddingBlock: 32}
				testThreeMembers(t, cs, cfg)
			})
		}
	}
}

func testThreeMembers(t *testing.T, cs CipherSuite, cfg Config) {
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)
	checkApp(t, alice, "hello from alice", bob, carol)
	checkApp(t, bob, "hello from bob", alice, carol)
	checkApp(t, carol, "hello from carol", alice, bob)

	// Bob proposes an update; carol commits it by reference.
	upd, err := bob.g.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := deliver(t, upd, alice, carol)[0].ProposalRef
	res := commitAndDeliver(t, carol, CommitOptions{ProposalRefs: []ProposalRef{ref}}, alice, bob)
	if res.Welcome != nil {
		t.Fatal("welcome for a commit without adds")
	}
	checkAgree(t, alice, bob, carol)
	checkApp(t, bob, "after update", alice, carol)

	// Alice commits an empty commit (path only).
	commitAndDeliver(t, alice, CommitOptions{}, bob, carol)
	checkAgree(t, alice, bob, carol)

	// Bob removes carol.
	res, err = bob.g.Commit(CommitOptions{Removes: []LeafIndex{carol.g.OwnLeafIndex()}})
	if err != nil {
		t.Fatal(err)
	}
	pms := deliver(t, res.Commit, alice, carol)
	if !pms[1].Commit.SelfRemoved || carol.g.Active() {
		t.Fatal("carol was not told she is removed")
	}
	if len(pms[0].Commit.RemovedLeaves) != 1 || pms[0].Commit.RemovedLeaves[0].Index != 2 {
		t.Fatalf("removed leaves = %+v", pms[0].Commit.RemovedLeaves)
	}
	if err := bob.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	checkAgree(t, alice, bob)
	if n := len(alice.g.Members()); n != 2 {
		t.Fatalf("%d members after the removal", n)
	}
	checkApp(t, alice, "just us", bob)
	if _, err := carol.g.Encrypt([]byte("x"), nil); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removed member encrypt: %v", err)
	}
}

func TestGroupStateRoundTrip(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfg := Config{MaxPastEpochs: 2, UseRatchetTreeExtension: true}
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)
	checkApp(t, alice, "one", bob, carol)
	// Queue a proposal and leave a commit pending, then serialize mid-way.
	upd, err := carol.g.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, upd, alice, bob)
	late, err := bob.g.Encrypt([]byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := alice.g.Commit(CommitOptions{IncludePending: true})
	if err != nil {
		t.Fatal(err)
	}
	restore := func(c *testClient) *Group {
		b, err := c.g.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		g, err := UnmarshalGroup(cfg, b)
		if err != nil {
			t.Fatalf("%s: unmarshal: %v", c.name, err)
		}
		b2, err := g.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%s: state does not re-encode identically (%v)", c.name, err)
		}
		return g
	}
	alice2 := &testClient{name: "alice2", g: restore(alice)}
	bob2 := &testClient{name: "bob2", g: restore(bob)}
	carol2 := &testClient{name: "carol2", g: restore(carol)}
	// The restored alice recognises her own pending commit when echoed.
	pms := deliver(t, res.Commit, alice2, bob2, carol2)
	if !pms[0].Commit.own {
		t.Fatal("restored group did not recognise its own commit")
	}
	// The originals follow the same path and agree with the copies.
	deliver(t, res.Commit, bob, carol)
	if err := alice.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	checkAgree(t, alice, bob, carol, alice2, bob2, carol2)
	// A late application message of the previous epoch still decrypts.
	if pm := deliver(t, late, carol2)[0]; string(pm.ApplicationData) != "late" || pm.Epoch != alice.g.Epoch()-1 {
		t.Fatalf("late message: %q epoch %d", pm.ApplicationData, pm.Epoch)
	}
	checkApp(t, carol2, "after restore", alice2, bob2, alice, bob)
	commitAndDeliver(t, bob2, CommitOptions{}, alice2, carol2, alice, carol)
	checkAgree(t, alice, carol, alice2, bob2, carol2)
}

func TestGroupOwnCommitEchoAndStale(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, bob, carol := newThreeMemberGroup(t, cs, Config{UseRatchetTreeExtension: true})
	ra, err := alice.g.Commit(CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.g.Commit(CommitOptions{}); !errors.Is(err, ErrPendingCommit) {
		t.Fatalf("second commit: %v", err)
	}
	rb, err := bob.g.Commit(CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Carol stages both; bob's wins at the delivery service.
	pa, err := carol.g.Process(ra.Commit)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, rb.Commit, carol, alice)
	if err := carol.g.MergeStagedCommit(pa.Commit); !errors.Is(err, ErrStaleCommit) {
		t.Fatalf("merging a stale commit: %v", err)
	}
	if alice.g.HasPendingCommit() {
		t.Fatal("alice's losing commit is still pending")
	}
	// Bob's echo is his own commit.
	pm, err := bob.g.Process(rb.Commit)
	if err != nil || !pm.Commit.own {
		t.Fatalf("echo: %v", err)
	}
	if err := bob.g.MergeStagedCommit(pm.Commit); err != nil {
		t.Fatal(err)
	}
	checkAgree(t, alice, bob, carol)
}

func TestGroupExternalCommitAndPSKs(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ext := map[string][]byte{"shared": []byte("external secret")}
	cfg := Config{ExternalPSK: func(id []byte) ([]byte, bool) { v, ok := ext[string(id)]; return v, ok }}
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)

	// A commit injecting an external and a resumption PSK, adding dave.
	dave := newTestClient(t, cs, "dave")
	res := commitAndDeliver(t, alice, CommitOptions{Adds: []KeyPackage{dave.bundle.KeyPackage}, PSKs: []PreSharedKeyID{
		{Type: PSKTypeExternal, PSKID: []byte("shared")},
		{Type: PSKTypeResumption, Usage: ResumptionPSKUsageApplication, PSKGroupID: alice.g.GroupID(), PSKEpoch: alice.g.Epoch()},
	}}, bob, carol)
	tree, _ := alice.g.RatchetTree()
	var err error
	if dave.g, err = JoinFromWelcome(cfg, res.Welcome, dave.bundle, tree); err == nil {
		t.Fatal("dave joined without the resumption psk")
	}
	// Without resumption PSK dave can join.
	dave = newTestClient(t, cs, "dave")
	res = commitAndDeliver(t, bob, CommitOptions{Adds: []KeyPackage{dave.bundle.KeyPackage},
		PSKs: []PreSharedKeyID{{Type: PSKTypeExternal, PSKID: []byte("shared")}}, RatchetTreeInWelcome: true}, alice, carol)
	if dave.g, err = JoinFromWelcome(cfg, res.Welcome, dave.bundle, nil); err != nil {
		t.Fatal(err)
	}
	checkAgree(t, alice, bob, carol, dave)

	// Erin joins by external commit; then resyncs herself.
	erin := newTestClient(t, cs, "erin")
	gi, err := carol.g.GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	erin.g, res, err = JoinExternal(cfg, gi, nil, erin.sigPriv, NewBasicCredential([]byte("erin")), nil)
	if err != nil {
		t.Fatal(err)
	}
	pms := deliver(t, res.Commit, alice, bob, carol, dave)
	if !pms[0].Commit.External || len(pms[0].Commit.AddedLeaves) != 1 {
		t.Fatalf("external commit staged as %+v", pms[0].Commit)
	}
	checkAgree(t, alice, bob, carol, dave, erin)
	checkApp(t, erin, "hi from erin", alice, bob, carol, dave)
	old := erin.g.OwnLeafIndex()
	gi, _ = alice.g.GroupInfo(false)
	tree, _ = alice.g.RatchetTree()
	erin2 := &testClient{name: "erin2"}
	erin2.g, res, err = JoinExternal(cfg, gi, tree, erin.sigPriv, NewBasicCredential([]byte("erin")),
		&ExternalJoinOptions{Resync: &old, PSKs: []PreSharedKeyID{{Type: PSKTypeExternal, PSKID: []byte("shared")}}})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, res.Commit, alice, bob, carol, dave)
	checkAgree(t, alice, bob, carol, dave, erin2)
	checkApp(t, bob, "welcome back", erin2, alice)

	// A group context extensions change and a commit adding with a required
	// capability the new member lacks.
	rc := RequiredCapabilities{ExtensionTypes: []ExtensionType{ExtensionTypeLastResort}}
	commitAndDeliver(t, dave, CommitOptions{GroupContextExtensions: []Extension{rc.Extension()}}, alice, bob, carol, erin2)
	checkAgree(t, alice, bob, carol, dave, erin2)
	caps := Capabilities{Versions: []ProtocolVersion{1}, CipherSuites: []CipherSuite{cs}, Credentials: []CredentialType{CredentialTypeBasic}}
	priv, _, _ := cs.GenerateSignatureKeyPair(nil)
	kp, _, err := NewKeyPackage(nil, cs, priv, NewBasicCredential([]byte("frank")), &KeyPackageOptions{Capabilities: &caps})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.g.Commit(CommitOptions{Adds: []KeyPackage{*kp}}); !isValidation(err, "§11.1") {
		t.Fatalf("add lacking a required capability: %v", err)
	}
}

// forgeCommit builds a commit from c's leaf covering props with path, as a
// PublicMessage signed with c's key and protected with c's epoch keys, but
// without any of the sender-side checks. The confirmation tag is garbage
// unless tag is set.
func forgeCommit(t *testing.T, c *testClient, props []ProposalOrRef, path *UpdatePath, mutate func(*FramedContent)) *MLSMessage {
	t.Helper()
	s := c.g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch,
		Sender:            Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
		AuthenticatedData: []byte{}, ContentType: ContentTypeCommit, Commit: &Commit{Proposals: props, Path: path}}
	if mutate != nil {
		mutate(content)
	}
	ac, err := signFramedContent(nil, s.ctx.CipherSuite, s.sigPriv, WireFormatPublicMessage, content, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = make([]byte, s.ctx.CipherSuite.Nh())
	pm, err := protectPublic(s.ctx.CipherSuite, ac, &s.ctx, s.secrets.membershipKey)
	if err != nil {
		t.Fatal(err)
	}
	return &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}
}

func byValue(ps ...Proposal) []ProposalOrRef {
	out := make([]ProposalOrRef, len(ps))
	for i := range ps {
		out[i] = ProposalOrRef{Proposal: &ps[i]}
	}
	return out
}

func removeP(l uint32) Proposal {
	return Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: l}}
}

func pskP(cs CipherSuite, id string, nonceLen int) Proposal {
	return Proposal{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: PreSharedKeyID{
		Type: PSKTypeExternal, PSKID: []byte(id), Nonce: make([]byte, nonceLen)}}}
}

func gceP(exts ...Extension) Proposal {
	return Proposal{Type: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensionsProposal{Extensions: nonNilExtensions(exts)}}
}

// TestCommitValidityRules sends, from bob to alice, commits that each break
// one rule of RFC 9420 §12.2 (or §12.4 / §6), and checks alice rejects each
// with a ValidationError citing the rule and stays unchanged.
func TestCommitValidityRules(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	psk := func(id []byte) ([]byte, bool) { return []byte("k"), string(id) == "p" }
	alice, bob, carol := newThreeMemberGroup(t, cs, Config{ExternalPSK: psk, UseRatchetTreeExtension: true})
	nh := cs.Nh()

	// Bob's own update proposal, delivered to alice, and one from carol.
	updMsg, err := bob.g.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	bobUpdRef := deliver(t, updMsg, alice, carol)[0].ProposalRef
	bobUpd := *bob.g.proposals[0].proposal
	carolUpdMsg, err := carol.g.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	carolUpdRef := deliver(t, carolUpdMsg, alice)[0].ProposalRef
	dave := newTestClient(t, cs, "dave")
	addDave := Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: dave.bundle.KeyPackage}}
	twin, err := NewKeyPackageBundle(nil, cs, alice.sigPriv, NewBasicCredential([]byte("alice")), nil)
	if err != nil {
		t.Fatal(err)
	}
	addAliceTwin := Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: twin.KeyPackage}}
	badKP := Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: newTestClient(t, cs, "eve").bundle.KeyPackage}}
	badKP.Add.KeyPackage.Signature = append([]byte{}, badKP.Add.KeyPackage.Signature...)
	badKP.Add.KeyPackage.Signature[0] ^= 1
	reinit := Proposal{Type: ProposalTypeReInit, ReInit: &ReInitProposal{GroupID: []byte("g2"), Version: 1, CipherSuite: cs, Extensions: []Extension{}}}
	extInit := Proposal{Type: ProposalTypeExternalInit, ExternalInit: &ExternalInitProposal{KEMOutput: make([]byte, 32)}}
	rc := RequiredCapabilities{ProposalTypes: []ProposalType{0x0a0a}}
	dummyPath := &UpdatePath{LeafNode: bob.g.s.tree.leaves[1].withSource(LeafNodeSourceCommit)}

	cases := []struct {
		name    string
		props   []ProposalOrRef
		path    *UpdatePath
		mutate  func(*FramedContent)
		section string
	}{
		{"update by committer by value", byValue(bobUpd.withUpdate()), dummyPath, nil, "§12.2"},
		{"update by committer by reference", []ProposalOrRef{{Reference: bobUpdRef}}, dummyPath, nil, "§12.2"},
		{"remove of the committer", byValue(removeP(1)), dummyPath, nil, "§12.2"},
		{"two removes of one leaf", byValue(removeP(2), removeP(2)), dummyPath, nil, "§12.2"},
		{"update and remove of one leaf", append([]ProposalOrRef{{Reference: carolUpdRef}}, byValue(removeP(2))...), dummyPath, nil, "§12.2"},
		{"same key package added twice", byValue(addDave, addDave), nil, nil, "§12.2"},
		{"add of a client already in the group", byValue(addAliceTwin), nil, nil, "§12.2"},
		{"two group context extensions", byValue(gceP(), gceP()), dummyPath, nil, "§12.2"},
		{"reinit with another proposal", byValue(reinit, addDave), nil, nil, "§12.2"},
		{"external init in a regular commit", byValue(extInit), dummyPath, nil, "§12.2"},
		{"same psk twice", byValue(pskP(cs, "p", nh), pskP(cs, "p", nh)), nil, nil, "§12.2"},
		{"psk nonce of the wrong length", byValue(pskP(cs, "p", 3)), nil, nil, "§12.1.4"},
		{"unknown psk", byValue(pskP(cs, "q", nh)), nil, nil, "§8.4"},
		{"remove of a blank leaf", byValue(removeP(7)), dummyPath, nil, "§12.1.3"},
		{"required capability unsupported by members", byValue(gceP(rc.Extension())), dummyPath, nil, "§11.1"},
		{"remove without path", byValue(removeP(2)), nil, nil, "§12.4"},
		{"empty commit without path", nil, nil, nil, "§12.4"},
		{"unknown proposal reference", []ProposalOrRef{{Reference: make([]byte, nh)}}, dummyPath, nil, "§12.4.2"},
		{"bad confirmation tag", byValue(addDave), nil, nil, "§12.4.2"},
		{"wrong epoch", byValue(addDave), nil, func(c *FramedContent) { c.Epoch++ }, "§12.4.2"},
		{"sender not a member", byValue(addDave), nil, func(c *FramedContent) { c.Sender.LeafIndex = 7 }, "§6.1"},
		{"invalid key package", byValue(badKP), nil, nil, "§10.1"},
	}
	before := alice.g.EpochAuthenticator()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := forgeCommit(t, bob, tc.props, tc.path, tc.mutate)
			_, err := alice.g.Process(msg)
			t.Log(err)
			if !isValidation(err, tc.section) {
				t.Fatalf("got %v, want a validation error citing %s", err, tc.section)
			}
		})
	}
	t.Run("bad membership tag", func(t *testing.T) {
		msg := forgeCommit(t, bob, byValue(addDave), nil, nil)
		msg.PublicMessage.MembershipTag[0] ^= 1
		if _, err := alice.g.Process(msg); !isValidation(err, "§6.2") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		msg := forgeCommit(t, bob, byValue(addDave), nil, nil)
		msg.PublicMessage.Auth.Signature[0] ^= 1
		s := bob.g.s
		tag, _ := membershipTag(cs, s.secrets.membershipKey, msg.PublicMessage.authenticatedContent(), &s.ctx)
		msg.PublicMessage.MembershipTag = tag
		if _, err := alice.g.Process(msg); !isValidation(err, "§6.1") {
			t.Fatalf("got %v", err)
		}
	})
	if a := alice.g.EpochAuthenticator(); string(a) != string(before) || alice.g.Epoch() != 1 {
		t.Fatal("rejected commits changed the group")
	}
	// The valid commit of carol's update by reference still goes through.
	commitAndDeliver(t, alice, CommitOptions{IncludePending: true}, carol)
}

// withSource returns a copy of ln with the given source (for forged paths).
func (ln *LeafNode) withSource(src LeafNodeSource) LeafNode {
	c := *ln
	c.Source = src
	if src == LeafNodeSourceCommit {
		c.Lifetime, c.ParentHash = nil, []byte{}
	}
	return c
}

func (p Proposal) withUpdate() Proposal { return p }

// TestExternalCommitRules checks the external commit rules of RFC 9420
// §12.2 on forged external commits.
func TestExternalCommitRules(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, bob, _ := newThreeMemberGroup(t, cs, Config{UseRatchetTreeExtension: true})
	erin := newTestClient(t, cs, "erin")
	leaf := erin.bundle.KeyPackage.LeafNode.withSource(LeafNodeSourceCommit)
	path := &UpdatePath{LeafNode: leaf}
	extInit := Proposal{Type: ProposalTypeExternalInit, ExternalInit: &ExternalInitProposal{KEMOutput: make([]byte, 32)}}
	dave := newTestClient(t, cs, "dave")
	addDave := Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: dave.bundle.KeyPackage}}
	cases := []struct {
		name  string
		props []ProposalOrRef
	}{
		{"no external init", byValue(removeP(2))},
		{"two external inits", byValue(extInit, extInit)},
		{"two removes", byValue(extInit, removeP(1), removeP(2))},
		{"an add", byValue(extInit, addDave)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := bob.g.s
			content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeNewMemberCommit},
				AuthenticatedData: []byte{}, ContentType: ContentTypeCommit, Commit: &Commit{Proposals: tc.props, Path: path}}
			ac, err := signFramedContent(nil, cs, erin.sigPriv, WireFormatPublicMessage, content, &s.ctx)
			if err != nil {
				t.Fatal(err)
			}
			ac.Auth.ConfirmationTag = make([]byte, cs.Nh())
			pm, err := protectPublic(cs, ac, &s.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = alice.g.Process(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm})
			t.Log(err)
			if !isValidation(err, "§12.2") {
				t.Fatalf("got %v, want §12.2", err)
			}
		})
	}
}

func TestGroupExternalSenderAndOutOfOrder(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	extPriv, extPub, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	senders, err := ExternalSendersExtension([]ExternalSender{{SignatureKey: extPub, Credential: NewBasicCredential([]byte("server"))}})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob, carol := newThreeMemberGroup(t, cs, Config{UseRatchetTreeExtension: true})
	commitAndDeliver(t, alice, CommitOptions{GroupContextExtensions: []Extension{senders}}, bob, carol)

	// The external sender proposes removing carol; bob commits it.
	external := func(p *Proposal) *MLSMessage {
		s := alice.g.s
		content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeExternal},
			AuthenticatedData: []byte{}, ContentType: ContentTypeProposal, Proposal: p}
		tbs := mustEncode(t, &framedContentTBS{WireFormat: WireFormatPublicMessage, Content: content})
		sig, err := cs.SignWithLabel(nil, extPriv, framedContentTBSLabel, tbs)
		if err != nil {
			t.Fatal(err)
		}
		pm := &PublicMessage{Content: *content, Auth: FramedContentAuthData{Signature: sig}}
		return &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}
	}
	upd := bob.g.s.tree.leaves[1].withSource(LeafNodeSourceUpdate)
	if _, err := alice.g.Process(external(&Proposal{Type: ProposalTypeUpdate, Update: &UpdateProposal{LeafNode: upd}})); !isValidation(err, "§12.1.8") {
		t.Fatalf("external update proposal: %v", err)
	}
	rm := removeP(2)
	deliver(t, external(&rm), alice, bob, carol)
	pms := deliver(t, commitAndDeliver(t, bob, CommitOptions{IncludePending: true}).Commit, alice)
	if pms[0].Commit.Proposals[0].Sender.Type != SenderTypeExternal {
		t.Fatalf("proposal sender = %v", pms[0].Commit.Proposals[0].Sender)
	}
	checkAgree(t, alice, bob)

	// A new member proposes adding itself; alice commits it.
	frank := newTestClient(t, cs, "frank")
	{
		s := alice.g.s
		content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeNewMemberProposal},
			AuthenticatedData: []byte{}, ContentType: ContentTypeProposal,
			Proposal: &Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: frank.bundle.KeyPackage}}}
		ac, err := signFramedContent(nil, cs, frank.sigPriv, WireFormatPublicMessage, content, nil)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := protectPublic(cs, ac, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}, alice, bob)
		res := commitAndDeliver(t, alice, CommitOptions{IncludePending: true}, bob)
		if frank.g, err = JoinFromWelcome(Config{}, res.Welcome, frank.bundle, mustTree(t, alice.g)); err != nil {
			t.Fatal(err)
		}
		checkAgree(t, alice, bob, frank)
	}

	// Out-of-order application messages within the window.
	var msgs []*MLSMessage
	for i := range 4 {
		m, err := alice.g.Encrypt([]byte{byte(i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	for _, i := range []int{3, 1, 0, 2} {
		if pm := deliver(t, msgs[i], bob)[0]; pm.ApplicationData[0] != byte(i) {
			t.Fatalf("message %d decrypted to %v", i, pm.ApplicationData)
		}
	}
	if _, err := bob.g.Process(msgs[2]); !isValidation(err, "§9.2") {
		t.Fatalf("replayed message: %v", err)
	}

	// A committed ReInit freezes the group.
	ri := Proposal{Type: ProposalTypeReInit, ReInit: &ReInitProposal{GroupID: []byte("next"), Version: 1, CipherSuite: cs, Extensions: []Extension{}}}
	m, err := alice.g.Propose(ri, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, m, bob)
	commitAndDeliver(t, bob, CommitOptions{IncludePending: true}, alice)
	if _, err := alice.g.Encrypt([]byte("x"), nil); !errors.Is(err, ErrReInit) || alice.g.ReInit() == nil {
		t.Fatalf("send after reinit: %v", err)
	}
}

// benchGroup builds a group of n members created by one commit of alice
// and returns alice's and the last member's group.
func benchGroup(b testing.TB, n int, cfg Config) (alice, member *testClient) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	t, ok := b.(*testing.T)
	if !ok {
		t = &testing.T{}
	}
	alice = newTestClient(t, cs, "alice")
	var err error
	alice.g, err = NewGroup(cfg, cs, []byte("bench"), alice.sigPriv, NewBasicCredential([]byte("alice")), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	kps := make([]KeyPackage, n-1)
	for i := range kps {
		member = newTestClient(t, cs, fmt.Sprint("m", i))
		kps[i] = member.bundle.KeyPackage
	}
	res, err := alice.g.Commit(CommitOptions{Adds: kps})
	if err != nil {
		b.Fatal(err)
	}
	if err := alice.g.MergePendingCommit(); err != nil {
		b.Fatal(err)
	}
	tree, _ := alice.g.RatchetTree()
	if member.g, err = JoinFromWelcome(cfg, res.Welcome, member.bundle, tree); err != nil {
		b.Fatal(err)
	}
	return alice, member
}

func BenchmarkGroupCommit(b *testing.B) {
	for _, n := range []int{250, 2500} {
		cfg := Config{HandshakeWireFormat: WireFormatPublicMessage}
		alice, member := benchGroup(b, n, cfg)
		b.Run(fmt.Sprint("create/n=", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := alice.g.Commit(CommitOptions{}); err != nil {
					b.Fatal(err)
				}
				alice.g.ClearPendingCommit()
			}
		})
		res, err := alice.g.Commit(CommitOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint("process/n=", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := member.g.Process(res.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprint("marshal/n=", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := member.g.MarshalBinary(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzUnmarshalGroup checks that UnmarshalGroup never panics and that what
// it accepts re-encodes identically (a state of an older version re-encodes
// in the current one, which then re-encodes identically).
func FuzzUnmarshalGroup(f *testing.F) {
	t := &testing.T{}
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, bob, _ := newThreeMemberGroup(t, cs, Config{UseRatchetTreeExtension: true, MaxPastEpochs: 1})
	if _, err := alice.g.ProposeUpdate(nil); err != nil {
		f.Fatal(err)
	}
	if _, err := bob.g.Commit(CommitOptions{}); err != nil {
		f.Fatal(err)
	}
	for _, g := range []*Group{alice.g, bob.g} {
		b, err := g.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(loadStateGolden(f, "v1").State))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := UnmarshalGroup(Config{}, b)
		if err != nil {
			return
		}
		again, err := g.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted state does not re-encode: %v", err)
		}
		if b[4] != 0 || b[5] != groupStateVersion {
			if g, err = UnmarshalGroup(Config{}, again); err != nil {
				t.Fatalf("re-encoded old state does not decode: %v", err)
			}
			b = again
			if again, err = g.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(again, b) {
			t.Fatal("accepted state does not re-encode identically")
		}
	})
}

func mustTree(t *testing.T, g *Group) []byte {
	t.Helper()
	b, err := g.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
