package mls

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/sign/ed448"
	"golang.org/x/crypto/chacha20poly1305"
)

// ProtocolVersion is an MLS protocol version (RFC 9420 §6).
type ProtocolVersion uint16

// ProtocolVersionMLS10 is mls10, the only version defined by RFC 9420.
const ProtocolVersionMLS10 ProtocolVersion = 1

// CipherSuite is an MLS cipher suite code point (RFC 9420 §17.1). Its
// methods provide every primitive of the suite: hash, KDF, MAC, AEAD, HPKE
// and signatures, plus the labelled helpers of RFC 9420 §5. Methods of an
// unsupported suite panic; check Supported before using a suite that comes
// from remote input.
type CipherSuite uint16

// Cipher suites of the IANA "MLS Cipher Suites" registry (RFC 9420 §17.1).
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        CipherSuite = 0x0001
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             CipherSuite = 0x0002
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 CipherSuite = 0x0003
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            CipherSuite = 0x0004
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             CipherSuite = 0x0005
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     CipherSuite = 0x0006
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             CipherSuite = 0x0007
)

// signatureScheme identifies the signature algorithm of a suite.
type signatureScheme uint8

const (
	sigEd25519 signatureScheme = iota + 1
	sigEd448
	sigECDSA
)

// suiteParams holds the algorithms of one cipher suite.
type suiteParams struct {
	name  string
	kem   hpke.KEM
	kdf   hpke.KDF
	aead  hpke.AEAD
	hash  crypto.Hash
	sig   signatureScheme
	curve elliptic.Curve // for sigECDSA
}

var suites = map[CipherSuite]*suiteParams{
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: {
		name: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		kem:  hpke.KEM_X25519_HKDF_SHA256, kdf: hpke.KDF_HKDF_SHA256, aead: hpke.AEAD_AES128GCM,
		hash: crypto.SHA256, sig: sigEd25519,
	},
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256: {
		name: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		kem:  hpke.KEM_P256_HKDF_SHA256, kdf: hpke.KDF_HKDF_SHA256, aead: hpke.AEAD_AES128GCM,
		hash: crypto.SHA256, sig: sigECDSA, curve: elliptic.P256(),
	},
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519: {
		name: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		kem:  hpke.KEM_X25519_HKDF_SHA256, kdf: hpke.KDF_HKDF_SHA256, aead: hpke.AEAD_ChaCha20Poly1305,
		hash: crypto.SHA256, sig: sigEd25519,
	},
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448: {
		name: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
		kem:  hpke.KEM_X448_HKDF_SHA512, kdf: hpke.KDF_HKDF_SHA512, aead: hpke.AEAD_AES256GCM,
		hash: crypto.SHA512, sig: sigEd448,
	},
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521: {
		name: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		kem:  hpke.KEM_P521_HKDF_SHA512, kdf: hpke.KDF_HKDF_SHA512, aead: hpke.AEAD_AES256GCM,
		hash: crypto.SHA512, sig: sigECDSA, curve: elliptic.P521(),
	},
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448: {
		name: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
		kem:  hpke.KEM_X448_HKDF_SHA512, kdf: hpke.KDF_HKDF_SHA512, aead: hpke.AEAD_ChaCha20Poly1305,
		hash: crypto.SHA512, sig: sigEd448,
	},
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384: {
		name: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
		kem:  hpke.KEM_P384_HKDF_SHA384, kdf: hpke.KDF_HKDF_SHA384, aead: hpke.AEAD_AES256GCM,
		hash: crypto.SHA384, sig: sigECDSA, curve: elliptic.P384(),
	},
}

// String returns the registry name of cs, or "CipherSuite(0xNNNN)" for an
// unknown code point.
func (cs CipherSuite) String() string {
	if p, ok := suites[cs]; ok {
		return p.name
	}
	return fmt.Sprintf("CipherSuite(0x%04x)", uint16(cs))
}

// Supported reports whether this package implements cs. Every method other
// than String and Supported panics for an unsupported suite.
func (cs CipherSuite) Supported() bool {
	_, ok := suites[cs]
	return ok
}

// params returns the algorithms of cs; it panics for an unsupported suite,
// which is a programming error (callers check Supported on remote input).
func (cs CipherSuite) params() *suiteParams {
	p, ok := suites[cs]
	if !ok {
		panic(fmt.Sprintf("mls: unsupported cipher suite %v", cs))
	}
	return p
}

func (cs CipherSuite) newHash() hash.Hash {
	switch cs.params().hash {
	case crypto.SHA256:
		return sha256.New()
	case crypto.SHA384:
		return sha512.New384()
	default:
		return sha512.New()
	}
}

// Nh returns the output length in bytes of the suite's hash (and KDF).
func (cs CipherSuite) Nh() int { return cs.params().hash.Size() }

