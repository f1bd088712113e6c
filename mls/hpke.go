package mls

import (
	"crypto/ecdh"
	"crypto/hkdf"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// hpkeSuite returns the circl HPKE suite of cs.
func (cs CipherSuite) hpkeSuite() hpke.Suite {
	p := cs.params()
	return hpke.NewSuite(p.kem, p.kdf, p.aead)
}

// kemScheme returns the circl KEM scheme of cs.
func (cs CipherSuite) kemScheme() kem.Scheme { return cs.params().kem.Scheme() }

// parseHPKEPrivate loads an RFC 9180 SerializePrivateKey value, left-padding
// NIST scalars that lost leading zero bytes (seen for P-521).
func (cs CipherSuite) parseHPKEPrivate(priv []byte) (kem.PrivateKey, error) {
	s := cs.kemScheme()
	if cs.isNISTKEM() {
		priv = leftPad(priv, s.PrivateKeySize())
	}
	sk, err := s.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("mls: parse hpke private key: %w", err)
	}
	return sk, nil
}

func (cs CipherSuite) isNISTKEM() bool {
	switch cs.params().kem {
	case hpke.KEM_P256_HKDF_SHA256, hpke.KEM_P384_HKDF_SHA384, hpke.KEM_P521_HKDF_SHA512:
		return true
	}
	return false
}

// HPKEPublicKey returns the public key (RFC 9180 SerializePublicKey) of the
// HPKE private key priv.
func (cs CipherSuite) HPKEPublicKey(priv []byte) ([]byte, error) {
	sk, err := cs.parseHPKEPrivate(priv)
	if err != nil {
		return nil, err
	}
	pub, err := sk.Public().MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("mls: encode hpke public key: %w", err)
	}
	return pub, nil
}

// GenerateHPKEKeyPair returns a fresh HPKE key pair: DeriveHPKEKeyPair of
// Nsk bytes read from rand (nil means crypto/rand), as RFC 9180 §7.1.3
// permits.
func (cs CipherSuite) GenerateHPKEKeyPair(rand io.Reader) (priv, pub []byte, err error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	ikm := make([]byte, cs.kemScheme().PrivateKeySize())
	if _, err := io.ReadFull(rand, ikm); err != nil {
		return nil, nil, fmt.Errorf("mls: generate hpke key: %w", err)
	}
	return cs.DeriveHPKEKeyPair(ikm)
}

// DeriveHPKEKeyPair is RFC 9180 §7.1.3 DeriveKeyPair(ikm) for the suite's
// KEM, for an ikm of any length. priv is SerializePrivateKey, pub is
// SerializePublicKey.
func (cs CipherSuite) DeriveHPKEKeyPair(ikm []byte) (priv, pub []byte, err error) {
	d := newKEMDeriver(cs.params().kem)
	prk := d.labeledExtract(nil, "dkp_prk", ikm)
	nsk := cs.kemScheme().PrivateKeySize()
	var sk []byte
	if d.curve == nil {
		sk = d.labeledExpand(prk, "sk", nil, nsk)
	} else {
		sk, err = d.candidate(prk, nsk)
		if err != nil {
			return nil, nil, err
		}
	}
	pub, err = cs.HPKEPublicKey(sk)
	if err != nil {
		return nil, nil, err
	}
	return sk, pub, nil
}

// kemDeriver holds the KEM-specific parameters of RFC 9180 §7.1.3.
type kemDeriver struct {
	suiteID []byte           // "KEM" || I2OSP(kem_id, 2)
	newHash func() hash.Hash // the KEM's KDF hash
	curve   ecdh.Curve       // nil for X25519/X448
	bitmask byte
}

func newKEMDeriver(k hpke.KEM) *kemDeriver {
	d := &kemDeriver{suiteID: binary.BigEndian.AppendUint16([]byte("KEM"), uint16(k)), bitmask: 0xff}
	switch k {
	case hpke.KEM_X25519_HKDF_SHA256:
		d.newHash = sha256.New
	case hpke.KEM_X448_HKDF_SHA512:
		d.newHash = sha512.New
	case hpke.KEM_P256_HKDF_SHA256:
		d.newHash, d.curve = sha256.New, ecdh.P256()
	case hpke.KEM_P384_HKDF_SHA384:
		d.newHash, d.curve = sha512.New384, ecdh.P384()
	case hpke.KEM_P521_HKDF_SHA512:
		d.newHash, d.curve, d.bitmask = sha512.New, ecdh.P521(), 0x01
	default:
		panic(fmt.Sprintf("mls: no DeriveKeyPair for KEM 0x%04x", uint16(k)))
	}
	return d
}

