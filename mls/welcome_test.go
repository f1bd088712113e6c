package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() { vectorRunners["welcome.json"] = runWelcomeVectors }

type welcomeVector struct {
	CipherSuite uint16   `json:"cipher_suite"`
	InitPriv    hexBytes `json:"init_priv"`
	SignerPub   hexBytes `json:"signer_pub"`
	KeyPackage  hexBytes `json:"key_package"`
	Welcome     hexBytes `json:"welcome"`
}

// testKeyPackageRef computes MakeKeyPackageRef (RFC 9420 §5.2) directly, so
// this test does not depend on owner B's helper.
func testKeyPackageRef(t *testing.T, kp *KeyPackage) []byte {
	t.Helper()
	b, err := encode(kp)
	if err != nil {
		t.Fatalf("encode key package: %v", err)
	}
	return kp.CipherSuite.RefHash("MLS 1.0 KeyPackage Reference", b)
}

// parseMessage decodes an MLSMessage and checks that it re-encodes to the
// same bytes.
func parseMessage(t *testing.T, b []byte, wf WireFormat) *MLSMessage {
	t.Helper()
	m, err := ParseMLSMessage(b)
	if err != nil {
		t.Fatalf("parse MLSMessage: %v", err)
	}
	if m.WireFormat != wf {
		t.Fatalf("wire format = %s, want %s", m.WireFormat, wf)
	}
	again, err := m.Bytes()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("MLSMessage does not re-encode to the same bytes (err %v)", err)
	}
	return m
}

func runWelcomeVectors(t *testing.T, path string) {
	for i, v := range loadVectors[welcomeVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			kp := parseMessage(t, v.KeyPackage, WireFormatKeyPackage).KeyPackage
			w := parseMessage(t, v.Welcome, WireFormatWelcome).Welcome
			if w.CipherSuite != cs || kp.CipherSuite != cs {
				t.Fatalf("suites: welcome %d, key package %d, want %d", w.CipherSuite, kp.CipherSuite, cs)
			}
			ref := testKeyPackageRef(t, kp)
			gs, err := openGroupSecrets(w, ref, v.InitPriv)
			if err != nil {
				t.Fatalf("open group secrets: %v", err)
			}
			welcomeSecret := deriveWelcomeSecret(cs, gs.JoinerSecret, nil)
			gi, err := decryptGroupInfo(cs, welcomeSecret, w.EncryptedGroupInfo)
			if err != nil {
				t.Fatalf("decrypt group info: %v", err)
			}
			if err := gi.verify(v.SignerPub); err != nil {
				t.Fatalf("verify group info: %v", err)
			}
			gc, err := encode(&gi.GroupContext)
			if err != nil {
				t.Fatal(err)
			}
			secrets := deriveEpochSecrets(cs, gs.JoinerSecret, nil, gc)
			if !secrets.verifyConfirmationTag(gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag) {
				t.Fatalf("confirmation tag does not match the key schedule from joiner_secret")
			}
			checkWelcomeRoundTrip(t, cs, kp, v.InitPriv, gs, gi, welcomeSecret)
		})
	}
}

