package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// JoinFromWelcome joins a group through a Welcome addressed to bundle's
// KeyPackage (RFC 9420 §12.4.3.1). ratchetTree is the group's ratchet tree
// (a ratchet_tree extension body) obtained out of band; nil means it must
// be in the GroupInfo's ratchet_tree extension. External PSKs named by the
// Welcome are looked up with cfg.ExternalPSK. The tree, the GroupInfo's
// signature and confirmation tag are all verified; any failure of the
// remote input is a *ValidationError. bundle's encryption and signature
// private keys must match its KeyPackage, else the error wraps
// ErrInvalidOptions. The GroupInfo's signer is remembered (see
// Group.WelcomeSender).
func JoinFromWelcome(cfg Config, welcome *Welcome, bundle *KeyPackageBundle, ratchetTree []byte) (*Group, error) {
	kp := &bundle.KeyPackage
	cs := kp.CipherSuite
	if !cs.Supported() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, cs)
	}
	if welcome.CipherSuite != cs {
		return nil, invalid("§12.4.3.1", "welcome cipher suite %v differs from the key package's %v", welcome.CipherSuite, cs)
	}
	gs, gi, pskSecret, err := openWelcome(&cfg, welcome, kp, bundle.InitPrivateKey)
	if err != nil {
		return nil, err
	}
	tree, err := joinTree(&cfg, gi, ratchetTree)
	if err != nil {
		return nil, err
	}
	own, ok := tree.findLeaf(&kp.LeafNode)
	if !ok {
		return nil, invalid("§12.4.3.1", "our key package's leaf is not in the ratchet tree")
	}
	if pub, err := cs.HPKEPublicKey(bundle.EncryptionPrivateKey); err != nil || !bytes.Equal(pub, kp.LeafNode.EncryptionKey) {
		return nil, fmt.Errorf("%w: encryption private key does not match the key package", ErrInvalidOptions)
	}
	signer, err := bundleSigner(bundle)
	if err != nil {
		return nil, err
	}
	keys := newTreePrivate(own, bundle.EncryptionPrivateKey, kp.LeafNode.EncryptionKey)
	if gs.PathSecret != nil {
		if err := keys.setJoinPathSecret(tree, gi.Signer, gs.PathSecret.PathSecret); err != nil {
			return nil, err
		}
	}
	s, err := joinedEpoch(&cfg, gi, tree, keys, gs.JoinerSecret, pskSecret)
	if err != nil {
		return nil, err
	}
	s.sigPriv, s.signer = bundle.SignaturePrivateKey, signer
	g := &Group{cfg: cfg, s: s, welcomeSender: &Member{Index: gi.Signer, LeafNode: *tree.leaf(gi.Signer)}}
	g.rememberResumption()
	return g, nil
}

// bundleSigner parses the signature private key of bundle and checks that
// it matches its key package's leaf.
func bundleSigner(bundle *KeyPackageBundle) (*signingKey, error) {
	signer, err := bundle.KeyPackage.CipherSuite.parseSigningKey(bundle.SignaturePrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: signature private key: %w", ErrInvalidOptions, err)
	}
	pub, err := signer.public()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pub, bundle.KeyPackage.LeafNode.SignatureKey) {
		return nil, fmt.Errorf("%w: signature private key does not match the key package", ErrInvalidOptions)
	}
	return signer, nil
}

// openWelcome decrypts our GroupSecrets and the GroupInfo of w and verifies
// nothing but the decryption; it returns the psk_secret of the Welcome's
// PSKs too.
func openWelcome(cfg *Config, w *Welcome, kp *KeyPackage, initPriv []byte) (*GroupSecrets, *GroupInfo, []byte, error) {
	cs := kp.CipherSuite
	ref, err := kp.Ref()
	if err != nil {
		return nil, nil, nil, err
	}
	gs, err := openGroupSecrets(w, ref, initPriv)
	if err != nil {
		return nil, nil, nil, err
	}
	psks, err := joinPSKs(cfg, cs, gs.PSKs)
	if err != nil {
		return nil, nil, nil, err
	}
	pskSecret, err := computePSKSecret(cs, psks)
	if err != nil {
		return nil, nil, nil, err
	}
	gi, err := decryptGroupInfo(cs, deriveWelcomeSecret(cs, gs.JoinerSecret, pskSecret), w.EncryptedGroupInfo)
	if err != nil {
		return nil, nil, nil, err
	}
	if gi.GroupContext.CipherSuite != cs || gi.GroupContext.Version != ProtocolVersionMLS10 {
		return nil, nil, nil, invalid("§12.4.3.1", "group info suite %v or version %d does not match the key package",
			gi.GroupContext.CipherSuite, gi.GroupContext.Version)
	}
	if err := checkJoinEpoch(gs, gi); err != nil {
		return nil, nil, nil, err
	}
	return gs, gi, pskSecret, nil
}

