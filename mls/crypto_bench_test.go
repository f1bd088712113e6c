package mls

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/cloudflare/circl/hpke"
	"golang.org/x/crypto/chacha20poly1305"
)

// The "crypto floor" of suite 3 (X25519, ChaCha20-Poly1305, SHA-256,
// Ed25519): the cost of the bare primitives on 1 KiB, which the MLS-level
// benchmarks are compared against.

const floorSize = 1024

var floorHPKE = hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305)

func floorMessage() []byte {
	msg := make([]byte, floorSize)
	rand.Read(msg)
	return msg
}

// BenchmarkFloorHPKESeal measures SetupBaseS plus one Seal of 1 KiB.
func BenchmarkFloorHPKESeal(b *testing.B) {
	pk, _, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().GenerateKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	msg, info := floorMessage(), []byte("info")
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		sender, err := floorHPKE.NewSender(pk, info)
		if err != nil {
			b.Fatal(err)
		}
		_, sealer, err := sender.Setup(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sealer.Seal(msg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorHPKEOpen measures SetupBaseR plus one Open of 1 KiB.
func BenchmarkFloorHPKEOpen(b *testing.B) {
	pk, sk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().GenerateKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	msg, info := floorMessage(), []byte("info")
	sender, _ := floorHPKE.NewSender(pk, info)
	enc, sealer, err := sender.Setup(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ct, _ := sealer.Seal(msg, nil)
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		receiver, err := floorHPKE.NewReceiver(sk, info)
		if err != nil {
			b.Fatal(err)
		}
		opener, err := receiver.Setup(enc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := opener.Open(ct, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorSign measures one Ed25519 signature over 1 KiB.
func BenchmarkFloorSign(b *testing.B) {
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	msg := floorMessage()
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		ed25519.Sign(sk, msg)
	}
}

// BenchmarkFloorVerify measures one Ed25519 verification over 1 KiB.
func BenchmarkFloorVerify(b *testing.B) {
	pk, sk, _ := ed25519.GenerateKey(rand.Reader)
	msg := floorMessage()
	sig := ed25519.Sign(sk, msg)
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		if !ed25519.Verify(pk, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

func floorAEAD(b *testing.B) (seal func(dst, pt []byte) []byte, open func(dst, ct []byte) ([]byte, error)) {
	key := make([]byte, chacha20poly1305.KeySize)
	rand.Read(key)
	a, err := chacha20poly1305.New(key)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSize)
	seal = func(dst, pt []byte) []byte { return a.Seal(dst, nonce, pt, nil) }
	open = func(dst, ct []byte) ([]byte, error) { return a.Open(dst, nonce, ct, nil) }
	return seal, open
}

// BenchmarkFloorAEADSeal measures one ChaCha20-Poly1305 Seal of 1 KiB
// (keyed once; a fresh output buffer per call, as message protection has).
func BenchmarkFloorAEADSeal(b *testing.B) {
	seal, _ := floorAEAD(b)
	msg := floorMessage()
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		seal(nil, msg)
	}
}

// BenchmarkFloorAEADOpen measures one ChaCha20-Poly1305 Open of 1 KiB.
func BenchmarkFloorAEADOpen(b *testing.B) {
	seal, open := floorAEAD(b)
	ct := seal(nil, floorMessage())
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		if _, err := open(nil, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// The same operations through this package's suite API, to show its
// overhead over the floor.

const benchSuite = MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519

// BenchmarkEncryptWithLabel measures CipherSuite.EncryptWithLabel of 1 KiB.
func BenchmarkEncryptWithLabel(b *testing.B) {
	_, pub, _ := benchSuite.GenerateHPKEKeyPair(nil)
	msg := floorMessage()
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		if _, _, err := benchSuite.EncryptWithLabel(nil, pub, "UpdatePathNode", []byte("context"), msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignWithLabel measures CipherSuite.SignWithLabel over 1 KiB,
// which parses the raw private key on every call.
func BenchmarkSignWithLabel(b *testing.B) {
	priv, _, _ := benchSuite.GenerateSignatureKeyPair(nil)
	msg := floorMessage()
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		if _, err := benchSuite.SignWithLabel(nil, priv, "FramedContentTBS", msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignWithLabelParsedKey measures SignWithLabel with a key parsed
// once, as a Group signs (BenchmarkSignWithLabel parses the key per call).
func BenchmarkSignWithLabelParsedKey(b *testing.B) {
	priv, _, _ := benchSuite.GenerateSignatureKeyPair(nil)
	k, err := benchSuite.parseSigningKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	msg := floorMessage()
	b.ReportAllocs()
	b.SetBytes(floorSize)
	for b.Loop() {
		if _, err := k.signWithLabel(nil, "FramedContentTBS", msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSecretTreeNextKey measures deriving one sending key and nonce.
func BenchmarkSecretTreeNextKey(b *testing.B) {
	st := newSecretTree(benchSuite, make([]byte, benchSuite.Nh()), 2500)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := st.nextKey(1234, false); err != nil {
			b.Fatal(err)
		}
	}
}
