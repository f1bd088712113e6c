package mls

import (
	cryptorand "crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// epochSecrets holds the secrets of one epoch derived from epoch_secret
// (RFC 9420 §8, table of §8.1 "Epoch-derived secrets"). initSecret feeds
// the key schedule of the next epoch. The joiner and welcome secrets are
// not kept: they are returned once by deriveJoinerSecret and
// deriveWelcomeSecret for the committer to build a Welcome.
type epochSecrets struct {
	suite              CipherSuite
	senderDataSecret   []byte
	encryptionSecret   []byte
	exporterSecret     []byte
	externalSecret     []byte
	confirmationKey    []byte
	membershipKey      []byte
	resumptionPSK      []byte
	epochAuthenticator []byte
	initSecret         []byte
}

// deriveJoinerSecret returns joiner_secret = ExpandWithLabel(
// Extract(init_secret, commit_secret), "joiner", GroupContext_[n], Nh)
// (RFC 9420 §8). initSecret is the previous epoch's init_secret (or the one
// from external init); commitSecret is Nh zero bytes when the commit has no
// path; groupContext is the encoded GroupContext of the new epoch.
func deriveJoinerSecret(cs CipherSuite, initSecret, commitSecret, groupContext []byte) []byte {
	if commitSecret == nil {
		commitSecret = make([]byte, cs.Nh())
	}
	prk := cs.Extract(initSecret, commitSecret)
	return cs.ExpandWithLabel(prk, "joiner", groupContext, cs.Nh())
}

// memberPRK returns Extract(joiner_secret, psk_secret); a nil pskSecret
// stands for Nh zero bytes (no PSKs).
func memberPRK(cs CipherSuite, joinerSecret, pskSecret []byte) []byte {
	if pskSecret == nil {
		pskSecret = make([]byte, cs.Nh())
	}
	return cs.Extract(joinerSecret, pskSecret)
}

// deriveWelcomeSecret returns welcome_secret = DeriveSecret(
// Extract(joiner_secret, psk_secret), "welcome") (RFC 9420 §8). A nil
// pskSecret means no PSKs.
func deriveWelcomeSecret(cs CipherSuite, joinerSecret, pskSecret []byte) []byte {
	return cs.DeriveSecret(memberPRK(cs, joinerSecret, pskSecret), "welcome")
}

// welcomeKeyNonce returns the AEAD key and nonce that protect a Welcome's
// encrypted GroupInfo (RFC 9420 §12.4.3.1).
func welcomeKeyNonce(cs CipherSuite, welcomeSecret []byte) (key, nonce []byte) {
	key = cs.ExpandWithLabel(welcomeSecret, "key", nil, cs.AEADKeyLen())
	nonce = cs.ExpandWithLabel(welcomeSecret, "nonce", nil, cs.AEADNonceLen())
	return key, nonce
}

// deriveEpochSecrets computes epoch_secret = ExpandWithLabel(
// Extract(joiner_secret, psk_secret), "epoch", GroupContext_[n], Nh) and
// every secret derived from it (RFC 9420 §8). Both a committer/member
// (after deriveJoinerSecret) and a joiner (from GroupSecrets.joiner_secret)
// enter here. A nil pskSecret means no PSKs.
func deriveEpochSecrets(cs CipherSuite, joinerSecret, pskSecret, groupContext []byte) *epochSecrets {
	prk := memberPRK(cs, joinerSecret, pskSecret)
	return epochSecretsFrom(cs, cs.ExpandWithLabel(prk, "epoch", groupContext, cs.Nh()))
}

// epochSecretsFrom derives the secrets of RFC 9420 §8.1's table from
// epoch_secret.
func epochSecretsFrom(cs CipherSuite, epochSecret []byte) *epochSecrets {
	return &epochSecrets{
		suite:              cs,
		senderDataSecret:   cs.DeriveSecret(epochSecret, "sender data"),
		encryptionSecret:   cs.DeriveSecret(epochSecret, "encryption"),
		exporterSecret:     cs.DeriveSecret(epochSecret, "exporter"),
		externalSecret:     cs.DeriveSecret(epochSecret, "external"),
		confirmationKey:    cs.DeriveSecret(epochSecret, "confirm"),
		membershipKey:      cs.DeriveSecret(epochSecret, "membership"),
		resumptionPSK:      cs.DeriveSecret(epochSecret, "resumption"),
		epochAuthenticator: cs.DeriveSecret(epochSecret, "authentication"),
		initSecret:         cs.DeriveSecret(epochSecret, "init"),
	}
}

// initialEpochSecrets starts the key schedule of a new group at epoch 0
// (RFC 9420 §11): a fresh random init_secret from rand (nil means
// crypto/rand), a zero commit_secret and no PSKs. groupContext is the
// encoded GroupContext of epoch 0.
func initialEpochSecrets(cs CipherSuite, rand io.Reader, groupContext []byte) (*epochSecrets, error) {
	initSecret, err := randomBytes(rand, cs.Nh())
	if err != nil {
		return nil, err
	}
	joiner := deriveJoinerSecret(cs, initSecret, nil, groupContext)
	return deriveEpochSecrets(cs, joiner, nil, groupContext), nil
}

// exporter is MLS-Exporter(label, context, length) of RFC 9420 §8.5:
// ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported",
// Hash(context), length). label is given without the "MLS 1.0 " prefix.
// A length above 255*Nh (or 65535) returns ErrExporterLength.
func (e *epochSecrets) exporter(label string, context []byte, length int) ([]byte, error) {
	cs := e.suite
	if length < 0 || length > 255*cs.Nh() || length > 0xffff {
		return nil, fmt.Errorf("%w: %d bytes", ErrExporterLength, length)
	}
	secret := cs.DeriveSecret(e.exporterSecret, label)
	return cs.ExpandWithLabel(secret, "exported", cs.Hash(context), length), nil
}

// ErrExporterLength is returned by the MLS exporter for a length the KDF
// cannot produce (more than 255*Nh bytes).
var ErrExporterLength = errors.New("mls: exporter length out of range")

// externalKeyPair returns the epoch's external HPKE key pair,
// DeriveKeyPair(external_secret) (RFC 9420 §8.3); pub goes in the
// external_pub extension of GroupInfo.
func (e *epochSecrets) externalKeyPair() (priv, pub []byte, err error) {
	return e.suite.DeriveHPKEKeyPair(e.externalSecret)
}

// confirmationTag returns MAC(confirmation_key, confirmed_transcript_hash)
// (RFC 9420 §6.1).
func (e *epochSecrets) confirmationTag(confirmedTranscriptHash []byte) []byte {
	return e.suite.MAC(e.confirmationKey, confirmedTranscriptHash)
}

// verifyConfirmationTag reports, in constant time, whether tag is the
// confirmation tag of confirmedTranscriptHash in this epoch.
func (e *epochSecrets) verifyConfirmationTag(confirmedTranscriptHash, tag []byte) bool {
	return e.suite.VerifyMAC(e.confirmationKey, confirmedTranscriptHash, tag)
}

// externalInitLabel is the HPKE exporter label of RFC 9420 §8.3. It is used
// as is: the HPKE export is not an MLS labelled function.
const externalInitLabel = "MLS 1.0 external init secret"

// externalInitSend is the joiner's side of external init (RFC 9420 §8.3):
// SetupBaseS(external_pub, "") then init_secret = context.export(
// "MLS 1.0 external init secret", Nh). kemOutput goes in the ExternalInit
// proposal; initSecret replaces the previous epoch's init_secret.
func externalInitSend(cs CipherSuite, rand io.Reader, externalPub []byte) (kemOutput, initSecret []byte, err error) {
	enc, sealer, err := cs.hpkeSetupS(rand, externalPub, nil)
	if err != nil {
		return nil, nil, err
	}
	return enc, sealer.Export([]byte(externalInitLabel), uint(cs.Nh())), nil
}

// externalInitReceive is the members' side of external init (RFC 9420
// §8.3): SetupBaseR(kem_output, external_priv, "") and the same export.
// externalPriv is the first result of externalKeyPair of the epoch the
// commit applies to. A malformed kemOutput gives a *ValidationError.
func externalInitReceive(cs CipherSuite, externalPriv, kemOutput []byte) ([]byte, error) {
	opener, err := cs.hpkeSetupR(externalPriv, nil, kemOutput)
	if err != nil {
		return nil, err
	}
	return opener.Export([]byte(externalInitLabel), uint(cs.Nh())), nil
}

// randomBytes reads n bytes from rand (nil means crypto/rand).
func randomBytes(rand io.Reader, n int) ([]byte, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("mls: read random bytes: %w", err)
	}
	return b, nil
}

