package mls

// HPKECiphertext is one HPKE encryption: the KEM output and the AEAD
// ciphertext (RFC 9420 §7.6).
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

func (c *HPKECiphertext) marshal(w *Writer) {
	w.Opaque(c.KEMOutput)
	w.Opaque(c.Ciphertext)
}

func (c *HPKECiphertext) unmarshal(r *Reader) {
	c.KEMOutput = r.Opaque()
	c.Ciphertext = r.Opaque()
}

// UpdatePathNode carries the new public key of one node of the committer's
// filtered direct path and its path secret encrypted to each node of the
// copath child's resolution, in resolution order (RFC 9420 §7.6).
type UpdatePathNode struct {
	EncryptionKey       []byte
	EncryptedPathSecret []HPKECiphertext
}

func (n *UpdatePathNode) marshal(w *Writer) {
	w.Opaque(n.EncryptionKey)
	w.Vector(func(w *Writer) {
		for i := range n.EncryptedPathSecret {
			n.EncryptedPathSecret[i].marshal(w)
		}
	})
}

func (n *UpdatePathNode) unmarshal(r *Reader) {
	n.EncryptionKey = r.Opaque()
	n.EncryptedPathSecret = []HPKECiphertext{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var c HPKECiphertext
			c.unmarshal(r)
			n.EncryptedPathSecret = append(n.EncryptedPathSecret, c)
		}
	})
}

// UpdatePath is the path update of a Commit (RFC 9420 §7.6): the
// committer's new leaf and one UpdatePathNode per node of its filtered
// direct path, leaf to root.
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

func (p *UpdatePath) marshal(w *Writer) {
	p.LeafNode.marshal(w)
	w.Vector(func(w *Writer) {
		for i := range p.Nodes {
			p.Nodes[i].marshal(w)
		}
	})
}

func (p *UpdatePath) unmarshal(r *Reader) {
	p.LeafNode.unmarshal(r)
	p.Nodes = []UpdatePathNode{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var n UpdatePathNode
			n.unmarshal(r)
			p.Nodes = append(p.Nodes, n)
		}
	})
}
