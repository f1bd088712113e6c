package mls

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrBlankLeaf is returned when an operation names a leaf that holds no
// member (a local caller's mistake; remote input gets a ValidationError).
var ErrBlankLeaf = errors.New("mls: leaf is blank")

// ParentNode is the content of a non-blank parent node of the ratchet tree
// (RFC 9420 §7.1). UnmergedLeaves lists, in increasing order, the leaves
// below the node that do not know its private key.
type ParentNode struct {
	EncryptionKey  []byte
	ParentHash     []byte
	UnmergedLeaves []LeafIndex
}

func (p *ParentNode) marshal(w *Writer) {
	w.Opaque(p.EncryptionKey)
	w.Opaque(p.ParentHash)
	w.Vector(func(w *Writer) {
		for _, l := range p.UnmergedLeaves {
			w.Uint32(uint32(l))
		}
	})
}

func (p *ParentNode) unmarshal(r *Reader) {
	p.EncryptionKey = r.Opaque()
	p.ParentHash = r.Opaque()
	p.UnmergedLeaves = []LeafIndex{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			p.UnmergedLeaves = append(p.UnmergedLeaves, LeafIndex(r.Uint32()))
		}
	})
}

// withUnmerged returns a copy of p with l inserted into UnmergedLeaves,
// keeping the list sorted; p itself is not modified.
func (p *ParentNode) withUnmerged(l LeafIndex) *ParentNode {
	c := *p
	i, found := slices.BinarySearch(p.UnmergedLeaves, l)
	if found {
		return &c
	}
	c.UnmergedLeaves = slices.Insert(slices.Clip(p.UnmergedLeaves), i, l)
	return &c
}

// NodeType tags the two kinds of tree node (RFC 9420 §7.8).
type NodeType uint8

// Node types of RFC 9420 §7.8.
const (
	NodeTypeLeaf   NodeType = 1
	NodeTypeParent NodeType = 2
)

// Node is one entry of the ratchet_tree extension (RFC 9420 §12.4.3.3):
// exactly one of Leaf and Parent is set, as Type says.
type Node struct {
	Type   NodeType
	Leaf   *LeafNode
	Parent *ParentNode
}

func (n *Node) marshal(w *Writer) {
	w.Uint8(uint8(n.Type))
	switch {
	case n.Type == NodeTypeLeaf && n.Leaf != nil:
		n.Leaf.marshal(w)
	case n.Type == NodeTypeParent && n.Parent != nil:
		n.Parent.marshal(w)
	default:
		failEncode(w, "node of type %d without matching content", uint8(n.Type))
	}
}

func (n *Node) unmarshal(r *Reader) {
	n.Type = NodeType(r.Uint8())
	n.Leaf, n.Parent = nil, nil
	switch n.Type {
	case NodeTypeLeaf:
		n.Leaf = new(LeafNode)
		n.Leaf.unmarshal(r)
	case NodeTypeParent:
		n.Parent = new(ParentNode)
		n.Parent.unmarshal(r)
	default:
		r.Fail("node type %d", uint8(n.Type))
	}
}

// ratchetTree is the public state of a group's ratchet tree (RFC 9420 §7)
// in array form: the leaf count is always a power of two, leaves[i] is leaf
// i (node 2i) and parents[j] is parent node 2j+1; nil means blank.
//
// Nodes are immutable once placed in the tree: every change installs a new
// value, so clone is cheap and a clone never sees later changes. hashes
// caches tree hashes by node index; nil means stale, and a stale node's
// ancestors are always stale too. A tree is not safe for concurrent use,
// not even for reads, since hashing fills the cache.
type ratchetTree struct {
	cs      CipherSuite
	leaves  []*LeafNode
	parents []*ParentNode
	hashes  [][]byte
	scratch hashScratch
}

// newRatchetTree returns a one-leaf tree holding leaf (group creation,
// RFC 9420 §11).
func newRatchetTree(cs CipherSuite, leaf *LeafNode) *ratchetTree {
	return &ratchetTree{cs: cs, leaves: []*LeafNode{leaf}, parents: []*ParentNode{}, hashes: make([][]byte, 1)}
}

