package mls

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestHPKEContextVectors opens the encrypt_with_label ciphertexts of the
// crypto-basics vectors (RFC 9420 §5.1.3: HPKE base mode, info =
// EncryptContext, empty aad) with a receiver context, and checks a sender
// context's first message decrypts with DecryptWithLabel, in every suite.
func TestHPKEContextVectors(t *testing.T) {
	path := filepath.Join(vectorDir(), "crypto-basics.json")
	for i, v := range loadVectors[cryptoBasicsVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			e := v.EncryptWithLabel
			info := encryptContext(e.Label, e.Context)
			o, err := cs.HPKESetupReceiver(e.Priv, e.KEMOutput, info)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := o.Open(nil, e.Ciphertext); err != nil || !bytes.Equal(pt, e.Plaintext) {
				t.Fatalf("Open = %x, %v; want %x", pt, err, e.Plaintext)
			}
			enc, s, err := cs.HPKESetupSender(nil, e.Pub, info)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := s.Seal(nil, e.Plaintext)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := cs.DecryptWithLabel(e.Priv, e.Label, e.Context, enc, ct); err != nil || !bytes.Equal(pt, e.Plaintext) {
				t.Fatalf("DecryptWithLabel of a context's first message = %x, %v", pt, err)
			}
		})
	}
}

// TestHPKEContextMultiShot seals several messages with one context and
// opens them in order, in every suite; exports agree on both sides.
func TestHPKEContextMultiShot(t *testing.T) {
	for _, cs := range allSuites {
		t.Run(cs.String(), func(t *testing.T) {
			priv, pub, err := cs.GenerateHPKEKeyPair(nil)
			if err != nil {
				t.Fatal(err)
			}
			info := []byte("multi-shot test")
			enc, s, err := cs.HPKESetupSender(nil, pub, info)
			if err != nil {
				t.Fatal(err)
			}
			msgs := [][]byte{[]byte("first"), []byte("first"), {}, bytes.Repeat([]byte{7}, 1000)}
			var cts [][]byte
			for i, m := range msgs {
				ct, err := s.Seal([]byte{byte(i)}, m)
				if err != nil {
					t.Fatal(err)
				}
				cts = append(cts, ct)
			}
			if bytes.Equal(cts[0], cts[1]) {
				t.Fatal("two seals of the same message gave the same ciphertext: the nonce did not advance")
			}
			o, err := cs.HPKESetupReceiver(priv, enc, info)
			if err != nil {
				t.Fatal(err)
			}
			for i, ct := range cts {
				if pt, err := o.Open([]byte{byte(i)}, ct); err != nil || !bytes.Equal(pt, msgs[i]) {
					t.Fatalf("message %d: Open = %x, %v", i, pt, err)
				}
			}
			for _, n := range []int{0, 1, 32, 255 * cs.Nh()} {
				a, err1 := s.Export([]byte("ctx"), n)
				b, err2 := o.Export([]byte("ctx"), n)
				if err1 != nil || err2 != nil || len(a) != n || !bytes.Equal(a, b) {
					t.Fatalf("Export(%d): %x, %v / %x, %v", n, a, err1, b, err2)
				}
			}
			a, _ := s.Export([]byte("ctx"), 32)
			b, _ := s.Export([]byte("other"), 32)
			if bytes.Equal(a, b) {
				t.Fatal("exports with different contexts are equal")
			}
			for _, n := range []int{-1, 255*cs.Nh() + 1} {
				if _, err := o.Export(nil, n); !errors.Is(err, ErrInvalidOptions) {
					t.Errorf("Export(%d): err = %v, want ErrInvalidOptions", n, err)
				}
			}
		})
	}
}

// TestHPKEContextRejects checks that what a receiver must refuse gives a
// *ValidationError and leaves the context usable.
func TestHPKEContextRejects(t *testing.T) {
	cs := MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	priv, pub, err := cs.GenerateHPKEKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	info := []byte("info")
	enc, s, err := cs.HPKESetupSender(nil, pub, info)
	if err != nil {
		t.Fatal(err)
	}
	ct0, _ := s.Seal([]byte("aad"), []byte("zero"))
	ct1, _ := s.Seal([]byte("aad"), []byte("one"))
	o, err := cs.HPKESetupReceiver(priv, enc, info)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(ct0)
	damaged[0] ^= 1
	for name, tc := range map[string]struct{ aad, ct []byte }{
		"out of order": {[]byte("aad"), ct1},
		"wrong aad":    {[]byte("bad"), ct0},
		"damaged":      {[]byte("aad"), damaged},
		"empty":        {[]byte("aad"), nil},
	} {
		var ve *ValidationError
		if _, err := o.Open(tc.aad, tc.ct); !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a *ValidationError", name, err)
		}
	}
	// Failed opens did not advance the receiver.
	for i, ct := range [][]byte{ct0, ct1} {
		if _, err := o.Open([]byte("aad"), ct); err != nil {
			t.Fatalf("message %d after failed opens: %v", i, err)
		}
	}
	// Another info derives another context.
	o2, err := cs.HPKESetupReceiver(priv, enc, []byte("other info"))
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if _, err := o2.Open([]byte("aad"), ct0); !errors.As(err, &ve) {
		t.Errorf("other info: err = %v, want a *ValidationError", err)
	}
	if _, _, err := cs.HPKESetupSender(nil, pub[:5], info); !errors.As(err, &ve) {
		t.Errorf("short public key: err = %v, want a *ValidationError", err)
	}
	if _, err := cs.HPKESetupReceiver(priv, enc[:5], info); !errors.As(err, &ve) {
		t.Errorf("short enc: err = %v, want a *ValidationError", err)
	}
	if _, err := cs.HPKESetupReceiver(priv[:5], enc, info); err == nil || errors.As(err, &ve) {
		t.Errorf("short private key: err = %v, want a plain error", err)
	}
	if _, _, err := CipherSuite(0x0a0a).HPKESetupSender(nil, pub, info); !errors.Is(err, ErrUnsupportedCipherSuite) {
		t.Errorf("unsupported suite: err = %v", err)
	}
	if _, err := CipherSuite(0x0a0a).HPKESetupReceiver(priv, enc, info); !errors.Is(err, ErrUnsupportedCipherSuite) {
		t.Errorf("unsupported suite: err = %v", err)
	}
}

// TestHPKEContextDeterministic checks that the encapsulation comes from
// rand alone.
func TestHPKEContextDeterministic(t *testing.T) {
	cs := MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	_, pub, err := cs.GenerateHPKEKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	var encs, cts [2][]byte
	for i := range encs {
		enc, s, err := cs.HPKESetupSender(rand.NewChaCha8([32]byte{1}), pub, nil)
		if err != nil {
			t.Fatal(err)
		}
		encs[i] = enc
		cts[i], _ = s.Seal(nil, []byte("x"))
	}
	if !bytes.Equal(encs[0], encs[1]) || !bytes.Equal(cts[0], cts[1]) {
		t.Fatal("same rand gave different encapsulations")
	}
}
