package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// queuedProposal is a proposal received or sent in the current epoch,
// cached by its ProposalRef for commits that cite it (RFC 9420 §12.1).
type queuedProposal struct {
	ref      ProposalRef
	proposal *Proposal
	sender   Sender
	// leafPriv is the encryption private key of the new leaf of our own
	// Update proposal; nil otherwise.
	leafPriv []byte
	// msg is the encoded message of our own proposal, to recognise its
	// echo; nil for received proposals.
	msg []byte
}

// findProposal returns the queued proposal with reference ref, or nil.
func (g *Group) findProposal(ref ProposalRef) *queuedProposal {
	for _, q := range g.proposals {
		if bytes.Equal(q.ref, ref) {
			return q
		}
	}
	return nil
}

// PendingProposals returns the proposals received or sent in the current
// epoch that no commit has covered yet, with their senders and references.
func (g *Group) PendingProposals() []CommittedProposal {
	out := make([]CommittedProposal, 0, len(g.proposals))
	for _, q := range g.proposals {
		out = append(out, CommittedProposal{Proposal: *q.proposal, Sender: q.sender, Ref: slices.Clone(q.ref)})
	}
	return out
}

// ProposeAdd sends an Add proposal for kp (RFC 9420 §12.1.1), after
// validating kp for this group (§10.1). The returned message goes to the
// delivery service; the proposal is also queued as our own pending
// proposal, so a later Commit with IncludePending covers it.
func (g *Group) ProposeAdd(kp KeyPackage) (*MLSMessage, error) {
	return g.Propose(Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: kp}}, nil)
}

// ProposeRemove sends a Remove proposal for the member at leaf (RFC 9420
// §12.1.3).
func (g *Group) ProposeRemove(leaf LeafIndex) (*MLSMessage, error) {
	return g.Propose(Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: uint32(leaf)}}, nil)
}

// ProposePSK sends a PreSharedKey proposal for id (RFC 9420 §12.1.4); a
// fresh psk_nonce is drawn when id.Nonce is empty. The PSK must be known:
// external ones through Config.ExternalPSK, resumption ones of this group
// within the last Config.ResumptionPSKEpochs epochs.
func (g *Group) ProposePSK(id PreSharedKeyID) (*MLSMessage, error) {
	return g.Propose(Proposal{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: id}}, nil)
}

// ProposeGroupContextExtensions sends a GroupContextExtensions proposal
// replacing the group context extensions with exts (RFC 9420 §12.1.7).
func (g *Group) ProposeGroupContextExtensions(exts []Extension) (*MLSMessage, error) {
	p := Proposal{Type: ProposalTypeGroupContextExtensions,
		GroupContextExtensions: &GroupContextExtensionsProposal{Extensions: nonNilExtensions(slices.Clone(exts))}}
	return g.Propose(p, nil)
}

// ProposeUpdate sends an Update proposal replacing our leaf with a fresh
// encryption key (RFC 9420 §12.1.2). opts nil keeps our capabilities and
// extensions; otherwise they are replaced by opts'. The new private key is
// kept until a commit covering the proposal is merged.
func (g *Group) ProposeUpdate(opts *LeafOptions) (*MLSMessage, error) {
	if err := g.checkCanSend(); err != nil {
		return nil, err
	}
	s := g.s
	cs := s.ctx.CipherSuite
	cur := s.tree.leaf(s.keys.leaf)
	priv, pub, err := cs.GenerateHPKEKeyPair(g.cfg.Rand)
	if err != nil {
		return nil, err
	}
	ln := *cur
	ln.EncryptionKey, ln.Source, ln.Lifetime, ln.ParentHash = pub, LeafNodeSourceUpdate, nil, nil
	if opts != nil {
		ln.Capabilities = opts.capabilities(cs, ln.Credential.Type)
		ln.Extensions = nonNilExtensions(opts.extensions())
	}
	signer, err := s.signingKey()
	if err != nil {
		return nil, err
	}
	if err := ln.signWith(g.cfg.Rand, signer, s.ctx.GroupID, uint32(s.keys.leaf)); err != nil {
		return nil, err
	}
	p := &Proposal{Type: ProposalTypeUpdate, Update: &UpdateProposal{LeafNode: ln}}
	return g.sendProposal(p, nil, priv)
}

