package mls

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func init() {
	vectorRunners["tree-validation.json"] = runTreeValidationVectors
	vectorRunners["tree-operations.json"] = runTreeOperationsVectors
}

type treeValidationVector struct {
	CipherSuite uint16     `json:"cipher_suite"`
	Tree        hexBytes   `json:"tree"`
	GroupID     hexBytes   `json:"group_id"`
	Resolutions [][]uint32 `json:"resolutions"`
	TreeHashes  []hexBytes `json:"tree_hashes"`
}

func runTreeValidationVectors(t *testing.T, path string) {
	for i, v := range loadVectors[treeValidationVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) { checkTreeValidation(t, v) })
	}
}

// checkTreeValidation compares every resolution and tree hash, then checks
// parent hashes, leaf signatures and the rest of validate, and that the
// tree re-encodes to the same bytes.
func checkTreeValidation(t *testing.T, v treeValidationVector) {
	cs := CipherSuite(v.CipherSuite)
	tree, err := decodeRatchetTree(cs, v.Tree)
	if err != nil {
		t.Fatalf("decodeRatchetTree: %v", err)
	}
	width := int(nodeWidth(tree.leafCount()))
	if len(v.Resolutions) != width || len(v.TreeHashes) != width {
		t.Fatalf("tree has %d nodes, vector has %d resolutions and %d hashes", width, len(v.Resolutions), len(v.TreeHashes))
	}
	for x := range width {
		var got []uint32
		for _, y := range tree.resolution(nil, nodeIndex(x)) {
			got = append(got, uint32(y))
		}
		if !slices.Equal(got, v.Resolutions[x]) {
			t.Errorf("resolution(%d) = %v, want %v", x, got, v.Resolutions[x])
		}
		h, err := tree.nodeHash(nodeIndex(x))
		if err != nil || !bytes.Equal(h, v.TreeHashes[x]) {
			t.Errorf("tree hash of %d = %x, %v; want %x", x, h, err, v.TreeHashes[x])
		}
	}
	if err := tree.verifyParentHashes(); err != nil {
		t.Errorf("verifyParentHashes: %v", err)
	}
	if err := tree.validate(v.GroupID, v.TreeHashes[tree.root()], nil); err != nil {
		t.Errorf("validate: %v", err)
	}
	if enc, err := tree.encode(); err != nil || !bytes.Equal(enc, v.Tree) {
		t.Errorf("re-encoding differs (err %v)", err)
	}
}

type treeOperationsVector struct {
	CipherSuite    uint16   `json:"cipher_suite"`
	TreeBefore     hexBytes `json:"tree_before"`
	Proposal       hexBytes `json:"proposal"`
	ProposalSender uint32   `json:"proposal_sender"`
	TreeHashBefore hexBytes `json:"tree_hash_before"`
	TreeAfter      hexBytes `json:"tree_after"`
	TreeHashAfter  hexBytes `json:"tree_hash_after"`
}

func runTreeOperationsVectors(t *testing.T, path string) {
	for i, v := range loadVectors[treeOperationsVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) { checkTreeOperation(t, v) })
	}
}

func checkTreeOperation(t *testing.T, v treeOperationsVector) {
	tree, err := decodeRatchetTree(CipherSuite(v.CipherSuite), v.TreeBefore)
	if err != nil {
		t.Fatalf("decodeRatchetTree: %v", err)
	}
	if h, err := tree.treeHash(); err != nil || !bytes.Equal(h, v.TreeHashBefore) {
		t.Errorf("tree hash before = %x, %v; want %x", h, err, v.TreeHashBefore)
	}
	var p Proposal
	if err := decode(v.Proposal, &p); err != nil {
		t.Fatalf("decode proposal: %v", err)
	}
	if _, err := tree.applyProposal(LeafIndex(v.ProposalSender), &p); err != nil {
		t.Fatalf("applyProposal(%v): %v", p.Type, err)
	}
	if h, err := tree.treeHash(); err != nil || !bytes.Equal(h, v.TreeHashAfter) {
		t.Errorf("tree hash after = %x, %v; want %x", h, err, v.TreeHashAfter)
	}
	enc, err := tree.encode()
	if err != nil || !bytes.Equal(enc, v.TreeAfter) {
		t.Errorf("tree after = %x, %v; want %x", enc, err, v.TreeAfter)
	}
	// A fresh decode of the result must hash the same as the cached tree.
	fresh, err := decodeRatchetTree(CipherSuite(v.CipherSuite), v.TreeAfter)
	if err != nil {
		t.Fatalf("decode tree after: %v", err)
	}
	if h, _ := fresh.treeHash(); !bytes.Equal(h, v.TreeHashAfter) {
		t.Errorf("fresh tree hash after = %x, want %x", h, v.TreeHashAfter)
	}
}

