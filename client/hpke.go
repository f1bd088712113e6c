package client

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// This file is RFC 9180 HPKE in base mode for the one suite welcome
// wrapping uses (spec §7.2): DHKEM(X25519, HKDF-SHA256) 0x0020,
// HKDF-SHA256 0x0001, ChaCha20-Poly1305 0x0003. mls exports only
// single-shot EncryptWithLabel, but a wrapped welcome needs two seals from
// one sender context (the welcome, then its metadata), so the context is
// built here; tests check it against mls.EncryptWithLabel.

const (
	hpkeKEMX25519   = 0x0020
	hpkeKDFSHA256   = 0x0001
	hpkeAEADChaCha  = 0x0003
	hpkeSecretSize  = 32
	hpkeKeySize     = chacha20poly1305.KeySize
	hpkeNonceSize   = chacha20poly1305.NonceSize
	x25519KeySize   = 32
	hpkeModeBase    = 0x00
	hpkeVersionText = "HPKE-v1"
)

var (
	kemSuiteID  = binary.BigEndian.AppendUint16([]byte("KEM"), hpkeKEMX25519)
	hpkeSuiteID = binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(
		binary.BigEndian.AppendUint16([]byte("HPKE"), hpkeKEMX25519), hpkeKDFSHA256), hpkeAEADChaCha)
)

// errHPKEOpen reports a wrapped payload that does not decrypt.
var errHPKEOpen = errors.New("hpke: decryption failed")

func labeledExtract(suiteID, salt []byte, label string, ikm []byte) []byte {
	in := append(append(append([]byte(hpkeVersionText), suiteID...), label...), ikm...)
	prk, err := hkdf.Extract(sha256.New, in, salt)
	if err != nil {
		panic(fmt.Sprintf("client: hkdf extract: %v", err)) // only fails for invalid hash sizes
	}
	return prk
}

func labeledExpand(suiteID, prk []byte, label string, info []byte, n int) []byte {
	in := binary.BigEndian.AppendUint16(nil, uint16(n))
	in = append(append(append(append(in, hpkeVersionText...), suiteID...), label...), info...)
	out, err := hkdf.Expand(sha256.New, prk, string(in), n)
	if err != nil {
		panic(fmt.Sprintf("client: hkdf expand: %v", err)) // only fails for n > 255*32
	}
	return out
}

// hpkeContext is an HPKE encryption context: the AEAD and the base nonce,
// with the sequence number of the next message.
type hpkeContext struct {
	aead      cipher.AEAD
	baseNonce []byte
	seq       uint64
}

func (c *hpkeContext) nonce() []byte {
	n := make([]byte, hpkeNonceSize)
	binary.BigEndian.PutUint64(n[hpkeNonceSize-8:], c.seq)
	for i := range n {
		n[i] ^= c.baseNonce[i]
	}
	c.seq++
	return n
}

func (c *hpkeContext) seal(aad, pt []byte) []byte { return c.aead.Seal(nil, c.nonce(), pt, aad) }

func (c *hpkeContext) open(aad, ct []byte) ([]byte, error) {
	pt, err := c.aead.Open(nil, c.nonce(), ct, aad)
	if err != nil {
		return nil, errHPKEOpen
	}
	return pt, nil
}

// keySchedule derives the base-mode context from the KEM shared secret.
func keySchedule(shared, info []byte) (*hpkeContext, error) {
	pskIDHash := labeledExtract(hpkeSuiteID, nil, "psk_id_hash", nil)
	infoHash := labeledExtract(hpkeSuiteID, nil, "info_hash", info)
	ksc := append(append([]byte{hpkeModeBase}, pskIDHash...), infoHash...)
	secret := labeledExtract(hpkeSuiteID, shared, "secret", nil)
	key := labeledExpand(hpkeSuiteID, secret, "key", ksc, hpkeKeySize)
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, fmt.Errorf("hpke: %w", err)
	}
	return &hpkeContext{aead: aead, baseNonce: labeledExpand(hpkeSuiteID, secret, "base_nonce", ksc, hpkeNonceSize)}, nil
}

// kemShared is DHKEM's ExtractAndExpand(dh, enc ‖ pkR).
func kemShared(dh, enc, pkR []byte) []byte {
	prk := labeledExtract(kemSuiteID, nil, "eae_prk", dh)
	return labeledExpand(kemSuiteID, prk, "shared_secret", append(append([]byte(nil), enc...), pkR...), hpkeSecretSize)
}

// hpkeSetupSender is SetupBaseS(pkR, info): it draws the ephemeral key
// from rand and returns the encapsulation and the sender context.
func hpkeSetupSender(rand io.Reader, pkR, info []byte) ([]byte, *hpkeContext, error) {
	pub, err := ecdh.X25519().NewPublicKey(pkR)
	if err != nil {
		return nil, nil, fmt.Errorf("hpke: recipient key: %w", err)
	}
	seed := make([]byte, x25519KeySize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, nil, fmt.Errorf("hpke: ephemeral key: %w", err)
	}
	skE, err := ecdh.X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, nil, fmt.Errorf("hpke: ephemeral key: %w", err)
	}
	dh, err := skE.ECDH(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("hpke: encapsulate: %w", err)
	}
	enc := skE.PublicKey().Bytes()
	ctx, err := keySchedule(kemShared(dh, enc, pkR), info)
	return enc, ctx, err
}

// hpkeSetupReceiver is SetupBaseR(enc, skR, info).
func hpkeSetupReceiver(skR, enc, info []byte) (*hpkeContext, error) {
	sk, err := ecdh.X25519().NewPrivateKey(skR)
	if err != nil {
		return nil, fmt.Errorf("hpke: private key: %w", err)
	}
	pkE, err := ecdh.X25519().NewPublicKey(enc)
	if err != nil {
		return nil, errHPKEOpen
	}
	dh, err := sk.ECDH(pkE)
	if err != nil {
		return nil, errHPKEOpen
	}
	return keySchedule(kemShared(dh, enc, sk.PublicKey().Bytes()), info)
}
