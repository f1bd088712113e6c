package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"mlsbridge/identity"
	"mlsbridge/mls"
)

// Suite is the MLS cipher suite of every XMTP group and key package
// (spec §6.1): MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519.
const Suite = mls.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519

// XMTP extension types (spec §6.3; xmtp-groups.md §1.2).
const (
	// ExtensionImmutableMetadata (0xF000) carries GroupMetadataV1 wrapped
	// in an inner TLS byte vector.
	ExtensionImmutableMetadata mls.ExtensionType = 0xF000
	// ExtensionMutableMetadata (0xFF00) carries raw GroupMutableMetadataV1.
	ExtensionMutableMetadata mls.ExtensionType = 0xFF00
	// ExtensionGroupMembership (0xFF01) carries raw GroupMembership.
	ExtensionGroupMembership mls.ExtensionType = 0xFF01
	// ExtensionGroupPermissions (0xFF02) carries raw GroupMutablePermissionsV1.
	ExtensionGroupPermissions mls.ExtensionType = 0xFF02
	// ExtensionWelcomeWrapperEncryption (0xFF03) carries a post-quantum
	// (X-Wing) welcome wrapping key. This client does not implement X-Wing
	// and never advertises it.
	ExtensionWelcomeWrapperEncryption mls.ExtensionType = 0xFF03
	// ExtensionWelcomePointeeAEADTypes (0xFF04) lists the AEADs usable for
	// welcome pointers. Never advertised without 0xFF03 (spec §7.4).
	ExtensionWelcomePointeeAEADTypes mls.ExtensionType = 0xFF04
)

// Key package lifetime as openmls sets it by default and libxmtp keeps it
// in production (spec §6.3): valid from an hour ago for 84 days.
const (
	keyPackageNotBeforeMargin = time.Hour
	keyPackageLifetime        = 7_257_600 * time.Second
)

// leafCapabilities returns the capabilities libxmtp 1.9.1 advertises in its
// leaf nodes and key packages (spec §6.3), minus 0xFF03 and 0xFF04: this
// client has no X-Wing key, and a key package advertising pointers without
// X-Wing breaks the sender's whole welcome batch on node-go (spec §7.4).
// The list covers the group RequiredCapabilities of xmtp-groups.md §1.3.
func leafCapabilities() *mls.Capabilities {
	return &mls.Capabilities{
		Versions:     []mls.ProtocolVersion{mls.ProtocolVersionMLS10},
		CipherSuites: []mls.CipherSuite{Suite},
		Extensions: []mls.ExtensionType{
			mls.ExtensionTypeLastResort,
			mls.ExtensionTypeApplicationID,
			ExtensionGroupPermissions,
			ExtensionMutableMetadata,
			ExtensionGroupMembership,
			ExtensionImmutableMetadata,
		},
		Proposals:   []mls.ProposalType{mls.ProposalTypeGroupContextExtensions},
		Credentials: []mls.CredentialType{mls.CredentialTypeBasic},
	}
}

// credentialFor returns the Basic credential of an installation of inbox:
// identity = protobuf MlsCredential{inbox_id} (spec §6.2).
func credentialFor(inbox identity.InboxID) (mls.Credential, error) {
	b, err := identity.CredentialIdentity(inbox)
	if err != nil {
		return mls.Credential{}, err
	}
	return mls.NewBasicCredential(b), nil
}

// leafOptions returns our leaf's capabilities and extensions (the
// application_id carrying the inbox id as UTF-8, spec §6.3), with the key
// package lifetime counted from now.
func leafOptions(inbox identity.InboxID, now time.Time) *mls.LeafOptions {
	lt := lifetimeAt(now)
	return &mls.LeafOptions{
		Capabilities: leafCapabilities(),
		Extensions:   []mls.Extension{mls.ApplicationIDExtension([]byte(inbox))},
		Lifetime:     &lt,
	}
}

func lifetimeAt(now time.Time) mls.Lifetime {
	return mls.Lifetime{
		NotBefore: uint64(now.Add(-keyPackageNotBeforeMargin).Unix()),
		NotAfter:  uint64(now.Add(keyPackageLifetime).Unix()),
	}
}

// KeyPackageBundle is one of our key packages with its private keys and its
// encoding as uploaded.
type KeyPackageBundle struct {
	mls.KeyPackageBundle
	// Encoded is the TLS encoding of KeyPackage, the bytes uploaded.
	Encoded []byte
}