// clone returns an independent copy sharing the immutable nodes, for
// staging changes that may be discarded.
func (t *ratchetTree) clone() *ratchetTree {
	return &ratchetTree{
		cs:      t.cs,
		leaves:  slices.Clone(t.leaves),
		parents: slices.Clone(t.parents),
		hashes:  slices.Clone(t.hashes),
	}
}

// leafCount returns the tree width in leaves, a power of two.
func (t *ratchetTree) leafCount() uint32 { return uint32(len(t.leaves)) }

// root returns the index of the root node.
func (t *ratchetTree) root() nodeIndex { return treeRoot(t.leafCount()) }

// leaf returns leaf l, or nil if it is blank or outside the tree.
func (t *ratchetTree) leaf(l LeafIndex) *LeafNode {
	if uint64(l) >= uint64(len(t.leaves)) {
		return nil
	}
	return t.leaves[l]
}

// parent returns the parent node x, or nil if it is blank.
func (t *ratchetTree) parent(x nodeIndex) *ParentNode { return t.parents[x>>1] }

// blank reports whether node x is blank.
func (t *ratchetTree) blank(x nodeIndex) bool {
	if x.isLeaf() {
		return t.leaves[x>>1] == nil
	}
	return t.parents[x>>1] == nil
}

// encryptionKey returns the HPKE public key of node x, nil if blank.
func (t *ratchetTree) encryptionKey(x nodeIndex) []byte {
	if x.isLeaf() {
		if ln := t.leaves[x>>1]; ln != nil {
			return ln.EncryptionKey
		}
		return nil
	}
	if p := t.parents[x>>1]; p != nil {
		return p.EncryptionKey
	}
	return nil
}

// invalidate marks the cached hashes of x and its ancestors stale.
func (t *ratchetTree) invalidate(x nodeIndex) {
	r := t.root()
	for t.hashes[x] != nil {
		t.hashes[x] = nil
		if x == r {
			return
		}
		x = x.parent()
	}
}

// setLeaf installs ln (nil to blank) as leaf l.
func (t *ratchetTree) setLeaf(l LeafIndex, ln *LeafNode) {
	t.leaves[l] = ln
	t.invalidate(l.node())
}

// setParent installs p (nil to blank) at parent node x.
func (t *ratchetTree) setParent(x nodeIndex, p *ParentNode) {
	t.parents[x>>1] = p
	t.invalidate(x)
}

// blankDirectPath blanks every parent node above leaf l.
func (t *ratchetTree) blankDirectPath(l LeafIndex) {
	for _, x := range directPath(l.node(), t.leafCount()) {
		if t.parents[x>>1] != nil {
			t.setParent(x, nil)
		}
	}
}

// extend doubles the tree width: the old tree becomes the left subtree of
// a new blank root whose right subtree is blank (RFC 9420 §7.7).
func (t *ratchetTree) extend() {
	n := len(t.leaves)
	t.leaves = append(t.leaves, make([]*LeafNode, n)...)
	t.parents = append(t.parents, make([]*ParentNode, n)...)
	t.hashes = append(t.hashes, make([][]byte, 2*n)...)
}

// truncate halves the tree while its right half holds no member
// (RFC 9420 §12.1.3), keeping at least one leaf.
func (t *ratchetTree) truncate() {
	for n := len(t.leaves); n > 1; n /= 2 {
		for _, ln := range t.leaves[n/2 : n] {
			if ln != nil {
				return
			}
		}
		t.leaves = t.leaves[: n/2 : n/2]
		t.parents = t.parents[: n/2-1 : n/2-1]
		t.hashes = t.hashes[: n-1 : n-1]
	}
}

// resolution appends to dst the resolution of node x (RFC 9420 §4.1.1):
// the nearest non-blank nodes covering x's subtree, each parent followed
// by its unmerged leaves, left to right.
func (t *ratchetTree) resolution(dst []nodeIndex, x nodeIndex) []nodeIndex {
	if x.isLeaf() {
		if t.leaves[x>>1] != nil {
			dst = append(dst, x)
		}
		return dst
	}
	if p := t.parents[x>>1]; p != nil {
		dst = append(dst, x)
		for _, l := range p.UnmergedLeaves {
			dst = append(dst, l.node())
		}
		return dst
	}
	dst = t.resolution(dst, x.left())
	return t.resolution(dst, x.right())
}

