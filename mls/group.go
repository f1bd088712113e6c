package mls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Errors of API misuse by the caller of the group API. Remote input that
// breaks a rule gets a *ValidationError instead.
var (
	// ErrNotMember is returned by operations on a group we were removed
	// from (after merging the commit that removed us).
	ErrNotMember = errors.New("mls: no longer a member of the group")
	// ErrPendingCommit is returned when a commit is created while another
	// of ours is pending: merge or clear it first.
	ErrPendingCommit = errors.New("mls: a commit of ours is pending")
	// ErrNoPendingCommit is returned by MergePendingCommit without one.
	ErrNoPendingCommit = errors.New("mls: no pending commit")
	// ErrStaleCommit is returned when a staged commit no longer applies to
	// the group's current epoch (another commit was merged since).
	ErrStaleCommit = errors.New("mls: staged commit is for another epoch")
	// ErrInvalidOptions is returned (wrapped) for contradictory or malformed
	// arguments of the group API.
	ErrInvalidOptions = errors.New("mls: invalid options")
	// ErrReInit is returned by operations that send in a group whose last
	// commit covered a ReInit proposal (RFC 9420 §11.2): the group must be
	// replaced by the reinitialized one.
	ErrReInit = errors.New("mls: group is being reinitialized")
	// ErrUnknownPSK is returned (wrapped) when a PSK named by the caller is
	// not available; a remote message naming one gets a *ValidationError.
	ErrUnknownPSK = errors.New("mls: pre-shared key not available")
)

// Config holds the local policies of a group. The zero value is usable: each
// field documents what its zero value means. A Config is passed to every
// constructor (NewGroup, JoinFromWelcome, JoinExternal, UnmarshalGroup) and is
// not part of the serialized state.
type Config struct {
	// Rand is the source of all randomness; nil means crypto/rand.
	Rand io.Reader
	// Now returns the current time, used to check the lifetime of leaf nodes
	// of key packages (RFC 9420 §7.3). nil means lifetimes are not checked
	// against the clock (this package never reads the clock itself).
	Now func() time.Time
	// MaxLeafLifetime is the longest lifetime accepted for a key package
	// leaf (RFC 9420 §7.2); 0 means no limit.
	MaxLeafLifetime time.Duration
	// PaddingBlock pads the content of each PrivateMessage we send with zero
	// bytes up to a multiple of this many bytes (RFC 9420 §6.3.1); 0 or 1
	// means no padding.
	PaddingBlock int
	// HandshakeWireFormat is how our proposals and commits are sent:
	// WireFormatPublicMessage or WireFormatPrivateMessage. 0 means
	// WireFormatPrivateMessage, as RFC 9420 §6 recommends. External commits
	// are always PublicMessages.
	HandshakeWireFormat WireFormat
	// MaxPastEpochs is how many past epochs keep their secret tree, so that
	// application messages sent just before a commit can still be decrypted
	// (RFC 9420 §15.3); 0 keeps none.
	MaxPastEpochs int
	// MaxForwardDistance is how many generations a receiving ratchet may
	// skip to reach a message's generation (RFC 9420 §9.2); 0 means 1000.
	MaxForwardDistance uint32
	// OutOfOrderTolerance is how many skipped generations below the newest
	// received keep their keys for late messages; 0 means 5.
	OutOfOrderTolerance uint32
	// ResumptionPSKEpochs is how many recent epochs (the current one
	// included) keep their resumption_psk for PSK proposals of type
	// resumption (RFC 9420 §8.6); 0 means 8.
	ResumptionPSKEpochs int
	// ExternalPSK returns the value of the external pre-shared key with the
	// given psk_id (RFC 9420 §8.4); nil means no external PSK is known.
	ExternalPSK func(id []byte) ([]byte, bool)
	// ResumptionPSK returns the resumption_psk of another group (or of an
	// epoch of this one no longer kept) for PSKs of type resumption (RFC
	// 9420 §8.6), e.g. when joining a branched or reinitialized group; nil
	// means only this group's recent epochs are known.
	ResumptionPSK func(groupID []byte, epoch uint64) ([]byte, bool)
	// UseRatchetTreeExtension puts the ratchet tree in the GroupInfo of the
	// Welcome messages we create (RFC 9420 §12.4.3.3), so joiners need not
	// fetch it. false: joiners get the tree out of band.
	UseRatchetTreeExtension bool
	// ValidateCredential checks a member's credential against its signature
	// key (RFC 9420 §5.3.1); nil accepts every basic and X.509 credential.
	ValidateCredential func(c Credential, signatureKey []byte) error
}