// AEADKeyLen returns the key length in bytes of the suite's AEAD.
func (cs CipherSuite) AEADKeyLen() int { return int(cs.params().aead.KeySize()) }

// AEADNonceLen returns the nonce length in bytes of the suite's AEAD.
func (cs CipherSuite) AEADNonceLen() int { return int(cs.params().aead.NonceSize()) }

// Hash returns the suite hash of data.
func (cs CipherSuite) Hash(data []byte) []byte {
	h := cs.newHash()
	h.Write(data)
	return h.Sum(nil)
}

// Extract is HKDF-Extract(salt, ikm) of RFC 5869 with the suite's hash;
// an empty salt stands for Nh zero bytes (HMAC pads keys with zeros).
func (cs CipherSuite) Extract(salt, ikm []byte) []byte {
	return cs.MAC(salt, ikm)
}

// Expand is HKDF-Expand(prk, info, n) of RFC 5869 with the suite's hash. n
// must be at most 255*Nh; a larger n is a programming error and panics
// (every length used by MLS is a suite constant; MLS-Exporter checks its
// caller's length).
func (cs CipherSuite) Expand(prk, info []byte, n int) []byte {
	nh := cs.Nh()
	if n < 0 || n > 255*nh {
		panic(fmt.Sprintf("mls: hkdf expand of %d bytes exceeds 255*%d", n, nh))
	}
	m := hmac.New(cs.newHash, prk)
	out := make([]byte, 0, n+nh)
	var block []byte
	for i := byte(1); len(out) < n; i++ {
		m.Reset()
		m.Write(block)
		m.Write(info)
		m.Write([]byte{i})
		block = m.Sum(out[len(out):len(out)])
		out = out[:len(out)+len(block)]
	}
	return out[:n]
}

// MAC returns HMAC(key, data) with the suite's hash (RFC 9420 §5.1).
func (cs CipherSuite) MAC(key, data []byte) []byte {
	m := hmac.New(cs.newHash, key)
	m.Write(data)
	return m.Sum(nil)
}

// VerifyMAC reports, in constant time, whether tag is MAC(key, data).
func (cs CipherSuite) VerifyMAC(key, data, tag []byte) bool {
	return hmac.Equal(cs.MAC(key, data), tag)
}

// newAEAD returns the suite's AEAD keyed with key.
func (cs CipherSuite) newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != cs.AEADKeyLen() {
		return nil, fmt.Errorf("mls: aead key of %d bytes, want %d", len(key), cs.AEADKeyLen())
	}
	if cs.params().aead == hpke.AEAD_ChaCha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mls: aes: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal encrypts and authenticates pt with the suite's AEAD. key and nonce
// must have AEADKeyLen and AEADNonceLen bytes.
func (cs CipherSuite) Seal(key, nonce, aad, pt []byte) ([]byte, error) {
	a, err := cs.newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, fmt.Errorf("mls: aead nonce of %d bytes, want %d", len(nonce), a.NonceSize())
	}
	return a.Seal(nil, nonce, pt, aad), nil
}

// Open authenticates and decrypts ct with the suite's AEAD. A ciphertext
// that does not authenticate gives a *ValidationError; a key or nonce of
// the wrong length is a plain error.
func (cs CipherSuite) Open(key, nonce, aad, ct []byte) ([]byte, error) {
	a, err := cs.newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, fmt.Errorf("mls: aead nonce of %d bytes, want %d", len(nonce), a.NonceSize())
	}
	pt, err := a.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, invalid("§5.1", "aead decryption failed")
	}
	return pt, nil
}

// GenerateSignatureKeyPair returns a fresh signature key pair of the suite
// from rand (nil means crypto/rand). priv is the RFC 8032 seed for EdDSA or
// the big-endian scalar for ECDSA; pub is the raw public key (uncompressed
// SEC1 point for ECDSA).
func (cs CipherSuite) GenerateSignatureKeyPair(rand io.Reader) (priv, pub []byte, err error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	p := cs.params()
	switch p.sig {
	case sigEd25519:
		pk, sk, err := ed25519.GenerateKey(rand)
		if err != nil {
			return nil, nil, fmt.Errorf("mls: generate ed25519 key: %w", err)
		}
		return sk.Seed(), pk, nil
	case sigEd448:
		pk, sk, err := ed448.GenerateKey(rand)
		if err != nil {
			return nil, nil, fmt.Errorf("mls: generate ed448 key: %w", err)
		}
		return sk.Seed(), append([]byte(nil), pk...), nil
	default:
		sk, err := ecdsa.GenerateKey(p.curve, rand)
		if err != nil {
			return nil, nil, fmt.Errorf("mls: generate ecdsa key: %w", err)
		}
		return ecdsaPrivateBytes(sk)
	}
}