// Propose sends proposal p (RFC 9420 §12.1) with authenticated data aad and
// queues it as our own pending proposal. Update proposals must be made with
// ProposeUpdate (they need a fresh key pair) and ExternalInit proposals
// exist only inside external commits. p is validated as a remote receiver
// would validate it.
func (g *Group) Propose(p Proposal, aad []byte) (*MLSMessage, error) {
	if err := g.checkCanSend(); err != nil {
		return nil, err
	}
	switch p.Type {
	case ProposalTypeUpdate, ProposalTypeExternalInit:
		return nil, fmt.Errorf("%w: %s proposal through Propose", ErrInvalidOptions, p.Type)
	case ProposalTypePSK:
		if p.PreSharedKey == nil {
			break
		}
		id, err := g.completePSKID(p.PreSharedKey.PSK)
		if err != nil {
			return nil, err
		}
		p.PreSharedKey = &PreSharedKeyProposal{PSK: id}
	}
	return g.sendProposal(&p, aad, nil)
}

// sendProposal validates, signs, protects and queues our proposal p.
func (g *Group) sendProposal(p *Proposal, aad []byte, leafPriv []byte) (*MLSMessage, error) {
	s := g.s
	me := Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf}
	if err := g.validateProposal(p, me, nil, nil); err != nil {
		return nil, fmt.Errorf("mls: propose: %w", err)
	}
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: me,
		AuthenticatedData: nonNilBytes(aad), ContentType: ContentTypeProposal, Proposal: p}
	ac, msg, err := g.protectContent(content, g.cfg.handshakeWireFormat())
	if err != nil {
		return nil, err
	}
	ref, err := makeProposalRef(s.ctx.CipherSuite, ac)
	if err != nil {
		return nil, err
	}
	b, err := msg.Bytes()
	if err != nil {
		return nil, err
	}
	g.proposals = append(g.proposals, &queuedProposal{ref: ref, proposal: p, sender: me, leafPriv: leafPriv, msg: b})
	return msg, nil
}

// completePSKID checks that the PSK named by id is available and fills a
// fresh nonce when id has none.
func (g *Group) completePSKID(id PreSharedKeyID) (PreSharedKeyID, error) {
	if len(id.Nonce) == 0 {
		n, err := randomBytes(g.cfg.Rand, g.s.ctx.CipherSuite.Nh())
		if err != nil {
			return id, err
		}
		id.Nonce = n
	}
	if _, err := g.lookupPSK(&id); err != nil {
		return id, fmt.Errorf("%w: %w", ErrUnknownPSK, err)
	}
	return id, nil
}

// lookupPSK returns the value of the PSK id names (RFC 9420 §8.4).
func (g *Group) lookupPSK(id *PreSharedKeyID) ([]byte, error) {
	switch id.Type {
	case PSKTypeExternal:
		if g.cfg.ExternalPSK != nil {
			if psk, ok := g.cfg.ExternalPSK(id.PSKID); ok {
				return psk, nil
			}
		}
		return nil, invalid("§8.4", "external psk %x is not available", id.PSKID)
	case PSKTypeResumption:
		if psk, ok := g.resumptionPSKFor(id.PSKGroupID, id.PSKEpoch); ok {
			return psk, nil
		}
		if g.cfg.ResumptionPSK != nil {
			if psk, ok := g.cfg.ResumptionPSK(id.PSKGroupID, id.PSKEpoch); ok {
				return psk, nil
			}
		}
		return nil, invalid("§8.4", "resumption psk of epoch %d is not available", id.PSKEpoch)
	}
	return nil, invalid("§8.4", "psk type %d", id.Type)
}

// receiveProposal validates a proposal received in ac and queues it
// (RFC 9420 §12.1). It returns the queued entry.
func (g *Group) receiveProposal(ac *AuthenticatedContent) (*queuedProposal, error) {
	p := ac.Content.Proposal
	sender := ac.Content.Sender
	ref, err := makeProposalRef(g.s.ctx.CipherSuite, ac)
	if err != nil {
		return nil, err
	}
	if q := g.findProposal(ref); q != nil {
		return q, nil
	}
	if sender.Type == SenderTypeMember && sender.LeafIndex == g.s.keys.leaf {
		return nil, invalid("§12.1", "proposal from our own leaf that we did not send")
	}
	if err := g.validateProposal(p, sender, nil, nil); err != nil {
		return nil, err
	}
	q := &queuedProposal{ref: ref, proposal: p, sender: sender}
	g.proposals = append(g.proposals, q)
	return q, nil
}

