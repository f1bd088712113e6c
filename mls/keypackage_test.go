package mls

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"
)

var allSuites = []CipherSuite{
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519,
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521,
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448,
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
}

// TestVectorKeyPackagesValidate decodes the key packages of the welcome and
// passive-client vectors, round-trips them, validates them, and checks the
// private keys given with them match.
func TestVectorKeyPackagesValidate(t *testing.T) {
	type entry struct {
		CipherSuite    uint16   `json:"cipher_suite"`
		KeyPackage     hexBytes `json:"key_package"`
		InitPriv       hexBytes `json:"init_priv"`
		EncryptionPriv hexBytes `json:"encryption_priv"`
		SignaturePriv  hexBytes `json:"signature_priv"`
	}
	for _, file := range []string{"welcome.json", "passive-client-welcome.json", "passive-client-handling-commit.json"} {
		t.Run(file, func(t *testing.T) {
			for i, e := range loadVectors[entry](t, filepath.Join(vectorDir(), file)) {
				t.Run(suiteName(e.CipherSuite, i), func(t *testing.T) {
					checkVectorKeyPackage(t, CipherSuite(e.CipherSuite), e.KeyPackage, e.InitPriv, e.EncryptionPriv, e.SignaturePriv)
				})
			}
		})
	}
}

func checkVectorKeyPackage(t *testing.T, cs CipherSuite, msg, initPriv, encPriv, sigPriv []byte) {
	var m MLSMessage
	if err := roundTrip(t, msg, &m); err != nil {
		t.Fatalf("decode MLSMessage: %v", err)
	}
	if m.KeyPackage == nil {
		t.Fatalf("wire format %v, want a key package", m.WireFormat)
	}
	kp := m.KeyPackage
	if err := ValidateKeyPackage(kp, cs, time.Time{}); err != nil {
		t.Fatalf("ValidateKeyPackage: %v", err)
	}
	if _, err := kp.Ref(); err != nil {
		t.Fatalf("Ref: %v", err)
	}
	for _, k := range []struct {
		name      string
		priv, pub []byte
		derive    func([]byte) ([]byte, error)
	}{
		{"init", initPriv, kp.InitKey, cs.HPKEPublicKey},
		{"encryption", encPriv, kp.LeafNode.EncryptionKey, cs.HPKEPublicKey},
		{"signature", sigPriv, kp.LeafNode.SignatureKey, cs.SignaturePublicKey},
	} {
		if len(k.priv) == 0 {
			continue
		}
		pub, err := k.derive(padPrivateKey(cs, k.priv))
		if err != nil {
			t.Fatalf("%s public key: %v", k.name, err)
		}
		if !bytes.Equal(pub, k.pub) {
			t.Errorf("%s public key does not match the key package", k.name)
		}
	}
}

// padPrivateKey left-pads P-521 private keys that lost their leading zero
// (vector README, trap 1).
func padPrivateKey(cs CipherSuite, priv []byte) []byte {
	if cs == MLS_256_DHKEMP521_AES256GCM_SHA512_P521 && len(priv) == 65 {
		return append([]byte{0}, priv...)
	}
	return priv
}

// newTestKeyPackage returns a fresh key package of cs with a basic
// credential, its signature private key and private keys.
func newTestKeyPackage(t testing.TB, cs CipherSuite, opts *KeyPackageOptions) (*KeyPackage, []byte, KeyPackagePrivateKeys) {
	t.Helper()
	sigPriv, _, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatalf("signature key: %v", err)
	}
	kp, keys, err := NewKeyPackage(nil, cs, sigPriv, NewBasicCredential([]byte("alice")), opts)
	if err != nil {
		t.Fatalf("NewKeyPackage: %v", err)
	}
	return kp, sigPriv, keys
}