// resolutionEmpty reports whether node x has an empty resolution, that is
// whether its whole subtree is blank. It stops at the first non-blank node.
func (t *ratchetTree) resolutionEmpty(x nodeIndex) bool {
	if !t.blank(x) {
		return false
	}
	if x.isLeaf() {
		return true
	}
	return t.resolutionEmpty(x.left()) && t.resolutionEmpty(x.right())
}

// pathStep is one node of a leaf's filtered direct path with the child of
// it that lies on the leaf's copath.
type pathStep struct {
	node, copathChild nodeIndex
}

// filteredDirectPath returns the filtered direct path of leaf l (RFC 9420
// §4.1.2): its direct path without the nodes whose copath child has an
// empty resolution, from the leaf up to the root.
func (t *ratchetTree) filteredDirectPath(l LeafIndex) []pathStep {
	var out []pathStep
	x, r := l.node(), t.root()
	for x != r {
		s, p := x.sibling(), x.parent()
		if !t.resolutionEmpty(s) {
			out = append(out, pathStep{node: p, copathChild: s})
		}
		x = p
	}
	return out
}

// leftmostBlankLeaf returns the first blank leaf, or false if the tree is
// full.
func (t *ratchetTree) leftmostBlankLeaf() (LeafIndex, bool) {
	for i, ln := range t.leaves {
		if ln == nil {
			return LeafIndex(i), true
		}
	}
	return 0, false
}

// addLeaf places ln in the leftmost blank leaf, extending the tree if it
// is full, and records the new leaf as unmerged at every non-blank parent
// above it (RFC 9420 §12.1.1). It returns the new member's leaf index.
func (t *ratchetTree) addLeaf(ln *LeafNode) LeafIndex {
	l, ok := t.leftmostBlankLeaf()
	if !ok {
		l = LeafIndex(len(t.leaves))
		t.extend()
	}
	for _, x := range directPath(l.node(), t.leafCount()) {
		if p := t.parents[x>>1]; p != nil {
			t.setParent(x, p.withUnmerged(l))
		}
	}
	t.setLeaf(l, ln)
	return l
}

// updateLeaf replaces member l's leaf with ln and blanks its direct path
// (RFC 9420 §12.1.2).
func (t *ratchetTree) updateLeaf(l LeafIndex, ln *LeafNode) error {
	if t.leaf(l) == nil {
		return fmt.Errorf("%w: update of leaf %d", ErrBlankLeaf, l)
	}
	t.setLeaf(l, ln)
	t.blankDirectPath(l)
	return nil
}

// removeLeaf blanks member l's leaf and direct path, then truncates the
// tree (RFC 9420 §12.1.3).
func (t *ratchetTree) removeLeaf(l LeafIndex) error {
	if t.leaf(l) == nil {
		return fmt.Errorf("%w: removal of leaf %d", ErrBlankLeaf, l)
	}
	t.setLeaf(l, nil)
	t.blankDirectPath(l)
	t.truncate()
	return nil
}

// members returns the indices of the non-blank leaves, in order.
func (t *ratchetTree) members() []LeafIndex {
	var out []LeafIndex
	for i, ln := range t.leaves {
		if ln != nil {
			out = append(out, LeafIndex(i))
		}
	}
	return out
}

// findLeaf returns the index of the leaf whose encoding equals ln's, for a
// joiner looking for its own KeyPackage leaf (RFC 9420 §12.4.3.1).
func (t *ratchetTree) findLeaf(ln *LeafNode) (LeafIndex, bool) {
	want, err := encode(ln)
	if err != nil {
		return 0, false
	}
	for i, c := range t.leaves {
		if c == nil || !bytes.Equal(c.EncryptionKey, ln.EncryptionKey) {
			continue
		}
		if got, err := encode(c); err == nil && bytes.Equal(got, want) {
			return LeafIndex(i), true
		}
	}
	return 0, false
}