// validateProposal checks one proposal from sender on its own (RFC 9420
// §12.1.1–§12.1.8). exts are the group context extensions to validate
// against (nil: the current ones); tree-dependent key uniqueness of Adds is
// checked when a commit applies them.
func (g *Group) validateProposal(p *Proposal, sender Sender, exts []Extension, sum *memberSummary) error {
	s := g.s
	if exts == nil {
		exts = s.ctx.Extensions
	}
	if sender.Type == SenderTypeExternal && !p.Type.allowedForExternal() {
		return invalid("§12.1.8", "external sender may not send a %s proposal", p.Type)
	}
	if sender.Type == SenderTypeNewMemberProposal && p.Type != ProposalTypeAdd {
		return invalid("§6.1", "new_member_proposal sender may only send an add proposal")
	}
	switch p.Type {
	case ProposalTypeAdd:
		v, err := g.leafValidation(s.tree, leafInKeyPackage, 0, exts, sum)
		if err != nil {
			return err
		}
		v.FindEncryptionKey, v.FindSignatureKey = nil, nil
		return validateKeyPackage(&p.Add.KeyPackage, v)
	case ProposalTypeUpdate:
		return g.validateUpdate(p.Update, sender, exts, sum)
	case ProposalTypeRemove:
		if s.tree.leaf(LeafIndex(p.Remove.Removed)) == nil {
			return invalid("§12.1.3", "remove of blank or absent leaf %d", p.Remove.Removed)
		}
	case ProposalTypePSK:
		return validatePSKProposal(s.ctx.CipherSuite, &p.PreSharedKey.PSK)
	case ProposalTypeReInit:
		if p.ReInit.Version < s.ctx.Version {
			return invalid("§12.1.5", "reinit to version %d below the group's %d", p.ReInit.Version, s.ctx.Version)
		}
	case ProposalTypeExternalInit:
		return invalid("§12.1.6", "external_init proposal outside an external commit")
	case ProposalTypeGroupContextExtensions:
		if _, err := requiredCapabilities(p.GroupContextExtensions.Extensions); err != nil {
			return err
		}
	default:
		return invalid("§12.1", "unsupported proposal type %s", p.Type)
	}
	return nil
}

// validateUpdate checks an Update proposal from sender (RFC 9420 §12.1.2,
// §7.3).
func (g *Group) validateUpdate(u *UpdateProposal, sender Sender, exts []Extension, sum *memberSummary) error {
	if sender.Type != SenderTypeMember {
		return invalid("§12.1.2", "update proposal from a %s sender", sender.Type)
	}
	v, err := g.leafValidation(g.s.tree, leafInUpdate, sender.LeafIndex, exts, sum)
	if err != nil {
		return err
	}
	return validateLeafNode(&u.LeafNode, v)
}

// validatePSKProposal checks a PreSharedKey proposal (RFC 9420 §12.1.4).
func validatePSKProposal(cs CipherSuite, id *PreSharedKeyID) error {
	if len(id.Nonce) != cs.Nh() {
		return invalid("§12.1.4", "psk_nonce of %d bytes, want %d", len(id.Nonce), cs.Nh())
	}
	if id.Type == PSKTypeResumption && id.Usage != ResumptionPSKUsageApplication {
		return invalid("§12.1.4", "resumption psk with usage %d outside reinit or branch", id.Usage)
	}
	return nil
}

// memberSummary counts, over the members of a tree, which credential types
// are in use and which each member supports, so that validating a leaf
// against "every other member" costs O(1) per leaf instead of O(n).
type memberSummary struct {
	members  int
	inUse    map[CredentialType]int
	supports map[CredentialType]int
}

func summarizeMembers(t *ratchetTree) *memberSummary {
	m := &memberSummary{inUse: map[CredentialType]int{}, supports: map[CredentialType]int{}}
	for _, ln := range t.leaves {
		if ln != nil {
			m.add(ln, 1)
		}
	}
	return m
}