// fields lists the secrets of e in encoding order.
func (e *epochSecrets) fields() []*[]byte {
	return []*[]byte{
		&e.senderDataSecret, &e.encryptionSecret, &e.exporterSecret, &e.externalSecret,
		&e.confirmationKey, &e.membershipKey, &e.resumptionPSK, &e.epochAuthenticator, &e.initSecret,
	}
}

// marshal writes the epoch secrets for the group state blob: the suite,
// then each secret as opaque<V>.
func (e *epochSecrets) marshal(w *Writer) {
	w.Uint16(uint16(e.suite))
	for _, f := range e.fields() {
		w.Opaque(*f)
	}
}

// unmarshal reads what marshal wrote; an unsupported suite or a secret
// that is not Nh bytes long is a decode error.
func (e *epochSecrets) unmarshal(r *Reader) {
	e.suite = CipherSuite(r.Uint16())
	if r.Err() == nil && !e.suite.Supported() {
		r.Fail("unsupported cipher suite %v", e.suite)
		return
	}
	for _, f := range e.fields() {
		*f = r.Opaque()
		if r.Err() == nil && len(*f) != e.suite.Nh() {
			r.Fail("epoch secret of %d bytes, want %d", len(*f), e.suite.Nh())
		}
	}
}

// equal reports whether e and o hold the same secrets (constant time per
// secret; for tests and state checks).
func (e *epochSecrets) equal(o *epochSecrets) bool {
	if e.suite != o.suite {
		return false
	}
	a, b := e.fields(), o.fields()
	ok := 1
	for i := range a {
		ok &= subtle.ConstantTimeCompare(*a[i], *b[i])
	}
	return ok == 1
}
