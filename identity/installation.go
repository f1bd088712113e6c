package identity

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"io"

	"mlsbridge/wire/association"
)

// Ed25519ph contexts of installation keys (libxmtp constants; changing them
// breaks every signature).
const (
	// InstallationKeySignatureContext is the context of installation
	// signatures on identity updates (spec §5.4 item 2).
	InstallationKeySignatureContext = "IDENTITY UPDATE SIGNATURE"
	// PublicSignatureContext is the context of other, non-identity
	// signatures libxmtp makes with an installation key.
	PublicSignatureContext = "PUBLIC SIGNATURE CONTEXT"
)

// InstallationKeySignature is an installation's signature (wire:
// installation_key): Ed25519ph with context
// [InstallationKeySignatureContext] over SHA-512 of the signature text, and
// the 32-byte public key that made it (spec §5.4 item 2).
type InstallationKeySignature struct {
	Signature []byte
	PublicKey []byte
}

var _ UnverifiedSignature = (*InstallationKeySignature)(nil)

// Kind returns [SignatureInstallationKey].
func (s *InstallationKeySignature) Kind() SignatureKind { return SignatureInstallationKey }

func (s *InstallationKeySignature) verify(text string) (VerifiedSignature, error) {
	if len(s.PublicKey) != ed25519.PublicKeySize {
		return VerifiedSignature{}, invalidSig(fmt.Sprintf("installation public key must be 32 bytes, got %d", len(s.PublicKey)))
	}
	if len(s.Signature) != ed25519.SignatureSize {
		return VerifiedSignature{}, invalidSig(fmt.Sprintf("ed25519 signature must be 64 bytes, got %d", len(s.Signature)))
	}
	if err := verifyEd25519ph(s.PublicKey, InstallationKeySignatureContext, text, s.Signature); err != nil {
		return VerifiedSignature{}, invalidSig("ed25519ph verification failed")
	}
	return VerifiedSignature{
		signer: installationKeyMember(s.PublicKey),
		kind:   SignatureInstallationKey,
		raw:    clone(s.Signature),
	}, nil
}

func (s *InstallationKeySignature) proto() *association.Signature {
	return &association.Signature{Signature: &association.Signature_InstallationKey{
		InstallationKey: &association.RecoverableEd25519Signature{Bytes: clone(s.Signature), PublicKey: clone(s.PublicKey)},
	}}
}

// verifyEd25519ph checks an RFC 8032 Ed25519ph signature with context over
// SHA-512(text). Like ed25519-dalek's verify_prehashed it rejects a
// non-canonical s and compares the encoding of R.
func verifyEd25519ph(pub []byte, context, text string, sig []byte) error {
	digest := sha512.Sum512([]byte(text))
	return ed25519.VerifyWithOptions(ed25519.PublicKey(pub), digest[:], sig, &ed25519.Options{Hash: crypto.SHA512, Context: context})
}

// SignEd25519ph signs text as libxmtp's installation credential does:
// Ed25519ph with context over SHA-512(text). Use
// [InstallationKeySignatureContext] for identity updates.
func SignEd25519ph(key ed25519.PrivateKey, context, text string) ([]byte, error) {
	digest := sha512.Sum512([]byte(text))
	sig, err := key.Sign(nil, digest[:], &ed25519.Options{Hash: crypto.SHA512, Context: context})
	if err != nil {
		return nil, fmt.Errorf("identity: ed25519ph sign: %w", err)
	}
	return sig, nil
}

// VerifyEd25519ph checks a signature made by [SignEd25519ph]. It returns
// an error wrapping [ErrInvalidSignature] when pub is not 32 bytes or the
// signature does not verify.
func VerifyEd25519ph(pub []byte, context, text string, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: ed25519 public key must be 32 bytes", ErrInvalidSignature)
	}
	if err := verifyEd25519ph(pub, context, text, sig); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	return nil
}

// InstallationSigner signs identity updates with an installation's Ed25519
// key (the same key that signs its MLS leaf). It is safe for concurrent use
// and never prints its key.
type InstallationSigner struct {
	key ed25519.PrivateKey
	id  InstallationID
}

var _ Signer = (*InstallationSigner)(nil)

// NewInstallationSigner wraps key (64 bytes, as crypto/ed25519 makes).
func NewInstallationSigner(key ed25519.PrivateKey) (*InstallationSigner, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("identity: ed25519 private key must be %d bytes, got %d", ed25519.PrivateKeySize, len(key))
	}
	id, err := InstallationIDFromBytes(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	return &InstallationSigner{key: key, id: id}, nil
}

// GenerateInstallationSigner makes a fresh installation key from random;
// nil means crypto/rand.
func GenerateInstallationSigner(random io.Reader) (*InstallationSigner, error) {
	if random == nil {
		random = rand.Reader
	}
	_, key, err := ed25519.GenerateKey(random)
	if err != nil {
		return nil, fmt.Errorf("identity: generate installation key: %w", err)
	}
	return NewInstallationSigner(key)
}

// ID returns the installation id (the public key).
func (s *InstallationSigner) ID() InstallationID { return s.id }

// PrivateKey returns a copy of the Ed25519 private key, for the MLS
// signer and for persisting the installation. Treat it as a secret.
func (s *InstallationSigner) PrivateKey() ed25519.PrivateKey {
	return append(ed25519.PrivateKey(nil), s.key...)
}

// Identifier returns the installation as a member.
func (s *InstallationSigner) Identifier() MemberIdentifier { return InstallationMember(s.id) }

// SignIdentityText signs an identity update's signature text and returns an
// [*InstallationKeySignature].
func (s *InstallationSigner) SignIdentityText(text string) (UnverifiedSignature, error) {
	sig, err := SignEd25519ph(s.key, InstallationKeySignatureContext, text)
	if err != nil {
		return nil, err
	}
	return &InstallationKeySignature{Signature: sig, PublicKey: s.id.Bytes()}, nil
}

// String returns the installation id only.
func (s *InstallationSigner) String() string { return "InstallationSigner(" + s.id.String() + ")" }

// GoString returns the installation id only, so %#v never prints the key.
func (s *InstallationSigner) GoString() string { return s.String() }