func TestNewKeyPackageAllSuites(t *testing.T) {
	for _, cs := range allSuites {
		t.Run(cs.String(), func(t *testing.T) {
			kp, _, keys := newTestKeyPackage(t, cs, nil)
			if err := ValidateKeyPackage(kp, cs, time.Unix(1_700_000_000, 0)); err != nil {
				t.Fatalf("ValidateKeyPackage: %v", err)
			}
			for name, pair := range map[string][2][]byte{
				"init":       {keys.InitKey, kp.InitKey},
				"encryption": {keys.EncryptionKey, kp.LeafNode.EncryptionKey},
			} {
				pub, err := cs.HPKEPublicKey(pair[0])
				if err != nil || !bytes.Equal(pub, pair[1]) {
					t.Errorf("%s private key does not match its public key (err %v)", name, err)
				}
			}
			b, err := encode(kp)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var back KeyPackage
			if err := roundTrip(t, b, &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalValues(&back, kp) {
				t.Errorf("decoded key package differs:\n got %+v\nwant %+v", back, *kp)
			}
			ref1, err1 := kp.Ref()
			ref2, err2 := back.Ref()
			if err1 != nil || err2 != nil || !bytes.Equal(ref1, ref2) || len(ref1) != cs.Nh() {
				t.Errorf("Ref = %x, %x (errors %v, %v), want equal of %d bytes", ref1, ref2, err1, err2, cs.Nh())
			}
		})
	}
}

func TestKeyPackageRefMatchesRefHash(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	kp, _, _ := newTestKeyPackage(t, cs, nil)
	b, _ := encode(kp)
	ref, err := kp.Ref()
	if err != nil {
		t.Fatal(err)
	}
	if want := cs.RefHash("MLS 1.0 KeyPackage Reference", b); !bytes.Equal(ref, want) {
		t.Fatalf("Ref = %x, want %x", ref, want)
	}
	kp.CipherSuite = 0x0a0a
	if _, err := kp.Ref(); !errors.Is(err, ErrUnsupportedCipherSuite) {
		t.Fatalf("Ref of unsupported suite: %v, want ErrUnsupportedCipherSuite", err)
	}
}

func TestNewKeyPackageOptions(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	leafExt := Extension{Type: 0xff00, Data: []byte{1, 2}}
	opts := &KeyPackageOptions{
		Lifetime:       Lifetime{NotBefore: 1000, NotAfter: 2000},
		LeafExtensions: []Extension{leafExt, ApplicationIDExtension([]byte("app"))},
		Extensions:     []Extension{LastResortExtension()},
	}
	kp, _, _ := newTestKeyPackage(t, cs, opts)
	if *kp.LeafNode.Lifetime != opts.Lifetime {
		t.Errorf("lifetime = %+v, want %+v", *kp.LeafNode.Lifetime, opts.Lifetime)
	}
	if !kp.LeafNode.Capabilities.supportsExtension(0xff00) {
		t.Errorf("capabilities %+v do not list the leaf extension", kp.LeafNode.Capabilities)
	}
	if _, ok := findExtension(kp.Extensions, ExtensionTypeLastResort); !ok {
		t.Errorf("last_resort extension missing")
	}
	if err := ValidateKeyPackage(kp, cs, time.Unix(1500, 0)); err != nil {
		t.Errorf("ValidateKeyPackage inside the lifetime: %v", err)
	}
	for _, now := range []int64{999, 2001} {
		wantValidation(t, ValidateKeyPackage(kp, cs, time.Unix(now, 0)), "§7.3")
	}
	def, _, _ := newTestKeyPackage(t, cs, nil)
	if lt := *def.LeafNode.Lifetime; lt.NotBefore != 0 || lt.NotAfter != math.MaxUint64 {
		t.Errorf("default lifetime = %+v, want unbounded", lt)
	}
}

func TestNewKeyPackageRejects(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	sigPriv, _, _ := cs.GenerateSignatureKeyPair(nil)
	cred := NewBasicCredential([]byte("a"))
	if _, _, err := NewKeyPackage(nil, 0x0a0a, sigPriv, cred, nil); !errors.Is(err, ErrUnsupportedCipherSuite) {
		t.Errorf("unsupported suite: %v", err)
	}
	if _, _, err := NewKeyPackage(nil, cs, []byte{1}, cred, nil); err == nil {
		t.Errorf("bad signature key accepted")
	}
	caps := DefaultCapabilities(cs, CredentialTypeBasic)
	opts := &KeyPackageOptions{Capabilities: &caps, LeafExtensions: []Extension{{Type: 0xff00}}}
	if _, _, err := NewKeyPackage(nil, cs, sigPriv, cred, opts); err == nil {
		t.Errorf("unlisted leaf extension accepted")
	}
}

// resign re-signs kp's leaf and the key package after a test mutated them.
func resign(t *testing.T, kp *KeyPackage, sigPriv []byte) {
	t.Helper()
	if err := kp.sign(nil, sigPriv); err != nil {
		t.Fatalf("re-sign: %v", err)
	}
}

// TestValidateKeyPackageRules breaks each rule of RFC 9420 §10.1 (and the
// group-independent §7.3 rules) in turn.
func TestValidateKeyPackageRules(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	other := MLS_128_DHKEMP256_AES128GCM_SHA256_P256
	now := time.Unix(1500, 0)
	cases := []struct {
		name    string
		section string
		mutate  func(kp *KeyPackage) (resign bool)
	}{
		{"version", "§10.1", func(kp *KeyPackage) bool { kp.Version = 2; return true }},
		{"suite mismatch", "§10.1", func(kp *KeyPackage) bool { kp.CipherSuite = other; return false }},
		{"key package signature", "§10.1", func(kp *KeyPackage) bool { kp.Signature[0] ^= 1; return false }},
		{"signature over other content", "§10.1", func(kp *KeyPackage) bool { kp.Extensions = append(kp.Extensions, LastResortExtension()); return false }},
		{"leaf signature", "§7.3", func(kp *KeyPackage) bool { kp.LeafNode.Signature[0] ^= 1; return false }},
		{"init key equals encryption key", "§10.1", func(kp *KeyPackage) bool { kp.InitKey = kp.LeafNode.EncryptionKey; return true }},
		{"source update", "§7.3", func(kp *KeyPackage) bool {
			kp.LeafNode.Source, kp.LeafNode.Lifetime = LeafNodeSourceUpdate, nil
			return true
		}},
		{"source commit", "§7.3", func(kp *KeyPackage) bool {
			kp.LeafNode.Source, kp.LeafNode.Lifetime, kp.LeafNode.ParentHash = LeafNodeSourceCommit, nil, []byte{}
			return true
		}},
		{"not yet valid", "§7.3", func(kp *KeyPackage) bool { kp.LeafNode.Lifetime.NotBefore = 1501; return true }},
		{"expired", "§7.3", func(kp *KeyPackage) bool { kp.LeafNode.Lifetime.NotAfter = 1499; return true }},
		{"inverted lifetime", "§7.2", func(kp *KeyPackage) bool { *kp.LeafNode.Lifetime = Lifetime{2000, 1000}; return true }},
		{"version not in capabilities", "§7.2", func(kp *KeyPackage) bool { kp.LeafNode.Capabilities.Versions = []ProtocolVersion{0x0a0a}; return true }},
		{"credential type not in capabilities", "§7.2", func(kp *KeyPackage) bool {
			kp.LeafNode.Capabilities.Credentials = []CredentialType{CredentialTypeX509}
			return true
		}},
		{"unlisted leaf extension", "§7.3", func(kp *KeyPackage) bool {
			kp.LeafNode.Extensions = []Extension{{Type: 0xff00, Data: []byte{}}}
			return true
		}},
		{"unknown credential type", "§5.3.1", func(kp *KeyPackage) bool { kp.LeafNode.Credential.Type = 0x0a0a; return false }},
		{"empty x509 chain", "§5.3.1", func(kp *KeyPackage) bool {
			kp.LeafNode.Credential = Credential{Type: CredentialTypeX509, Certificates: [][]byte{}}
			kp.LeafNode.Capabilities.Credentials = []CredentialType{CredentialTypeX509}
			return true
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kp, sigPriv, _ := newTestKeyPackage(t, cs, &KeyPackageOptions{Lifetime: Lifetime{1000, 2000}})
			if err := ValidateKeyPackage(kp, cs, now); err != nil {
				t.Fatalf("before mutation: %v", err)
			}
			if c.mutate(kp) {
				resign(t, kp, sigPriv)
			}
			wantValidation(t, ValidateKeyPackage(kp, cs, now), c.section)
		})
	}
}

func TestValidateKeyPackageUnsupportedSuite(t *testing.T) {
	kp, _, _ := newTestKeyPackage(t, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, nil)
	kp.CipherSuite = 0x0a0a
	wantValidation(t, ValidateKeyPackage(kp, 0x0a0a, time.Time{}), "§10.1")
}

func TestKeyPackageGREASETolerated(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	caps := DefaultCapabilities(cs, CredentialTypeBasic)
	caps.Versions = append(caps.Versions, 0x0a0a)
	caps.CipherSuites = append(caps.CipherSuites, 0x1a1a)
	caps.Extensions = append(caps.Extensions, 0x2a2a)
	caps.Proposals = append(caps.Proposals, 0x3a3a)
	caps.Credentials = append(caps.Credentials, 0x4a4a)
	kp, _, _ := newTestKeyPackage(t, cs, &KeyPackageOptions{
		Capabilities:   &caps,
		LeafExtensions: []Extension{{Type: 0x2a2a, Data: []byte{}}},
		Extensions:     []Extension{{Type: 0x5a5a, Data: []byte{9}}},
	})
	if err := ValidateKeyPackage(kp, cs, time.Now()); err != nil {
		t.Fatalf("ValidateKeyPackage with GREASE values: %v", err)
	}
}

func TestKeyPackageDecodeRejects(t *testing.T) {
	kp, _, _ := newTestKeyPackage(t, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, nil)
	good, _ := encode(kp)
	cases := map[string][]byte{
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"empty":          {},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			var back KeyPackage
			if err := decode(b, &back); !errors.Is(err, ErrDecode) {
				t.Fatalf("decode = %v, want ErrDecode", err)
			}
		})
	}
}