// checkWelcomeRoundTrip rebuilds a Welcome for kp with our own encryption
// helpers and checks that it opens to the same GroupSecrets and GroupInfo.
func checkWelcomeRoundTrip(t *testing.T, cs CipherSuite, kp *KeyPackage, initPriv []byte, gs *GroupSecrets, gi *GroupInfo, welcomeSecret []byte) {
	t.Helper()
	egi, err := encryptGroupInfo(cs, welcomeSecret, gi)
	if err != nil {
		t.Fatalf("encrypt group info: %v", err)
	}
	ref := testKeyPackageRef(t, kp)
	other := append([]byte{}, ref...)
	other[0] ^= 1
	entry, err := sealGroupSecrets(nil, cs, ref, kp.InitKey, egi, gs)
	if err != nil {
		t.Fatalf("seal group secrets: %v", err)
	}
	decoy, err := sealGroupSecrets(nil, cs, other, kp.InitKey, egi, &GroupSecrets{JoinerSecret: []byte("decoy")})
	if err != nil {
		t.Fatalf("seal decoy group secrets: %v", err)
	}
	w := &Welcome{CipherSuite: cs, Secrets: []EncryptedGroupSecrets{decoy, entry}, EncryptedGroupInfo: egi}
	wire, err := (&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome, Welcome: w}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	w = parseMessage(t, wire, WireFormatWelcome).Welcome
	gs2, err := openGroupSecrets(w, ref, initPriv)
	if err != nil {
		t.Fatalf("open own group secrets: %v", err)
	}
	if !bytes.Equal(mustEncode(t, gs2), mustEncode(t, gs)) {
		t.Fatalf("group secrets differ after round trip")
	}
	gi2, err := decryptGroupInfo(cs, welcomeSecret, w.EncryptedGroupInfo)
	if err != nil {
		t.Fatalf("decrypt own group info: %v", err)
	}
	if !bytes.Equal(mustEncode(t, gi2), mustEncode(t, gi)) {
		t.Fatalf("group info differs after round trip")
	}
	// The HPKE context binds encrypted_group_info: another one must fail.
	w.EncryptedGroupInfo = append([]byte{}, egi...)
	w.EncryptedGroupInfo[0] ^= 1
	if _, err := openGroupSecrets(w, ref, initPriv); !isValidation(err, "§12.4.3.1") {
		t.Fatalf("group secrets with a changed encrypted_group_info: err = %v, want §12.4.3.1", err)
	}
	if _, err := decryptGroupInfo(cs, welcomeSecret, w.EncryptedGroupInfo); !isValidation(err, "§12.4.3.1") {
		t.Fatalf("tampered group info: err = %v, want §12.4.3.1", err)
	}
	other[0] ^= 3
	if _, err := openGroupSecrets(w, other, initPriv); !isValidation(err, "§12.4.3.1") {
		t.Fatalf("unknown key package ref: err = %v, want §12.4.3.1", err)
	}
}

func mustEncode(t *testing.T, v marshaler) []byte {
	t.Helper()
	b, err := encode(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return b
}

// isValidation reports whether err is a *ValidationError citing section.
func isValidation(err error, section string) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Section == section
}

func TestGroupInfoSignVerify(t *testing.T) {
	for _, cs := range []CipherSuite{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_256_DHKEMP384_AES256GCM_SHA384_P384} {
		t.Run(cs.String(), func(t *testing.T) {
			priv, pub, err := cs.GenerateSignatureKeyPair(nil)
			if err != nil {
				t.Fatal(err)
			}
			gi := &GroupInfo{
				GroupContext: GroupContext{
					Version: ProtocolVersionMLS10, CipherSuite: cs, GroupID: []byte("group"), Epoch: 3,
					TreeHash: []byte("th"), ConfirmedTranscriptHash: []byte("cth"), Extensions: []Extension{},
				},
				Extensions:      []Extension{{Type: ExtensionTypeExternalPub, Data: []byte("pub")}},
				ConfirmationTag: []byte("tag"),
				Signer:          2,
			}
			if err := gi.sign(nil, priv); err != nil {
				t.Fatal(err)
			}
			var back GroupInfo
			if err := decode(mustEncode(t, gi), &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := back.verify(pub); err != nil {
				t.Fatalf("verify: %v", err)
			}
			back.Signer = 1
			if err := back.verify(pub); !isValidation(err, "§12.4.3") {
				t.Fatalf("changed signer: err = %v, want §12.4.3", err)
			}
		})
	}
}

func TestGroupSecretsCodec(t *testing.T) {
	cases := []GroupSecrets{
		{JoinerSecret: []byte{1, 2}, PSKs: []PreSharedKeyID{}},
		{JoinerSecret: []byte{1}, PathSecret: &PathSecret{PathSecret: []byte{9, 9}}, PSKs: []PreSharedKeyID{
			{Type: PSKTypeExternal, PSKID: []byte("id"), Nonce: []byte{0, 1}},
		}},
	}
	for i := range cases {
		b := mustEncode(t, &cases[i])
		var back GroupSecrets
		if err := decode(b, &back); err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if !bytes.Equal(mustEncode(t, &back), b) {
			t.Fatalf("case %d: re-encoding differs", i)
		}
	}
	// optional<PathSecret> presence byte 2 is malformed.
	if err := decode([]byte{0x01, 0xaa, 0x02}, new(GroupSecrets)); !errors.Is(err, ErrDecode) {
		t.Fatalf("bad optional: err = %v, want ErrDecode", err)
	}
}
