package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
)

// testPasskey is a WebAuthn authenticator for tests.
type testPasskey struct {
	key    *ecdsa.PrivateKey
	origin string
}

var _ Signer = (*testPasskey)(nil)

func newPasskey(t testing.TB, origin string) *testPasskey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &testPasskey{key: k, origin: origin}
}

func (p *testPasskey) publicKey() []byte {
	b, err := p.key.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

func (p *testPasskey) Identifier() MemberIdentifier { return PasskeyMember(p.publicKey(), &p.origin) }

func (p *testPasskey) SignIdentityText(text string) (UnverifiedSignature, error) {
	cd := `{"type":"webauthn.get","challenge":"` + base64.RawURLEncoding.EncodeToString([]byte(text)) + `","origin":"` + p.origin + `","crossOrigin":false}`
	return p.signClientData([]byte(cd))
}

func (p *testPasskey) signClientData(cd []byte) (*PasskeySignature, error) {
	authData := make([]byte, 37)
	authData[32] = 0x05
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(clone(authData), h[:]...))
	sig, err := ecdsa.SignASN1(nil, p.key, digest[:])
	if err != nil {
		return nil, err
	}
	return &PasskeySignature{PublicKey: p.publicKey(), Signature: sig, AuthenticatorData: authData, ClientDataJSON: cd}, nil
}

func TestPasskeySignature(t *testing.T) {
	p := newPasskey(t, "https://example.com")
	text := "XMTP : Authenticate to inbox\n\nsome text"
	sig, err := p.SignIdentityText(text)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifySignature(text, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Signer().Equal(p.Identifier()) || v.Kind() != SignatureP256 {
		t.Fatalf("verified as %v %v", v.Signer(), v.Kind())
	}
	if rp, ok := v.Signer().RelyingParty(); !ok || rp != p.origin {
		t.Errorf("relying party = %q, %v; want the origin", rp, ok)
	}
	if len(v.RawBytes()) != 64 {
		t.Errorf("raw bytes are %d long, want the 64-byte r‖s", len(v.RawBytes()))
	}
	if _, err := VerifySignature("other", sig); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("other text: %v", err)
	}

	// A compressed public key names the same point.
	comp := *sig.(*PasskeySignature)
	comp.PublicKey = elliptic.MarshalCompressed(elliptic.P256(), p.key.X, p.key.Y) //nolint:staticcheck // test only
	if _, err := VerifySignature(text, &comp); err != nil {
		t.Errorf("compressed key: %v", err)
	}
}

func TestPasskeyClientData(t *testing.T) {
	p := newPasskey(t, "https://example.com")
	text := "hello"
	ch := base64.RawURLEncoding.EncodeToString([]byte(text))
	tests := []struct {
		name string
		cd   string
		ok   bool
	}{
		{"minimal", `{"challenge":"` + ch + `","origin":"o"}`, true},
		{"escaped key", `{"\u0063hallenge":"` + ch + `","origin":"o"}`, true},
		{"trailing space", `{"challenge":"` + ch + `","origin":"o"}  ` + "\n", true},
		{"extra fields", `{"a":[1,{"b":null}],"challenge":"` + ch + `","origin":"o","z":1.5}`, true},
		{"padded challenge", `{"challenge":"` + base64.URLEncoding.EncodeToString([]byte(text)) + `=","origin":"o"}`, false},
		{"wrong case key", `{"Challenge":"` + ch + `","origin":"o"}`, false},
		{"duplicate challenge", `{"challenge":"` + ch + `","challenge":"` + ch + `","origin":"o"}`, false},
		{"missing origin", `{"challenge":"` + ch + `"}`, false},
		{"origin not string", `{"challenge":"` + ch + `","origin":1}`, false},
		{"origin null", `{"challenge":"` + ch + `","origin":null}`, false},
		{"trailing data", `{"challenge":"` + ch + `","origin":"o"}x`, false},
		{"array", `["challenge"]`, false},
		{"invalid utf8", "{\"challenge\":\"" + ch + "\",\"origin\":\"\xff\"}", false},
		{"empty", ``, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := p.signClientData([]byte(tc.cd))
			if err != nil {
				t.Fatal(err)
			}
			_, err = VerifySignature(text, sig)
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("error = %v, want invalid", err)
			}
		})
	}
}

func TestPasskeyMalformed(t *testing.T) {
	p := newPasskey(t, "o")
	sig, _ := p.SignIdentityText("t")
	good := *sig.(*PasskeySignature)
	mutate := map[string]func(s *PasskeySignature){
		"no key":       func(s *PasskeySignature) { s.PublicKey = nil },
		"bad key":      func(s *PasskeySignature) { s.PublicKey = append([]byte{4}, make([]byte, 64)...) },
		"hybrid key":   func(s *PasskeySignature) { s.PublicKey = append([]byte{6}, s.PublicKey[1:]...) },
		"no sig":       func(s *PasskeySignature) { s.Signature = nil },
		"trailing sig": func(s *PasskeySignature) { s.Signature = append(clone(s.Signature), 0) },
		"raw sig":      func(s *PasskeySignature) { s.Signature = make([]byte, 64) },
		"auth data":    func(s *PasskeySignature) { s.AuthenticatorData = append(clone(s.AuthenticatorData), 1) },
		"other key":    func(s *PasskeySignature) { s.PublicKey = newPasskey(t, "o").publicKey() },
	}
	for name, f := range mutate {
		s := good
		f(&s)
		if _, err := VerifySignature("t", &s); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
	}
}
