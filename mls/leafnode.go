package mls

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Capabilities lists the protocol features a client supports (RFC 9420
// §7.2). Unknown values, such as GREASE code points, are carried and
// ignored. Default proposal types (0x0001–0x0007) and extension types
// (0x0001–0x0005) need not be listed; versions, cipher suites and
// credential types have no defaults.
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

func (c *Capabilities) marshal(w *Writer) {
	writeUint16s(w, c.Versions)
	writeUint16s(w, c.CipherSuites)
	writeUint16s(w, c.Extensions)
	writeUint16s(w, c.Proposals)
	writeUint16s(w, c.Credentials)
}

func (c *Capabilities) unmarshal(r *Reader) {
	c.Versions = readUint16s[ProtocolVersion](r)
	c.CipherSuites = readUint16s[CipherSuite](r)
	c.Extensions = readUint16s[ExtensionType](r)
	c.Proposals = readUint16s[ProposalType](r)
	c.Credentials = readUint16s[CredentialType](r)
}

// readUint16s reads a vector of 16-bit code points.
func readUint16s[T ~uint16](r *Reader) []T {
	out := []T{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			out = append(out, T(r.Uint16()))
		}
	})
	return out
}

// writeUint16s writes a vector of 16-bit code points.
func writeUint16s[T ~uint16](w *Writer, vs []T) {
	w.Vector(func(w *Writer) {
		for _, v := range vs {
			w.Uint16(uint16(v))
		}
	})
}

// Lifetime bounds the validity of a LeafNode from a KeyPackage, in seconds
// since the Unix epoch, both ends inclusive (RFC 9420 §7.2).
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

func (l *Lifetime) marshal(w *Writer) {
	w.Uint64(l.NotBefore)
	w.Uint64(l.NotAfter)
}

func (l *Lifetime) unmarshal(r *Reader) {
	l.NotBefore = r.Uint64()
	l.NotAfter = r.Uint64()
}

// LeafNodeSource says how a LeafNode came into the tree (RFC 9420 §7.2).
type LeafNodeSource uint8

// Leaf node sources of RFC 9420 §7.2.
const (
	LeafNodeSourceKeyPackage LeafNodeSource = 1
	LeafNodeSourceUpdate     LeafNodeSource = 2
	LeafNodeSourceCommit     LeafNodeSource = 3
)

// String names the source as the RFC does.
func (s LeafNodeSource) String() string {
	switch s {
	case LeafNodeSourceKeyPackage:
		return "key_package"
	case LeafNodeSourceUpdate:
		return "update"
	case LeafNodeSourceCommit:
		return "commit"
	}
	return fmt.Sprintf("LeafNodeSource(%d)", uint8(s))
}

// LeafNode is a member's leaf in the ratchet tree (RFC 9420 §7.2). Lifetime
// is set exactly when Source is LeafNodeSourceKeyPackage, and ParentHash is
// meaningful only when Source is LeafNodeSourceCommit. Signature covers the
// LeafNodeTBS; a decoded LeafNode is unverified until its signature and the
// rules of §7.3 have been checked.
type LeafNode struct {
	EncryptionKey []byte
	SignatureKey  []byte
	Credential    Credential
	Capabilities  Capabilities
	Source        LeafNodeSource
	Lifetime      *Lifetime
	ParentHash    []byte
	Extensions    []Extension
	Signature     []byte
}

// marshalContent writes the fields shared by LeafNode and LeafNodeTBS,
// from encryption_key through extensions.
func (ln *LeafNode) marshalContent(w *Writer) {
	w.Opaque(ln.EncryptionKey)
	w.Opaque(ln.SignatureKey)
	ln.Credential.marshal(w)
	ln.Capabilities.marshal(w)
	w.Uint8(uint8(ln.Source))
	switch ln.Source {
	case LeafNodeSourceKeyPackage:
		if ln.Lifetime == nil {
			failEncode(w, "key_package leaf node without lifetime")
			return
		}
		ln.Lifetime.marshal(w)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		w.Opaque(ln.ParentHash)
	default:
		failEncode(w, "leaf node source %d", uint8(ln.Source))
	}
	marshalExtensions(w, ln.Extensions)
}

func (ln *LeafNode) marshal(w *Writer) {
	ln.marshalContent(w)
	w.Opaque(ln.Signature)
}

