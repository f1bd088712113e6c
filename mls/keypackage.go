package mls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// KeyPackage is a pre-published offer to be added to a group (RFC 9420
// §10): the init key a Welcome is encrypted to, the leaf the client will
// occupy, and a signature by the leaf's signature key over the rest. A
// decoded KeyPackage is unverified until ValidateKeyPackage accepts it.
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     []byte
	LeafNode    LeafNode
	Extensions  []Extension
	Signature   []byte
}

// marshalTBS writes KeyPackageTBS: every field but the signature.
func (kp *KeyPackage) marshalTBS(w *Writer) {
	w.Uint16(uint16(kp.Version))
	w.Uint16(uint16(kp.CipherSuite))
	w.Opaque(kp.InitKey)
	kp.LeafNode.marshal(w)
	marshalExtensions(w, kp.Extensions)
}

func (kp *KeyPackage) marshal(w *Writer) {
	kp.marshalTBS(w)
	w.Opaque(kp.Signature)
}

func (kp *KeyPackage) unmarshal(r *Reader) {
	kp.Version = ProtocolVersion(r.Uint16())
	kp.CipherSuite = CipherSuite(r.Uint16())
	kp.InitKey = r.Opaque()
	kp.LeafNode.unmarshal(r)
	kp.Extensions = unmarshalExtensions(r)
	kp.Signature = r.Opaque()
}

// ParseKeyPackage decodes b, which must hold exactly one KeyPackage in the
// TLS encoding of RFC 9420 §10 (as published to a delivery service, without
// an MLSMessage header). Decoding is strict: trailing bytes, non-minimal
// variable-length integers, out-of-range enum values and unknown union
// tags are errors, and every error wraps ErrDecode. The result is
// unverified: check it with ValidateKeyPackage before using it.
func ParseKeyPackage(b []byte) (*KeyPackage, error) {
	kp := new(KeyPackage)
	if err := decode(b, kp); err != nil {
		return nil, fmt.Errorf("mls: parse key package: %w", err)
	}
	return kp, nil
}

// MarshalBinary returns the TLS encoding of kp (RFC 9420 §10), the inverse
// of ParseKeyPackage: ParseKeyPackage(b) followed by MarshalBinary gives
// back b. It fails only for a KeyPackage that has no encoding: a field
// over 2^30-1 bytes, a credential of a type whose body is unknown, or a
// leaf node without the lifetime its key_package source requires.
func (kp *KeyPackage) MarshalBinary() ([]byte, error) {
	b, err := encode(kp)
	if err != nil {
		return nil, fmt.Errorf("mls: marshal key package: %w", err)
	}
	return b, nil
}

// ErrUnsupportedCipherSuite is returned when a caller asks for an operation
// in a cipher suite this package does not implement (see
// CipherSuite.Supported). Remote input naming such a suite gets a
// *ValidationError instead.
var ErrUnsupportedCipherSuite = errors.New("mls: unsupported cipher suite")

// KeyPackageRef identifies a KeyPackage (RFC 9420 §5.2): RefHash with label
// "MLS 1.0 KeyPackage Reference" over the encoded KeyPackage, in the
// KeyPackage's suite. It is computed, never minted, so anyone may recompute
// it; its bytes are stable and may be stored.
type KeyPackageRef []byte

// Ref returns the KeyPackageRef of kp. It fails if kp's suite is not
// supported or kp cannot be encoded.
func (kp *KeyPackage) Ref() (KeyPackageRef, error) {
	if !kp.CipherSuite.Supported() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, kp.CipherSuite)
	}
	data, err := encode(kp)
	if err != nil {
		return nil, err
	}
	return KeyPackageRef(kp.CipherSuite.RefHash("MLS 1.0 KeyPackage Reference", data)), nil
}

