package mls

import (
	"bytes"
	"testing"
)

func init() {
	vectorRunners["passive-client-welcome.json"] = runPassiveClientVectors
	vectorRunners["passive-client-handling-commit.json"] = runPassiveClientVectors
	vectorRunners["passive-client-random.json"] = runPassiveClientVectors
}

// passiveClientVector is one entry of the passive-client-*.json files.
type passiveClientVector struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID hexBytes `json:"psk_id"`
		PSK   hexBytes `json:"psk"`
	} `json:"external_psks"`
	KeyPackage                hexBytes `json:"key_package"`
	SignaturePriv             hexBytes `json:"signature_priv"`
	EncryptionPriv            hexBytes `json:"encryption_priv"`
	InitPriv                  hexBytes `json:"init_priv"`
	Welcome                   hexBytes `json:"welcome"`
	RatchetTree               hexBytes `json:"ratchet_tree"`
	InitialEpochAuthenticator hexBytes `json:"initial_epoch_authenticator"`
	Epochs                    []struct {
		Proposals          []hexBytes `json:"proposals"`
		Commit             hexBytes   `json:"commit"`
		EpochAuthenticator hexBytes   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

func runPassiveClientVectors(t *testing.T, path string) {
	for i, v := range loadVectors[passiveClientVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) { runPassiveClient(t, &v) })
	}
}

func runPassiveClient(t *testing.T, v *passiveClientVector) {
	psks := map[string][]byte{}
	for _, p := range v.ExternalPSKs {
		psks[string(p.PSKID)] = p.PSK
	}
	cfg := Config{ExternalPSK: func(id []byte) ([]byte, bool) { b, ok := psks[string(id)]; return b, ok }}
	kpMsg := parseMessage(t, v.KeyPackage, WireFormatKeyPackage)
	bundle := &KeyPackageBundle{KeyPackage: *kpMsg.KeyPackage, InitPrivateKey: v.InitPriv,
		EncryptionPrivateKey: v.EncryptionPriv, SignaturePrivateKey: v.SignaturePriv}
	wel := parseMessage(t, v.Welcome, WireFormatWelcome)
	var tree []byte
	if v.RatchetTree != nil {
		tree = v.RatchetTree
	}
	g, err := JoinFromWelcome(cfg, wel.Welcome, bundle, tree)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if got := g.EpochAuthenticator(); !bytes.Equal(got, v.InitialEpochAuthenticator) {
		t.Fatalf("initial epoch authenticator = %x, want %x", got, []byte(v.InitialEpochAuthenticator))
	}
	for e, ep := range v.Epochs {
		for j, pb := range ep.Proposals {
			msg, err := ParseMLSMessage(pb)
			if err != nil {
				t.Fatalf("epoch %d proposal %d: parse: %v", e, j, err)
			}
			if _, err := g.Process(msg); err != nil {
				t.Fatalf("epoch %d proposal %d: %v", e, j, err)
			}
		}
		msg, err := ParseMLSMessage(ep.Commit)
		if err != nil {
			t.Fatalf("epoch %d commit: parse: %v", e, err)
		}
		pm, err := g.Process(msg)
		if err != nil {
			t.Fatalf("epoch %d commit: %v", e, err)
		}
		if pm.Commit == nil {
			t.Fatalf("epoch %d: commit message gave %s content", e, pm.ContentType)
		}
		if err := g.MergeStagedCommit(pm.Commit); err != nil {
			t.Fatalf("epoch %d merge: %v", e, err)
		}
		if got := g.EpochAuthenticator(); !bytes.Equal(got, ep.EpochAuthenticator) {
			t.Fatalf("epoch %d authenticator = %x, want %x", e, got, []byte(ep.EpochAuthenticator))
		}
	}
}
