package mls

import (
	"bytes"
	"slices"
)

// Parent hashes (RFC 9420 §7.9).

// parentHash returns the parent hash of p with copath child tree hash
// siblingHash: the hash of ParentHashInput (RFC 9420 §7.9).
func (t *ratchetTree) parentHash(p *ParentNode, siblingHash []byte) ([]byte, error) {
	return t.hashWith(func(w *Writer) {
		w.Opaque(p.EncryptionKey)
		w.Opaque(p.ParentHash)
		w.Opaque(siblingHash)
	})
}

// setPathParentHashes fills the parent_hash fields of the nodes on a
// freshly set filtered direct path fdp (leaf to root), top down: the top
// node gets an empty parent hash and each node below gets the parent hash
// of the node above it (RFC 9420 §7.9). The nodes of fdp must be non-blank
// with no unmerged leaves, so each original sibling tree hash is the
// current one. It returns the parent hash the sender's leaf must carry.
func (t *ratchetTree) setPathParentHashes(fdp []pathStep) ([]byte, error) {
	ph := []byte{}
	for i := len(fdp) - 1; i >= 0; i-- {
		st := fdp[i]
		old := t.parent(st.node)
		p := &ParentNode{EncryptionKey: old.EncryptionKey, ParentHash: ph, UnmergedLeaves: []LeafIndex{}}
		t.setParent(st.node, p)
		sh, err := t.nodeHash(st.copathChild)
		if err != nil {
			return nil, err
		}
		if ph, err = t.parentHash(p, sh); err != nil {
			return nil, err
		}
	}
	return ph, nil
}

// storedParentHash returns the parent_hash field of node x: a parent's, or
// a commit-source leaf's; nil for other leaves and blank nodes.
func (t *ratchetTree) storedParentHash(x nodeIndex) []byte {
	if x.isLeaf() {
		if ln := t.leaves[x>>1]; ln != nil && ln.Source == LeafNodeSourceCommit {
			return ln.ParentHash
		}
		return nil
	}
	if p := t.parents[x>>1]; p != nil {
		return p.ParentHash
	}
	return nil
}

// verifyParentHashes checks that every non-blank parent node is
// parent-hash valid (RFC 9420 §7.9.2), top down: each has exactly one
// descendant D whose parent hash is valid with respect to it. Since D is
// itself a leaf or a parent that passes the same check, every parent chains
// back to a leaf.
//
// Cost: one pass to size resolutions, then per parent two candidate sides,
// of which only a side whose resolution has exactly one node more than the
// parent's unmerged leaves below it is examined. The total work is linear
// in the tree size plus the unmerged leaves times the depth.
func (t *ratchetTree) verifyParentHashes() error {
	sizes := make([]int, nodeWidth(t.leafCount()))
	t.resolutionSizes(sizes, t.root())
	for j, p := range t.parents {
		if p == nil {
			continue
		}
		x := nodeIndex(2*j + 1)
		found := 0
		for _, c := range []nodeIndex{x.left(), x.right()} {
			s := x.left()
			if c == s {
				s = x.right()
			}
			n, err := t.validChildren(x, p, c, s, sizes[c])
			if err != nil {
				return err
			}
			found += n
		}
		if found != 1 {
			return invalid("§7.9.2", "parent node %d is not parent-hash valid (%d valid descendants)", x, found)
		}
	}
	return nil
}

// resolutionSizes fills sizes[y] with the resolution length of every node
// y in x's subtree and returns sizes[x].
func (t *ratchetTree) resolutionSizes(sizes []int, x nodeIndex) int {
	var n int
	switch {
	case x.isLeaf():
		if t.leaves[x>>1] != nil {
			n = 1
		}
	case t.parents[x>>1] != nil:
		t.resolutionSizes(sizes, x.left())
		t.resolutionSizes(sizes, x.right())
		n = 1 + len(t.parents[x>>1].UnmergedLeaves)
	default:
		n = t.resolutionSizes(sizes, x.left()) + t.resolutionSizes(sizes, x.right())
	}
	sizes[x] = n
	return n
}

// validChildren counts the nodes D in the resolution of c, the child of
// parent node x (content p) whose sibling is s, such that D's parent hash
// is valid with respect to x: D.parent_hash is the parent hash of p with
// copath child s, and the resolution of c without D is exactly p's
// unmerged leaves below c. resSize is the length of c's resolution.
func (t *ratchetTree) validChildren(x nodeIndex, p *ParentNode, c, s nodeIndex, resSize int) (int, error) {
	below := unmergedBelow(p.UnmergedLeaves, c)
	if resSize != len(below)+1 {
		return 0, nil
	}
	res := t.resolution(make([]nodeIndex, 0, resSize), c)
	want := make([]nodeIndex, 0, len(below))
	for _, l := range below {
		want = append(want, l.node())
	}
	slices.Sort(want)
	var ph []byte
	found := 0
	for i, d := range res {
		stored := t.storedParentHash(d)
		if len(stored) == 0 {
			continue
		}
		rest := append(slices.Clone(res[:i]), res[i+1:]...)
		slices.Sort(rest)
		if !slices.Equal(rest, want) {
			continue
		}
		if ph == nil {
			sh, err := t.originalSiblingHash(s, unmergedBelow(p.UnmergedLeaves, s))
			if err != nil {
				return 0, err
			}
			if ph, err = t.parentHash(p, sh); err != nil {
				return 0, err
			}
		}
		if bytes.Equal(stored, ph) {
			found++
		}
	}
	return found, nil
}

// unmergedBelow returns the entries of unmerged that are leaves of x's
// subtree, sorted.
func unmergedBelow(unmerged []LeafIndex, x nodeIndex) []LeafIndex {
	lo, hi := x.leafSpan()
	var out []LeafIndex
	for _, l := range unmerged {
		if l >= lo && l < hi {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// originalSiblingHash returns the tree hash of s in the tree where every
// leaf of removed (sorted, all below s) is blank and absent from every
// unmerged_leaves list (RFC 9420 §7.9). Subtrees without a removed leaf
// keep their cached hash, so the cost is the removed leaves times the depth.
func (t *ratchetTree) originalSiblingHash(s nodeIndex, removed []LeafIndex) ([]byte, error) {
	lo, hi := s.leafSpan()
	i, _ := slices.BinarySearch(removed, lo)
	if i == len(removed) || removed[i] >= hi {
		return t.nodeHash(s)
	}
	if s.isLeaf() {
		return t.leafHash(s.leaf(), nil)
	}
	lh, err := t.originalSiblingHash(s.left(), removed)
	if err != nil {
		return nil, err
	}
	rh, err := t.originalSiblingHash(s.right(), removed)
	if err != nil {
		return nil, err
	}
	p := t.parents[s>>1]
	if p != nil {
		c := *p
		c.UnmergedLeaves = slices.DeleteFunc(slices.Clone(p.UnmergedLeaves), func(l LeafIndex) bool {
			_, found := slices.BinarySearch(removed, l)
			return found
		})
		p = &c
	}
	return t.hashParent(p, lh, rh)
}