func (ln *LeafNode) unmarshal(r *Reader) {
	ln.EncryptionKey = r.Opaque()
	ln.SignatureKey = r.Opaque()
	ln.Credential.unmarshal(r)
	ln.Capabilities.unmarshal(r)
	ln.Source = LeafNodeSource(r.Uint8())
	ln.Lifetime, ln.ParentHash = nil, nil
	switch ln.Source {
	case LeafNodeSourceKeyPackage:
		ln.Lifetime = new(Lifetime)
		ln.Lifetime.unmarshal(r)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		ln.ParentHash = r.Opaque()
	default:
		r.Fail("leaf node source %d", uint8(ln.Source))
	}
	ln.Extensions = unmarshalExtensions(r)
	ln.Signature = r.Opaque()
}

// marshalTBS writes LeafNodeTBS (RFC 9420 §7.2): the content fields, then
// for the update and commit sources the group ID and the leaf's index.
func (ln *LeafNode) marshalTBS(w *Writer, groupID []byte, leafIndex uint32) {
	ln.marshalContent(w)
	if ln.Source == LeafNodeSourceUpdate || ln.Source == LeafNodeSourceCommit {
		w.Opaque(groupID)
		w.Uint32(leafIndex)
	}
}

// tbs returns the encoded LeafNodeTBS.
func (ln *LeafNode) tbs(groupID []byte, leafIndex uint32) ([]byte, error) {
	var w Writer
	ln.marshalTBS(&w, groupID, leafIndex)
	if w.err != nil {
		return nil, w.err
	}
	return w.buf, nil
}

// sign sets ln.Signature to SignWithLabel(signaturePriv, "LeafNodeTBS",
// LeafNodeTBS). groupID and leafIndex are ignored for the key_package
// source. ln.SignatureKey must be the public key of signaturePriv.
func (ln *LeafNode) sign(rand io.Reader, cs CipherSuite, signaturePriv, groupID []byte, leafIndex uint32) error {
	k, err := cs.parseSigningKey(signaturePriv)
	if err != nil {
		return fmt.Errorf("mls: sign leaf node: %w", err)
	}
	return ln.signWith(rand, k, groupID, leafIndex)
}

// signWith is sign with the parsed key k.
func (ln *LeafNode) signWith(rand io.Reader, k *signingKey, groupID []byte, leafIndex uint32) error {
	tbs, err := ln.tbs(groupID, leafIndex)
	if err != nil {
		return err
	}
	sig, err := k.signWithLabel(rand, "LeafNodeTBS", tbs)
	if err != nil {
		return fmt.Errorf("mls: sign leaf node: %w", err)
	}
	ln.Signature = sig
	return nil
}

// verifySignature reports whether ln.Signature is valid under
// ln.SignatureKey for the LeafNodeTBS with groupID and leafIndex (ignored
// for the key_package source). cs must be supported.
func (ln *LeafNode) verifySignature(cs CipherSuite, groupID []byte, leafIndex uint32) bool {
	tbs, err := ln.tbs(groupID, leafIndex)
	if err != nil {
		return false
	}
	return cs.VerifyWithLabel(ln.SignatureKey, "LeafNodeTBS", tbs, ln.Signature)
}

// isDefaultProposalType reports whether t is one of RFC 9420's proposal
// types, which capabilities need not list (§7.2).
func isDefaultProposalType(t ProposalType) bool {
	return t >= ProposalTypeAdd && t <= ProposalTypeGroupContextExtensions
}

// isDefaultExtensionType reports whether t is one of RFC 9420's extension
// types application_id … external_senders, which capabilities need not list
// (§7.2).
func isDefaultExtensionType(t ExtensionType) bool {
	return t >= ExtensionTypeApplicationID && t <= ExtensionTypeExternalSenders
}

// supportsExtension reports whether c lists t or t is a default type.
func (c *Capabilities) supportsExtension(t ExtensionType) bool {
	return isDefaultExtensionType(t) || slices.Contains(c.Extensions, t)
}

// supportsProposal reports whether c lists t or t is a default type.
func (c *Capabilities) supportsProposal(t ProposalType) bool {
	return isDefaultProposalType(t) || slices.Contains(c.Proposals, t)
}

// supportsCredential reports whether c lists t.
func (c *Capabilities) supportsCredential(t CredentialType) bool {
	return slices.Contains(c.Credentials, t)
}