// newKeyPackage builds a last-resort key package for our installation
// exactly as libxmtp does (spec §6.3): suite 3, the MlsCredential, the
// application_id leaf extension, libxmtp's capabilities, the openmls
// default lifetime from now, and the last_resort key package extension.
func newKeyPackage(rand io.Reader, now time.Time, sigPriv []byte, inbox identity.InboxID) (*KeyPackageBundle, error) {
	cred, err := credentialFor(inbox)
	if err != nil {
		return nil, err
	}
	lo := leafOptions(inbox, now)
	b, err := mls.NewKeyPackageBundle(rand, Suite, sigPriv, cred, &mls.KeyPackageOptions{
		Lifetime:       *lo.Lifetime,
		Capabilities:   lo.Capabilities,
		LeafExtensions: lo.Extensions,
		Extensions:     []mls.Extension{mls.LastResortExtension()},
	})
	if err != nil {
		return nil, fmt.Errorf("build key package: %w", err)
	}
	enc, err := b.KeyPackage.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode key package: %w", err)
	}
	return &KeyPackageBundle{KeyPackageBundle: *b, Encoded: enc}, nil
}

// ErrInvalidKeyPackage is wrapped by [*KeyPackageError].
var ErrInvalidKeyPackage = errors.New("client: invalid key package")

// KeyPackageError reports a fetched key package that fails the checks
// libxmtp makes before adding it to a group; the installation is then
// recorded as failed.
type KeyPackageError struct {
	Installation identity.InstallationID
	Reason       string
}

func (e *KeyPackageError) Error() string {
	return fmt.Sprintf("client: key package of installation %s: %s", e.Installation, e.Reason)
}

func (e *KeyPackageError) Unwrap() error { return ErrInvalidKeyPackage }

// VerifiedKeyPackage is a fetched key package that passed libxmtp's checks
// (spec §6.4): its inbox id from the credential, its installation id (the
// leaf signature key) and its HPKE init key for welcome wrapping.
type VerifiedKeyPackage struct {
	KeyPackage   mls.KeyPackage
	InboxID      identity.InboxID
	Installation identity.InstallationID
}

// verifyKeyPackage decodes b and applies spec §6.4: RFC 9420 §10.1 checks
// at now (signatures, lifetime, init key distinct from the encryption
// key), every key package extension listed in the capabilities, a Basic
// MlsCredential, and — since we add it to a group — the capabilities of
// the group's RequiredCapabilities. want, if not zero, is the installation
// we asked for.
func verifyKeyPackage(b []byte, want identity.InstallationID, now time.Time) (*VerifiedKeyPackage, error) {
	fail := func(format string, args ...any) error {
		return &KeyPackageError{Installation: want, Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) == 0 {
		return nil, fail("no key package")
	}
	kp, err := mls.ParseKeyPackage(b)
	if err != nil {
		return nil, fail("decode: %v", err)
	}
	if err := mls.ValidateKeyPackage(kp, Suite, now); err != nil {
		return nil, fail("%v", err)
	}
	inst, err := identity.InstallationIDFromBytes(kp.LeafNode.SignatureKey)
	if err != nil {
		return nil, fail("signature key: %v", err)
	}
	if want != (identity.InstallationID{}) && inst != want {
		return nil, fail("belongs to installation %s", inst)
	}
	caps := &kp.LeafNode.Capabilities
	for _, e := range kp.Extensions {
		if !capsHasExtension(caps, e.Type) {
			return nil, fail("extension 0x%04x not in capabilities", uint16(e.Type))
		}
	}
	for _, t := range requiredExtensionTypes {
		if !capsHasExtension(caps, t) {
			return nil, fail("required extension 0x%04x not in capabilities", uint16(t))
		}
	}
	if kp.LeafNode.Credential.Type != mls.CredentialTypeBasic {
		return nil, fail("credential type %d, want basic", kp.LeafNode.Credential.Type)
	}
	inbox, err := identity.ParseCredentialIdentity(kp.LeafNode.Credential.Identity)
	if err != nil || !inbox.Valid() {
		return nil, fail("credential is not an MlsCredential with an inbox id")
	}
	return &VerifiedKeyPackage{KeyPackage: *kp, InboxID: inbox, Installation: inst}, nil
}

func capsHasExtension(c *mls.Capabilities, t mls.ExtensionType) bool {
	for _, x := range c.Extensions {
		if x == t {
			return true
		}
	}
	// RFC 9420 §7.2 default types need not be listed; libxmtp lists
	// application_id anyway, and openmls accepts it either way.
	return t >= mls.ExtensionTypeApplicationID && t <= mls.ExtensionTypeExternalSenders
}

// inboxOfLeaf returns the inbox id in a leaf's MlsCredential.
func inboxOfLeaf(ln *mls.LeafNode) (identity.InboxID, error) {
	if ln.Credential.Type != mls.CredentialTypeBasic {
		return "", fmt.Errorf("credential type %d, want basic", ln.Credential.Type)
	}
	return identity.ParseCredentialIdentity(ln.Credential.Identity)
}

// sameKey reports whether a and b are equal (public keys only).
func sameKey(a, b []byte) bool { return bytes.Equal(a, b) }
