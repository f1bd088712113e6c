package mls

import (
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"testing"
)

// benchTree is a group of n members whose tree has every parent set by
// earlier commits, so it looks like a long-lived group: valid parent-hash
// chains, signed commit leaves, no unmerged leaves.
type benchTree struct {
	tree    *ratchetTree
	enc     []byte
	hash    []byte
	groupID []byte
	sigs    [][]byte       // signature private keys by leaf
	privs   []*treePrivate // private states by leaf
}

var benchTrees sync.Map // int -> *benchTree

// getBenchTree builds (once per size) a tree of n members in suite 1.
func getBenchTree(tb testing.TB, n int) *benchTree {
	if v, ok := benchTrees.Load(n); ok {
		return v.(*benchTree)
	}
	bt, err := buildBenchTree(n)
	if err != nil {
		tb.Fatalf("build tree of %d: %v", n, err)
	}
	benchTrees.Store(n, bt)
	return bt
}

func buildBenchTree(n int) (*benchTree, error) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	rnd := mathrand.NewChaCha8([32]byte{byte(n), byte(n >> 8)})
	bt := &benchTree{groupID: []byte("bench group"), sigs: make([][]byte, n), privs: make([]*treePrivate, n)}
	for i := range n {
		ln, sigPriv, encPriv, err := benchLeaf(cs, rnd, i)
		if err != nil {
			return nil, err
		}
		var l LeafIndex
		if i == 0 {
			bt.tree = newRatchetTree(cs, ln)
		} else {
			l = bt.tree.addLeaf(ln)
		}
		bt.sigs[l], bt.privs[l] = sigPriv, newTreePrivate(l, encPriv, ln.EncryptionKey)
	}
	// Even leaves commit in turn, which sets every parent node.
	for l := 0; l < n; l += 2 {
		if err := bt.commitWithoutEncryption(rnd, LeafIndex(l)); err != nil {
			return nil, err
		}
	}
	var err error
	if bt.enc, err = bt.tree.encode(); err != nil {
		return nil, err
	}
	if bt.hash, err = bt.tree.treeHash(); err != nil {
		return nil, err
	}
	return bt, nil
}

// benchLeaf makes the key_package leaf of member i.
func benchLeaf(cs CipherSuite, rnd *mathrand.ChaCha8, i int) (*LeafNode, []byte, []byte, error) {
	sigPriv, sigPub, err := cs.GenerateSignatureKeyPair(rnd)
	if err != nil {
		return nil, nil, nil, err
	}
	encPriv, encPub, err := cs.GenerateHPKEKeyPair(rnd)
	if err != nil {
		return nil, nil, nil, err
	}
	ln := &LeafNode{EncryptionKey: encPub, SignatureKey: sigPub,
		Credential:   Credential{Type: CredentialTypeBasic, Identity: fmt.Appendf(nil, "member-%d", i)},
		Capabilities: DefaultCapabilities(cs, CredentialTypeBasic), Source: LeafNodeSourceKeyPackage,
		Lifetime: &Lifetime{NotBefore: 0, NotAfter: 1 << 62}, Extensions: []Extension{}}
	if err := ln.sign(rnd, cs, sigPriv, nil, 0); err != nil {
		return nil, nil, nil, err
	}
	return ln, sigPriv, encPriv, nil
}

// commitWithoutEncryption refreshes leaf l's path as a commit would but
// skips encrypting the path secrets, which building the fixture needs not.
func (bt *benchTree) commitWithoutEncryption(rnd *mathrand.ChaCha8, l LeafIndex) error {
	t := bt.tree
	fdp := t.filteredDirectPath(l)
	leafKey, np, err := t.newPathKeys(rnd, fdp)
	if err != nil {
		return err
	}
	t.blankDirectPath(l)
	for i, st := range fdp {
		t.setParent(st.node, &ParentNode{EncryptionKey: np.keys[i].pub})
	}
	if _, err := t.signPathLeaf(rnd, t.leaf(l), leafKey.pub, fdp, bt.sigs[l], bt.groupID, l); err != nil {
		return err
	}
	bt.privs[l] = newTreePrivate(l, leafKey.priv, leafKey.pub)
	for i, st := range fdp {
		bt.privs[l].keys[st.node] = np.keys[i]
	}
	return nil
}

var benchSizes = []int{250, 2500}

// BenchmarkTreeJoin decodes a ratchet_tree extension and validates it as
// a joiner does (tree hash, parent hashes, unmerged leaves, key
// uniqueness, one signature per member).
func BenchmarkTreeJoin(b *testing.B) {
	for _, n := range benchSizes {
		bt := getBenchTree(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := decodeRatchetTree(bt.tree.cs, bt.enc)
				if err != nil {
					b.Fatal(err)
				}
				if err := t.validate(bt.groupID, bt.hash, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTreeHash computes the root tree hash from scratch.
func BenchmarkTreeHash(b *testing.B) {
	for _, n := range benchSizes {
		bt := getBenchTree(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			t := bt.tree.clone()
			for b.Loop() {
				clear(t.hashes)
				if _, err := t.treeHash(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTreeParentHashes verifies every parent hash of the tree.
func BenchmarkTreeParentHashes(b *testing.B) {
	for _, n := range benchSizes {
		bt := getBenchTree(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			t := bt.tree.clone()
			for b.Loop() {
				if err := t.verifyParentHashes(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchContext is a fixed provisional GroupContext builder.
func benchContext(groupID []byte) groupContextFunc {
	return func(treeHash []byte) ([]byte, error) {
		return encode(&GroupContext{Version: ProtocolVersionMLS10, CipherSuite: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
			GroupID: groupID, Epoch: 7, TreeHash: treeHash, ConfirmedTranscriptHash: make([]byte, 32), Extensions: []Extension{}})
	}
}

// BenchmarkTreeCreateUpdatePath creates leaf 0's UpdatePath on a staged
// copy of the tree (clone included, as a commit does).
func BenchmarkTreeCreateUpdatePath(b *testing.B) {
	for _, n := range benchSizes {
		bt := getBenchTree(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, p := bt.tree.clone(), bt.privs[0].clone()
				if _, _, err := t.createUpdatePath(nil, p, nil, bt.sigs[0], bt.groupID, nil, benchContext(bt.groupID)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTreeProcessUpdatePath has leaf 1 process an UpdatePath of leaf
// 0 (the deepest common ancestor, so the most keys to derive) on a staged
// copy, including the new tree hash.
func BenchmarkTreeProcessUpdatePath(b *testing.B) {
	for _, n := range benchSizes {
		bt := getBenchTree(b, n)
		t, p := bt.tree.clone(), bt.privs[0].clone()
		path, _, err := t.createUpdatePath(nil, p, nil, bt.sigs[0], bt.groupID, nil, benchContext(bt.groupID))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, p := bt.tree.clone(), bt.privs[1].clone()
				if _, err := t.processUpdatePath(p, 0, path, bt.groupID, nil, benchContext(bt.groupID)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTreeBenchFixture checks the benchmark tree is a valid one, so the
// benchmarks measure the success path.
func TestTreeBenchFixture(t *testing.T) {
	bt := getBenchTree(t, 40)
	tree, err := decodeRatchetTree(bt.tree.cs, bt.enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.validate(bt.groupID, bt.hash, nil); err != nil {
		t.Fatal(err)
	}
	for x := range nodeIndex(nodeWidth(tree.leafCount())) {
		if x.isLeaf() {
			continue
		}
		// A parent is set once both its subtrees hold members.
		if lo, _ := x.right().leafSpan(); lo < 40 && tree.blank(x) {
			t.Errorf("parent %d is blank", x)
		}
	}
}