func (c *Config) handshakeWireFormat() WireFormat {
	if c.HandshakeWireFormat == WireFormatPublicMessage {
		return WireFormatPublicMessage
	}
	return WireFormatPrivateMessage
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Time{}
	}
	return c.Now()
}

func (c *Config) resumptionEpochs() int {
	if c.ResumptionPSKEpochs <= 0 {
		return 8
	}
	return c.ResumptionPSKEpochs
}

func (c *Config) secretTreeConfig() secretTreeConfig {
	st := defaultSecretTreeConfig
	if c.MaxForwardDistance > 0 {
		st.MaxForwardDistance = c.MaxForwardDistance
	}
	if c.OutOfOrderTolerance > 0 {
		st.OutOfOrderTolerance = c.OutOfOrderTolerance
	}
	return st
}

// KeyPackageBundle is a KeyPackage with the private keys its owner needs to
// join a group with it. The private keys are in the formats of the key
// package's suite (HPKE: RFC 9180 SerializePrivateKey; signatures: the
// seed or scalar, see CipherSuite.GenerateSignatureKeyPair).
type KeyPackageBundle struct {
	KeyPackage           KeyPackage
	InitPrivateKey       []byte
	EncryptionPrivateKey []byte
	SignaturePrivateKey  []byte
}

// NewKeyPackageBundle creates a KeyPackage (see NewKeyPackage) and returns it
// with its private keys. rand nil means crypto/rand; opts may be nil.
func NewKeyPackageBundle(rand io.Reader, suite CipherSuite, signaturePriv []byte, credential Credential, opts *KeyPackageOptions) (*KeyPackageBundle, error) {
	kp, keys, err := NewKeyPackage(rand, suite, signaturePriv, credential, opts)
	if err != nil {
		return nil, err
	}
	return &KeyPackageBundle{
		KeyPackage:           *kp,
		InitPrivateKey:       keys.InitKey,
		EncryptionPrivateKey: keys.EncryptionKey,
		SignaturePrivateKey:  signaturePriv,
	}, nil
}

// Member is one member of a group: its leaf index and leaf node.
type Member struct {
	Index    LeafIndex
	LeafNode LeafNode
}

// Group is one client's state of an MLS group (RFC 9420): the current
// epoch's group context, ratchet tree, private keys and secrets, the
// proposals received in the epoch, our pending commit if any, and a few
// past epochs' secrets. It is not safe for concurrent use: one goroutine
// owns a group.
type Group struct {
	cfg       Config
	s         *epochState
	proposals []*queuedProposal
	pending   *pendingCommit
	// resumption holds the resumption_psk of recent epochs, oldest first.
	resumption []resumptionPSK
	// past holds the decryption state of recent past epochs, oldest first.
	past []*pastEpoch
	// removed is set once a commit removing us was merged.
	removed bool
	// reinit is the ReInit proposal of the last merged commit, if any: the
	// group then no longer sends (RFC 9420 §11.2).
	reinit *ReInitProposal
	// welcomeSender is the signer of the GroupInfo we joined with, as of
	// the epoch we joined; nil if we did not join from a Welcome.
	welcomeSender *Member
}