// marshal writes the ratchet_tree extension body (RFC 9420 §12.4.3.3):
// optional<Node> ratchet_tree<V>, with the trailing blank nodes omitted.
func (t *ratchetTree) marshal(w *Writer) {
	last := -1
	for x := range nodeWidth(t.leafCount()) {
		if !t.blank(nodeIndex(x)) {
			last = int(x)
		}
	}
	w.Vector(func(w *Writer) {
		for x := range last + 1 {
			t.marshalNode(w, nodeIndex(x))
		}
	})
}

// marshalNode writes node x as optional<Node>.
func (t *ratchetTree) marshalNode(w *Writer, x nodeIndex) {
	w.Optional(!t.blank(x), func(w *Writer) {
		if x.isLeaf() {
			w.Uint8(uint8(NodeTypeLeaf))
			t.leaves[x>>1].marshal(w)
		} else {
			w.Uint8(uint8(NodeTypeParent))
			t.parents[x>>1].marshal(w)
		}
	})
}

// decodeRatchetTree parses a ratchet_tree extension body for suite cs and
// extends it to full width. It checks only the structure: node kinds must
// match their positions, and the last node must be non-blank; the joiner
// must still call validate.
func decodeRatchetTree(cs CipherSuite, data []byte) (*ratchetTree, error) {
	var nodes []*Node
	r := NewReader(data)
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			if !r.Optional() {
				nodes = append(nodes, nil)
				continue
			}
			n := new(Node)
			n.unmarshal(r)
			nodes = append(nodes, n)
		}
	})
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("mls: decode ratchet tree: %w", err)
	}
	return treeFromNodes(cs, nodes)
}

// treeFromNodes builds a full-width tree from the node list of a
// ratchet_tree extension.
func treeFromNodes(cs CipherSuite, nodes []*Node) (*ratchetTree, error) {
	if !cs.Supported() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, cs)
	}
	if len(nodes) == 0 {
		return nil, invalid("§12.4.3.3", "ratchet tree is empty")
	}
	if nodes[len(nodes)-1] == nil {
		return nil, invalid("§12.4.3.3", "ratchet tree ends with a blank node")
	}
	if len(nodes) > 1<<31 {
		return nil, invalid("§12.4.3.3", "ratchet tree has %d nodes", len(nodes))
	}
	n := uint32(1)
	for nodeWidth(n) < uint32(len(nodes)) {
		n *= 2
	}
	t := &ratchetTree{cs: cs, leaves: make([]*LeafNode, n), parents: make([]*ParentNode, n-1),
		hashes: make([][]byte, nodeWidth(n))}
	for i, nd := range nodes {
		if nd == nil {
			continue
		}
		x := nodeIndex(i)
		switch {
		case x.isLeaf() && nd.Type == NodeTypeLeaf:
			t.leaves[x>>1] = nd.Leaf
		case !x.isLeaf() && nd.Type == NodeTypeParent:
			t.parents[x>>1] = nd.Parent
		default:
			return nil, invalid("§12.4.3.3", "node %d has type %d, wrong for its position", i, uint8(nd.Type))
		}
	}
	return t, nil
}

// encodeRatchetTree returns the ratchet_tree extension body of t.
func (t *ratchetTree) encode() ([]byte, error) {
	return encode(t)
}

// leafChecker validates the member at leaf l of a tree being joined; see
// validate.
type leafChecker func(l LeafIndex, ln *LeafNode) error

// validate checks a ratchet tree received by a joiner against treeHash, the
// tree_hash of the GroupContext (RFC 9420 §12.4.3.1): the root tree hash;
// the unmerged leaves of every parent (sorted, below the parent, non-blank,
// and listed by every non-blank node in between); unique encryption keys
// across all nodes and unique signature keys across leaves; parent-hash
// validity of every parent (§7.9.2); and every leaf, by checkLeaf if it is
// non-nil (owner code passes validateLeafNode with leafInTree), otherwise
// by its signature alone with groupID and its index (§7.3).
// It costs O(n) hashes plus one signature verification per member.
func (t *ratchetTree) validate(groupID, treeHash []byte, checkLeaf leafChecker) error {
	th, err := t.treeHash()
	if err != nil {
		return fmt.Errorf("mls: tree hash: %w", err)
	}
	if !bytes.Equal(th, treeHash) {
		return invalid("§12.4.3.1", "ratchet tree hash does not match the group context")
	}
	if err := t.checkUnmergedLeaves(); err != nil {
		return err
	}
	if err := t.checkUniqueKeys(); err != nil {
		return err
	}
	if err := t.verifyParentHashes(); err != nil {
		return err
	}
	return t.checkLeaves(groupID, checkLeaf)
}

