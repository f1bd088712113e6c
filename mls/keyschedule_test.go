package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() {
	vectorRunners["key-schedule.json"] = runKeyScheduleVectors
}

type keyScheduleEpoch struct {
	TreeHash                hexBytes `json:"tree_hash"`
	CommitSecret            hexBytes `json:"commit_secret"`
	PSKSecret               hexBytes `json:"psk_secret"`
	ConfirmedTranscriptHash hexBytes `json:"confirmed_transcript_hash"`
	GroupContext            hexBytes `json:"group_context"`
	JoinerSecret            hexBytes `json:"joiner_secret"`
	WelcomeSecret           hexBytes `json:"welcome_secret"`
	InitSecret              hexBytes `json:"init_secret"`
	SenderDataSecret        hexBytes `json:"sender_data_secret"`
	EncryptionSecret        hexBytes `json:"encryption_secret"`
	ExporterSecret          hexBytes `json:"exporter_secret"`
	EpochAuthenticator      hexBytes `json:"epoch_authenticator"`
	ExternalSecret          hexBytes `json:"external_secret"`
	ConfirmationKey         hexBytes `json:"confirmation_key"`
	MembershipKey           hexBytes `json:"membership_key"`
	ResumptionPSK           hexBytes `json:"resumption_psk"`
	ExternalPub             hexBytes `json:"external_pub"`
	Exporter                struct {
		Label   string   `json:"label"` // literal ASCII, not hex (README trap 3)
		Context hexBytes `json:"context"`
		Length  int      `json:"length"`
		Secret  hexBytes `json:"secret"`
	} `json:"exporter"`
}

type keyScheduleVector struct {
	CipherSuite       uint16             `json:"cipher_suite"`
	GroupID           hexBytes           `json:"group_id"`
	InitialInitSecret hexBytes           `json:"initial_init_secret"`
	Epochs            []keyScheduleEpoch `json:"epochs"`
}

func runKeyScheduleVectors(t *testing.T, path string) {
	for i, v := range loadVectors[keyScheduleVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			initSecret := []byte(v.InitialInitSecret)
			for n, ep := range v.Epochs {
				gc := GroupContext{
					Version: ProtocolVersionMLS10, CipherSuite: cs, GroupID: v.GroupID, Epoch: uint64(n),
					TreeHash: ep.TreeHash, ConfirmedTranscriptHash: ep.ConfirmedTranscriptHash,
				}
				gcBytes, err := encode(&gc)
				if err != nil {
					t.Fatalf("epoch %d: encode GroupContext: %v", n, err)
				}
				if !bytes.Equal(gcBytes, ep.GroupContext) {
					t.Fatalf("epoch %d: group_context = %x, want %x", n, gcBytes, ep.GroupContext)
				}
				initSecret = checkKeyScheduleEpoch(t, cs, n, initSecret, gcBytes, &ep)
			}
		})
	}
}

func checkKeyScheduleEpoch(t *testing.T, cs CipherSuite, n int, initSecret, gc []byte, ep *keyScheduleEpoch) []byte {
	t.Helper()
	joiner := deriveJoinerSecret(cs, initSecret, ep.CommitSecret, gc)
	welcome := deriveWelcomeSecret(cs, joiner, ep.PSKSecret)
	e := deriveEpochSecrets(cs, joiner, ep.PSKSecret, gc)
	_, externalPub, err := e.externalKeyPair()
	if err != nil {
		t.Fatalf("epoch %d: externalKeyPair: %v", n, err)
	}
	exported, err := e.exporter(ep.Exporter.Label, ep.Exporter.Context, ep.Exporter.Length)
	if err != nil {
		t.Fatalf("epoch %d: exporter: %v", n, err)
	}
	checks := []struct {
		name      string
		got, want []byte
	}{
		{"joiner_secret", joiner, ep.JoinerSecret},
		{"welcome_secret", welcome, ep.WelcomeSecret},
		{"init_secret", e.initSecret, ep.InitSecret},
		{"sender_data_secret", e.senderDataSecret, ep.SenderDataSecret},
		{"encryption_secret", e.encryptionSecret, ep.EncryptionSecret},
		{"exporter_secret", e.exporterSecret, ep.ExporterSecret},
		{"epoch_authenticator", e.epochAuthenticator, ep.EpochAuthenticator},
		{"external_secret", e.externalSecret, ep.ExternalSecret},
		{"confirmation_key", e.confirmationKey, ep.ConfirmationKey},
		{"membership_key", e.membershipKey, ep.MembershipKey},
		{"resumption_psk", e.resumptionPSK, ep.ResumptionPSK},
		{"external_pub", externalPub, ep.ExternalPub},
		{"exporter.secret", exported, ep.Exporter.Secret},
	}
	for _, c := range checks {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("epoch %d: %s = %x, want %x", n, c.name, c.got, c.want)
		}
	}
	return e.initSecret
}

// TestExternalInit checks that both sides of external init (RFC 9420 §8.3)
// agree on init_secret, and that a corrupted kem_output does not.
func TestExternalInit(t *testing.T) {
	for cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519; cs <= MLS_256_DHKEMP384_AES256GCM_SHA384_P384; cs++ {
		t.Run(cs.String(), func(t *testing.T) {
			e := deriveEpochSecrets(cs, make([]byte, cs.Nh()), nil, []byte("gc"))
			priv, pub, err := e.externalKeyPair()
			if err != nil {
				t.Fatalf("externalKeyPair: %v", err)
			}
			kemOutput, sent, err := externalInitSend(cs, nil, pub)
			if err != nil {
				t.Fatalf("externalInitSend: %v", err)
			}
			got, err := externalInitReceive(cs, priv, kemOutput)
			if err != nil {
				t.Fatalf("externalInitReceive: %v", err)
			}
			if !bytes.Equal(got, sent) || len(got) != cs.Nh() {
				t.Errorf("init secrets differ: %x vs %x", got, sent)
			}
			var ve *ValidationError
			if _, err := externalInitReceive(cs, priv, kemOutput[1:]); !errors.As(err, &ve) {
				t.Errorf("truncated kem_output: got %v, want *ValidationError", err)
			}
		})
	}
}

// TestEpochSecretsCodec round-trips epoch secrets, checks the confirmation
// tag helpers, the exporter length limit and the initial epoch.
func TestEpochSecretsCodec(t *testing.T) {
	cs := MLS_256_DHKEMP521_AES256GCM_SHA512_P521
	e, err := initialEpochSecrets(cs, nil, []byte("group context"))
	if err != nil {
		t.Fatalf("initialEpochSecrets: %v", err)
	}
	b, err := encode(e)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var got epochSecrets
	if err := decode(b, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !got.equal(e) {
		t.Errorf("round trip changed the secrets")
	}
	if err := decode(b[:len(b)-1], &got); err == nil {
		t.Errorf("truncated encoding decoded")
	}
	tag := e.confirmationTag([]byte("cth"))
	if !e.verifyConfirmationTag([]byte("cth"), tag) || e.verifyConfirmationTag([]byte("cti"), tag) {
		t.Errorf("confirmation tag check wrong")
	}
	if _, err := e.exporter("x", nil, 255*cs.Nh()+1); !errors.Is(err, ErrExporterLength) {
		t.Errorf("exporter over length: %v", err)
	}
	key, nonce := welcomeKeyNonce(cs, deriveWelcomeSecret(cs, e.initSecret, nil))
	if len(key) != cs.AEADKeyLen() || len(nonce) != cs.AEADNonceLen() {
		t.Errorf("welcome key/nonce lengths %d/%d", len(key), len(nonce))
	}
}