// KeyPackageOptions are the optional parameters of NewKeyPackage. The zero
// value (or a nil pointer) gives a KeyPackage with no extensions, default
// capabilities and an unbounded lifetime.
type KeyPackageOptions struct {
	// Lifetime bounds the leaf's validity. The zero value means
	// {0, 2^64-1}: valid at all times; groups that cap lifetimes (RFC 9420
	// §7.2) will refuse it, so set it when publishing to such groups.
	Lifetime Lifetime
	// Capabilities of the leaf; nil means DefaultCapabilities(suite,
	// credential type) plus the non-default types of LeafExtensions.
	Capabilities *Capabilities
	// LeafExtensions go in the LeafNode; each non-default type must be
	// listed in Capabilities.Extensions.
	LeafExtensions []Extension
	// Extensions go in the KeyPackage itself, e.g. LastResortExtension().
	Extensions []Extension
}

// KeyPackagePrivateKeys are the private keys of a new KeyPackage, in the
// HPKE serialization of its suite. The holder keeps them until the
// KeyPackage is used (or, for a last-resort KeyPackage, retired): InitKey
// decrypts the Welcome and EncryptionKey becomes the leaf's private key.
type KeyPackagePrivateKeys struct {
	InitKey       []byte
	EncryptionKey []byte
}

// NewKeyPackage creates and signs a KeyPackage for suite (RFC 9420 §10)
// whose leaf carries credential and the public key of signaturePriv. It
// draws fresh init and encryption key pairs from rand (nil means
// crypto/rand). opts may be nil. The result passes ValidateKeyPackage at
// any time within its lifetime.
func NewKeyPackage(rand io.Reader, suite CipherSuite, signaturePriv []byte, credential Credential, opts *KeyPackageOptions) (*KeyPackage, KeyPackagePrivateKeys, error) {
	var keys KeyPackagePrivateKeys
	if !suite.Supported() {
		return nil, keys, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, suite)
	}
	if opts == nil {
		opts = &KeyPackageOptions{}
	}
	signer, err := suite.parseSigningKey(signaturePriv)
	if err != nil {
		return nil, keys, fmt.Errorf("mls: new key package: %w", err)
	}
	sigPub, err := signer.public()
	if err != nil {
		return nil, keys, fmt.Errorf("mls: new key package: %w", err)
	}
	initPriv, initPub, err := suite.GenerateHPKEKeyPair(rand)
	if err != nil {
		return nil, keys, fmt.Errorf("mls: new key package: %w", err)
	}
	encPriv, encPub, err := suite.GenerateHPKEKeyPair(rand)
	if err != nil {
		return nil, keys, fmt.Errorf("mls: new key package: %w", err)
	}
	kp := &KeyPackage{
		Version:     ProtocolVersionMLS10,
		CipherSuite: suite,
		InitKey:     initPub,
		LeafNode: LeafNode{
			EncryptionKey: encPub,
			SignatureKey:  sigPub,
			Credential:    credential,
			Capabilities:  keyPackageCapabilities(suite, credential.Type, opts),
			Source:        LeafNodeSourceKeyPackage,
			Lifetime:      keyPackageLifetime(opts.Lifetime),
			Extensions:    nonNilExtensions(opts.LeafExtensions),
		},
		Extensions: nonNilExtensions(opts.Extensions),
	}
	if err := kp.signWith(rand, signer); err != nil {
		return nil, keys, err
	}
	if err := validateKeyPackage(kp, &leafValidation{Use: leafInKeyPackage, CipherSuite: suite}); err != nil {
		return nil, keys, fmt.Errorf("mls: new key package: %w", err)
	}
	return kp, KeyPackagePrivateKeys{InitKey: initPriv, EncryptionKey: encPriv}, nil
}

// keyPackageCapabilities returns opts.Capabilities, or the defaults
// extended with the non-default types of opts.LeafExtensions.
func keyPackageCapabilities(suite CipherSuite, cred CredentialType, opts *KeyPackageOptions) Capabilities {
	if opts.Capabilities != nil {
		return *opts.Capabilities
	}
	c := DefaultCapabilities(suite, cred)
	for _, e := range opts.LeafExtensions {
		if !c.supportsExtension(e.Type) {
			c.Extensions = append(c.Extensions, e.Type)
		}
	}
	return c
}

