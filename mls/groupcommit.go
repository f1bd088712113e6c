package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// CommitOptions says what a Commit we create covers (RFC 9420 §12.4.1).
// The zero value is an empty commit: it updates our path only.
type CommitOptions struct {
	// Adds are key packages to add, by value, in this order.
	Adds []KeyPackage
	// Removes are leaves to remove, by value.
	Removes []LeafIndex
	// PSKs are pre-shared keys to inject, by value; an empty Nonce is
	// filled with a fresh one.
	PSKs []PreSharedKeyID
	// GroupContextExtensions, when non-nil (even empty), replaces the group
	// context extensions by a GroupContextExtensions proposal.
	GroupContextExtensions []Extension
	// Leaf, when non-nil, changes our leaf's capabilities and extensions in
	// the commit's path (and forces a path).
	Leaf *LeafOptions
	// IncludePending covers, by reference, every proposal queued in this
	// epoch except our own Updates (a committer may not commit those) and
	// Removes of ourselves.
	IncludePending bool
	// ProposalRefs covers these queued proposals by reference (in this
	// order, after IncludePending's, skipping any already covered); an
	// unknown reference is ErrInvalidOptions.
	ProposalRefs []ProposalRef
	// ForcePath includes an UpdatePath even when no proposal requires one.
	ForcePath bool
	// RatchetTreeInWelcome puts the ratchet tree in the Welcome's GroupInfo
	// (as does Config.UseRatchetTreeExtension).
	RatchetTreeInWelcome bool
	// AuthenticatedData is the commit's authenticated_data.
	AuthenticatedData []byte
}

// CommitResult is what Commit produces. The commit is pending: send Commit
// to the delivery service and call MergePendingCommit once it is accepted
// (or ClearPendingCommit if it is rejected).
type CommitResult struct {
	// Commit is the commit message to send to the group.
	Commit *MLSMessage
	// Welcome is for the added members; nil when the commit adds none.
	Welcome *Welcome
	// GroupInfo describes the new epoch (signed, with external_pub and,
	// per the options, the ratchet tree), e.g. for external joiners.
	GroupInfo *GroupInfo
}

// CommittedProposal is one proposal a commit covers (or one queued in the
// epoch): the proposal, who proposed it, and its reference (nil when the
// commit carries it by value).
type CommittedProposal struct {
	Proposal Proposal
	Sender   Sender
	Ref      ProposalRef
}

// StagedCommit is a verified commit not yet applied (RFC 9420 §12.4.2): the
// caller inspects it, then merges it with MergeStagedCommit or drops it.
// Its fields describe the commit; changing them changes nothing.
type StagedCommit struct {
	// Sender is the committer: a member, or a new member for an external
	// commit.
	Sender Sender
	// Proposals are the covered proposals in commit order.
	Proposals []CommittedProposal
	// AddedLeaves are the new members with the leaves they were given.
	AddedLeaves []Member
	// RemovedLeaves are the removed members with their former leaves.
	RemovedLeaves []Member
	// UpdatedLeaves are members whose leaf an Update proposal replaced, with
	// their new leaves (the committer's own path leaf is not listed).
	UpdatedLeaves []Member
	// ExtensionsChanged reports a GroupContextExtensions proposal;
	// GroupContextExtensions then holds the new extensions.
	ExtensionsChanged      bool
	GroupContextExtensions []Extension
	// PSKs are the injected pre-shared keys, in order.
	PSKs []PreSharedKeyID
	// PathPresent reports whether the commit carried an UpdatePath.
	PathPresent bool
	// External reports an external commit; its joiner's leaf is in
	// AddedLeaves.
	External bool
	// ReInit is the commit's ReInit proposal, if any: after merging, the
	// group can no longer be used to send (RFC 9420 §11.2).
	ReInit *ReInitProposal
	// SelfRemoved reports that the commit removes us: merging it ends our
	// membership and no new epoch is computed.
	SelfRemoved bool
	// NewEpoch is the epoch the commit creates.
	NewEpoch uint64

	base *epochState
	next *epochState
	own  bool
}

// EpochAuthenticator returns the epoch_authenticator of the epoch the
// commit creates; nil when it removes us.
func (sc *StagedCommit) EpochAuthenticator() []byte {
	if sc.next == nil {
		return nil
	}
	return slices.Clone(sc.next.secrets.epochAuthenticator)
}

