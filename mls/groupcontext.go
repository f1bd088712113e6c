package mls

// GroupContext is the summary of a group's state in one epoch (RFC 9420
// §8.1). Its encoding feeds the key schedule, signatures of FramedContent
// and HPKE encryption of path secrets.
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              []Extension
}

// marshal writes the GroupContext struct of RFC 9420 §8.1.
func (gc *GroupContext) marshal(w *Writer) {
	w.Uint16(uint16(gc.Version))
	w.Uint16(uint16(gc.CipherSuite))
	w.Opaque(gc.GroupID)
	w.Uint64(gc.Epoch)
	w.Opaque(gc.TreeHash)
	w.Opaque(gc.ConfirmedTranscriptHash)
	marshalExtensions(w, gc.Extensions)
}

// unmarshal reads a GroupContext. Version and cipher suite are carried as
// read: whether they are acceptable is a validation question for the
// caller (RFC 9420 §12.4.3.1).
func (gc *GroupContext) unmarshal(r *Reader) {
	gc.Version = ProtocolVersion(r.Uint16())
	gc.CipherSuite = CipherSuite(r.Uint16())
	gc.GroupID = r.Opaque()
	gc.Epoch = r.Uint64()
	gc.TreeHash = r.Opaque()
	gc.ConfirmedTranscriptHash = r.Opaque()
	gc.Extensions = unmarshalExtensions(r)
}