// joinPSKs looks up the PSKs a Welcome names (RFC 9420 §12.4.3.1):
// external ones with cfg.ExternalPSK, resumption ones with
// cfg.ResumptionPSK. At most one may be a resumption PSK of usage reinit or
// branch.
func joinPSKs(cfg *Config, cs CipherSuite, ids []PreSharedKeyID) ([]pskInput, error) {
	out := make([]pskInput, 0, len(ids))
	special := 0
	for i := range ids {
		id := ids[i]
		if len(id.Nonce) != cs.Nh() {
			return nil, invalid("§12.1.4", "psk_nonce of %d bytes, want %d", len(id.Nonce), cs.Nh())
		}
		if id.Type == PSKTypeResumption && id.Usage != ResumptionPSKUsageApplication {
			if special++; special > 1 {
				return nil, invalid("§12.4.3.1", "welcome names more than one reinit or branch psk")
			}
		}
		psk, ok := joinPSK(cfg, &id)
		if !ok {
			return nil, invalid("§12.4.3.1", "welcome names a pre-shared key we do not have")
		}
		out = append(out, pskInput{ID: id, PSK: psk})
	}
	return out, nil
}

// joinPSK returns the value of one PSK named by a Welcome.
func joinPSK(cfg *Config, id *PreSharedKeyID) ([]byte, bool) {
	switch {
	case id.Type == PSKTypeExternal && cfg.ExternalPSK != nil:
		return cfg.ExternalPSK(id.PSKID)
	case id.Type == PSKTypeResumption && cfg.ResumptionPSK != nil:
		return cfg.ResumptionPSK(id.PSKGroupID, id.PSKEpoch)
	}
	return nil, false
}

// checkJoinEpoch applies the rule of RFC 9420 §12.4.3.1 that a Welcome
// using a reinit or branch resumption PSK creates epoch 1.
func checkJoinEpoch(gs *GroupSecrets, gi *GroupInfo) error {
	for _, id := range gs.PSKs {
		if id.Type == PSKTypeResumption && id.Usage != ResumptionPSKUsageApplication && gi.GroupContext.Epoch != 1 {
			return invalid("§12.4.3.1", "welcome with a reinit or branch psk for epoch %d, want 1", gi.GroupContext.Epoch)
		}
	}
	return nil
}

// joinTree decodes the ratchet tree of a group being joined (given, or from
// the GroupInfo's extension), verifies the GroupInfo's signature with its
// signer's leaf and validates the tree (RFC 9420 §12.4.3.1).
func joinTree(cfg *Config, gi *GroupInfo, ratchetTree []byte) (*ratchetTree, error) {
	cs := gi.GroupContext.CipherSuite
	if ratchetTree == nil {
		data, ok := findExtension(gi.Extensions, ExtensionTypeRatchetTree)
		if !ok {
			return nil, invalid("§12.4.3.3", "no ratchet tree: none given and no ratchet_tree extension")
		}
		ratchetTree = data
	}
	tree, err := decodeRatchetTree(cs, ratchetTree)
	if err != nil {
		return nil, err
	}
	signer := tree.leaf(gi.Signer)
	if signer == nil {
		return nil, invalid("§12.4.3.1", "group info signer %d is not a member", gi.Signer)
	}
	if err := gi.verify(signer.SignatureKey); err != nil {
		return nil, err
	}
	ctx := &gi.GroupContext
	sum := summarizeMembers(tree)
	check := func(l LeafIndex, ln *LeafNode) error {
		v, err := newLeafValidation(cfg, ctx, tree, leafInTree, l, ctx.Extensions, sum)
		if err != nil {
			return err
		}
		v.FindEncryptionKey, v.FindSignatureKey = nil, nil
		if err := validateLeafNode(ln, v); err != nil {
			return fmt.Errorf("leaf %d: %w", l, err)
		}
		return nil
	}
	if err := tree.validate(ctx.GroupID, ctx.TreeHash, check); err != nil {
		return nil, err
	}
	return tree, nil
}

// joinedEpoch builds the epoch state of a joiner from the GroupInfo and the
// joiner_secret, verifying the confirmation tag (RFC 9420 §12.4.3.1).
func joinedEpoch(cfg *Config, gi *GroupInfo, tree *ratchetTree, keys *treePrivate, joiner, pskSecret []byte) (*epochState, error) {
	cs := gi.GroupContext.CipherSuite
	gc, err := encode(&gi.GroupContext)
	if err != nil {
		return nil, err
	}
	s := &epochState{ctx: cloneGroupContext(&gi.GroupContext), tree: tree, keys: keys,
		secrets: deriveEpochSecrets(cs, joiner, pskSecret, gc), confTag: slices.Clone(gi.ConfirmationTag)}
	if !s.secrets.verifyConfirmationTag(s.ctx.ConfirmedTranscriptHash, gi.ConfirmationTag) {
		return nil, invalid("§12.4.3.1", "group info confirmation tag does not verify")
	}
	s.interim = interimTranscriptHash(cs, s.ctx.ConfirmedTranscriptHash, s.confTag)
	s.st = newSecretTreeConfig(cs, s.secrets.encryptionSecret, tree.leafCount(), cfg.secretTreeConfig())
	return s, nil
}