// Leaf returns the leaf at index l in the ratchet tree of the epoch the
// commit creates (after its proposals and UpdatePath: for the committer,
// the leaf its UpdatePath installed), or nil when l is blank there or the
// commit removes us (no new epoch is computed). It shares memory with the
// staged state: read it, never modify it.
func (sc *StagedCommit) Leaf(l LeafIndex) *LeafNode {
	if sc.next == nil {
		return nil
	}
	return sc.next.tree.leaf(l)
}

// pendingCommit is our own commit awaiting the delivery service.
type pendingCommit struct {
	staged *StagedCommit
	msg    []byte
}

// Commit creates a commit covering opts (RFC 9420 §12.4.1), with an
// UpdatePath whenever one is required (any proposal other than add, psk or
// reinit, or no proposal at all) or requested. The commit stays pending:
// nothing changes until MergePendingCommit. Only one commit may be pending.
func (g *Group) Commit(opts CommitOptions) (*CommitResult, error) {
	if err := g.checkCanSend(); err != nil {
		return nil, err
	}
	if g.pending != nil {
		return nil, ErrPendingCommit
	}
	list, err := g.commitProposals(&opts)
	if err != nil {
		return nil, err
	}
	me := Sender{Type: SenderTypeMember, LeafIndex: g.s.keys.leaf}
	in := &commitInput{committer: me, proposals: list, creating: true,
		forcePath: opts.ForcePath || opts.Leaf != nil, leaf: opts.Leaf, aad: nonNilBytes(opts.AuthenticatedData)}
	res, err := g.buildCommit(in, opts.RatchetTreeInWelcome || g.cfg.UseRatchetTreeExtension)
	if err != nil {
		return nil, fmt.Errorf("mls: commit: %w", err)
	}
	return res, nil
}

// commitProposals lists the proposals a commit with opts covers.
func (g *Group) commitProposals(opts *CommitOptions) ([]CommittedProposal, error) {
	me := Sender{Type: SenderTypeMember, LeafIndex: g.s.keys.leaf}
	var list []CommittedProposal
	if opts.IncludePending {
		for _, q := range g.proposals {
			p := q.proposal
			if p.Type == ProposalTypeUpdate && q.sender == me {
				continue
			}
			if p.Type == ProposalTypeRemove && LeafIndex(p.Remove.Removed) == me.LeafIndex {
				continue
			}
			list = append(list, CommittedProposal{Proposal: *p, Sender: q.sender, Ref: q.ref})
		}
	}
	for _, ref := range opts.ProposalRefs {
		q := g.findProposal(ref)
		if q == nil {
			return nil, fmt.Errorf("%w: unknown proposal reference %x", ErrInvalidOptions, []byte(ref))
		}
		if !slices.ContainsFunc(list, func(cp CommittedProposal) bool { return bytes.Equal(cp.Ref, ref) }) {
			list = append(list, CommittedProposal{Proposal: *q.proposal, Sender: q.sender, Ref: q.ref})
		}
	}
	add := func(p Proposal) { list = append(list, CommittedProposal{Proposal: p, Sender: me}) }
	if opts.GroupContextExtensions != nil {
		add(Proposal{Type: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensionsProposal{
			Extensions: slices.Clone(opts.GroupContextExtensions)}})
	}
	for _, l := range opts.Removes {
		add(Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: uint32(l)}})
	}
	for i := range opts.Adds {
		add(Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: opts.Adds[i]}})
	}
	for _, id := range opts.PSKs {
		id, err := g.completePSKID(id)
		if err != nil {
			return nil, err
		}
		add(Proposal{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: id}})
	}
	return list, nil
}

// commitInput describes a commit being created or processed.
type commitInput struct {
	committer Sender
	proposals []CommittedProposal
	// creating is set when we build the commit; otherwise ac is the
	// received commit.
	creating  bool
	ac        *AuthenticatedContent
	forcePath bool
	leaf      *LeafOptions
	aad       []byte
	// externalInit is the joiner's init secret of an external commit we
	// create, and leafNode the joiner's leaf template.
	externalInit []byte
	leafNode     *LeafNode
}

// commitWork is the state of a commit between its stages.
type commitWork struct {
	in        *commitInput
	sc        *StagedCommit
	next      *epochState
	exclude   []LeafIndex
	psks      []pskInput
	kemOutput []byte
	from      LeafIndex
	ps        *pathSecrets
	commit    *Commit
	commitSec []byte
	joiner    joinerInfo
}