func ecdsaPrivateBytes(sk *ecdsa.PrivateKey) (priv, pub []byte, err error) {
	priv, err = sk.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encode ecdsa key: %w", err)
	}
	pub, err = sk.PublicKey.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("mls: encode ecdsa key: %w", err)
	}
	return priv, pub, nil
}

// parseECDSAPrivate parses a big-endian scalar, left-padding a short one
// (P-521 keys sometimes lose their leading zero byte).
func (cs CipherSuite) parseECDSAPrivate(priv []byte) (*ecdsa.PrivateKey, error) {
	curve := cs.params().curve
	size := (curve.Params().BitSize + 7) / 8
	sk, err := ecdsa.ParseRawPrivateKey(curve, leftPad(priv, size))
	if err != nil {
		return nil, fmt.Errorf("mls: parse ecdsa private key: %w", err)
	}
	return sk, nil
}

// leftPad returns b left-padded with zeros to n bytes (b itself if it is
// not shorter).
func leftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}

// SignaturePublicKey returns the public key of the signature private key
// priv (same formats as GenerateSignatureKeyPair).
func (cs CipherSuite) SignaturePublicKey(priv []byte) ([]byte, error) {
	k, err := cs.parseSigningKey(priv)
	if err != nil {
		return nil, err
	}
	return k.public()
}

// signingKey is a parsed signature private key of a suite. Parsing costs
// a scalar multiplication, about as much as a signature, so whoever signs
// repeatedly with one key (a Group, for every message, commit and
// GroupInfo) parses it once and keeps the result next to the encoded key it
// came from. It holds a secret: it is owned by one holder, never cached
// globally, never logged. It is immutable and safe for concurrent use.
type signingKey struct {
	suite CipherSuite
	// key is an ed25519.PrivateKey, ed448.PrivateKey or *ecdsa.PrivateKey.
	key any
}

// parseSigningKey parses priv (the format of GenerateSignatureKeyPair).
func (cs CipherSuite) parseSigningKey(priv []byte) (*signingKey, error) {
	switch cs.params().sig {
	case sigEd25519:
		if len(priv) != ed25519.SeedSize {
			return nil, fmt.Errorf("mls: ed25519 private key of %d bytes, want %d", len(priv), ed25519.SeedSize)
		}
		return &signingKey{suite: cs, key: ed25519.NewKeyFromSeed(priv)}, nil
	case sigEd448:
		if len(priv) != ed448.SeedSize {
			return nil, fmt.Errorf("mls: ed448 private key of %d bytes, want %d", len(priv), ed448.SeedSize)
		}
		return &signingKey{suite: cs, key: ed448.NewKeyFromSeed(priv)}, nil
	default:
		sk, err := cs.parseECDSAPrivate(priv)
		if err != nil {
			return nil, err
		}
		return &signingKey{suite: cs, key: sk}, nil
	}
}

// public returns the encoded public key of k (the format of
// GenerateSignatureKeyPair); it costs no scalar multiplication.
func (k *signingKey) public() ([]byte, error) {
	switch sk := k.key.(type) {
	case ed25519.PrivateKey:
		return []byte(sk.Public().(ed25519.PublicKey)), nil
	case ed448.PrivateKey:
		return append([]byte(nil), sk.Public().(ed448.PublicKey)...), nil
	case *ecdsa.PrivateKey:
		pub, err := sk.PublicKey.Bytes()
		if err != nil {
			return nil, fmt.Errorf("mls: encode ecdsa key: %w", err)
		}
		return pub, nil
	default:
		return nil, fmt.Errorf("%w: signing key of type %T", ErrInternal, k.key)
	}
}

// sign signs msg with the suite's signature scheme (ECDSA hashes msg with
// the suite hash and returns a DER signature; rand nil means crypto/rand).
func (k *signingKey) sign(rand io.Reader, msg []byte) ([]byte, error) {
	switch sk := k.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(sk, msg), nil
	case ed448.PrivateKey:
		return ed448.Sign(sk, msg, ""), nil
	case *ecdsa.PrivateKey:
		if rand == nil {
			rand = cryptorand.Reader
		}
		sig, err := ecdsa.SignASN1(rand, sk, k.suite.Hash(msg))
		if err != nil {
			return nil, fmt.Errorf("mls: ecdsa sign: %w", err)
		}
		return sig, nil
	default:
		return nil, fmt.Errorf("%w: signing key of type %T", ErrInternal, k.key)
	}
}

// verify reports whether sig is a valid signature of msg under pub.
func (cs CipherSuite) verify(pub, msg, sig []byte) bool {
	p := cs.params()
	switch p.sig {
	case sigEd25519:
		return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
	case sigEd448:
		return len(pub) == ed448.PublicKeySize && ed448.Verify(pub, msg, sig, "")
	default:
		pk, err := ecdsa.ParseUncompressedPublicKey(p.curve, pub)
		if err != nil {
			return false
		}
		return ecdsa.VerifyASN1(pk, cs.Hash(msg), sig)
	}
}