// TestRatchetTreeDecodeErrors checks the structural rules of the
// ratchet_tree extension (RFC 9420 §12.4.3.3).
func TestRatchetTreeDecodeErrors(t *testing.T) {
	parent := func(w *Writer) {
		w.Uint8(uint8(NodeTypeParent))
		(&ParentNode{EncryptionKey: []byte{1}, ParentHash: []byte{}, UnmergedLeaves: nil}).marshal(w)
	}
	cases := map[string]func(w *Writer){
		"empty":          func(w *Writer) {},
		"trailing blank": func(w *Writer) { w.Optional(false, nil) },
		"parent at leaf": func(w *Writer) { w.Optional(true, parent) },
		"bad node type":  func(w *Writer) { w.Optional(true, func(w *Writer) { w.Uint8(3) }) },
		"bad optional":   func(w *Writer) { w.Uint8(2) },
	}
	for name, body := range cases {
		var w Writer
		w.Vector(body)
		_, err := decodeRatchetTree(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, w.Bytes())
		var ve *ValidationError
		if err == nil || !(errors.Is(err, ErrDecode) || errors.As(err, &ve)) {
			t.Errorf("%s: err = %v, want a decode or validation error", name, err)
		}
	}
}

// TestRatchetTreeTruncateExtend checks that Add fills the leftmost blank
// leaf or extends, and that Remove truncates to the rightmost member.
func TestRatchetTreeTruncateExtend(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	mk := func(i byte) *LeafNode {
		return &LeafNode{EncryptionKey: []byte{i}, SignatureKey: []byte{i}, Credential: Credential{Type: CredentialTypeBasic, Identity: []byte{i}}, Source: LeafNodeSourceUpdate}
	}
	tree := newRatchetTree(cs, mk(0))
	for i := byte(1); i < 5; i++ {
		if l := tree.addLeaf(mk(i)); l != LeafIndex(i) {
			t.Fatalf("addLeaf #%d went to %d", i, l)
		}
	}
	if tree.leafCount() != 8 {
		t.Fatalf("leafCount = %d, want 8", tree.leafCount())
	}
	if err := tree.removeLeaf(4); err != nil || tree.leafCount() != 4 {
		t.Fatalf("after removing 4: leafCount %d, err %v; want 4", tree.leafCount(), err)
	}
	if err := tree.removeLeaf(1); err != nil || tree.leafCount() != 4 {
		t.Fatalf("after removing 1: leafCount %d, err %v; want 4", tree.leafCount(), err)
	}
	if l := tree.addLeaf(mk(9)); l != 1 {
		t.Fatalf("addLeaf reused leaf %d, want 1", l)
	}
	if err := tree.removeLeaf(7); !errors.Is(err, ErrBlankLeaf) {
		t.Fatalf("removeLeaf(7) = %v, want ErrBlankLeaf", err)
	}
	for _, l := range []LeafIndex{3, 2, 1} {
		if err := tree.removeLeaf(l); err != nil {
			t.Fatalf("removeLeaf(%d): %v", l, err)
		}
	}
	if tree.leafCount() != 1 {
		t.Fatalf("leafCount = %d, want 1", tree.leafCount())
	}
	// Hashes stay consistent with a fresh computation after all changes.
	cached, _ := tree.treeHash()
	enc, err := tree.encode()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := decodeRatchetTree(cs, enc)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := fresh.treeHash(); !bytes.Equal(h, cached) {
		t.Errorf("cached tree hash differs from a fresh one")
	}
}