// epochState is everything that changes with each epoch. A commit builds a
// new epochState from the current one without modifying it, so staging is
// cheap and discarding a staged commit costs nothing.
type epochState struct {
	ctx  GroupContext
	tree *ratchetTree
	keys *treePrivate
	// sigPriv is our signature private key, as serialized; signer is its
	// parsed form (nil until first needed, see signingKey). Both are the
	// same in every epoch of a group and shared between them.
	sigPriv []byte
	signer  *signingKey
	secrets *epochSecrets
	st      *secretTree
	interim []byte
	// confTag is the confirmation tag of the commit that created the epoch
	// (or of group creation / the GroupInfo we joined with).
	confTag []byte
}

// signingKey returns our parsed signature key, parsing sigPriv on first
// use only: parsing costs as much as a signature.
func (s *epochState) signingKey() (*signingKey, error) {
	if s.signer == nil {
		k, err := s.ctx.CipherSuite.parseSigningKey(s.sigPriv)
		if err != nil {
			return nil, fmt.Errorf("mls: our signature key: %w", err)
		}
		s.signer = k
	}
	return s.signer, nil
}

// resumptionPSK is the resumption_psk of one epoch (RFC 9420 §8.6).
type resumptionPSK struct {
	epoch uint64
	psk   []byte
}

// pastEpoch is what decrypting late application messages of a past epoch
// needs (RFC 9420 §15.3).
type pastEpoch struct {
	ctx              GroupContext
	senderDataSecret []byte
	st               *secretTree
	// leaves are the members' leaf nodes of that epoch, by leaf index (nil
	// for a blank leaf), shared with that epoch's tree: nodes are
	// immutable.
	leaves []*LeafNode
	// sigKeys replaces leaves in an epoch restored from a version 1 state,
	// which kept only the members' signature keys, by leaf index.
	sigKeys [][]byte
}

// NewGroup creates a group of which we are the sole member, at epoch 0
// (RFC 9420 §11). signaturePriv is our signature private key in suite's
// format; credential binds it to our identity. opts (nil for defaults)
// sets our leaf's capabilities and extensions; extensions become the group
// context extensions (each must be supported by our capabilities).
func NewGroup(cfg Config, suite CipherSuite, groupID []byte, signaturePriv []byte, credential Credential, opts *LeafOptions, extensions []Extension) (*Group, error) {
	if !suite.Supported() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, suite)
	}
	signer, err := suite.parseSigningKey(signaturePriv)
	if err != nil {
		return nil, fmt.Errorf("mls: new group: %w", err)
	}
	sigPub, err := signer.public()
	if err != nil {
		return nil, fmt.Errorf("mls: new group: %w", err)
	}
	encPriv, encPub, err := suite.GenerateHPKEKeyPair(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("mls: new group: %w", err)
	}
	leaf := LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  sigPub,
		Credential:    credential,
		Capabilities:  opts.capabilities(suite, credential.Type),
		Source:        LeafNodeSourceKeyPackage,
		Lifetime:      opts.lifetime(),
		Extensions:    nonNilExtensions(opts.extensions()),
	}
	if err := leaf.signWith(cfg.Rand, signer, nil, 0); err != nil {
		return nil, err
	}
	exts := nonNilExtensions(slices.Clone(extensions))
	s := &epochState{
		tree:    newRatchetTree(suite, &leaf),
		keys:    newTreePrivate(0, encPriv, encPub),
		sigPriv: signaturePriv,
		signer:  signer,
	}
	if err := checkGroupExtensionsSupported(s.tree, exts, -1); err != nil {
		return nil, fmt.Errorf("mls: new group: %w", err)
	}
	th, err := s.tree.treeHash()
	if err != nil {
		return nil, err
	}
	s.ctx = GroupContext{Version: ProtocolVersionMLS10, CipherSuite: suite, GroupID: slices.Clone(groupID),
		Epoch: 0, TreeHash: th, ConfirmedTranscriptHash: []byte{}, Extensions: exts}
	gc, err := encode(&s.ctx)
	if err != nil {
		return nil, err
	}
	if s.secrets, err = initialEpochSecrets(suite, cfg.Rand, gc); err != nil {
		return nil, err
	}
	s.confTag = s.secrets.confirmationTag(s.ctx.ConfirmedTranscriptHash)
	s.interim = interimTranscriptHash(suite, s.ctx.ConfirmedTranscriptHash, s.confTag)
	s.st = newSecretTreeConfig(suite, s.secrets.encryptionSecret, s.tree.leafCount(), cfg.secretTreeConfig())
	g := &Group{cfg: cfg, s: s}
	g.rememberResumption()
	return g, nil
}