// labeledExtract is RFC 9180 §4 LabeledExtract with the KEM suite_id.
func (d *kemDeriver) labeledExtract(salt []byte, label string, ikm []byte) []byte {
	in := append([]byte("HPKE-v1"), d.suiteID...)
	in = append(append(in, label...), ikm...)
	prk, err := hkdf.Extract(d.newHash, in, salt)
	if err != nil {
		panic(fmt.Sprintf("mls: hkdf extract: %v", err))
	}
	return prk
}

// labeledExpand is RFC 9180 §4 LabeledExpand with the KEM suite_id.
func (d *kemDeriver) labeledExpand(prk []byte, label string, info []byte, n int) []byte {
	in := binary.BigEndian.AppendUint16(nil, uint16(n))
	in = append(append(in, "HPKE-v1"...), d.suiteID...)
	in = append(append(in, label...), info...)
	out, err := hkdf.Expand(d.newHash, prk, string(in), n)
	if err != nil {
		panic(fmt.Sprintf("mls: hkdf expand: %v", err))
	}
	return out
}

// candidate runs the rejection-sampling loop of RFC 9180 §7.1.3 for the
// NIST curves and returns the first scalar in [1, order).
func (d *kemDeriver) candidate(prk []byte, nsk int) ([]byte, error) {
	for counter := 0; counter < 256; counter++ {
		b := d.labeledExpand(prk, "candidate", []byte{byte(counter)}, nsk)
		b[0] &= d.bitmask
		if _, err := d.curve.NewPrivateKey(b); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("mls: derive hpke key pair: no valid candidate")
}

// hpkeSeal is HPKE SealBase(pub, info, aad, pt) (RFC 9180 §6.1).
func (cs CipherSuite) hpkeSeal(rand io.Reader, pub, info, aad, pt []byte) (enc, ct []byte, err error) {
	enc, sealer, err := cs.hpkeSetupS(rand, pub, info)
	if err != nil {
		return nil, nil, err
	}
	ct, err = sealer.Seal(pt, aad)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: hpke seal: %w", err)
	}
	return enc, ct, nil
}

// hpkeOpen is HPKE OpenBase(enc, priv, info, aad, ct). A ciphertext or
// encapsulation that does not decrypt gives a *ValidationError.
func (cs CipherSuite) hpkeOpen(priv, info, aad, enc, ct []byte) ([]byte, error) {
	opener, err := cs.hpkeSetupR(priv, info, enc)
	if err != nil {
		return nil, err
	}
	pt, err := opener.Open(ct, aad)
	if err != nil {
		return nil, invalid("§5.1.3", "hpke decryption failed")
	}
	return pt, nil
}

// hpkeSetupS is HPKE SetupBaseS(pub, info); rand nil means crypto/rand.
func (cs CipherSuite) hpkeSetupS(rand io.Reader, pub, info []byte) ([]byte, hpke.Sealer, error) {
	pk, err := cs.kemScheme().UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, nil, invalid("§5.1.3", "malformed hpke public key")
	}
	sender, err := cs.hpkeSuite().NewSender(pk, info)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: hpke setup: %w", err)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	enc, sealer, err := sender.Setup(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: hpke setup: %w", err)
	}
	return enc, sealer, nil
}

// hpkeSetupR is HPKE SetupBaseR(enc, priv, info). A malformed enc gives a
// *ValidationError, a malformed private key a plain error.
func (cs CipherSuite) hpkeSetupR(priv, info, enc []byte) (hpke.Opener, error) {
	sk, err := cs.parseHPKEPrivate(priv)
	if err != nil {
		return nil, err
	}
	receiver, err := cs.hpkeSuite().NewReceiver(sk, info)
	if err != nil {
		return nil, fmt.Errorf("mls: hpke setup: %w", err)
	}
	opener, err := receiver.Setup(enc)
	if err != nil {
		return nil, invalid("§5.1.3", "hpke decapsulation failed")
	}
	return opener, nil
}

// HPKESealer is the sender's side of an RFC 9180 base-mode encryption
// context, made by CipherSuite.HPKESetupSender: each Seal encrypts one
// message under the next nonce of the context, so the receiver must Open
// the ciphertexts in the order they were sealed. It is not safe for
// concurrent use.
type HPKESealer struct {
	suite CipherSuite
	s     hpke.Sealer
}

