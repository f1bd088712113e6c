package identity

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/legacy"
)

// libxmtp's validate_good_key_round_trip vector: a v2 SignedPublicKey whose
// wallet signature recovers to this address.
const (
	legacyKeyVector     = "0a4f08c0c3a5aecb99e7d5171a430a4104d854aefcc6e1dba8efa63ee9ce6c359b5784082b5b245b515dd543f145051ff9ba817790042c364cb95f3d17e74807a91246714fad520d2592c92baeb4217d2b124612440a40078864ac9bf7e6fffdf74e32d4e2294eefb788f77a589bf5dbb7d7ca2a59a28060607883114626e7021b5b1d426e808c012ad9b902b5d0648f8fdb9fae01e9bf1001"
	legacyVectorAddress = Address("0x220ca99fb7fafa18cb623d924794dde47b4bc2e9")
)

func TestLegacyKeyVector(t *testing.T) {
	var p legacy.SignedPublicKey
	if err := proto.Unmarshal(mustHex(t, legacyKeyVector), &p); err != nil {
		t.Fatal(err)
	}
	k := decodeLegacyKey(&p)
	if k.SignatureKind != LegacyWalletECDSACompact {
		t.Fatalf("signature kind %d", k.SignatureKind)
	}
	wallet, _, err := recoverERC191(legacyKeyText(k.KeyBytes), append(clone(k.Signature), byte(k.Recovery)))
	if err != nil {
		t.Fatal(err)
	}
	if wallet != legacyVectorAddress {
		t.Fatalf("wallet = %s, want %s", wallet, legacyVectorAddress)
	}
	// Corrupting the key bytes changes the signed text.
	k.KeyBytes[0]++
	if got, _, _ := recoverERC191(legacyKeyText(k.KeyBytes), append(clone(k.Signature), byte(k.Recovery))); got == legacyVectorAddress {
		t.Error("corrupted key still recovers the wallet")
	}
}

// makeLegacy builds a legacy delegated signature over text: wallet signs a
// fresh v2 key, and the v2 key (signer) signs text.
func makeLegacy(t testing.TB, wallet, v2 *EthereumSigner, text string) *LegacyDelegatedSignature {
	t.Helper()
	pub := v2.key.PubKey().SerializeUncompressed()
	keyBytes, err := proto.Marshal(&legacy.UnsignedPublicKey{
		CreatedNs: 1,
		Union: &legacy.UnsignedPublicKey_Secp256K1Uncompressed_{
			Secp256K1Uncompressed: &legacy.UnsignedPublicKey_Secp256K1Uncompressed{Bytes: pub},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := wallet.SignText(legacyKeyText(keyBytes))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := v2.SignText(text)
	if err != nil {
		t.Fatal(err)
	}
	return &LegacyDelegatedSignature{
		DelegatedKey: LegacySignedPublicKey{KeyBytes: keyBytes, SignatureKind: LegacyWalletECDSACompact, Signature: ws[:64], Recovery: uint32(ws[64])},
		Signature:    ls,
	}
}

func TestLegacyDelegatedSignature(t *testing.T) {
	wallet, v2 := newWallet(t, 10), newWallet(t, 11)
	text := "identity text"
	sig := makeLegacy(t, wallet, v2, text)
	v, err := VerifySignature(text, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Signer().Equal(wallet.Identifier()) || v.Kind() != SignatureLegacyDelegated {
		t.Fatalf("verified as %v %v", v.Signer(), v.Kind())
	}
	wantRaw := append(clone(sig.DelegatedKey.Signature), byte(sig.DelegatedKey.Recovery))
	if !bytes.Equal(v.RawBytes(), wantRaw) {
		t.Error("raw bytes are not the wallet's signature over the key")
	}

	other := makeLegacy(t, wallet, newWallet(t, 12), text)
	mutate := map[string]func(s *LegacyDelegatedSignature){
		"other text":           func(s *LegacyDelegatedSignature) { s.Signature, _ = v2.SignText("x") },
		"other v2 key":         func(s *LegacyDelegatedSignature) { s.Signature = other.Signature },
		"no wallet sig":        func(s *LegacyDelegatedSignature) { s.DelegatedKey.SignatureKind = 0 },
		"short wallet sig":     func(s *LegacyDelegatedSignature) { s.DelegatedKey.Signature = s.DelegatedKey.Signature[:63] },
		"key bytes garbage":    func(s *LegacyDelegatedSignature) { s.DelegatedKey.KeyBytes = []byte{0xff} },
		"key without point":    func(s *LegacyDelegatedSignature) { s.DelegatedKey.KeyBytes = []byte{0x08, 0x01} },
		"legacy sig too short": func(s *LegacyDelegatedSignature) { s.Signature = s.Signature[:64] },
	}
	for name, f := range mutate {
		s := *sig
		f(&s)
		if _, err := VerifySignature(text, &s); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
	}
}

func TestLegacyDelegatedRoundTripProto(t *testing.T) {
	sig := makeLegacy(t, newWallet(t, 13), newWallet(t, 14), "t")
	p := sig.proto()
	back, err := decodeSignature("s", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignature("t", back); err != nil {
		t.Fatalf("decoded legacy signature: %v", err)
	}
}