// LeafOptions sets the contents of our own leaf node beyond its keys. The
// zero value (or nil) gives DefaultCapabilities and no extensions.
type LeafOptions struct {
	// Capabilities of the leaf; nil means DefaultCapabilities(suite,
	// credential type) plus the non-default types of Extensions.
	Capabilities *Capabilities
	// Extensions of the leaf node; each non-default type must be listed in
	// Capabilities.Extensions.
	Extensions []Extension
	// Lifetime bounds the creator's leaf made by NewGroup (it is a
	// key_package-source leaf until our first commit with a path); nil
	// means {0, 2^64-1}, which peers capping lifetimes (Config.
	// MaxLeafLifetime) refuse. Leaves from commits and updates have none.
	Lifetime *Lifetime
}

func (o *LeafOptions) lifetime() *Lifetime {
	if o == nil || o.Lifetime == nil {
		return &Lifetime{NotBefore: 0, NotAfter: ^uint64(0)}
	}
	lt := *o.Lifetime
	return &lt
}

func (o *LeafOptions) extensions() []Extension {
	if o == nil {
		return nil
	}
	return slices.Clone(o.Extensions)
}

func (o *LeafOptions) capabilities(suite CipherSuite, cred CredentialType) Capabilities {
	if o == nil {
		return DefaultCapabilities(suite, cred)
	}
	return keyPackageCapabilities(suite, cred, &KeyPackageOptions{Capabilities: o.Capabilities, LeafExtensions: o.Extensions})
}

// checkGroupExtensionsSupported checks that every member of tree (but the
// one at leaf skip, whose new leaf is checked on its own; -1 for none)
// supports each non-default extension of exts and the required
// capabilities it may carry (RFC 9420 §11.1, §12.1.7, §13.4).
func checkGroupExtensionsSupported(tree *ratchetTree, exts []Extension, skip int) error {
	rc, err := requiredCapabilities(exts)
	if err != nil {
		return err
	}
	for i, ln := range tree.leaves {
		if ln == nil || i == skip {
			continue
		}
		c := &ln.Capabilities
		for _, e := range exts {
			if !c.supportsExtension(e.Type) {
				return invalid("§13.4", "member %d does not support group context extension 0x%04x", i, uint16(e.Type))
			}
		}
		if rc == nil {
			continue
		}
		if err := checkRequiredCapabilities(c, rc); err != nil {
			return invalid("§11.1", "member %d: %s", i, err.(*ValidationError).Reason)
		}
	}
	return nil
}

// requiredCapabilities returns the required_capabilities extension of exts,
// or nil.
func requiredCapabilities(exts []Extension) (*RequiredCapabilities, error) {
	data, ok := findExtension(exts, ExtensionTypeRequiredCapabilities)
	if !ok {
		return nil, nil
	}
	rc, err := ParseRequiredCapabilities(data)
	if err != nil {
		return nil, invalid("§11.1", "malformed required_capabilities extension")
	}
	return &rc, nil
}

// checkRequiredCapabilities checks c against rc (RFC 9420 §11.1).
func checkRequiredCapabilities(c *Capabilities, rc *RequiredCapabilities) error {
	for _, t := range rc.ExtensionTypes {
		if !c.supportsExtension(t) {
			return invalid("§11.1", "required extension type 0x%04x not supported", uint16(t))
		}
	}
	for _, t := range rc.ProposalTypes {
		if !c.supportsProposal(t) {
			return invalid("§11.1", "required proposal type 0x%04x not supported", uint16(t))
		}
	}
	for _, t := range rc.CredentialTypes {
		if !c.supportsCredential(t) {
			return invalid("§11.1", "required credential type 0x%04x not supported", uint16(t))
		}
	}
	return nil
}

