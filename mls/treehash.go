package mls

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

// leafHash hashes the TreeHashInput of leaf l holding ln (nil if blank).
func (t *ratchetTree) leafHash(l LeafIndex, ln *LeafNode) ([]byte, error) {
	var w Writer
	w.Uint8(uint8(NodeTypeLeaf))
	w.Uint32(uint32(l))
	w.Optional(ln != nil, func(w *Writer) { ln.marshal(w) })
	if w.Err() != nil {
		return nil, w.Err()
	}
	return t.cs.Hash(w.Bytes()), nil
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
	var w Writer
	w.Uint8(uint8(NodeTypeParent))
	w.Optional(p != nil, func(w *Writer) { p.marshal(w) })
	w.Opaque(left)
	w.Opaque(right)
	if w.Err() != nil {
		return nil, w.Err()
	}
	return t.cs.Hash(w.Bytes()), nil
}