// HPKEOpener is the receiver's side of an RFC 9180 base-mode encryption
// context, made by CipherSuite.HPKESetupReceiver. It is not safe for
// concurrent use.
type HPKEOpener struct {
	suite CipherSuite
	o     hpke.Opener
}

// HPKESetupSender is RFC 9180 §5.1.1 SetupBaseS with the suite's KEM, KDF
// and AEAD: it encapsulates a fresh shared secret to the HPKE public key
// pub (RFC 9180 SerializePublicKey, e.g. a KeyPackage's init_key) with the
// ephemeral key drawn from rand (nil means crypto/rand), and returns the
// encapsulation enc to send along with the context for sealing any number
// of messages. info binds the context to its use (for MLS's own labelled
// encryption, the encoded EncryptContext of RFC 9420 §5.1.3). A malformed
// pub gives a *ValidationError.
func (cs CipherSuite) HPKESetupSender(rand io.Reader, pub, info []byte) (enc []byte, s *HPKESealer, err error) {
	if !cs.Supported() {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, cs)
	}
	enc, sealer, err := cs.hpkeSetupS(rand, pub, info)
	if err != nil {
		return nil, nil, err
	}
	return enc, &HPKESealer{suite: cs, s: sealer}, nil
}

// HPKESetupReceiver is RFC 9180 §5.1.1 SetupBaseR: it decapsulates enc with
// the HPKE private key priv (RFC 9180 SerializePrivateKey) and returns the
// context for opening, in order, the messages sealed by the sender's
// context. info must equal the sender's. A malformed or unusable enc gives
// a *ValidationError; a malformed priv, a plain error.
func (cs CipherSuite) HPKESetupReceiver(priv, enc, info []byte) (*HPKEOpener, error) {
	if !cs.Supported() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCipherSuite, cs)
	}
	opener, err := cs.hpkeSetupR(priv, info, enc)
	if err != nil {
		return nil, err
	}
	return &HPKEOpener{suite: cs, o: opener}, nil
}

// Seal is RFC 9180 §5.2 ContextS.Seal: it encrypts and authenticates pt
// with additional data aad under the context's next nonce. It fails only
// after 2^96-1 messages (the sequence number is exhausted).
func (s *HPKESealer) Seal(aad, pt []byte) ([]byte, error) {
	ct, err := s.s.Seal(pt, aad)
	if err != nil {
		return nil, fmt.Errorf("mls: hpke seal: %w", err)
	}
	return ct, nil
}

// Open is RFC 9180 §5.2 ContextR.Open: it authenticates and decrypts ct
// with additional data aad under the context's next nonce. A ciphertext
// that does not authenticate (damaged, from another context, or out of
// order) gives a *ValidationError and leaves the context unchanged, so
// the next Open expects the same nonce.
func (o *HPKEOpener) Open(aad, ct []byte) ([]byte, error) {
	pt, err := o.o.Open(ct, aad)
	if err != nil {
		return nil, invalid("§5.1.3", "hpke decryption failed")
	}
	return pt, nil
}

// Export is RFC 9180 §5.3 Context.Export: a secret of n bytes derived from
// the context's exporter secret and exporterContext. The sender's and the
// receiver's contexts export the same secrets. n must be in [0, 255*Nh]
// (Nh: the suite's hash length), else the error wraps ErrInvalidOptions.
func (s *HPKESealer) Export(exporterContext []byte, n int) ([]byte, error) {
	return hpkeExport(s.suite, s.s, exporterContext, n)
}

// Export is RFC 9180 §5.3 Context.Export, as HPKESealer.Export.
func (o *HPKEOpener) Export(exporterContext []byte, n int) ([]byte, error) {
	return hpkeExport(o.suite, o.o, exporterContext, n)
}

// hpkeExport checks n (circl panics beyond 255*Nh) and exports.
func hpkeExport(cs CipherSuite, c hpke.Context, exporterContext []byte, n int) ([]byte, error) {
	if limit := 255 * cs.params().kdf.ExtractSize(); n < 0 || n > limit {
		return nil, fmt.Errorf("%w: hpke export of %d bytes, want at most %d", ErrInvalidOptions, n, limit)
	}
	return c.Export(exporterContext, uint(n)), nil
}