// GroupID returns the group's identifier.
func (g *Group) GroupID() []byte { return slices.Clone(g.s.ctx.GroupID) }

// Epoch returns the current epoch number.
func (g *Group) Epoch() uint64 { return g.s.ctx.Epoch }

// CipherSuite returns the group's cipher suite.
func (g *Group) CipherSuite() CipherSuite { return g.s.ctx.CipherSuite }

// OwnLeafIndex returns our leaf index in the current epoch.
func (g *Group) OwnLeafIndex() LeafIndex { return g.s.keys.leaf }

// ReInit returns the ReInit proposal committed in the current epoch, or
// nil. While it is set the group no longer sends (RFC 9420 §11.2).
func (g *Group) ReInit() *ReInitProposal { return g.reinit }

// Active reports whether we are still a member (no commit removing us has
// been merged).
func (g *Group) Active() bool { return !g.removed }

// Members returns the current members in leaf order. Each LeafNode is a
// shallow copy sharing byte slices with the group state: read them, never
// modify them.
func (g *Group) Members() []Member {
	t := g.s.tree
	out := make([]Member, 0, len(t.leaves))
	for i, ln := range t.leaves {
		if ln != nil {
			out = append(out, Member{Index: LeafIndex(i), LeafNode: *ln})
		}
	}
	return out
}

// WelcomeSender returns the member who signed the GroupInfo of the Welcome
// we joined with (RFC 9420 §12.4.3.1): the committer whose commit added
// us. Its LeafNode (and credential) is the one it had in the epoch we
// joined; the member may since have updated its leaf or left, and its
// index may then hold someone else, so use the returned LeafNode rather
// than looking the index up in the current tree. ok is false for a group
// we did not join from a Welcome (NewGroup, JoinExternal) and for one
// restored from a state serialized before this was recorded. The LeafNode
// is a shallow copy, as in Members.
func (g *Group) WelcomeSender() (m Member, ok bool) {
	if g.welcomeSender == nil {
		return Member{}, false
	}
	return *g.welcomeSender, true
}

// Member returns the member at leaf i, or false if that leaf is blank (the
// LeafNode is a shallow copy, as in Members).
func (g *Group) Member(i LeafIndex) (Member, bool) {
	ln := g.s.tree.leaf(i)
	if ln == nil {
		return Member{}, false
	}
	return Member{Index: i, LeafNode: *ln}, true
}

// Extensions returns the group context extensions of the current epoch.
func (g *Group) Extensions() []Extension { return slices.Clone(g.s.ctx.Extensions) }

// GroupContext returns a copy of the current epoch's group context.
func (g *Group) GroupContext() GroupContext { return cloneGroupContext(&g.s.ctx) }

// TreeHash returns the current tree hash (RFC 9420 §7.8).
func (g *Group) TreeHash() []byte { return slices.Clone(g.s.ctx.TreeHash) }

// EpochAuthenticator returns the current epoch_authenticator (RFC 9420
// §8.7); members of the same epoch who agree on it share the epoch.
func (g *Group) EpochAuthenticator() []byte { return slices.Clone(g.s.secrets.epochAuthenticator) }

// ExportSecret is MLS-Exporter(label, context, n) of the current epoch (RFC
// 9420 §8.5). label is used as given (without "MLS 1.0 ").
func (g *Group) ExportSecret(label string, context []byte, n int) ([]byte, error) {
	return g.s.secrets.exporter(label, context, n)
}

// RatchetTree returns the ratchet_tree extension body of the current tree
// (RFC 9420 §12.4.3.3), for joiners who get the tree out of band.
func (g *Group) RatchetTree() ([]byte, error) { return g.s.tree.encode() }

// RatchetTreeExtension returns the current tree as a ratchet_tree extension.
func (g *Group) RatchetTreeExtension() (Extension, error) {
	b, err := g.s.tree.encode()
	if err != nil {
		return Extension{}, err
	}
	return RatchetTreeExtension(b), nil
}