// validationFixture returns a suite-1 tree of tree-validation.json with a
// non-blank parent that has unmerged leaves, and its group ID.
func validationFixture(t *testing.T) (*ratchetTree, []byte, nodeIndex) {
	t.Helper()
	for _, v := range loadVectors[treeValidationVector](t, vectorDir()+"/tree-validation.json") {
		if v.CipherSuite != 1 {
			continue
		}
		tree, err := decodeRatchetTree(CipherSuite(v.CipherSuite), v.Tree)
		if err != nil {
			t.Fatal(err)
		}
		for j, p := range tree.parents {
			if p != nil && len(p.UnmergedLeaves) > 0 {
				return tree, v.GroupID, nodeIndex(2*j + 1)
			}
		}
	}
	t.Fatal("no tree with unmerged leaves")
	return nil, nil, 0
}

// TestRatchetTreeValidateRejects changes one thing at a time in a valid
// tree and checks validate names the broken rule.
func TestRatchetTreeValidateRejects(t *testing.T) {
	cases := []struct {
		name    string
		section string
		change  func(tree *ratchetTree, x nodeIndex)
	}{
		{"parent key", "§7.9.2", func(tree *ratchetTree, x nodeIndex) {
			p := *tree.parent(x)
			p.EncryptionKey = append([]byte{}, p.EncryptionKey...)
			p.EncryptionKey[0] ^= 1
			tree.setParent(x, &p)
		}},
		{"parent hash field", "§7.9.2", func(tree *ratchetTree, x nodeIndex) {
			p := *tree.parent(x)
			p.ParentHash = []byte("forged")
			tree.setParent(x, &p)
		}},
		{"duplicate key", "§12.4.3.1", func(tree *ratchetTree, x nodeIndex) {
			p := *tree.parent(x)
			p.EncryptionKey = tree.leaf(p.UnmergedLeaves[0]).EncryptionKey
			tree.setParent(x, &p)
		}},
		{"unmerged not below", "§12.4.3.1", func(tree *ratchetTree, x nodeIndex) {
			p := *tree.parent(x)
			_, hi := x.leafSpan()
			p.UnmergedLeaves = append(slices.Clone(p.UnmergedLeaves), hi)
			tree.setParent(x, &p)
		}},
		{"unmerged unsorted", "§7.1", func(tree *ratchetTree, x nodeIndex) {
			p := *tree.parent(x)
			p.UnmergedLeaves = append(slices.Clone(p.UnmergedLeaves), p.UnmergedLeaves[0])
			tree.setParent(x, &p)
		}},
		{"leaf signature", "§7.3", func(tree *ratchetTree, _ nodeIndex) {
			ln := *tree.leaf(0)
			ln.Signature = append([]byte{}, ln.Signature...)
			ln.Signature[0] ^= 1
			tree.setLeaf(0, &ln)
		}},
	}
	for _, c := range cases {
		tree, groupID, x := validationFixture(t)
		c.change(tree, x)
		th, err := tree.treeHash()
		if err != nil {
			t.Fatal(err)
		}
		err = tree.validate(groupID, th, nil)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Section != c.section {
			t.Errorf("%s: err = %v, want a ValidationError of %s", c.name, err, c.section)
		}
	}
	tree, groupID, _ := validationFixture(t)
	if err := tree.validate(groupID, make([]byte, 32), nil); err == nil {
		t.Error("wrong tree hash accepted")
	}
	if err := tree.validate(groupID, mustTreeHash(t, tree), nil); err != nil {
		t.Errorf("unchanged tree: %v", err)
	}
}

func mustTreeHash(t *testing.T, tree *ratchetTree) []byte {
	h, err := tree.treeHash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