// checkLeaves runs checkLeaf, or the signature check, on every member.
func (t *ratchetTree) checkLeaves(groupID []byte, checkLeaf leafChecker) error {
	for i, ln := range t.leaves {
		if ln == nil {
			continue
		}
		l := LeafIndex(i)
		if checkLeaf != nil {
			if err := checkLeaf(l, ln); err != nil {
				return err
			}
		} else if !ln.verifySignature(t.cs, groupID, uint32(l)) {
			return invalid("§7.3", "signature of leaf %d does not verify", l)
		}
	}
	return nil
}

// checkUnmergedLeaves applies the unmerged-leaves rules of RFC 9420
// §12.4.3.1 (and the ordering rule of §7.1) to every parent node.
func (t *ratchetTree) checkUnmergedLeaves() error {
	for j, p := range t.parents {
		if p == nil {
			continue
		}
		x := nodeIndex(2*j + 1)
		lo, hi := x.leafSpan()
		for k, l := range p.UnmergedLeaves {
			if k > 0 && p.UnmergedLeaves[k-1] >= l {
				return invalid("§7.1", "unmerged leaves of node %d are not strictly increasing", x)
			}
			if l < lo || l >= hi || t.leaves[l] == nil {
				return invalid("§12.4.3.1", "unmerged leaf %d of node %d is blank or not below it", l, x)
			}
			for y := l.node().parent(); y != x; y = y.parent() {
				q := t.parents[y>>1]
				if q == nil {
					continue
				}
				if _, ok := slices.BinarySearch(q.UnmergedLeaves, l); !ok {
					return invalid("§12.4.3.1", "node %d lacks unmerged leaf %d of its ancestor %d", y, l, x)
				}
			}
		}
	}
	return nil
}

// checkUniqueKeys checks that no HPKE key appears in two nodes (RFC 9420
// §12.4.3.1, §7.3) and no signature key in two leaves (§7.3).
func (t *ratchetTree) checkUniqueKeys() error {
	enc := make(map[string]nodeIndex, len(t.leaves)+len(t.parents))
	sig := make(map[string]LeafIndex, len(t.leaves))
	for x := range nodeIndex(nodeWidth(t.leafCount())) {
		k := t.encryptionKey(x)
		if k == nil {
			continue
		}
		if y, dup := enc[string(k)]; dup {
			return invalid("§12.4.3.1", "nodes %d and %d have the same encryption key", y, x)
		}
		enc[string(k)] = x
		if !x.isLeaf() {
			continue
		}
		sk := t.leaves[x>>1].SignatureKey
		if l, dup := sig[string(sk)]; dup {
			return invalid("§7.3", "leaves %d and %d have the same signature key", l, x.leaf())
		}
		sig[string(sk)] = x.leaf()
	}
	return nil
}

// applyProposal applies one Add, Update or Remove proposal from sender to
// the tree (RFC 9420 §12.1.1–§12.1.3) and returns the leaf an Add filled.
// Other proposal types do not touch the tree and are ignored. The proposal
// must already be validated; callers apply a commit's proposals in the
// order of §12.3 (updates, removes, then adds in list order) on a clone.
func (t *ratchetTree) applyProposal(sender LeafIndex, p *Proposal) (added LeafIndex, err error) {
	switch {
	case p.Type == ProposalTypeAdd && p.Add != nil:
		ln := p.Add.KeyPackage.LeafNode
		return t.addLeaf(&ln), nil
	case p.Type == ProposalTypeUpdate && p.Update != nil:
		ln := p.Update.LeafNode
		return 0, t.updateLeaf(sender, &ln)
	case p.Type == ProposalTypeRemove && p.Remove != nil:
		return 0, t.removeLeaf(LeafIndex(p.Remove.Removed))
	}
	return 0, nil
}