// buildCommit creates our commit (member or external joiner), makes it
// pending and returns the messages.
func (g *Group) buildCommit(in *commitInput, treeInWelcome bool) (*CommitResult, error) {
	w, err := g.stageProposals(in)
	if err != nil {
		return nil, err
	}
	if err := g.createPath(w); err != nil {
		return nil, err
	}
	ac, err := g.signCommit(w)
	if err != nil {
		return nil, err
	}
	if err := g.finishEpoch(w, ac); err != nil {
		return nil, err
	}
	res, err := g.commitMessages(w, ac, treeInWelcome)
	if err != nil {
		return nil, err
	}
	b, err := res.Commit.Bytes()
	if err != nil {
		return nil, err
	}
	w.sc.own = true
	g.pending = &pendingCommit{staged: w.sc, msg: b}
	return res, nil
}

// processCommit verifies a received commit and stages it (RFC 9420
// §12.4.2).
func (g *Group) processCommit(ac *AuthenticatedContent) (*StagedCommit, error) {
	c := ac.Content.Commit
	sender := ac.Content.Sender
	if sender.Type == SenderTypeMember && sender.LeafIndex == g.s.keys.leaf {
		return nil, invalid("§12.4.2", "commit from our own leaf that is not our pending commit")
	}
	list, err := g.resolveProposals(c, sender)
	if err != nil {
		return nil, err
	}
	w, err := g.stageProposals(&commitInput{committer: sender, proposals: list, ac: ac})
	if err != nil {
		return nil, err
	}
	if w.sc.SelfRemoved {
		return w.sc, nil
	}
	if err := g.mergeReceivedPath(w, c.Path); err != nil {
		return nil, err
	}
	if err := g.finishEpoch(w, ac); err != nil {
		return nil, err
	}
	return w.sc, nil
}

// resolveProposals turns a received commit's ProposalOrRefs into
// proposals with their senders (RFC 9420 §12.4).
func (g *Group) resolveProposals(c *Commit, committer Sender) ([]CommittedProposal, error) {
	list := make([]CommittedProposal, 0, len(c.Proposals))
	for _, por := range c.Proposals {
		if por.Proposal != nil {
			list = append(list, CommittedProposal{Proposal: *por.Proposal, Sender: committer})
			continue
		}
		if committer.Type == SenderTypeNewMemberCommit {
			return nil, invalid("§12.4.3.2", "external commit covers a proposal by reference")
		}
		q := g.findProposal(por.Reference)
		if q == nil {
			return nil, invalid("§12.4.2", "commit references unknown proposal %x", []byte(por.Reference))
		}
		list = append(list, CommittedProposal{Proposal: *q.proposal, Sender: q.sender, Ref: q.ref})
	}
	return list, nil
}

