package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() {
	vectorRunners["crypto-basics.json"] = runCryptoBasicsVectors
}

type cryptoBasicsVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	RefHash     struct {
		Label string   `json:"label"`
		Value hexBytes `json:"value"`
		Out   hexBytes `json:"out"`
	} `json:"ref_hash"`
	ExpandWithLabel struct {
		Secret  hexBytes `json:"secret"`
		Label   string   `json:"label"`
		Context hexBytes `json:"context"`
		Length  int      `json:"length"`
		Out     hexBytes `json:"out"`
	} `json:"expand_with_label"`
	DeriveSecret struct {
		Secret hexBytes `json:"secret"`
		Label  string   `json:"label"`
		Out    hexBytes `json:"out"`
	} `json:"derive_secret"`
	DeriveTreeSecret struct {
		Secret     hexBytes `json:"secret"`
		Label      string   `json:"label"`
		Generation uint32   `json:"generation"`
		Length     int      `json:"length"`
		Out        hexBytes `json:"out"`
	} `json:"derive_tree_secret"`
	SignWithLabel struct {
		Priv      hexBytes `json:"priv"`
		Pub       hexBytes `json:"pub"`
		Content   hexBytes `json:"content"`
		Label     string   `json:"label"`
		Signature hexBytes `json:"signature"`
	} `json:"sign_with_label"`
	EncryptWithLabel struct {
		Priv       hexBytes `json:"priv"`
		Pub        hexBytes `json:"pub"`
		Label      string   `json:"label"`
		Context    hexBytes `json:"context"`
		Plaintext  hexBytes `json:"plaintext"`
		KEMOutput  hexBytes `json:"kem_output"`
		Ciphertext hexBytes `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

func runCryptoBasicsVectors(t *testing.T, path string) {
	for i, v := range loadVectors[cryptoBasicsVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			if !cs.Supported() {
				t.Fatalf("suite %v not supported", cs)
			}
			checkDerivations(t, cs, &v)
			checkSignWithLabel(t, cs, &v)
			checkEncryptWithLabel(t, cs, &v)
		})
	}
}

func checkDerivations(t *testing.T, cs CipherSuite, v *cryptoBasicsVector) {
	t.Helper()
	if got := cs.RefHash(v.RefHash.Label, v.RefHash.Value); !bytes.Equal(got, v.RefHash.Out) {
		t.Errorf("RefHash = %x, want %x", got, v.RefHash.Out)
	}
	e := v.ExpandWithLabel
	if got := cs.ExpandWithLabel(e.Secret, e.Label, e.Context, e.Length); !bytes.Equal(got, e.Out) {
		t.Errorf("ExpandWithLabel = %x, want %x", got, e.Out)
	}
	d := v.DeriveSecret
	if got := cs.DeriveSecret(d.Secret, d.Label); !bytes.Equal(got, d.Out) {
		t.Errorf("DeriveSecret = %x, want %x", got, d.Out)
	}
	dt := v.DeriveTreeSecret
	if got := cs.DeriveTreeSecret(dt.Secret, dt.Label, dt.Generation, dt.Length); !bytes.Equal(got, dt.Out) {
		t.Errorf("DeriveTreeSecret = %x, want %x", got, dt.Out)
	}
}

func checkSignWithLabel(t *testing.T, cs CipherSuite, v *cryptoBasicsVector) {
	t.Helper()
	s := v.SignWithLabel
	if !cs.VerifyWithLabel(s.Pub, s.Label, s.Content, s.Signature) {
		t.Errorf("given signature does not verify")
	}
	if cs.VerifyWithLabel(s.Pub, s.Label+"x", s.Content, s.Signature) {
		t.Errorf("signature verifies under another label")
	}
	pub, err := cs.SignaturePublicKey(s.Priv)
	if err != nil || !bytes.Equal(pub, s.Pub) {
		t.Errorf("SignaturePublicKey = %x, %v; want %x", pub, err, s.Pub)
	}
	sig, err := cs.SignWithLabel(nil, s.Priv, s.Label, s.Content)
	if err != nil {
		t.Fatalf("SignWithLabel: %v", err)
	}
	if !cs.VerifyWithLabel(s.Pub, s.Label, s.Content, sig) {
		t.Errorf("fresh signature does not verify")
	}
}

func checkEncryptWithLabel(t *testing.T, cs CipherSuite, v *cryptoBasicsVector) {
	t.Helper()
	e := v.EncryptWithLabel
	pt, err := cs.DecryptWithLabel(e.Priv, e.Label, e.Context, e.KEMOutput, e.Ciphertext)
	if err != nil || !bytes.Equal(pt, e.Plaintext) {
		t.Errorf("DecryptWithLabel = %x, %v; want %x", pt, err, e.Plaintext)
	}
	pub, err := cs.HPKEPublicKey(e.Priv)
	if err != nil || !bytes.Equal(pub, e.Pub) {
		t.Errorf("HPKEPublicKey = %x, %v; want %x", pub, err, e.Pub)
	}
	kemOut, ct, err := cs.EncryptWithLabel(nil, e.Pub, e.Label, e.Context, e.Plaintext)
	if err != nil {
		t.Fatalf("EncryptWithLabel: %v", err)
	}
	pt, err = cs.DecryptWithLabel(e.Priv, e.Label, e.Context, kemOut, ct)
	if err != nil || !bytes.Equal(pt, e.Plaintext) {
		t.Errorf("round trip = %x, %v; want %x", pt, err, e.Plaintext)
	}
	_, err = cs.DecryptWithLabel(e.Priv, e.Label+"x", e.Context, kemOut, ct)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("decrypt under another label: got %v, want *ValidationError", err)
	}
}

// TestCryptoKeyPairs checks fresh key pairs of every suite: generated HPKE
// keys encrypt and decrypt, generated signature keys sign and verify, and
// DeriveHPKEKeyPair accepts secrets of any length.
func TestCryptoKeyPairs(t *testing.T) {
	for cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519; cs <= MLS_256_DHKEMP384_AES256GCM_SHA384_P384; cs++ {
		t.Run(cs.String(), func(t *testing.T) {
			priv, pub, err := cs.GenerateHPKEKeyPair(nil)
			if err != nil {
				t.Fatalf("GenerateHPKEKeyPair: %v", err)
			}
			kemOut, ct, err := cs.EncryptWithLabel(nil, pub, "test", []byte("ctx"), []byte("hello"))
			if err != nil {
				t.Fatalf("EncryptWithLabel: %v", err)
			}
			if pt, err := cs.DecryptWithLabel(priv, "test", []byte("ctx"), kemOut, ct); err != nil || string(pt) != "hello" {
				t.Errorf("DecryptWithLabel = %q, %v", pt, err)
			}
			for _, n := range []int{0, 1, 32, 48, 64, 100} {
				p1, q1, err := cs.DeriveHPKEKeyPair(make([]byte, n))
				if err != nil {
					t.Fatalf("DeriveHPKEKeyPair(%d bytes): %v", n, err)
				}
				p2, q2, _ := cs.DeriveHPKEKeyPair(make([]byte, n))
				if !bytes.Equal(p1, p2) || !bytes.Equal(q1, q2) {
					t.Errorf("DeriveHPKEKeyPair is not deterministic")
				}
			}
			sk, pk, err := cs.GenerateSignatureKeyPair(nil)
			if err != nil {
				t.Fatalf("GenerateSignatureKeyPair: %v", err)
			}
			sig, err := cs.SignWithLabel(nil, sk, "L", []byte("content"))
			if err != nil || !cs.VerifyWithLabel(pk, "L", []byte("content"), sig) {
				t.Errorf("sign/verify failed: %v", err)
			}
			if cs.VerifyWithLabel(pk, "L", []byte("other"), sig) {
				t.Errorf("signature verifies other content")
			}
		})
	}
}

// TestAEAD checks Seal/Open round trips and that tampering gives a
// *ValidationError.
func TestAEAD(t *testing.T) {
	for cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519; cs <= MLS_256_DHKEMP384_AES256GCM_SHA384_P384; cs++ {
		key := make([]byte, cs.AEADKeyLen())
		nonce := make([]byte, cs.AEADNonceLen())
		ct, err := cs.Seal(key, nonce, []byte("aad"), []byte("pt"))
		if err != nil {
			t.Fatalf("%v: Seal: %v", cs, err)
		}
		if pt, err := cs.Open(key, nonce, []byte("aad"), ct); err != nil || string(pt) != "pt" {
			t.Errorf("%v: Open = %q, %v", cs, pt, err)
		}
		var ve *ValidationError
		if _, err := cs.Open(key, nonce, []byte("aaD"), ct); !errors.As(err, &ve) {
			t.Errorf("%v: Open with wrong aad: %v", cs, err)
		}
		if !cs.VerifyMAC(key, []byte("d"), cs.MAC(key, []byte("d"))) || cs.VerifyMAC(key, []byte("e"), cs.MAC(key, []byte("d"))) {
			t.Errorf("%v: VerifyMAC wrong", cs)
		}
	}
}