// add counts ln in (delta 1) or out (delta -1).
func (m *memberSummary) add(ln *LeafNode, delta int) {
	m.members += delta
	m.inUse[ln.Credential.Type] += delta
	creds := ln.Capabilities.Credentials
	if len(creds) > 8 { // long (possibly hostile) lists: dedupe in n log n
		creds = slices.Compact(slices.Sorted(slices.Values(creds)))
	}
	for i, t := range creds {
		if len(creds) <= 8 && slices.Contains(creds[:i], t) {
			continue // short lists: dedupe in place, without allocating
		}
		m.supports[t] += delta
	}
}

// leafValidation returns the §7.3 validation context for a leaf appearing
// as use at leaf index l of tree, under group context extensions exts.
// sum may be nil (it is then computed from tree). Key uniqueness is checked
// by a linear scan of tree's leaves.
func (g *Group) leafValidation(tree *ratchetTree, use leafNodeUse, l LeafIndex, exts []Extension, sum *memberSummary) (*leafValidation, error) {
	return newLeafValidation(&g.cfg, &g.s.ctx, tree, use, l, exts, sum)
}

// newLeafValidation is leafValidation for group context ctx and config cfg.
func newLeafValidation(cfg *Config, ctx *GroupContext, tree *ratchetTree, use leafNodeUse, l LeafIndex, exts []Extension, sum *memberSummary) (*leafValidation, error) {
	rc, err := requiredCapabilities(exts)
	if err != nil {
		return nil, err
	}
	if sum == nil {
		sum = summarizeMembers(tree)
	}
	old := tree.leaf(l)
	if use == leafInKeyPackage {
		old = nil
	}
	v := &leafValidation{
		Use: use, CipherSuite: ctx.CipherSuite, GroupID: ctx.GroupID, LeafIndex: l,
		RequiredCapabilities: rc, Now: cfg.now(), MaxLifetime: cfg.MaxLeafLifetime,
		ValidateCredential: cfg.ValidateCredential,
		FindEncryptionKey:  func(k []byte) (LeafIndex, bool) { return findLeafKey(tree, k, true) },
		FindSignatureKey:   func(k []byte) (LeafIndex, bool) { return findLeafKey(tree, k, false) },
	}
	for _, e := range exts {
		v.GroupExtensions = append(v.GroupExtensions, e.Type)
	}
	for t, n := range sum.inUse {
		if old != nil && old.Credential.Type == t {
			n--
		}
		if n > 0 {
			v.CredentialTypesInUse = append(v.CredentialTypesInUse, t)
		}
	}
	slices.Sort(v.CredentialTypesInUse)
	v.MembersSupportCredential = func(t CredentialType) bool {
		others, n := sum.members, sum.supports[t]
		if old != nil {
			others--
			if slices.Contains(old.Capabilities.Credentials, t) {
				n--
			}
		}
		return n >= others
	}
	return v, nil
}

