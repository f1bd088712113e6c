package identity

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"mlsbridge/wire/association"
)

// AccountID is a CAIP-10 account id, "namespace:reference:address", e.g.
// "eip155:8453:0xabc…", naming a smart-contract wallet on a chain (spec
// §5.4 item 3).
type AccountID struct {
	// Chain is "namespace:reference", e.g. "eip155:8453".
	Chain string
	// Account is the address part, verbatim.
	Account string
}

var (
	caipChain   = regexp.MustCompile(`^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$`)
	caipAccount = regexp.MustCompile(`^[-.%a-zA-Z0-9]{1,128}$`)
)

// ParseAccountID parses a CAIP-10 account id with libxmtp's rules: exactly
// three ":"-separated parts, the chain matching [-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}
// and the address [-.%a-zA-Z0-9]{1,128}.
func ParseAccountID(s string) (AccountID, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return AccountID{}, fmt.Errorf("%w: account id needs 3 parts, got %d", ErrInvalidIdentifier, len(parts))
	}
	id := AccountID{Chain: parts[0] + ":" + parts[1], Account: parts[2]}
	if !caipChain.MatchString(id.Chain) || !caipAccount.MatchString(id.Account) {
		return AccountID{}, fmt.Errorf("%w: malformed account id", ErrInvalidIdentifier)
	}
	return id, nil
}

// String returns "chain:account".
func (a AccountID) String() string { return a.Chain + ":" + a.Account }

// EVMChainID returns the number after "eip155:".
func (a AccountID) EVMChainID() (uint64, error) {
	n, ok := strings.CutPrefix(a.Chain, "eip155:")
	if !ok {
		return 0, fmt.Errorf("%w: chain is not eip155", ErrInvalidIdentifier)
	}
	id, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: eip155 chain id is not a u64", ErrInvalidIdentifier)
	}
	return id, nil
}

// SmartContractWalletSignature is an ERC-1271 / ERC-6492 signature (wire:
// erc_6492): valid iff the wallet contract at AccountID says so for the
// EIP-191 hash of the signature text at BlockNumber (spec §5.4 item 3).
// This package cannot ask a chain: verifying one fails with a
// [*SignatureError] wrapping [ErrSmartContractWalletUnsupported].
type SmartContractWalletSignature struct {
	AccountID   AccountID
	BlockNumber uint64
	Signature   []byte
}

var _ UnverifiedSignature = (*SmartContractWalletSignature)(nil)

// Kind returns [SignatureERC1271].
func (s *SmartContractWalletSignature) Kind() SignatureKind { return SignatureERC1271 }

// BUG(identity): smart-contract-wallet signatures are never verified
// locally; a chain verifier (spec §3.2 VerifySmartContractWalletSignatures)
// is not wired in, so inboxes made or changed by such wallets are refused.
func (s *SmartContractWalletSignature) verify(string) (VerifiedSignature, error) {
	return VerifiedSignature{}, &sigFailure{reason: "needs a chain to verify", err: ErrSmartContractWalletUnsupported}
}

func (s *SmartContractWalletSignature) proto() *association.Signature {
	return &association.Signature{Signature: &association.Signature_Erc_6492{
		Erc_6492: &association.SmartContractWalletSignature{
			AccountId:   s.AccountID.String(),
			BlockNumber: s.BlockNumber,
			Signature:   clone(s.Signature),
		},
	}}
}

// SmartContractWalletCheck is one smart-contract-wallet signature of an
// update with what a chain verifier needs (the fields of spec §3.1
// VerifySmartContractWalletSignatureRequestSignature).
type SmartContractWalletCheck struct {
	// Action and Role locate the signature in the update.
	Action int
	Role   SignatureRole
	// AccountID is the CAIP-10 wallet, BlockNumber the block to check at.
	AccountID   AccountID
	BlockNumber uint64
	// Hash is the EIP-191 hash of the update's signature text.
	Hash      [32]byte
	Signature []byte
}
