package mls

import "math/bits"

// LeafIndex numbers the leaves of a ratchet tree from 0 at the left
// (RFC 9420 §4.1.1). It is what Remove proposals, senders and the
// unmerged_leaves lists carry on the wire; it is stable for a member until
// the member is removed.
type LeafIndex uint32

// nodeIndex numbers all nodes of the array representation of a ratchet tree
// (RFC 9420 Appendix C): leaf i sits at 2i, parents at odd indices.
type nodeIndex uint32

// node returns the array index of leaf l.
func (l LeafIndex) node() nodeIndex { return nodeIndex(2 * uint32(l)) }

// isLeaf reports whether x is a leaf (even index).
func (x nodeIndex) isLeaf() bool { return x&1 == 0 }

// leaf returns the leaf index of x, which must be a leaf.
func (x nodeIndex) leaf() LeafIndex { return LeafIndex(x >> 1) }

// level returns the height of x above the leaves: the number of trailing
// one bits of its index (leaves are level 0).
func (x nodeIndex) level() uint { return uint(bits.TrailingZeros32(^uint32(x))) }

// nodeWidth returns the number of array nodes of a tree with n leaves.
func nodeWidth(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 2*(n-1) + 1
}

// log2 returns floor(log2(x)), and 0 for x == 0.
func log2(x uint32) uint {
	if x == 0 {
		return 0
	}
	return uint(bits.Len32(x) - 1)
}

// treeRoot returns the root index of a tree with n leaves.
func treeRoot(n uint32) nodeIndex {
	return nodeIndex(uint32(1)<<log2(nodeWidth(n)) - 1)
}

// left returns the left child of the parent node x.
func (x nodeIndex) left() nodeIndex {
	k := x.level()
	if k == 0 {
		return x
	}
	return x ^ nodeIndex(1)<<(k-1)
}

// right returns the right child of the parent node x. Trees of RFC 9420
// are always full, so no bound on the leaf count is needed.
func (x nodeIndex) right() nodeIndex {
	k := x.level()
	if k == 0 {
		return x
	}
	return x ^ nodeIndex(3)<<(k-1)
}

// parent returns the parent of x, which must not be the root of the tree.
func (x nodeIndex) parent() nodeIndex {
	k := x.level()
	b := (x >> (k + 1)) & 1
	return (x | nodeIndex(1)<<k) ^ b<<(k+1)
}

// sibling returns the other child of x's parent; x must not be the root.
func (x nodeIndex) sibling() nodeIndex {
	p := x.parent()
	if x < p {
		return p.right()
	}
	return p.left()
}

// directPath returns the ancestors of x in a tree of n leaves, from x's
// parent up to and including the root; empty for the root itself.
func directPath(x nodeIndex, n uint32) []nodeIndex {
	r := treeRoot(n)
	var d []nodeIndex
	for x != r {
		x = x.parent()
		d = append(d, x)
	}
	return d
}

// copath returns the siblings of x and of its ancestors below the root, in
// the order of directPath.
func copath(x nodeIndex, n uint32) []nodeIndex {
	r := treeRoot(n)
	var d []nodeIndex
	for x != r {
		d = append(d, x.sibling())
		x = x.parent()
	}
	return d
}

// isAncestor reports whether a is x or an ancestor of x.
func (x nodeIndex) isAncestor(a nodeIndex) bool {
	lo, hi := a.span()
	return x >= lo && x <= hi
}

// span returns the lowest and highest node indices of the subtree headed
// by x.
func (x nodeIndex) span() (lo, hi nodeIndex) {
	w := nodeIndex(1)<<x.level() - 1
	return x - w, x + w
}

// leafSpan returns the first leaf and one past the last leaf of the
// subtree headed by x.
func (x nodeIndex) leafSpan() (lo, hi LeafIndex) {
	a, b := x.span()
	return a.leaf(), b.leaf() + 1
}

// commonAncestor returns the lowest node that is x or an ancestor of x and
// is y or an ancestor of y. Both must lie in the same tree.
func commonAncestor(x, y nodeIndex) nodeIndex {
	a := x
	for !y.isAncestor(a) {
		a = a.parent()
	}
	return a
}
