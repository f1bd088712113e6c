package mls

import "fmt"

// ProposalType is an MLS proposal code point (RFC 9420 §12.1, §17.4).
type ProposalType uint16

// Proposal types of RFC 9420 §17.4.
const (
	ProposalTypeAdd                    ProposalType = 1
	ProposalTypeUpdate                 ProposalType = 2
	ProposalTypeRemove                 ProposalType = 3
	ProposalTypePSK                    ProposalType = 4
	ProposalTypeReInit                 ProposalType = 5
	ProposalTypeExternalInit           ProposalType = 6
	ProposalTypeGroupContextExtensions ProposalType = 7
)

// String returns the registry name of t, or its number when unknown.
func (t ProposalType) String() string {
	switch t {
	case ProposalTypeAdd:
		return "add"
	case ProposalTypeUpdate:
		return "update"
	case ProposalTypeRemove:
		return "remove"
	case ProposalTypePSK:
		return "psk"
	case ProposalTypeReInit:
		return "reinit"
	case ProposalTypeExternalInit:
		return "external_init"
	case ProposalTypeGroupContextExtensions:
		return "group_context_extensions"
	}
	return fmt.Sprintf("proposal_type(%d)", uint16(t))
}

// allowedForExternal reports whether an external sender may send a proposal
// of type t (RFC 9420 §12.1.8, the "Ext" column of §17.4).
func (t ProposalType) allowedForExternal() bool {
	switch t {
	case ProposalTypeAdd, ProposalTypeRemove, ProposalTypePSK, ProposalTypeReInit,
		ProposalTypeGroupContextExtensions:
		return true
	}
	return false
}

// AddProposal requests that the client of KeyPackage be added (RFC 9420
// §12.1.1).
type AddProposal struct {
	KeyPackage KeyPackage
}

// UpdateProposal replaces the sender's leaf with LeafNode (RFC 9420 §12.1.2).
type UpdateProposal struct {
	LeafNode LeafNode
}

// RemoveProposal requests that the member at leaf index Removed be removed
// (RFC 9420 §12.1.3).
type RemoveProposal struct {
	Removed uint32
}

// PreSharedKeyProposal requests that PSK be injected into the key schedule
// of the next epoch (RFC 9420 §12.1.4).
type PreSharedKeyProposal struct {
	PSK PreSharedKeyID
}

// ReInitProposal requests that the group be reinitialized with the given
// parameters (RFC 9420 §12.1.5).
type ReInitProposal struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuite
	Extensions  []Extension
}

// ExternalInitProposal carries the KEM output of an external commit (RFC
// 9420 §12.1.6).
type ExternalInitProposal struct {
	KEMOutput []byte
}

// GroupContextExtensionsProposal replaces the group context's extensions
// wholesale (RFC 9420 §12.1.7).
type GroupContextExtensionsProposal struct {
	Extensions []Extension
}

// Proposal is the tagged union of RFC 9420 §12.1: exactly the field
// matching Type is non-nil. Decoding a proposal of a type not listed here
// fails, since its body cannot be delimited.
type Proposal struct {
	Type                   ProposalType
	Add                    *AddProposal
	Update                 *UpdateProposal
	Remove                 *RemoveProposal
	PreSharedKey           *PreSharedKeyProposal
	ReInit                 *ReInitProposal
	ExternalInit           *ExternalInitProposal
	GroupContextExtensions *GroupContextExtensionsProposal
}

func (p *Proposal) marshal(w *Writer) {
	w.Uint16(uint16(p.Type))
	switch {
	case p.Type == ProposalTypeAdd && p.Add != nil:
		p.Add.KeyPackage.marshal(w)
	case p.Type == ProposalTypeUpdate && p.Update != nil:
		p.Update.LeafNode.marshal(w)
	case p.Type == ProposalTypeRemove && p.Remove != nil:
		w.Uint32(p.Remove.Removed)
	case p.Type == ProposalTypePSK && p.PreSharedKey != nil:
		p.PreSharedKey.PSK.marshal(w)
	case p.Type == ProposalTypeReInit && p.ReInit != nil:
		w.Opaque(p.ReInit.GroupID)
		w.Uint16(uint16(p.ReInit.Version))
		w.Uint16(uint16(p.ReInit.CipherSuite))
		marshalExtensions(w, p.ReInit.Extensions)
	case p.Type == ProposalTypeExternalInit && p.ExternalInit != nil:
		w.Opaque(p.ExternalInit.KEMOutput)
	case p.Type == ProposalTypeGroupContextExtensions && p.GroupContextExtensions != nil:
		marshalExtensions(w, p.GroupContextExtensions.Extensions)
	default:
		failEncode(w, "proposal of type %s without its body", p.Type)
	}
}

func (p *Proposal) unmarshal(r *Reader) {
	*p = Proposal{Type: ProposalType(r.Uint16())}
	switch p.Type {
	case ProposalTypeAdd:
		p.Add = new(AddProposal)
		p.Add.KeyPackage.unmarshal(r)
	case ProposalTypeUpdate:
		p.Update = new(UpdateProposal)
		p.Update.LeafNode.unmarshal(r)
	case ProposalTypeRemove:
		p.Remove = &RemoveProposal{Removed: r.Uint32()}
	case ProposalTypePSK:
		p.PreSharedKey = new(PreSharedKeyProposal)
		p.PreSharedKey.PSK.unmarshal(r)
	case ProposalTypeReInit:
		p.ReInit = new(ReInitProposal)
		p.ReInit.GroupID = r.Opaque()
		p.ReInit.Version = ProtocolVersion(r.Uint16())
		p.ReInit.CipherSuite = CipherSuite(r.Uint16())
		p.ReInit.Extensions = unmarshalExtensions(r)
	case ProposalTypeExternalInit:
		p.ExternalInit = &ExternalInitProposal{KEMOutput: r.Opaque()}
	case ProposalTypeGroupContextExtensions:
		p.GroupContextExtensions = &GroupContextExtensionsProposal{Extensions: unmarshalExtensions(r)}
	default:
		// The body of an unknown proposal type has no length prefix.
		r.Fail("unknown proposal type 0x%04x", uint16(p.Type))
	}
}

// proposalRefLabel is the full RefHash label of a ProposalRef (RFC 9420 §5.2).
const proposalRefLabel = "MLS 1.0 Proposal Reference"

// ProposalRef identifies a proposal by the hash of the AuthenticatedContent
// that carried it (RFC 9420 §5.2). It is computed by the receiver, never
// trusted from the sender, and compared as bytes.
type ProposalRef []byte

// makeProposalRef returns RefHash("MLS 1.0 Proposal Reference", ac) under
// the group's suite cs (RFC 9420 §5.2). ac must carry a proposal.
func makeProposalRef(cs CipherSuite, ac *AuthenticatedContent) (ProposalRef, error) {
	if ac.Content.ContentType != ContentTypeProposal {
		return nil, fmt.Errorf("%w: proposal reference of %s content", ErrInternal, ac.Content.ContentType)
	}
	b, err := encode(ac)
	if err != nil {
		return nil, err
	}
	return ProposalRef(cs.RefHash(proposalRefLabel, b)), nil
}
