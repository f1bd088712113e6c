package mls

// proposalOrRefType is the tag of ProposalOrRef (RFC 9420 §12.4).
type proposalOrRefType uint8

const (
	proposalOrRefProposal  proposalOrRefType = 1
	proposalOrRefReference proposalOrRefType = 2
)

// ProposalOrRef names one proposal a Commit covers (RFC 9420 §12.4):
// either the proposal itself (Proposal non-nil) or the ProposalRef of a
// proposal sent earlier in the epoch (Reference non-nil). Exactly one of the
// two is set.
type ProposalOrRef struct {
	Proposal  *Proposal
	Reference ProposalRef
}

func (p *ProposalOrRef) marshal(w *Writer) {
	switch {
	case p.Proposal != nil && p.Reference == nil:
		w.Uint8(uint8(proposalOrRefProposal))
		p.Proposal.marshal(w)
	case p.Proposal == nil && p.Reference != nil:
		w.Uint8(uint8(proposalOrRefReference))
		w.Opaque(p.Reference)
	default:
		failEncode(w, "proposal or ref must hold exactly one of proposal and reference")
	}
}

func (p *ProposalOrRef) unmarshal(r *Reader) {
	*p = ProposalOrRef{}
	switch t := proposalOrRefType(r.Uint8()); t {
	case proposalOrRefProposal:
		p.Proposal = new(Proposal)
		p.Proposal.unmarshal(r)
	case proposalOrRefReference:
		p.Reference = ProposalRef(r.Opaque())
	default:
		r.Fail("proposal or ref type %d", uint8(t))
	}
}

// Commit applies a list of proposals and optionally updates the committer's
// path (RFC 9420 §12.4). Path nil means the optional path is absent.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

func (c *Commit) marshal(w *Writer) {
	w.Vector(func(w *Writer) {
		for i := range c.Proposals {
			c.Proposals[i].marshal(w)
		}
	})
	w.Optional(c.Path != nil, func(w *Writer) { c.Path.marshal(w) })
}

func (c *Commit) unmarshal(r *Reader) {
	c.Proposals = []ProposalOrRef{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var p ProposalOrRef
			p.unmarshal(r)
			c.Proposals = append(c.Proposals, p)
		}
	})
	c.Path = nil
	if r.Optional() {
		c.Path = new(UpdatePath)
		c.Path.unmarshal(r)
	}
}
