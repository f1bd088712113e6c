package mls

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// stateGolden is a frozen group state of an earlier version with a late
// message for one of its kept past epochs. They are never regenerated:
// UnmarshalGroup must read every version it ever wrote.
type stateGolden struct {
	State       hexBytes `json:"state"`
	LateMessage hexBytes `json:"late_message"`
}

// loadStateGolden reads testdata/groupstate-<version>.json.
func loadStateGolden(t testing.TB, version string) stateGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "groupstate-"+version+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g stateGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGroupStateV1Golden loads a version 1 state, written before past
// epochs kept their leaves and before the Welcome's signer was kept. It
// was made by the version 1 code in suite 1 from a seeded ChaCha8 source:
// alice created the group ("state golden", MaxPastEpochs 2) and added bob
// and carol; carol sent "late from carol" (aad "aad") in epoch 1; alice
// removed carol; bob merged that commit and was serialized in epoch 2.
func TestGroupStateV1Golden(t *testing.T) {
	golden := loadStateGolden(t, "v1")
	if golden.State[4] != 0 || golden.State[5] != groupStateVersionV1 {
		t.Fatalf("golden state has version %x", golden.State[4:6])
	}
	cfg := Config{MaxPastEpochs: 2}
	g, err := UnmarshalGroup(cfg, golden.State)
	if err != nil {
		t.Fatal(err)
	}
	if g.Epoch() != 2 || g.OwnLeafIndex() != 1 || len(g.past) != 1 || g.past[0].sigKeys == nil {
		t.Fatalf("epoch %d, leaf %d, %d past epochs", g.Epoch(), g.OwnLeafIndex(), len(g.past))
	}
	if _, ok := g.WelcomeSender(); ok {
		t.Fatal("a version 1 state has a welcome sender")
	}
	// Re-encoded in the current version, it decodes and re-encodes
	// identically, still knowing only the past epoch's signature keys.
	v2, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if v2[4] != 0 || v2[5] != groupStateVersion {
		t.Fatalf("re-encoded with version %x", v2[4:6])
	}
	g2, err := UnmarshalGroup(cfg, v2)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := g2.MarshalBinary(); err != nil || !bytes.Equal(again, v2) {
		t.Fatalf("re-encoded state does not round-trip (%v)", err)
	}
	for name, g := range map[string]*Group{"v1": g, "v1 re-encoded": g2} {
		m, err := ParseMLSMessage(golden.LateMessage)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := g.Process(m)
		if err != nil {
			t.Fatalf("%s: late message: %v", name, err)
		}
		if string(pm.ApplicationData) != "late from carol" || pm.Epoch != 1 || pm.Sender.LeafIndex != 2 || pm.SenderLeaf != nil {
			t.Fatalf("%s: late message %q epoch %d leaf %d SenderLeaf %v", name, pm.ApplicationData, pm.Epoch, pm.Sender.LeafIndex, pm.SenderLeaf)
		}
	}
	// The restored group still signs: its GroupInfo verifies under its
	// leaf's key, and a commit archives a full past epoch next to the
	// version 1 one; the mixed state round-trips.
	gi, err := g2.GroupInfo(false)
	if err != nil {
		t.Fatal(err)
	}
	own, _ := g2.Member(g2.OwnLeafIndex())
	if err := gi.verify(own.LeafNode.SignatureKey); err != nil {
		t.Fatal(err)
	}
	if _, err := g2.Commit(CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := g2.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	if len(g2.past) != 2 || g2.past[0].sigKeys == nil || g2.past[1].sigKeys != nil || g2.past[1].leaves == nil {
		t.Fatal("after a commit, want the version 1 epoch and a full one")
	}
	mixed, err := g2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	g3, err := UnmarshalGroup(cfg, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := g3.MarshalBinary(); err != nil || !bytes.Equal(again, mixed) {
		t.Fatalf("mixed state does not round-trip (%v)", err)
	}
}

// TestGroupStatePastLeavesShared checks that a past epoch's leaves equal
// to the current epoch's are written as references, and stay shared after
// a round trip.
func TestGroupStatePastLeavesShared(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfg := Config{UseRatchetTreeExtension: true, MaxPastEpochs: 1}
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)
	// Alice's path commit changes only her own leaf.
	commitAndDeliver(t, alice, CommitOptions{}, bob, carol)
	restored, err := UnmarshalGroup(cfg, mustMarshal(t, bob.g))
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*Group{"bob": bob.g, "restored bob": restored} {
		p, cur := g.past[0], g.s.tree
		if p.leaves[0] == cur.leaf(0) || p.leaves[1] != cur.leaf(1) || p.leaves[2] != cur.leaf(2) {
			t.Fatalf("%s: past leaves not shared with the current tree as expected", name)
		}
		var shared, unshared Writer
		marshalPastEpoch(&shared, p, cur)
		marshalPastEpoch(&unshared, p, &ratchetTree{})
		want := len(mustEncode(t, p.leaves[1])) + len(mustEncode(t, p.leaves[2]))
		if got := len(unshared.Bytes()) - len(shared.Bytes()); got != want {
			t.Fatalf("%s: sharing saves %d bytes, want %d (two leaves)", name, got, want)
		}
	}
}

// TestUnmarshalGroupRejects checks malformed version 2 past epochs.
func TestUnmarshalGroupRejects(t *testing.T) {
	golden := loadStateGolden(t, "v1")
	for name, b := range map[string][]byte{
		"version 3":  append(append([]byte(groupStateMagic), 0, 3), golden.State[6:]...),
		"v1 as v2":   append(append([]byte(groupStateMagic), 0, 2), golden.State[6:]...),
		"truncated":  golden.State[:len(golden.State)-1],
		"v1 + bytes": append(bytes.Clone(golden.State), 0),
	} {
		if _, err := UnmarshalGroup(Config{}, b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A past epoch whose leaves all equal the current ones ends with the
	// tags 1 1 1 0 (three members, one blank leaf).
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, _, _ := newThreeMemberGroup(t, cs, Config{UseRatchetTreeExtension: true, MaxPastEpochs: 1})
	cur := alice.g.s.tree
	p := &pastEpoch{ctx: alice.g.s.ctx, senderDataSecret: alice.g.s.secrets.senderDataSecret, st: alice.g.s.st,
		leaves: append([]*LeafNode(nil), cur.leaves...)}
	var w Writer
	marshalPastEpoch(&w, p, cur)
	b := w.Bytes()
	if !bytes.Equal(b[len(b)-5:], []byte{4, 1, 1, 1, 0}) {
		t.Fatalf("past leaves encode as %x", b[len(b)-5:])
	}
	if r := NewReader(b); unmarshalPastEpoch(r, cur) == nil || r.Finish() != nil {
		t.Fatalf("valid past epoch refused: %v", r.Finish())
	}
	badTag := append(bytes.Clone(b[:len(b)-1]), 3)
	blankRef := append(bytes.Clone(b[:len(b)-1]), pastLeafCurrent)
	for name, tc := range map[string]struct {
		b   []byte
		cur *ratchetTree
	}{
		"unknown tag":            {badTag, cur},
		"reference to blank":     {blankRef, cur},
		"reference without tree": {b, &ratchetTree{}},
	} {
		r := NewReader(tc.b)
		unmarshalPastEpoch(r, tc.cur)
		if err := r.Finish(); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", name, err)
		}
	}
}

func mustMarshal(t *testing.T, g *Group) []byte {
	t.Helper()
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
