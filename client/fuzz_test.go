package client

import (
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/wire/mlsapi"
)

// The fuzz targets feed untrusted bytes to the client's decoders: none may
// panic, and what decodes must re-encode to the same bytes.

func FuzzVerifyKeyPackage(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	r := testRand(11)
	priv, _, _ := Suite.GenerateSignatureKeyPair(r)
	kp, err := newKeyPackage(r, now, priv, testInbox)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kp.Encoded)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := verifyKeyPackage(b, identity.InstallationID{}, now)
		if err != nil {
			return
		}
		again, err := v.KeyPackage.MarshalBinary()
		if err != nil || string(again) != string(b) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
	})
}

func FuzzUnwrapWelcome(f *testing.F) {
	priv, pub, err := Suite.GenerateHPKEKeyPair(testRand(12))
	if err != nil {
		f.Fatal(err)
	}
	data, md, err := wrapWelcome(testRand(13), pub, []byte("welcome"), &mlsapi.WelcomeMetadata{MessageCursor: 7})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, md)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, data, md []byte) {
		_, _, _ = unwrapWelcome(priv, data, md)
	})
}

func FuzzParseGroupExtensions(f *testing.F) {
	exts, err := newGroupExtensions(testRand(14), testInbox, &GroupOptions{Name: "x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(exts[0].Data, exts[1].Data, exts[2].Data, exts[3].Data)
	f.Fuzz(func(t *testing.T, imm, mut, mem, perm []byte) {
		_, _ = parseGroupExtensions([]mls.Extension{
			{Type: ExtensionImmutableMetadata, Data: imm}, {Type: ExtensionMutableMetadata, Data: mut},
			{Type: ExtensionGroupMembership, Data: mem}, {Type: ExtensionGroupPermissions, Data: perm},
		})
	})
}