// DefaultCapabilities returns the capabilities of a client of this package
// using suite and credentials of type cred (RFC 9420 §7.2): version mls10,
// the one suite, the credential type (credential types have no defaults),
// and the one non-default extension type it understands, last_resort.
// Default proposal and extension types are not listed. Callers may append
// GREASE values (RFC 9420 §13.5); validation ignores unknown values.
func DefaultCapabilities(suite CipherSuite, cred CredentialType) Capabilities {
	return Capabilities{
		Versions:     []ProtocolVersion{ProtocolVersionMLS10},
		CipherSuites: []CipherSuite{suite},
		Extensions:   []ExtensionType{ExtensionTypeLastResort},
		Proposals:    []ProposalType{},
		Credentials:  []CredentialType{cred},
	}
}

// leafNodeUse says where a LeafNode being validated appears (RFC 9420
// §7.3), which fixes the source it must have and the key checks that apply.
type leafNodeUse uint8

const (
	// leafInKeyPackage: in a KeyPackage, alone or in an Add proposal. The
	// leaf is new, so none of its keys may be in the group.
	leafInKeyPackage leafNodeUse = iota + 1
	// leafInUpdate: in an Update proposal replacing leaf LeafIndex. Its
	// encryption key must differ from the one it replaces.
	leafInUpdate
	// leafInCommit: in the UpdatePath of a Commit by leaf LeafIndex; the
	// same restrictions as leafInUpdate apply (§7.5).
	leafInCommit
	// leafInTree: already at LeafIndex of a ratchet tree being checked,
	// e.g. when joining. Any source is accepted.
	leafInTree
)

// leafValidation is what validating a LeafNode needs to know of the group
// (RFC 9420 §7.3). The zero value of each optional field skips its check;
// see validateLeafNode.
type leafValidation struct {
	// Use says where the leaf appears; it is required.
	Use leafNodeUse
	// CipherSuite is the group's suite; it is required.
	CipherSuite CipherSuite
	// GroupID and LeafIndex are the signature context of the update and
	// commit sources; LeafIndex is also the leaf being replaced (update,
	// commit) or occupied (tree).
	GroupID   []byte
	LeafIndex LeafIndex
	// RequiredCapabilities is the GroupContext's required_capabilities
	// extension, nil if it has none.
	RequiredCapabilities *RequiredCapabilities
	// GroupExtensions are the types of the GroupContext's extensions; the
	// leaf must support each non-default one (§13.4).
	GroupExtensions []ExtensionType
	// CredentialTypesInUse are the credential types of the other members;
	// the leaf must support each (§7.3).
	CredentialTypesInUse []CredentialType
	// MembersSupportCredential reports whether every other member lists t
	// in its capabilities; nil skips the check (a group of one).
	MembersSupportCredential func(t CredentialType) bool
	// Now is the time the lifetime of a key_package leaf must contain; the
	// zero Time skips the check (it is only RECOMMENDED for received leaves).
	Now time.Time
	// MaxLifetime is the longest not_before..not_after span accepted
	// (§7.2: applications MUST define one); 0 means no limit.
	MaxLifetime time.Duration
	// FindEncryptionKey and FindSignatureKey report the leaf holding key,
	// if any; nil skips the uniqueness check. A leaf's own keys found at
	// LeafIndex are accepted for leafInTree (and, for the signature key, for
	// updates and commits, which may keep it).
	FindEncryptionKey func(key []byte) (leaf LeafIndex, found bool)
	FindSignatureKey  func(key []byte) (leaf LeafIndex, found bool)
	// ValidateCredential checks the credential against its signature key
	// (§5.3.1); nil accepts any credential of a known type.
	ValidateCredential func(c Credential, signatureKey []byte) error
	// SignatureVerifiedElsewhere skips the signature check because the
	// caller verifies the same signature, with the same group id and leaf
	// index, in another step (the UpdatePath of a received commit is checked
	// by processUpdatePath). False verifies it here.
	SignatureVerifiedElsewhere bool
}