// findLeafKey returns the leaf of t whose encryption (enc) or signature key
// is k.
func findLeafKey(t *ratchetTree, k []byte, enc bool) (LeafIndex, bool) {
	for i, ln := range t.leaves {
		if ln == nil {
			continue
		}
		key := ln.SignatureKey
		if enc {
			key = ln.EncryptionKey
		}
		if bytes.Equal(key, k) {
			return LeafIndex(i), true
		}
	}
	return 0, false
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// validateProposalList applies the proposal list rules of RFC 9420 §12.2
// to a commit's proposals, and validates each proposal carried by value
// (and, when the commit changes the group context extensions, each one by
// reference too) against the extensions the commit installs.
func (g *Group) validateProposalList(in *commitInput) error {
	if in.committer.Type == SenderTypeNewMemberCommit {
		return g.validateExternalList(in.proposals)
	}
	if in.committer.Type != SenderTypeMember {
		return invalid("§6.1", "commit from a %s sender", in.committer.Type)
	}
	exts, err := listExtensions(in.proposals, g.s.ctx.Extensions)
	if err != nil {
		return err
	}
	changed := hasGCE(in.proposals)
	var sum *memberSummary
	r := &listRules{committer: in.committer.LeafIndex, leaves: map[LeafIndex]ProposalType{}, psks: map[string]bool{}}
	for i := range in.proposals {
		cp := &in.proposals[i]
		if err := r.check(cp); err != nil {
			return err
		}
		if cp.Ref == nil || changed {
			if sum == nil {
				sum = summarizeMembers(g.s.tree)
			}
			if err := g.validateProposal(&cp.Proposal, cp.Sender, exts, sum); err != nil {
				return err
			}
		}
	}
	if r.reinit && len(in.proposals) > 1 {
		return invalid("§12.2", "reinit proposal together with other proposals")
	}
	return nil
}

// listExtensions returns the group context extensions after the list's
// GroupContextExtensions proposal (at most one is allowed, RFC 9420 §12.2).
func listExtensions(list []CommittedProposal, cur []Extension) ([]Extension, error) {
	exts, n := cur, 0
	for i := range list {
		if p := &list[i].Proposal; p.Type == ProposalTypeGroupContextExtensions {
			n++
			exts = nonNilExtensions(p.GroupContextExtensions.Extensions)
		}
	}
	if n > 1 {
		return nil, invalid("§12.2", "%d group_context_extensions proposals", n)
	}
	return exts, nil
}

func hasGCE(list []CommittedProposal) bool {
	for i := range list {
		if list[i].Proposal.Type == ProposalTypeGroupContextExtensions {
			return true
		}
	}
	return false
}

// listRules tracks the cross-proposal rules of RFC 9420 §12.2 for a
// regular commit.
type listRules struct {
	committer LeafIndex
	leaves    map[LeafIndex]ProposalType
	psks      map[string]bool
	reinit    bool
}

// check applies the rules to one more proposal of the list.
func (r *listRules) check(cp *CommittedProposal) error {
	p := &cp.Proposal
	switch p.Type {
	case ProposalTypeUpdate:
		if cp.Sender.Type == SenderTypeMember && cp.Sender.LeafIndex == r.committer {
			return invalid("§12.2", "update proposal generated by the committer")
		}
		return r.touch(cp.Sender.LeafIndex, p.Type)
	case ProposalTypeRemove:
		l := LeafIndex(p.Remove.Removed)
		if l == r.committer {
			return invalid("§12.2", "remove proposal removing the committer")
		}
		return r.touch(l, p.Type)
	case ProposalTypePSK:
		return checkUniquePSK(r.psks, &p.PreSharedKey.PSK)
	case ProposalTypeReInit:
		r.reinit = true
	case ProposalTypeExternalInit:
		return invalid("§12.2", "external_init proposal in a regular commit")
	}
	return nil
}

// touch records an update or remove of leaf l; a second one is invalid.
func (r *listRules) touch(l LeafIndex, t ProposalType) error {
	if prev, dup := r.leaves[l]; dup {
		return invalid("§12.2", "%s and %s proposals for the same leaf %d", prev, t, l)
	}
	r.leaves[l] = t
	return nil
}

// checkUniquePSK rejects a PreSharedKeyID seen before in the list (compared
// without its nonce).
func checkUniquePSK(seen map[string]bool, id *PreSharedKeyID) error {
	c := *id
	c.Nonce = nil
	b, err := encode(&c)
	if err != nil {
		return invalid("§12.1.4", "malformed pre-shared key id")
	}
	if seen[string(b)] {
		return invalid("§12.2", "two psk proposals for the same pre-shared key")
	}
	seen[string(b)] = true
	return nil
}

// validateExternalList applies the external commit rules of RFC 9420
// §12.2: exactly one ExternalInit, at most one Remove, PSKs, nothing else,
// all by value.
func (g *Group) validateExternalList(list []CommittedProposal) error {
	var inits, removes int
	psks := map[string]bool{}
	for i := range list {
		cp := &list[i]
		if cp.Ref != nil {
			return invalid("§12.4.3.2", "external commit covers a proposal by reference")
		}
		p := &cp.Proposal
		switch p.Type {
		case ProposalTypeExternalInit:
			inits++
		case ProposalTypeRemove:
			removes++
			if g.s.tree.leaf(LeafIndex(p.Remove.Removed)) == nil {
				return invalid("§12.1.3", "remove of blank or absent leaf %d", p.Remove.Removed)
			}
		case ProposalTypePSK:
			if err := validatePSKProposal(g.s.ctx.CipherSuite, &p.PreSharedKey.PSK); err != nil {
				return err
			}
			if err := checkUniquePSK(psks, &p.PreSharedKey.PSK); err != nil {
				return err
			}
		default:
			return invalid("§12.2", "%s proposal in an external commit", p.Type)
		}
	}
	if inits != 1 {
		return invalid("§12.2", "external commit with %d external_init proposals, want exactly one", inits)
	}
	if removes > 1 {
		return invalid("§12.2", "external commit with %d remove proposals, want at most one", removes)
	}
	return nil
}

// applyProposals applies the validated list to w.next in the order of
// RFC 9420 §12.3 and records the changes in w.sc.
func (g *Group) applyProposals(w *commitWork) error {
	list := w.in.proposals
	next := w.next
	for i := range list {
		if p := &list[i].Proposal; p.Type == ProposalTypeGroupContextExtensions {
			next.ctx.Extensions = nonNilExtensions(slices.Clone(p.GroupContextExtensions.Extensions))
			w.sc.ExtensionsChanged = true
			w.sc.GroupContextExtensions = slices.Clone(next.ctx.Extensions)
		}
	}
	idx := g.keyIndexFor(list)
	if err := g.applyUpdates(w, idx); err != nil {
		return err
	}
	if err := g.applyRemoves(w, idx); err != nil {
		return err
	}
	if w.sc.SelfRemoved {
		return nil
	}
	if err := g.applyAdds(w, idx); err != nil {
		return err
	}
	if err := g.collectPSKs(w); err != nil {
		return err
	}
	if w.sc.ExtensionsChanged {
		if err := checkGroupExtensionsSupported(next.tree, next.ctx.Extensions, w.pathLeaf()); err != nil {
			return err
		}
	}
	return nil
}

// pathLeaf returns the committer's leaf when the commit has (or will have)
// a path replacing it, whose new leaf is validated separately; -1 if none.
func (w *commitWork) pathLeaf() int {
	if w.in.committer.Type != SenderTypeMember {
		return -1
	}
	if w.in.creating || (w.in.ac != nil && w.in.ac.Content.Commit.Path != nil) {
		return int(w.in.committer.LeafIndex)
	}
	return -1
}

// keyIndex maps the encryption and signature keys of a tree's leaves to
// their leaves, for the uniqueness rules of RFC 9420 §7.3 and §12.2.
type keyIndex struct {
	enc, sig map[string]LeafIndex
}

// keyIndexFor builds the index of the current tree when list adds or
// updates leaves; nil otherwise.
func (g *Group) keyIndexFor(list []CommittedProposal) *keyIndex {
	need := false
	for i := range list {
		t := list[i].Proposal.Type
		need = need || t == ProposalTypeAdd || t == ProposalTypeUpdate
	}
	if !need {
		return nil
	}
	t := g.s.tree
	idx := &keyIndex{enc: make(map[string]LeafIndex, len(t.leaves)), sig: make(map[string]LeafIndex, len(t.leaves))}
	for i, ln := range t.leaves {
		if ln != nil {
			idx.set(LeafIndex(i), ln)
		}
	}
	return idx
}

func (idx *keyIndex) set(l LeafIndex, ln *LeafNode) {
	idx.enc[string(ln.EncryptionKey)] = l
	idx.sig[string(ln.SignatureKey)] = l
}

func (idx *keyIndex) unset(l LeafIndex, ln *LeafNode) {
	if k, ok := idx.enc[string(ln.EncryptionKey)]; ok && k == l {
		delete(idx.enc, string(ln.EncryptionKey))
	}
	if k, ok := idx.sig[string(ln.SignatureKey)]; ok && k == l {
		delete(idx.sig, string(ln.SignatureKey))
	}
}

// applyUpdates applies the Update proposals (RFC 9420 §12.1.2).
func (g *Group) applyUpdates(w *commitWork, idx *keyIndex) error {
	next := w.next
	for i := range w.in.proposals {
		cp := &w.in.proposals[i]
		if cp.Proposal.Type != ProposalTypeUpdate {
			continue
		}
		l := cp.Sender.LeafIndex
		ln := cp.Proposal.Update.LeafNode
		old := next.tree.leaf(l)
		if j, ok := idx.enc[string(ln.EncryptionKey)]; ok && j != l {
			return invalid("§7.3", "update of leaf %d reuses the encryption key of leaf %d", l, j)
		}
		idx.unset(l, old)
		idx.set(l, &ln)
		if err := next.tree.updateLeaf(l, &ln); err != nil {
			return invalid("§12.1.2", "update of blank leaf %d", l)
		}
		if l == next.keys.leaf {
			if err := g.installOwnUpdate(next, cp.Ref, &ln); err != nil {
				return err
			}
		}
		w.sc.UpdatedLeaves = append(w.sc.UpdatedLeaves, Member{Index: l, LeafNode: ln})
	}
	return nil
}

// installOwnUpdate sets our leaf's private key from our own committed
// Update proposal.
func (g *Group) installOwnUpdate(next *epochState, ref ProposalRef, ln *LeafNode) error {
	q := g.findProposal(ref)
	if q == nil || q.leafPriv == nil {
		return fmt.Errorf("%w: our update proposal has no private key", ErrInternal)
	}
	next.keys.keys[next.keys.leaf.node()] = nodeKey{pub: ln.EncryptionKey, priv: q.leafPriv}
	return nil
}

// applyRemoves applies the Remove proposals (RFC 9420 §12.1.3).
func (g *Group) applyRemoves(w *commitWork, idx *keyIndex) error {
	next := w.next
	for i := range w.in.proposals {
		p := &w.in.proposals[i].Proposal
		if p.Type != ProposalTypeRemove {
			continue
		}
		l := LeafIndex(p.Remove.Removed)
		old := next.tree.leaf(l)
		if old == nil {
			return invalid("§12.1.3", "remove of blank leaf %d", l)
		}
		if idx != nil {
			idx.unset(l, old)
		}
		if err := next.tree.removeLeaf(l); err != nil {
			return invalid("§12.1.3", "remove of blank leaf %d", l)
		}
		w.sc.RemovedLeaves = append(w.sc.RemovedLeaves, Member{Index: l, LeafNode: *old})
		if l == next.keys.leaf && !w.in.creating {
			w.sc.SelfRemoved = true
		}
	}
	return nil
}

// applyAdds applies the Add proposals in order (RFC 9420 §12.1.1), after
// checking their keys are new to the group (§12.2, §7.3).
func (g *Group) applyAdds(w *commitWork, idx *keyIndex) error {
	next := w.next
	for i := range w.in.proposals {
		p := &w.in.proposals[i].Proposal
		if p.Type != ProposalTypeAdd {
			continue
		}
		ln := p.Add.KeyPackage.LeafNode
		if j, ok := idx.sig[string(ln.SignatureKey)]; ok {
			return invalid("§12.2", "add of a client already in the group or added twice (signature key of leaf %d)", j)
		}
		if j, ok := idx.enc[string(ln.EncryptionKey)]; ok {
			return invalid("§7.3", "added leaf reuses the encryption key of leaf %d", j)
		}
		l := next.tree.addLeaf(&ln)
		idx.set(l, &ln)
		w.exclude = append(w.exclude, l)
		w.sc.AddedLeaves = append(w.sc.AddedLeaves, Member{Index: l, LeafNode: ln})
	}
	return nil
}

// collectPSKs looks up the PSKs of the list, and notes the ExternalInit
// and ReInit proposals (RFC 9420 §12.3).
func (g *Group) collectPSKs(w *commitWork) error {
	for i := range w.in.proposals {
		p := &w.in.proposals[i].Proposal
		switch p.Type {
		case ProposalTypePSK:
			id := p.PreSharedKey.PSK
			psk, err := g.lookupPSK(&id)
			if err != nil {
				return err
			}
			w.psks = append(w.psks, pskInput{ID: id, PSK: psk})
			w.sc.PSKs = append(w.sc.PSKs, id)
		case ProposalTypeExternalInit:
			w.kemOutput = p.ExternalInit.KEMOutput
		case ProposalTypeReInit:
			w.sc.ReInit = p.ReInit
		}
	}
	return nil
}
