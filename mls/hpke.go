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
