package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// ProcessedMessage is the verified result of Process. Exactly the field
// matching ContentType is set: ApplicationData, Proposal (with its
// ProposalRef) or Commit (a staged commit, not yet merged).
type ProcessedMessage struct {
	ContentType ContentType
	// Sender is the authenticated sender. For members, its leaf is that of
	// the epoch the message was sent in (Epoch).
	Sender Sender
	// SenderLeaf is the leaf node whose signature key authenticated the
	// message, with the sender's credential. For a member it is the
	// sender's leaf in the tree of epoch Epoch: an application message of
	// a past epoch may come from a leaf that has since been updated,
	// removed or given to someone else, so use SenderLeaf rather than
	// looking Sender.LeafIndex up in the current tree. For a
	// new_member_proposal it is the leaf of the added KeyPackage, for a
	// new_member_commit that of the commit's UpdatePath. It is nil for
	// external senders (whose key is in the external_senders extension)
	// and for messages of a past epoch restored from a state serialized
	// before past leaves were kept. It shares memory with the group state
	// or the message: read it, never modify it.
	SenderLeaf *LeafNode
	// Epoch is the epoch the message belongs to.
	Epoch             uint64
	AuthenticatedData []byte
	ApplicationData   []byte
	Proposal          *Proposal
	ProposalRef       ProposalRef
	Commit            *StagedCommit
}

// checkCanSend refuses to send in a group we left or that awaits a reinit.
func (g *Group) checkCanSend() error {
	if g.removed {
		return ErrNotMember
	}
	if g.reinit != nil {
		return ErrReInit
	}
	return nil
}

// signContent signs content in wire format wf with our key under the
// current group context (RFC 9420 §6.1).
func (g *Group) signContent(content *FramedContent, wf WireFormat) (*AuthenticatedContent, error) {
	s := g.s
	signer, err := s.signingKey()
	if err != nil {
		return nil, err
	}
	return signFramedContentWith(g.cfg.Rand, signer, wf, content, &s.ctx)
}

// protect wraps signed content into an MLSMessage with the current epoch's
// keys (RFC 9420 §6.2, §6.3).
func (g *Group) protect(ac *AuthenticatedContent) (*MLSMessage, error) {
	s := g.s
	cs := s.ctx.CipherSuite
	msg := &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: ac.WireFormat}
	var err error
	if ac.WireFormat == WireFormatPublicMessage {
		msg.PublicMessage, err = protectPublic(cs, ac, &s.ctx, s.secrets.membershipKey)
	} else {
		msg.PrivateMessage, err = protectPrivate(g.cfg.Rand, s.protection(g.cfg.PaddingBlock), ac)
	}
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// protectContent signs and protects non-commit content.
func (g *Group) protectContent(content *FramedContent, wf WireFormat) (*AuthenticatedContent, *MLSMessage, error) {
	ac, err := g.signContent(content, wf)
	if err != nil {
		return nil, nil, err
	}
	msg, err := g.protect(ac)
	if err != nil {
		return nil, nil, err
	}
	return ac, msg, nil
}

// protection returns the PrivateMessage keys of epoch state s.
func (s *epochState) protection(padTo int) *privateProtection {
	return &privateProtection{Suite: s.ctx.CipherSuite, Tree: s.st, SenderDataSecret: s.secrets.senderDataSecret, PadTo: padTo}
}

// Encrypt protects application data as a PrivateMessage of the current
// epoch (RFC 9420 §6.3, §15), with authenticated data aad (sent in the
// clear, integrity-protected).
func (g *Group) Encrypt(plaintext, aad []byte) (*MLSMessage, error) {
	if err := g.checkCanSend(); err != nil {
		return nil, err
	}
	s := g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch,
		Sender:            Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
		AuthenticatedData: nonNilBytes(aad), ContentType: ContentTypeApplication, ApplicationData: nonNilBytes(plaintext)}
	_, msg, err := g.protectContent(content, WireFormatPrivateMessage)
	return msg, err
}

// Process verifies a PublicMessage or PrivateMessage of this group (RFC 9420
// §6) and handles its content: application data is returned decrypted; a
// proposal is validated and queued for the epoch; a commit is validated and
// staged (nothing changes until MergeStagedCommit). Our own pending commit
// echoed back by the delivery service is recognised and returned as a
// staged commit whose merge merges the pending one. Application messages of
// up to Config.MaxPastEpochs past epochs are still decrypted. Invalid input
// gives a *ValidationError (or a decode error) and changes nothing but the
// consumed decryption key.
func (g *Group) Process(msg *MLSMessage) (*ProcessedMessage, error) {
	if g.removed {
		return nil, ErrNotMember
	}
	if pm := g.ownEcho(msg); pm != nil {
		return pm, nil
	}
	ac, epoch, err := g.unprotect(msg)
	if err != nil {
		return nil, err
	}
	c := &ac.Content
	pm := &ProcessedMessage{ContentType: c.ContentType, Sender: c.Sender, SenderLeaf: g.senderLeaf(c, epoch),
		Epoch: epoch, AuthenticatedData: c.AuthenticatedData}
	switch c.ContentType {
	case ContentTypeApplication:
		pm.ApplicationData = c.ApplicationData
	case ContentTypeProposal:
		q, err := g.receiveProposal(ac)
		if err != nil {
			return nil, err
		}
		pm.Proposal, pm.ProposalRef = q.proposal, slices.Clone(q.ref)
	case ContentTypeCommit:
		sc, err := g.processCommit(ac)
		if err != nil {
			return nil, err
		}
		pm.Commit = sc
	default:
		return nil, invalid("§6", "content type %d", uint8(c.ContentType))
	}
	return pm, nil
}

