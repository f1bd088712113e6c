package mls

import (
	"bytes"
	"errors"
	"testing"
)

// TestSigningKey checks the parsed key against the byte-slice API in every
// suite: same public key, signatures that verify, malformed keys refused.
func TestSigningKey(t *testing.T) {
	for _, cs := range allSuites {
		t.Run(cs.String(), func(t *testing.T) {
			priv, pub, err := cs.GenerateSignatureKeyPair(nil)
			if err != nil {
				t.Fatal(err)
			}
			k, err := cs.parseSigningKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.public(); err != nil || !bytes.Equal(got, pub) {
				t.Fatalf("public() = %x, %v; want %x", got, err, pub)
			}
			sig, err := k.signWithLabel(nil, "test", []byte("content"))
			if err != nil || !cs.VerifyWithLabel(pub, "test", []byte("content"), sig) {
				t.Fatalf("parsed key's signature does not verify (%v)", err)
			}
			sig, err = cs.SignWithLabel(nil, priv, "test", []byte("content"))
			if err != nil || !cs.VerifyWithLabel(pub, "test", []byte("content"), sig) {
				t.Fatalf("SignWithLabel's signature does not verify (%v)", err)
			}
			if _, err := cs.parseSigningKey(append(bytes.Clone(priv), 0)); err == nil {
				t.Error("long private key accepted")
			}
			if _, err := cs.SignWithLabel(nil, nil, "test", nil); err == nil {
				t.Error("SignWithLabel with no key succeeded")
			}
		})
	}
}

// TestGroupSigningKeyParsedOnce checks that a group parses its signature
// key when it is created, joined or restored, and shares the parsed key
// with later epochs and its pending commit.
func TestGroupSigningKeyParsedOnce(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfg := Config{UseRatchetTreeExtension: true}
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)
	for _, c := range []*testClient{alice, bob, carol} {
		if c.g.s.signer == nil {
			t.Fatalf("%s: no parsed signature key after create/join", c.name)
		}
	}
	k := bob.g.s.signer
	commitAndDeliver(t, bob, CommitOptions{}, alice, carol)
	if bob.g.s.signer != k {
		t.Fatal("the next epoch parsed the key again")
	}
	if _, err := bob.g.Commit(CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	restored, err := UnmarshalGroup(cfg, mustMarshal(t, bob.g))
	if err != nil {
		t.Fatal(err)
	}
	if restored.s.signer == nil || restored.pending.staged.next.signer != restored.s.signer {
		t.Fatal("restored group does not share one parsed key with its pending commit")
	}
	// A state built without the parsed key (as the benchmark fixture does)
	// parses it on first use.
	restored.s.signer = nil
	if _, err := restored.GroupInfo(false); err != nil || restored.s.signer == nil {
		t.Fatalf("lazy parse: %v", err)
	}
	// A restored state whose key does not parse is refused at load time.
	broken, err := UnmarshalGroup(cfg, mustMarshal(t, carol.g))
	if err != nil {
		t.Fatal(err)
	}
	broken.s.sigPriv = broken.s.sigPriv[:5]
	if _, err := UnmarshalGroup(cfg, mustMarshal(t, broken)); err == nil {
		t.Fatal("state with a malformed signature key accepted")
	}
}

// TestJoinFromWelcomeChecksSignatureKey checks that a bundle whose
// signature private key does not match its key package is API misuse.
func TestJoinFromWelcomeChecksSignatureKey(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	alice, _, _ := newThreeMemberGroup(t, cs, Config{UseRatchetTreeExtension: true})
	dave := newTestClient(t, cs, "dave")
	res, err := alice.g.Commit(CommitOptions{Adds: []KeyPackage{dave.bundle.KeyPackage}})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, priv := range map[string][]byte{"other key": other, "malformed key": other[:3]} {
		bundle := *dave.bundle
		bundle.SignaturePrivateKey = priv
		if _, err := JoinFromWelcome(Config{}, res.Welcome, &bundle, nil); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: err = %v, want ErrInvalidOptions", name, err)
		}
	}
	if _, err := JoinFromWelcome(Config{}, res.Welcome, dave.bundle, nil); err != nil {
		t.Fatal(err)
	}
}