// GroupInfo returns a GroupInfo of the current epoch signed by us (RFC 9420
// §12.4.3), with an external_pub extension (so others can join by external
// commit) and, if includeTree, the ratchet_tree extension.
func (g *Group) GroupInfo(includeTree bool) (*GroupInfo, error) {
	if g.removed {
		return nil, ErrNotMember
	}
	return g.s.groupInfo(g.cfg.Rand, includeTree)
}

// groupInfo builds and signs the GroupInfo of epoch state s.
func (s *epochState) groupInfo(rand io.Reader, includeTree bool) (*GroupInfo, error) {
	_, pub, err := s.secrets.externalKeyPair()
	if err != nil {
		return nil, err
	}
	exts := []Extension{ExternalPub{PublicKey: pub}.Extension()}
	if includeTree {
		tree, err := s.tree.encode()
		if err != nil {
			return nil, err
		}
		exts = append(exts, RatchetTreeExtension(tree))
	}
	gi := &GroupInfo{
		GroupContext:    cloneGroupContext(&s.ctx),
		Extensions:      exts,
		ConfirmationTag: slices.Clone(s.confTag),
		Signer:          s.keys.leaf,
	}
	signer, err := s.signingKey()
	if err != nil {
		return nil, err
	}
	if err := gi.signWith(rand, signer); err != nil {
		return nil, err
	}
	return gi, nil
}

// cloneGroupContext returns a copy of gc that shares no slices with it
// (extension bodies are shared: they are never modified in place).
func cloneGroupContext(gc *GroupContext) GroupContext {
	c := *gc
	c.GroupID = slices.Clone(gc.GroupID)
	c.TreeHash = slices.Clone(gc.TreeHash)
	c.ConfirmedTranscriptHash = slices.Clone(gc.ConfirmedTranscriptHash)
	c.Extensions = nonNilExtensions(slices.Clone(gc.Extensions))
	return c
}

// rememberResumption records the current epoch's resumption_psk, dropping
// the oldest beyond the configured window.
func (g *Group) rememberResumption() {
	g.resumption = append(g.resumption, resumptionPSK{epoch: g.s.ctx.Epoch, psk: g.s.secrets.resumptionPSK})
	if n := g.cfg.resumptionEpochs(); len(g.resumption) > n {
		g.resumption = slices.Delete(g.resumption, 0, len(g.resumption)-n)
	}
}

// resumptionPSKFor returns the resumption_psk of our group at epoch.
func (g *Group) resumptionPSKFor(groupID []byte, epoch uint64) ([]byte, bool) {
	if !bytes.Equal(groupID, g.s.ctx.GroupID) {
		return nil, false
	}
	for _, r := range g.resumption {
		if r.epoch == epoch {
			return r.psk, true
		}
	}
	return nil, false
}

// signatureKeyOf returns the signature key of a member or external sender
// of the current epoch, for unprotecting messages.
func (s *epochState) signatureKeyOf(sender Sender) ([]byte, error) {
	switch sender.Type {
	case SenderTypeMember:
		ln := s.tree.leaf(sender.LeafIndex)
		if ln == nil {
			return nil, invalid("§6.1", "sender leaf %d is not a member", sender.LeafIndex)
		}
		return ln.SignatureKey, nil
	case SenderTypeExternal:
		data, ok := findExtension(s.ctx.Extensions, ExtensionTypeExternalSenders)
		if !ok {
			return nil, invalid("§12.1.8", "external sender without an external_senders extension")
		}
		senders, err := ParseExternalSenders(data)
		if err != nil {
			return nil, invalid("§12.1.8.1", "malformed external_senders extension")
		}
		if uint64(sender.SenderIndex) >= uint64(len(senders)) {
			return nil, invalid("§12.1.8.1", "external sender index %d out of range", sender.SenderIndex)
		}
		return senders[sender.SenderIndex].SignatureKey, nil
	}
	return nil, invalid("§6.1", "no signature key for a %s sender", sender.Type)
}
