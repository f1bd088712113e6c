package client

import (
	"bytes"
	"encoding/hex"
	"testing"

	"mlsbridge/mls"
	"mlsbridge/wire/mlsapi"
)

func TestWelcomeHPKEInfo(t *testing.T) {
	want := "134d4c5320312e30204d4c535f57454c434f4d4500" // spec §7.2
	if got := hex.EncodeToString(welcomeHPKEInfo); got != want {
		t.Fatalf("info = %s, want %s", got, want)
	}
}

func TestWrapWelcomeRoundTrip(t *testing.T) {
	priv, pub, err := Suite.GenerateHPKEKeyPair(testRand(8))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte{0, 1, 0, 3, 0xde, 0xad}
	data, md, err := wrapWelcome(testRand(9), pub, msg, &mlsapi.WelcomeMetadata{MessageCursor: 42})
	if err != nil {
		t.Fatal(err)
	}
	// data is HPKECiphertext{kem_output<V>, ciphertext<V>}.
	r := mls.NewReader(data)
	if enc := r.Opaque(); len(enc) != 32 {
		t.Fatalf("kem_output of %d bytes", len(enc))
	}
	got, gotMD, err := unwrapWelcome(priv, data, md)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) || gotMD.GetMessageCursor() != 42 {
		t.Fatalf("unwrapped %x cursor %d", got, gotMD.GetMessageCursor())
	}
	// Without metadata the cursor is 0; a swapped or damaged seal fails.
	if _, gotMD, err := unwrapWelcome(priv, data, nil); err != nil || gotMD.GetMessageCursor() != 0 {
		t.Fatalf("no metadata: %v %v", gotMD, err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	if _, _, err := unwrapWelcome(priv, bad, md); err == nil {
		t.Fatal("damaged ciphertext opened")
	}
	otherPriv, _, _ := Suite.GenerateHPKEKeyPair(testRand(10))
	if _, _, err := unwrapWelcome(otherPriv, data, md); err == nil {
		t.Fatal("opened with the wrong key")
	}
}
