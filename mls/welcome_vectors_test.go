package mls

import (
	"path/filepath"
	"testing"
)

// TestWelcomeVectorsGroupJoin runs welcome.json through the group layer's
// Welcome opening (openWelcome, used by JoinFromWelcome): our GroupSecrets,
// the GroupInfo decrypted and verified with signer_pub, and the
// confirmation tag from the key schedule started at joiner_secret. The
// file's registered runner (welcome_test.go) checks the building blocks;
// this checks the join path built on them.
func TestWelcomeVectorsGroupJoin(t *testing.T) {
	path := filepath.Join(vectorDir(), "welcome.json")
	for i, v := range loadVectors[welcomeVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			kp := parseMessage(t, v.KeyPackage, WireFormatKeyPackage).KeyPackage
			w := parseMessage(t, v.Welcome, WireFormatWelcome).Welcome
			gs, gi, pskSecret, err := openWelcome(&Config{}, w, kp, v.InitPriv)
			if err != nil {
				t.Fatalf("open welcome: %v", err)
			}
			if err := gi.verify(v.SignerPub); err != nil {
				t.Fatal(err)
			}
			gc, err := encode(&gi.GroupContext)
			if err != nil {
				t.Fatal(err)
			}
			secrets := deriveEpochSecrets(kp.CipherSuite, gs.JoinerSecret, pskSecret, gc)
			if !secrets.verifyConfirmationTag(gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag) {
				t.Fatal("confirmation tag does not verify")
			}
			// A Welcome for another key package is refused.
			other := *kp
			other.InitKey = append([]byte{}, kp.LeafNode.EncryptionKey...)
			if _, _, _, err := openWelcome(&Config{}, w, &other, v.InitPriv); !isValidation(err, "§12.4.3.1") {
				t.Fatalf("welcome opened for another key package: %v", err)
			}
		})
	}
}