// keyPackageLifetime maps the zero Lifetime to the unbounded one.
func keyPackageLifetime(lt Lifetime) *Lifetime {
	if lt == (Lifetime{}) {
		lt.NotAfter = math.MaxUint64
	}
	return &lt
}

// nonNilExtensions returns exts, or an empty list for nil, so a new value
// compares equal to its decoded encoding.
func nonNilExtensions(exts []Extension) []Extension {
	if exts == nil {
		return []Extension{}
	}
	return exts
}

// sign signs the leaf node, then the KeyPackageTBS, with signaturePriv.
func (kp *KeyPackage) sign(rand io.Reader, signaturePriv []byte) error {
	k, err := kp.CipherSuite.parseSigningKey(signaturePriv)
	if err != nil {
		return fmt.Errorf("mls: sign key package: %w", err)
	}
	return kp.signWith(rand, k)
}

// signWith is sign with the parsed key k (of kp's suite).
func (kp *KeyPackage) signWith(rand io.Reader, k *signingKey) error {
	if err := kp.LeafNode.signWith(rand, k, nil, 0); err != nil {
		return err
	}
	tbs, err := kp.tbs()
	if err != nil {
		return err
	}
	sig, err := k.signWithLabel(rand, "KeyPackageTBS", tbs)
	if err != nil {
		return fmt.Errorf("mls: sign key package: %w", err)
	}
	kp.Signature = sig
	return nil
}

// tbs returns the encoded KeyPackageTBS.
func (kp *KeyPackage) tbs() ([]byte, error) {
	var w Writer
	kp.marshalTBS(&w)
	if w.err != nil {
		return nil, w.err
	}
	return w.buf, nil
}

// ValidateKeyPackage checks kp as RFC 9420 §10.1 requires before it is used
// to add its owner to a group of the given suite: protocol version mls10,
// cipher suite, the signature over KeyPackageTBS, the leaf node rules of
// §7.3 that need no group (source key_package, lifetime containing now,
// capabilities, leaf signature), and init_key distinct from the leaf's
// encryption_key. The zero now skips the lifetime-window check. Each
// failure is a *ValidationError naming the rule.
//
// Adding kp to a group also needs the group-dependent leaf checks of §7.3
// (required capabilities, credential types, key uniqueness), which the
// group performs when it validates the Add proposal.
func ValidateKeyPackage(kp *KeyPackage, suite CipherSuite, now time.Time) error {
	return validateKeyPackage(kp, &leafValidation{Use: leafInKeyPackage, CipherSuite: suite, Now: now})
}

// validateKeyPackage checks kp under §10.1 with its leaf validated in the
// group context v (v.Use must be leafInKeyPackage, v.CipherSuite the
// group's suite).
func validateKeyPackage(kp *KeyPackage, v *leafValidation) error {
	if kp.Version != ProtocolVersionMLS10 {
		return invalid("§10.1", "key package version %d, want mls10", uint16(kp.Version))
	}
	if kp.CipherSuite != v.CipherSuite {
		return invalid("§10.1", "key package cipher suite %v, group uses %v", kp.CipherSuite, v.CipherSuite)
	}
	if !kp.CipherSuite.Supported() {
		return invalid("§10.1", "unsupported cipher suite %v", kp.CipherSuite)
	}
	if bytes.Equal(kp.InitKey, kp.LeafNode.EncryptionKey) {
		return invalid("§10.1", "init_key equals the leaf node's encryption_key")
	}
	if err := validateLeafNode(&kp.LeafNode, v); err != nil {
		return err
	}
	tbs, err := kp.tbs()
	if err != nil {
		return invalid("§10.1", "key package cannot be encoded: %v", err)
	}
	if !kp.CipherSuite.VerifyWithLabel(kp.LeafNode.SignatureKey, "KeyPackageTBS", tbs, kp.Signature) {
		return invalid("§10.1", "invalid key package signature")
	}
	return nil
}
