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
	deliver(t, upd, alice, carol)
	res := commitAndDeliver(t, carol, CommitOptions{IncludePending: true}, alice, bob)
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