// ExternalJoinOptions are the optional parts of an external commit.
type ExternalJoinOptions struct {
	// Leaf sets our leaf's capabilities and extensions.
	Leaf *LeafOptions
	// Resync, when set, removes our old leaf at that index in the same
	// commit (RFC 9420 §12.4.3.2 "resync").
	Resync *LeafIndex
	// PSKs are external pre-shared keys to inject (nonces are filled).
	PSKs []PreSharedKeyID
	// AuthenticatedData is the commit's authenticated_data.
	AuthenticatedData []byte
	// RatchetTreeInGroupInfo puts the ratchet tree in the returned
	// GroupInfo.
	RatchetTreeInGroupInfo bool
}

// JoinExternal joins a group by external commit (RFC 9420 §12.4.3.2), from
// a GroupInfo carrying an external_pub extension. ratchetTree is the tree
// (nil: from the GroupInfo's ratchet_tree extension). signaturePriv and
// credential are ours; opts may be nil. It returns the group, already in the
// epoch the commit creates, and the commit to send (a PublicMessage). If
// the delivery service rejects the commit, discard the group.
func JoinExternal(cfg Config, gi *GroupInfo, ratchetTree []byte, signaturePriv []byte, credential Credential, opts *ExternalJoinOptions) (*Group, *CommitResult, error) {
	if opts == nil {
		opts = &ExternalJoinOptions{}
	}
	cs := gi.GroupContext.CipherSuite
	if !cs.Supported() {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, cs)
	}
	signer, err := cs.parseSigningKey(signaturePriv)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: external commit: %w", err)
	}
	sigPub, err := signer.public()
	if err != nil {
		return nil, nil, err
	}
	g, kemOutput, initSecret, err := externalBase(cfg, gi, ratchetTree, signaturePriv)
	if err != nil {
		return nil, nil, err
	}
	g.s.signer = signer
	list := []CommittedProposal{{Proposal: Proposal{Type: ProposalTypeExternalInit,
		ExternalInit: &ExternalInitProposal{KEMOutput: kemOutput}}}}
	if opts.Resync != nil {
		list = append(list, CommittedProposal{Proposal: Proposal{Type: ProposalTypeRemove,
			Remove: &RemoveProposal{Removed: uint32(*opts.Resync)}}})
	}
	for _, id := range opts.PSKs {
		id, err := g.completePSKID(id)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, CommittedProposal{Proposal: Proposal{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: id}}})
	}
	me := Sender{Type: SenderTypeNewMemberCommit}
	for i := range list {
		list[i].Sender = me
	}
	leaf := &LeafNode{SignatureKey: sigPub, Credential: credential, Source: LeafNodeSourceCommit,
		Capabilities: opts.Leaf.capabilities(cs, credential.Type), Extensions: nonNilExtensions(opts.Leaf.extensions())}
	in := &commitInput{committer: me, proposals: list, creating: true, forcePath: true,
		aad: nonNilBytes(opts.AuthenticatedData), externalInit: initSecret, leafNode: leaf}
	res, err := g.buildCommit(in, opts.RatchetTreeInGroupInfo)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: external commit: %w", err)
	}
	if err := g.MergePendingCommit(); err != nil {
		return nil, nil, err
	}
	return g, res, nil
}

// externalBase builds the pre-join state of an external joiner from the
// GroupInfo and performs the external init (RFC 9420 §8.3).
func externalBase(cfg Config, gi *GroupInfo, ratchetTree []byte, signaturePriv []byte) (*Group, []byte, []byte, error) {
	cs := gi.GroupContext.CipherSuite
	data, ok := findExtension(gi.Extensions, ExtensionTypeExternalPub)
	if !ok {
		return nil, nil, nil, invalid("§12.4.3.2", "group info has no external_pub extension")
	}
	pub, err := ParseExternalPub(data)
	if err != nil {
		return nil, nil, nil, invalid("§12.4.3.2", "malformed external_pub extension")
	}
	tree, err := joinTree(&cfg, gi, ratchetTree)
	if err != nil {
		return nil, nil, nil, err
	}
	kemOutput, initSecret, err := externalInitSend(cs, cfg.Rand, pub.PublicKey)
	if err != nil {
		return nil, nil, nil, err
	}
	s := &epochState{ctx: cloneGroupContext(&gi.GroupContext), tree: tree,
		keys: &treePrivate{keys: map[nodeIndex]nodeKey{}}, sigPriv: signaturePriv, confTag: slices.Clone(gi.ConfirmationTag)}
	s.interim = interimTranscriptHash(cs, s.ctx.ConfirmedTranscriptHash, s.confTag)
	return &Group{cfg: cfg, s: s}, kemOutput, initSecret, nil
}