// validateLeafNode applies the leaf node rules of RFC 9420 §7.3 (and the
// capability rules of §7.2, §11.1 and §13.4) to ln. Each failure is a
// *ValidationError naming the rule, except a failure of the caller's
// ValidateCredential, which is wrapped as returned. v.CipherSuite must be
// supported.
func validateLeafNode(ln *LeafNode, v *leafValidation) error {
	checks := []func(*LeafNode, *leafValidation) error{
		checkLeafSource,
		checkLeafCredential,
		checkLeafCapabilities,
		checkLeafGroupCompatibility,
		checkLeafLifetime,
		checkLeafKeys,
		checkLeafSignature,
	}
	for _, check := range checks {
		if err := check(ln, v); err != nil {
			return err
		}
	}
	return nil
}

// checkLeafSource: the leaf_node_source must match where the leaf appears.
func checkLeafSource(ln *LeafNode, v *leafValidation) error {
	var want LeafNodeSource
	switch v.Use {
	case leafInKeyPackage:
		want = LeafNodeSourceKeyPackage
	case leafInUpdate:
		want = LeafNodeSourceUpdate
	case leafInCommit:
		want = LeafNodeSourceCommit
	case leafInTree:
		return nil
	default:
		return fmt.Errorf("%w: leaf node use %d", ErrInternal, v.Use)
	}
	if ln.Source != want {
		return invalid("§7.3", "leaf node source is %v, want %v", ln.Source, want)
	}
	return nil
}

// checkLeafCredential: the credential is valid (§5.3.1: a known type, an
// X.509 chain that is not empty, and whatever v.ValidateCredential asks)
// and its type is listed in the leaf's own capabilities (§7.2).
func checkLeafCredential(ln *LeafNode, v *leafValidation) error {
	if ln.Credential.Type != CredentialTypeBasic && ln.Credential.Type != CredentialTypeX509 {
		return invalid("§5.3.1", "unsupported credential type 0x%04x", uint16(ln.Credential.Type))
	}
	if ln.Credential.Type == CredentialTypeX509 && len(ln.Credential.Certificates) == 0 {
		return invalid("§5.3.1", "x509 credential without certificates")
	}
	if !ln.Capabilities.supportsCredential(ln.Credential.Type) {
		return invalid("§7.2", "credential type 0x%04x not listed in the leaf's capabilities", uint16(ln.Credential.Type))
	}
	if v.ValidateCredential != nil {
		if err := v.ValidateCredential(ln.Credential, ln.SignatureKey); err != nil {
			return fmt.Errorf("mls: validate credential: %w", err)
		}
	}
	return nil
}

// checkLeafCapabilities: the leaf supports the protocol version and lists
// every non-default extension it carries (§7.2, §7.3). The group's cipher
// suite is deliberately not required in capabilities.cipher_suites: §7.3
// does not ask for it, and OpenMLS's suite-7 key packages in welcome.json
// omit it.
func checkLeafCapabilities(ln *LeafNode, v *leafValidation) error {
	c := &ln.Capabilities
	if !slices.Contains(c.Versions, ProtocolVersionMLS10) {
		return invalid("§7.2", "capabilities do not list protocol version mls10")
	}
	listed := codePointSet(c.Extensions, len(ln.Extensions))
	for _, e := range ln.Extensions {
		if !isDefaultExtensionType(e.Type) && !listed(e.Type) {
			return invalid("§7.3", "leaf extension 0x%04x not listed in its capabilities", uint16(e.Type))
		}
	}
	return nil
}

// codePointSet returns a membership test for list that will be asked
// queries times: a linear scan for few queries, a map otherwise, so that
// hostile input with long lists on both sides stays linear.
func codePointSet[T comparable](list []T, queries int) func(T) bool {
	if queries <= 8 {
		return func(t T) bool { return slices.Contains(list, t) }
	}
	set := make(map[T]bool, len(list))
	for _, t := range list {
		set[t] = true
	}
	return func(t T) bool { return set[t] }
}

