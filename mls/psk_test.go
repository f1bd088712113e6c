package mls

import (
	"bytes"
	"testing"
)

func init() {
	vectorRunners["psk_secret.json"] = runPSKSecretVectors
}

type pskSecretVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	PSKs        []struct {
		PSKID    hexBytes `json:"psk_id"`
		PSK      hexBytes `json:"psk"`
		PSKNonce hexBytes `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret hexBytes `json:"psk_secret"`
}

func runPSKSecretVectors(t *testing.T, path string) {
	for i, v := range loadVectors[pskSecretVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			var in []pskInput
			for _, p := range v.PSKs {
				id := PreSharedKeyID{Type: PSKTypeExternal, PSKID: p.PSKID, Nonce: p.PSKNonce}
				in = append(in, pskInput{ID: id, PSK: p.PSK})
			}
			got, err := computePSKSecret(cs, in)
			if err != nil {
				t.Fatalf("computePSKSecret: %v", err)
			}
			if !bytes.Equal(got, v.PSKSecret) {
				t.Errorf("psk_secret = %x, want %x", got, v.PSKSecret)
			}
		})
	}
}

// TestPreSharedKeyIDCodec round-trips both PSK types and rejects unknown
// types and usages.
func TestPreSharedKeyIDCodec(t *testing.T) {
	ids := []PreSharedKeyID{
		{Type: PSKTypeExternal, PSKID: []byte("id"), Nonce: []byte("nonce")},
		{Type: PSKTypeResumption, Usage: ResumptionPSKUsageBranch, PSKGroupID: []byte("g"), PSKEpoch: 7, Nonce: []byte{1}},
	}
	for _, id := range ids {
		b, err := encode(&id)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var got PreSharedKeyID
		if err := decode(b, &got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		b2, _ := encode(&got)
		if !bytes.Equal(b, b2) {
			t.Errorf("round trip changed %x to %x", b, b2)
		}
	}
	for _, bad := range [][]byte{{3, 0, 0}, {2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 0}} {
		var id PreSharedKeyID
		if err := decode(bad, &id); err == nil {
			t.Errorf("decode(%x) succeeded", bad)
		}
	}
}
