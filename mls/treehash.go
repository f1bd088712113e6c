package mls

import "hash"

// Tree hashes (RFC 9420 §7.8). Every node's hash is cached in t.hashes and
// invalidated, with its ancestors, when the node changes, so applying an
// UpdatePath re-hashes only the changed path: O(log n) hashes.

// treeHash returns the tree hash of the root (the GroupContext tree_hash).
func (t *ratchetTree) treeHash() ([]byte, error) {
	return t.nodeHash(t.root())
}

// nodeHash returns the tree hash of node x, computing and caching whatever
// is stale below it.
func (t *ratchetTree) nodeHash(x nodeIndex) ([]byte, error) {
	if h := t.hashes[x]; h != nil {
		return h, nil
	}
	var h []byte
	var err error
	if x.isLeaf() {
		h, err = t.leafHash(x.leaf(), t.leaves[x>>1])
	} else {
		h, err = t.parentTreeHash(x, t.parents[x>>1])
	}
	if err != nil {
		return nil, err
	}
	t.hashes[x] = h
	return h, nil
}

// hashScratch is the reusable state of tree hashing: an encoding buffer and
// a hash function. A clone starts with its own empty one.
type hashScratch struct {
	buf []byte
	h   hash.Hash
}

// hashWith hashes what f writes, reusing t's scratch buffer and hasher.
func (t *ratchetTree) hashWith(f func(w *Writer)) ([]byte, error) {
	sc := &t.scratch
	w := Writer{buf: sc.buf[:0]}
	f(&w)
	if w.err != nil {
		return nil, w.err
	}
	sc.buf = w.buf
	if sc.h == nil {
		sc.h = t.cs.newHash()
	}
	sc.h.Reset()
	sc.h.Write(w.buf)
	return sc.h.Sum(make([]byte, 0, sc.h.Size())), nil
}

// leafHash hashes the TreeHashInput of leaf l holding ln (nil if blank).
func (t *ratchetTree) leafHash(l LeafIndex, ln *LeafNode) ([]byte, error) {
	return t.hashWith(func(w *Writer) {
		w.Uint8(uint8(NodeTypeLeaf))
		w.Uint32(uint32(l))
		w.Optional(ln != nil, func(w *Writer) { ln.marshal(w) })
	})
}

// parentTreeHash hashes the TreeHashInput of parent node x holding p
// (nil if blank), computing its children's hashes as needed.
func (t *ratchetTree) parentTreeHash(x nodeIndex, p *ParentNode) ([]byte, error) {
	lh, err := t.nodeHash(x.left())
	if err != nil {
		return nil, err
	}
	rh, err := t.nodeHash(x.right())
	if err != nil {
		return nil, err
	}
	return t.hashParent(p, lh, rh)
}

// hashParent hashes a parent TreeHashInput from its content and the tree
// hashes of its children.
func (t *ratchetTree) hashParent(p *ParentNode, left, right []byte) ([]byte, error) {
	return t.hashWith(func(w *Writer) {
		w.Uint8(uint8(NodeTypeParent))
		w.Optional(p != nil, func(w *Writer) { p.marshal(w) })
		w.Opaque(left)
		w.Opaque(right)
	})
}