// checkLeafGroupCompatibility: the leaf supports the group's required
// capabilities (§11.1), its extensions (§13.4) and the credential types of
// the other members, whose capabilities cover this leaf's credential type
// (§7.3).
func checkLeafGroupCompatibility(ln *LeafNode, v *leafValidation) error {
	c := &ln.Capabilities
	var reqExt []ExtensionType
	var reqProp []ProposalType
	var reqCred []CredentialType
	if rc := v.RequiredCapabilities; rc != nil {
		reqExt, reqProp, reqCred = rc.ExtensionTypes, rc.ProposalTypes, rc.CredentialTypes
	}
	hasExt := codePointSet(c.Extensions, len(reqExt)+len(v.GroupExtensions))
	for _, t := range reqExt {
		if !isDefaultExtensionType(t) && !hasExt(t) {
			return invalid("§11.1", "required extension type 0x%04x not supported", uint16(t))
		}
	}
	hasProp := codePointSet(c.Proposals, len(reqProp))
	for _, t := range reqProp {
		if !isDefaultProposalType(t) && !hasProp(t) {
			return invalid("§11.1", "required proposal type 0x%04x not supported", uint16(t))
		}
	}
	hasCred := codePointSet(c.Credentials, len(reqCred)+len(v.CredentialTypesInUse))
	for _, t := range reqCred {
		if !hasCred(t) {
			return invalid("§11.1", "required credential type 0x%04x not supported", uint16(t))
		}
	}
	for _, t := range v.GroupExtensions {
		if !isDefaultExtensionType(t) && !hasExt(t) {
			return invalid("§13.4", "group context extension 0x%04x not supported", uint16(t))
		}
	}
	for _, t := range v.CredentialTypesInUse {
		if !hasCred(t) {
			return invalid("§7.3", "credential type 0x%04x in use by the group not supported", uint16(t))
		}
	}
	if v.MembersSupportCredential != nil && !v.MembersSupportCredential(ln.Credential.Type) {
		return invalid("§7.3", "credential type 0x%04x not supported by every member", uint16(ln.Credential.Type))
	}
	return nil
}

// checkLeafLifetime: a key_package leaf has a lifetime containing v.Now and
// no longer than v.MaxLifetime (§7.2, §7.3).
func checkLeafLifetime(ln *LeafNode, v *leafValidation) error {
	if ln.Source != LeafNodeSourceKeyPackage {
		return nil
	}
	lt := ln.Lifetime
	if lt == nil {
		return invalid("§7.2", "key_package leaf node without lifetime")
	}
	if lt.NotBefore > lt.NotAfter {
		return invalid("§7.2", "lifetime not_before %d is after not_after %d", lt.NotBefore, lt.NotAfter)
	}
	if v.MaxLifetime > 0 && lt.NotAfter-lt.NotBefore > uint64(v.MaxLifetime/time.Second) {
		return invalid("§7.2", "lifetime of %d s exceeds the maximum %v", lt.NotAfter-lt.NotBefore, v.MaxLifetime)
	}
	if v.Now.IsZero() {
		return nil
	}
	now := v.Now.Unix()
	if now < 0 || uint64(now) < lt.NotBefore {
		return invalid("§7.3", "leaf node not valid before %d (now %d)", lt.NotBefore, now)
	}
	if uint64(now) > lt.NotAfter {
		return invalid("§7.3", "leaf node expired at %d (now %d)", lt.NotAfter, now)
	}
	return nil
}

// checkLeafKeys: the encryption and signature keys are unique among the
// members, and an updated leaf gets a new encryption key (§7.3).
func checkLeafKeys(ln *LeafNode, v *leafValidation) error {
	isNew := v.Use == leafInKeyPackage
	if v.FindEncryptionKey != nil {
		if leaf, ok := v.FindEncryptionKey(ln.EncryptionKey); ok {
			switch {
			case isNew || leaf != v.LeafIndex:
				return invalid("§7.3", "encryption key already used by leaf %d", leaf)
			case v.Use == leafInUpdate || v.Use == leafInCommit:
				return invalid("§7.3", "updated leaf node keeps the encryption key it replaces")
			}
		}
	}
	if v.FindSignatureKey != nil {
		if leaf, ok := v.FindSignatureKey(ln.SignatureKey); ok && (isNew || leaf != v.LeafIndex) {
			return invalid("§7.3", "signature key already used by leaf %d", leaf)
		}
	}
	return nil
}

// checkLeafSignature: the signature over LeafNodeTBS verifies under the
// leaf's signature key (§7.3). It runs last, being the costliest check.
func checkLeafSignature(ln *LeafNode, v *leafValidation) error {
	if !v.CipherSuite.Supported() {
		return invalid("§7.3", "unsupported cipher suite %v", v.CipherSuite)
	}
	if v.SignatureVerifiedElsewhere {
		return nil
	}
	if !ln.verifySignature(v.CipherSuite, v.GroupID, uint32(v.LeafIndex)) {
		return invalid("§7.3", "invalid leaf node signature")
	}
	return nil
}
