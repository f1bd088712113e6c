package identity

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"testing"
)

func TestInstallationSignature(t *testing.T) {
	s := newInstallation(t, 1)
	text := "XMTP : Authenticate to inbox"
	sig, err := s.SignIdentityText(text)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifySignature(text, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Signer().Equal(s.Identifier()) || v.Kind() != SignatureInstallationKey {
		t.Fatalf("verified as %v %v", v.Signer(), v.Kind())
	}
	raw := sig.(*InstallationKeySignature).Signature
	if string(v.RawBytes()) != string(raw) {
		t.Error("raw bytes are not the signature")
	}

	// The context matters, and plain Ed25519 over the text is not accepted.
	other, _ := SignEd25519ph(s.PrivateKey(), PublicSignatureContext, text)
	pure := ed25519.Sign(s.PrivateKey(), []byte(text))
	digest := sha512.Sum512([]byte(text))
	pureDigest := ed25519.Sign(s.PrivateKey(), digest[:])
	for name, b := range map[string][]byte{"public context": other, "pure": pure, "pure over digest": pureDigest} {
		bad := &InstallationKeySignature{Signature: b, PublicKey: s.ID().Bytes()}
		if _, err := VerifySignature(text, bad); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
	}
	if err := VerifyEd25519ph(s.ID().Bytes(), PublicSignatureContext, text, other); err != nil {
		t.Errorf("VerifyEd25519ph with public context: %v", err)
	}
	if _, err := VerifySignature("other", sig); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("other text: %v", err)
	}
}

func TestInstallationSignatureMalformed(t *testing.T) {
	s := newInstallation(t, 2)
	good, _ := SignEd25519ph(s.PrivateKey(), InstallationKeySignatureContext, "t")
	cases := map[string]*InstallationKeySignature{
		"short key": {Signature: good, PublicKey: s.ID().Bytes()[:31]},
		"no key":    {Signature: good},
		"short sig": {Signature: good[:63], PublicKey: s.ID().Bytes()},
		"other key": {Signature: good, PublicKey: newInstallation(t, 3).ID().Bytes()},
	}
	for name, sig := range cases {
		if _, err := VerifySignature("t", sig); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
	}
	if err := VerifyEd25519ph([]byte{1}, InstallationKeySignatureContext, "t", good); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("VerifyEd25519ph short key: %v", err)
	}
}

func TestNewInstallationSignerRefuses(t *testing.T) {
	if _, err := NewInstallationSigner(make([]byte, 32)); err == nil {
		t.Error("32-byte private key accepted")
	}
}