// ownEcho recognises our own pending commit or one of our proposals of the
// epoch echoed back by the delivery service (we cannot decrypt our own
// PrivateMessages: their keys are consumed when sending).
func (g *Group) ownEcho(msg *MLSMessage) *ProcessedMessage {
	if g.pending == nil && !g.hasOwnProposals() {
		return nil
	}
	b, err := msg.Bytes()
	if err != nil {
		return nil
	}
	me := Sender{Type: SenderTypeMember, LeafIndex: g.s.keys.leaf}
	leaf := g.s.tree.leaf(me.LeafIndex)
	if g.pending != nil && bytes.Equal(b, g.pending.msg) {
		return &ProcessedMessage{ContentType: ContentTypeCommit, Sender: me, SenderLeaf: leaf, Epoch: g.s.ctx.Epoch,
			Commit: g.pending.staged}
	}
	for _, q := range g.proposals {
		if q.msg != nil && bytes.Equal(b, q.msg) {
			return &ProcessedMessage{ContentType: ContentTypeProposal, Sender: me, SenderLeaf: leaf, Epoch: g.s.ctx.Epoch,
				Proposal: q.proposal, ProposalRef: slices.Clone(q.ref)}
		}
	}
	return nil
}

func (g *Group) hasOwnProposals() bool {
	for _, q := range g.proposals {
		if q.msg != nil {
			return true
		}
	}
	return false
}

// unprotect verifies msg against the current epoch, or for application
// PrivateMessages against a kept past epoch. It returns the content and the
// epoch it belongs to.
func (g *Group) unprotect(msg *MLSMessage) (*AuthenticatedContent, uint64, error) {
	s := g.s
	switch {
	case msg.WireFormat == WireFormatPublicMessage && msg.PublicMessage != nil:
		ac, err := unprotectPublic(s.ctx.CipherSuite, msg.PublicMessage, &s.ctx, s.secrets.membershipKey, s.signatureKeyOf)
		return ac, s.ctx.Epoch, err
	case msg.WireFormat == WireFormatPrivateMessage && msg.PrivateMessage != nil:
		pm := msg.PrivateMessage
		if pm.Epoch < s.ctx.Epoch && pm.ContentType == ContentTypeApplication && bytes.Equal(pm.GroupID, s.ctx.GroupID) {
			return g.unprotectPast(pm)
		}
		ac, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.signatureKeyOf)
		return ac, s.ctx.Epoch, err
	}
	return nil, 0, fmt.Errorf("%w: %s message is not a group message", ErrInvalidOptions, msg.WireFormat)
}

// unprotectPast decrypts an application message of a kept past epoch.
func (g *Group) unprotectPast(pm *PrivateMessage) (*AuthenticatedContent, uint64, error) {
	for _, p := range g.past {
		if p.ctx.Epoch != pm.Epoch {
			continue
		}
		prot := &privateProtection{Suite: p.ctx.CipherSuite, Tree: p.st, SenderDataSecret: p.senderDataSecret}
		ac, err := unprotectPrivate(prot, pm, &p.ctx, p.signatureKeyOf)
		return ac, pm.Epoch, err
	}
	return nil, 0, invalid("§15.3", "message for past epoch %d, whose keys are no longer kept", pm.Epoch)
}

// senderLeaf returns the leaf node whose key verified content c of the
// given epoch (the current one or a kept past one); see
// ProcessedMessage.SenderLeaf.
func (g *Group) senderLeaf(c *FramedContent, epoch uint64) *LeafNode {
	switch c.Sender.Type {
	case SenderTypeMember:
		if epoch == g.s.ctx.Epoch {
			return g.s.tree.leaf(c.Sender.LeafIndex)
		}
		for _, p := range g.past {
			if p.ctx.Epoch == epoch {
				return p.leaf(c.Sender.LeafIndex)
			}
		}
	case SenderTypeNewMemberProposal:
		return &c.Proposal.Add.KeyPackage.LeafNode
	case SenderTypeNewMemberCommit:
		return &c.Commit.Path.LeafNode
	}
	return nil
}

// leaf returns leaf l of the past epoch, or nil if it was blank or only
// its signature key is known.
func (p *pastEpoch) leaf(l LeafIndex) *LeafNode {
	if uint64(l) >= uint64(len(p.leaves)) {
		return nil
	}
	return p.leaves[l]
}

// signatureKeyOf returns a member's signature key in a past epoch.
func (p *pastEpoch) signatureKeyOf(s Sender) ([]byte, error) {
	if s.Type == SenderTypeMember {
		if ln := p.leaf(s.LeafIndex); ln != nil {
			return ln.SignatureKey, nil
		}
		if uint64(s.LeafIndex) < uint64(len(p.sigKeys)) && p.sigKeys[s.LeafIndex] != nil {
			return p.sigKeys[s.LeafIndex], nil
		}
	}
	return nil, invalid("§6.1", "sender leaf %d was not a member of epoch %d", s.LeafIndex, p.ctx.Epoch)
}

// archiveEpoch keeps the decryption state of the current epoch for late
// application messages, dropping the oldest beyond Config.MaxPastEpochs.
func (g *Group) archiveEpoch() {
	n := g.cfg.MaxPastEpochs
	if n <= 0 || g.s.secrets == nil {
		g.past = nil
		return
	}
	s := g.s
	p := &pastEpoch{ctx: s.ctx, senderDataSecret: s.secrets.senderDataSecret, st: s.st,
		leaves: slices.Clone(s.tree.leaves)}
	g.past = append(g.past, p)
	if len(g.past) > n {
		g.past = slices.Delete(g.past, 0, len(g.past)-n)
	}
}
