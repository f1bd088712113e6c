package identity_test

import (
	"fmt"
	"math/rand/v2"

	"mlsbridge/identity"
)

// A client creates an inbox for its wallet with its first installation; a
// node (or any peer) decodes, verifies and applies the published bytes.
func Example() {
	random := rand.NewChaCha8([32]byte{1}) // tests only: use nil (crypto/rand) for real keys
	wallet, _ := identity.GenerateEthereumSigner(random)
	installation, _ := identity.GenerateInstallationSigner(random)

	update, inboxID, err := identity.CreateInboxUpdate(wallet, installation, 1, 1_769_689_696_000_000_000)
	if err != nil {
		panic(err)
	}
	published, _ := update.Marshal()

	received, err := identity.DecodeUpdate(published)
	if err != nil {
		panic(err)
	}
	verified, err := received.Verify()
	if err != nil {
		panic(err)
	}
	state, err := identity.ApplyUpdates(nil, []*identity.VerifiedUpdate{verified})
	if err != nil {
		panic(err)
	}
	fmt.Println(state.InboxID() == inboxID)
	fmt.Println(state.RecoveryIdentifier().Equal(wallet.Identifier()))
	fmt.Println(len(state.Installations()), state.HasInstallation(installation.ID()))
	// Output:
	// true
	// true
	// 1 true
}
