// Package identity owns XMTP inbox and installation identities: inbox ids,
// member identifiers, the signature text of identity updates, every kind of
// identity signature (ERC-191, installation-key Ed25519ph, passkey,
// legacy-delegated, smart-contract-wallet), the association-state rules, and
// builders for the identity updates a client publishes.
//
// The facts come from shared/spec/xmtp-wire-identity-and-api.md (cited as
// "spec §N"), which pins libxmtp 1.9.1; every byte this package produces or
// checks must match what libxmtp produces or checks.
//
// # Trust
//
// Decoded wire bytes are untrusted: [DecodeUpdate] returns an
// [UnverifiedUpdate], and only [UnverifiedUpdate.Verify] turns it into a
// [VerifiedUpdate], the one type [ApplyUpdates] accepts. A [State] is only
// ever built from verified updates.
//
// # Errors
//
// Malformed input gives a [*DecodeError]; a signature that does not verify
// gives a [*SignatureError] (smart-contract-wallet signatures give one that
// wraps [ErrSmartContractWalletUnsupported]); a broken association rule gives
// a [*RuleError] naming the [Rule]. Each of those drops only the update it
// concerns. Misuse of the builders gives a sentinel error.
//
// # Imports
//
// The package is pure: no I/O, no logging, no clock, no context. It imports
// only wire packages of this module, plus x/crypto (keccak-256), the decred
// secp256k1 package and protobuf. It must not import mls, storage or
// anything above it (STYLE.md §1).
package identity