// stageProposals validates the proposal list (RFC 9420 §12.2) and applies
// it to a copy of the current state (§12.3).
func (g *Group) stageProposals(in *commitInput) (*commitWork, error) {
	s := g.s
	sc := &StagedCommit{Sender: in.committer, Proposals: in.proposals, NewEpoch: s.ctx.Epoch + 1,
		External: in.committer.Type == SenderTypeNewMemberCommit, base: s}
	w := &commitWork{in: in, sc: sc}
	if err := g.validateProposalList(in); err != nil {
		return nil, err
	}
	w.next = &epochState{ctx: cloneGroupContext(&s.ctx), tree: s.tree.clone(), keys: s.keys.clone(),
		sigPriv: s.sigPriv, signer: s.signer}
	if err := g.applyProposals(w); err != nil {
		return nil, err
	}
	if !in.creating {
		if err := checkPathRequired(in.proposals, in.ac.Content.Commit.Path != nil); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// pathRequired reports whether a commit covering list needs a path (RFC
// 9420 §12.4): with no proposal, or any not of type add, psk or reinit.
func pathRequired(list []CommittedProposal) bool {
	if len(list) == 0 {
		return true
	}
	for i := range list {
		switch list[i].Proposal.Type {
		case ProposalTypeAdd, ProposalTypePSK, ProposalTypeReInit:
		default:
			return true
		}
	}
	return false
}

// checkPathRequired fails when a path is required but absent.
func checkPathRequired(list []CommittedProposal, hasPath bool) error {
	if !hasPath && pathRequired(list) {
		return invalid("§12.4", "commit without the required path")
	}
	return nil
}

// provisionalContext returns the GroupContext encoder of RFC 9420 §12.4.1
// for the path's HPKE encryption: new epoch and extensions, the given tree
// hash, the old confirmed transcript hash.
func (w *commitWork) provisionalContext(old *GroupContext) groupContextFunc {
	return func(treeHash []byte) ([]byte, error) {
		gc := GroupContext{Version: old.Version, CipherSuite: old.CipherSuite, GroupID: old.GroupID,
			Epoch: old.Epoch + 1, TreeHash: treeHash, ConfirmedTranscriptHash: old.ConfirmedTranscriptHash,
			Extensions: w.next.ctx.Extensions}
		return encode(&gc)
	}
}

// committerLeaf returns the leaf of the committer in the new tree: its own
// for members, the leftmost blank one (extending the tree) for external
// joiners (RFC 9420 §12.4.2).
func (w *commitWork) committerLeaf() LeafIndex {
	if w.in.committer.Type == SenderTypeMember {
		return w.in.committer.LeafIndex
	}
	t := w.next.tree
	l, ok := t.leftmostBlankLeaf()
	if !ok {
		l = LeafIndex(t.leafCount())
		t.extend()
	}
	return l
}

// createPath adds our UpdatePath when required or requested.
func (g *Group) createPath(w *commitWork) error {
	w.commit = &Commit{Proposals: make([]ProposalOrRef, len(w.in.proposals))}
	for i := range w.in.proposals {
		cp := &w.in.proposals[i]
		if cp.Ref != nil {
			w.commit.Proposals[i] = ProposalOrRef{Reference: cp.Ref}
		} else {
			p := cp.Proposal
			w.commit.Proposals[i] = ProposalOrRef{Proposal: &p}
		}
	}
	if !w.in.forcePath && !pathRequired(w.in.proposals) {
		return nil
	}
	s, next := g.s, w.next
	w.from = w.committerLeaf()
	next.keys.leaf = w.from
	template := next.tree.leaf(w.from)
	if w.in.leaf != nil || template == nil {
		t, err := g.pathLeafTemplate(w)
		if err != nil {
			return err
		}
		template = t
	}
	signer, err := next.signingKey()
	if err != nil {
		return err
	}
	path, ps, err := next.tree.createUpdatePathWith(g.cfg.Rand, next.keys, template, signer, s.ctx.GroupID,
		w.exclude, w.provisionalContext(&s.ctx))
	if err != nil {
		return err
	}
	w.ps, w.commitSec = ps, ps.commitSecret
	w.commit.Path = path
	w.sc.PathPresent = true
	if w.in.committer.Type == SenderTypeNewMemberCommit {
		w.sc.AddedLeaves = append(w.sc.AddedLeaves, Member{Index: w.from, LeafNode: path.LeafNode})
	}
	return nil
}

// pathLeafTemplate returns the leaf our path installs: our current leaf
// (or, for an external joiner, the joiner's) with the options' changes.
func (g *Group) pathLeafTemplate(w *commitWork) (*LeafNode, error) {
	var ln LeafNode
	if cur := w.next.tree.leaf(w.from); cur != nil {
		ln = *cur
	} else if w.in.leafNode != nil {
		ln = *w.in.leafNode
	} else {
		return nil, fmt.Errorf("%w: no leaf for the update path", ErrInternal)
	}
	if o := w.in.leaf; o != nil {
		ln.Capabilities = o.capabilities(g.s.ctx.CipherSuite, ln.Credential.Type)
		ln.Extensions = nonNilExtensions(o.extensions())
	}
	return &ln, nil
}

// signCommit frames and signs our commit with the current group context.
func (g *Group) signCommit(w *commitWork) (*AuthenticatedContent, error) {
	s := g.s
	wf := g.cfg.handshakeWireFormat()
	if w.in.committer.Type == SenderTypeNewMemberCommit {
		wf = WireFormatPublicMessage
	}
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: w.in.committer,
		AuthenticatedData: nonNilBytes(w.in.aad), ContentType: ContentTypeCommit, Commit: w.commit}
	signer, err := w.next.signingKey()
	if err != nil {
		return nil, err
	}
	return signFramedContentWith(g.cfg.Rand, signer, wf, content, &s.ctx)
}

// mergeReceivedPath validates the committer's UpdatePath and merges it into
// the staged tree, decrypting our path secret (RFC 9420 §12.4.2).
func (g *Group) mergeReceivedPath(w *commitWork, path *UpdatePath) error {
	if path == nil {
		return nil
	}
	s, next := g.s, w.next
	w.from = w.committerLeaf()
	w.sc.PathPresent = true
	v, err := g.leafValidation(next.tree, leafInCommit, w.from, next.ctx.Extensions, nil)
	if err != nil {
		return err
	}
	// processUpdatePath verifies the leaf signature (checkUpdatePath) with
	// the same group id and leaf index: verify it once, not twice.
	v.SignatureVerifiedElsewhere = true
	if err := validateLeafNode(&path.LeafNode, v); err != nil {
		return err
	}
	if err := checkPathKeysFresh(next.tree, path); err != nil {
		return err
	}
	cs, err := next.tree.processUpdatePath(next.keys, w.from, path, s.ctx.GroupID, w.exclude, w.provisionalContext(&s.ctx))
	if err != nil {
		return err
	}
	w.commitSec = cs
	if w.in.committer.Type == SenderTypeNewMemberCommit {
		w.sc.AddedLeaves = append(w.sc.AddedLeaves, Member{Index: w.from, LeafNode: path.LeafNode})
	}
	return nil
}

// checkPathKeysFresh checks that no public key of path already appears in
// the tree (RFC 9420 §12.4.2).
func checkPathKeysFresh(t *ratchetTree, path *UpdatePath) error {
	keys := make(map[string]struct{}, len(path.Nodes)+1)
	keys[string(path.LeafNode.EncryptionKey)] = struct{}{}
	for i := range path.Nodes {
		k := string(path.Nodes[i].EncryptionKey)
		if _, dup := keys[k]; dup {
			return invalid("§12.4.2", "update path repeats an encryption key")
		}
		keys[k] = struct{}{}
	}
	for x := range nodeIndex(nodeWidth(t.leafCount())) {
		if k := t.encryptionKey(x); k != nil {
			if _, dup := keys[string(k)]; dup {
				return invalid("§12.4.2", "update path key already used by node %d", x)
			}
		}
	}
	return nil
}

// finishEpoch computes the new epoch from the signed commit ac: transcript
// hashes, key schedule, confirmation tag (set when creating, verified when
// receiving) and the new secret tree (RFC 9420 §8, §12.4).
func (g *Group) finishEpoch(w *commitWork, ac *AuthenticatedContent) error {
	s, next := g.s, w.next
	cs := s.ctx.CipherSuite
	confirmed, err := confirmedTranscriptHash(cs, s.interim, ac)
	if err != nil {
		return err
	}
	if next.ctx.TreeHash, err = next.tree.treeHash(); err != nil {
		return err
	}
	next.ctx.Epoch = s.ctx.Epoch + 1
	next.ctx.ConfirmedTranscriptHash = confirmed
	gc, err := encode(&next.ctx)
	if err != nil {
		return err
	}
	initSecret, err := g.commitInitSecret(w)
	if err != nil {
		return err
	}
	pskSecret, err := computePSKSecret(cs, w.psks)
	if err != nil {
		return err
	}
	joiner := deriveJoinerSecret(cs, initSecret, w.commitSec, gc)
	next.secrets = deriveEpochSecrets(cs, joiner, pskSecret, gc)
	if w.in.creating {
		ac.Auth.ConfirmationTag = next.secrets.confirmationTag(confirmed)
		w.joiner = joinerInfo{joiner: joiner, pskSecret: pskSecret}
	} else if !next.secrets.verifyConfirmationTag(confirmed, ac.Auth.ConfirmationTag) {
		return invalid("§12.4.2", "commit confirmation tag does not verify")
	}
	next.confTag = slices.Clone(ac.Auth.ConfirmationTag)
	next.interim = interimTranscriptHash(cs, confirmed, next.confTag)
	next.st = newSecretTreeConfig(cs, next.secrets.encryptionSecret, next.tree.leafCount(), g.cfg.secretTreeConfig())
	next.keys.prune(next.tree)
	w.sc.next = next
	return nil
}

// commitInitSecret returns the init_secret the new epoch starts from: the
// current epoch's, or the external init secret (RFC 9420 §8.3).
func (g *Group) commitInitSecret(w *commitWork) ([]byte, error) {
	if w.in.committer.Type != SenderTypeNewMemberCommit {
		return g.s.secrets.initSecret, nil
	}
	if w.in.creating {
		return w.in.externalInit, nil
	}
	priv, _, err := g.s.secrets.externalKeyPair()
	if err != nil {
		return nil, err
	}
	return externalInitReceive(g.s.ctx.CipherSuite, priv, w.kemOutput)
}

// commitMessages protects our commit and builds the Welcome and GroupInfo.
func (g *Group) commitMessages(w *commitWork, ac *AuthenticatedContent, treeInWelcome bool) (*CommitResult, error) {
	var msg *MLSMessage
	var err error
	if w.in.committer.Type == SenderTypeNewMemberCommit {
		var pm *PublicMessage
		pm, err = protectPublic(g.s.ctx.CipherSuite, ac, &g.s.ctx, nil)
		msg = &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}
	} else {
		msg, err = g.protect(ac)
	}
	if err != nil {
		return nil, err
	}
	res := &CommitResult{Commit: msg}
	if res.GroupInfo, err = w.next.groupInfo(g.cfg.Rand, treeInWelcome); err != nil {
		return nil, err
	}
	if len(w.sc.AddedLeaves) > 0 && !w.sc.External {
		if res.Welcome, err = g.welcome(w, res.GroupInfo); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// welcome builds the Welcome for the members our commit adds (RFC 9420
// §12.4.3.1).
func (g *Group) welcome(w *commitWork, gi *GroupInfo) (*Welcome, error) {
	cs := g.s.ctx.CipherSuite
	j := w.joiner
	welcomeSecret := deriveWelcomeSecret(cs, j.joiner, j.pskSecret)
	egi, err := encryptGroupInfo(cs, welcomeSecret, gi)
	if err != nil {
		return nil, err
	}
	wel := &Welcome{CipherSuite: cs, EncryptedGroupInfo: egi}
	psks := make([]PreSharedKeyID, len(w.psks))
	for i := range w.psks {
		psks[i] = w.psks[i].ID
	}
	added := 0
	for i := range w.in.proposals {
		p := &w.in.proposals[i].Proposal
		if p.Type != ProposalTypeAdd {
			continue
		}
		kp := &p.Add.KeyPackage
		gs := &GroupSecrets{JoinerSecret: j.joiner, PSKs: psks}
		if w.ps != nil {
			if sec := w.ps.forJoiner(w.from, w.sc.AddedLeaves[added].Index); sec != nil {
				gs.PathSecret = &PathSecret{PathSecret: sec}
			}
		}
		added++
		ref, err := kp.Ref()
		if err != nil {
			return nil, err
		}
		egs, err := sealGroupSecrets(g.cfg.Rand, cs, ref, kp.InitKey, egi, gs)
		if err != nil {
			return nil, err
		}
		wel.Secrets = append(wel.Secrets, egs)
	}
	return wel, nil
}

// joinerInfo keeps what building the Welcome needs from the key schedule.
type joinerInfo struct {
	joiner, pskSecret []byte
}

// MergeStagedCommit applies a commit staged by Process (RFC 9420 §12.4.2):
// the group moves to the new epoch, the epoch's queued proposals and our
// pending commit (if any) are dropped. A staged commit for another epoch
// gives ErrStaleCommit. Merging a commit that removes us makes the group
// inactive (Active reports false).
func (g *Group) MergeStagedCommit(sc *StagedCommit) error {
	if sc == nil || sc.base != g.s {
		return ErrStaleCommit
	}
	if sc.SelfRemoved {
		g.removed = true
		g.proposals, g.pending = nil, nil
		return nil
	}
	g.advance(sc.next)
	g.reinit = sc.ReInit
	return nil
}

// MergePendingCommit applies our pending commit, once the delivery service
// has accepted it.
func (g *Group) MergePendingCommit() error {
	if g.pending == nil {
		return ErrNoPendingCommit
	}
	return g.MergeStagedCommit(g.pending.staged)
}

// ClearPendingCommit discards our pending commit (e.g. when the delivery
// service rejected it). It is a no-op without one.
func (g *Group) ClearPendingCommit() { g.pending = nil }

// HasPendingCommit reports whether a commit of ours awaits merging.
func (g *Group) HasPendingCommit() bool { return g.pending != nil }

// advance moves the group to the epoch state next.
func (g *Group) advance(next *epochState) {
	g.archiveEpoch()
	g.s = next
	g.proposals, g.pending = nil, nil
	g.rememberResumption()
}
