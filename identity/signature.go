package identity

import (
	"errors"
	"strconv"

	"mlsbridge/wire/association"
)

// SignatureKind is the kind of an identity signature (spec §5.4). Each
// member kind accepts only some signature kinds.
type SignatureKind uint8

// Signature kinds. The zero value is not a kind.
const (
	// SignatureERC191 is an Ethereum EOA personal_sign signature.
	SignatureERC191 SignatureKind = iota + 1
	// SignatureERC1271 is a smart-contract-wallet signature (wire: erc_6492).
	SignatureERC1271
	// SignatureInstallationKey is an installation's Ed25519ph signature.
	SignatureInstallationKey
	// SignatureLegacyDelegated is a signature by an XMTP v2 key that a
	// wallet delegated to.
	SignatureLegacyDelegated
	// SignatureP256 is a WebAuthn passkey signature.
	SignatureP256
)

// String returns libxmtp's name for the kind ("erc-191", "erc-1271",
// "installation-key", "legacy-delegated", "p256").
func (k SignatureKind) String() string {
	switch k {
	case SignatureERC191:
		return "erc-191"
	case SignatureERC1271:
		return "erc-1271"
	case SignatureInstallationKey:
		return "installation-key"
	case SignatureLegacyDelegated:
		return "legacy-delegated"
	case SignatureP256:
		return "p256"
	}
	return "unknown(" + strconv.Itoa(int(k)) + ")"
}

// allowedFor reports whether a signature of kind k may sign for a member of
// kind role (spec §5.4, last paragraph).
func (k SignatureKind) allowedFor(role MemberKind) bool {
	switch role {
	case MemberEthereum:
		return k == SignatureERC191 || k == SignatureERC1271 || k == SignatureLegacyDelegated
	case MemberInstallation:
		return k == SignatureInstallationKey
	case MemberPasskey:
		return k == SignatureP256
	}
	return false
}

// SignatureRole says which signature of an action a signature is.
type SignatureRole uint8

// Signature roles.
const (
	// RoleInitialIdentifier signs a CreateInbox.
	RoleInitialIdentifier SignatureRole = iota + 1
	// RoleExistingMember is the existing member's (or recovery
	// identifier's) signature on an AddAssociation.
	RoleExistingMember
	// RoleNewMember is the new member's signature on an AddAssociation.
	RoleNewMember
	// RoleRecoveryIdentifier signs a RevokeAssociation or
	// ChangeRecoveryAddress.
	RoleRecoveryIdentifier
)

func (r SignatureRole) String() string {
	switch r {
	case RoleInitialIdentifier:
		return "initial identifier"
	case RoleExistingMember:
		return "existing member"
	case RoleNewMember:
		return "new member"
	case RoleRecoveryIdentifier:
		return "recovery identifier"
	}
	return "unknown(" + strconv.Itoa(int(r)) + ")"
}

// UnverifiedSignature is a decoded identity signature not yet checked: one
// of [*ERC191Signature], [*InstallationKeySignature],
// [*SmartContractWalletSignature], [*LegacyDelegatedSignature] or
// [*PasskeySignature]. Only [VerifySignature] (or
// [UnverifiedUpdate.Verify]) tells who made it.
type UnverifiedSignature interface {
	// Kind returns the signature's kind.
	Kind() SignatureKind
	// verify checks the signature over text and returns its signer.
	verify(text string) (VerifiedSignature, error)
	// proto returns the wire form.
	proto() *association.Signature
}

// VerifiedSignature is a signature that verified over a signature text:
// who signed, how, and the bytes recorded against replay (spec §5.5
// seen_signatures). Only verification makes one.
type VerifiedSignature struct {
	signer     MemberIdentifier
	kind       SignatureKind
	raw        []byte
	chainID    uint64
	hasChainID bool
}

// Signer returns the member that made the signature.
func (s VerifiedSignature) Signer() MemberIdentifier { return s.signer }

// Kind returns the signature's kind.
func (s VerifiedSignature) Kind() SignatureKind { return s.kind }

// RawBytes returns a copy of the bytes recorded against replay: for ERC-191
// the low-s normalized 65 bytes, for legacy-delegated the wallet's
// signature over the legacy key, for passkeys the 64-byte r‖s, otherwise
// the signature bytes as sent.
func (s VerifiedSignature) RawBytes() []byte { return append([]byte(nil), s.raw...) }

// ChainID returns the chain a smart-contract-wallet signature was checked
// on, and false for every other kind.
func (s VerifiedSignature) ChainID() (uint64, bool) { return s.chainID, s.hasChainID }

// sigFailure is what a signature's verify returns on failure: a lower-case
// reason and the sentinel to wrap.
type sigFailure struct {
	reason string
	err    error
}

func (f *sigFailure) Error() string { return f.reason }

func invalidSig(reason string) error {
	return &sigFailure{reason: reason, err: ErrInvalidSignature}
}

// VerifySignature checks sig over text (usually an [UnverifiedUpdate]'s
// [UnverifiedUpdate.SignatureText]) and returns who made it. Failures are a
// [*SignatureError] with Action -1 and no Role.
func VerifySignature(text string, sig UnverifiedSignature) (VerifiedSignature, error) {
	return verifyAt(text, sig, -1, 0)
}

func verifyAt(text string, sig UnverifiedSignature, action int, role SignatureRole) (VerifiedSignature, error) {
	if sig == nil {
		return VerifiedSignature{}, &SignatureError{Action: action, Role: role, Reason: "missing", Err: ErrInvalidSignature}
	}
	v, err := sig.verify(text)
	if err != nil {
		se := &SignatureError{Action: action, Role: role, Kind: sig.Kind(), Reason: err.Error(), Err: ErrInvalidSignature}
		var f *sigFailure
		if errors.As(err, &f) {
			se.Err = f.err
		}
		return VerifiedSignature{}, se
	}
	return v, nil
}
