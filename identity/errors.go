package identity

import (
	"errors"
	"fmt"
)

// ErrInternal is wrapped when an invariant of this package is broken: a bug,
// never bad input.
var ErrInternal = errors.New("identity: internal error")

// Sentinel errors for misuse of this package's API.
var (
	// ErrUnknownSigner: a signature was added to a [SignatureRequest] by a
	// member the request does not wait for.
	ErrUnknownSigner = errors.New("identity: signer is not required by the request")
	// ErrMissingSignature: [SignatureRequest.Build] was called before every
	// required signer signed.
	ErrMissingSignature = errors.New("identity: a required signature is missing")
	// ErrInvalidIdentifier: a value that should name an inbox, address,
	// installation or passkey is malformed.
	ErrInvalidIdentifier = errors.New("identity: invalid identifier")
	// ErrInvalidSignature: a signature does not verify against the signature
	// text, or is malformed. [SignatureError] wraps it.
	ErrInvalidSignature = errors.New("identity: invalid signature")
	// ErrSmartContractWalletUnsupported: a smart-contract-wallet (ERC-1271 /
	// ERC-6492) signature can only be checked against a chain (spec §3.2),
	// which this package cannot reach. [SignatureError] wraps it; the node may
	// answer such updates as invalid or ask a chain verifier, see
	// [UnverifiedUpdate.SmartContractWalletChecks].
	ErrSmartContractWalletUnsupported = errors.New("identity: smart contract wallet signatures are not supported")
)

// DecodeError reports an identity update (or part of one) whose protobuf
// form is malformed: a missing oneof, a wrong key length, an unparsable
// account id. The update is dropped.
type DecodeError struct {
	// Field names the offending protobuf field path, e.g. "actions[1].add.new_member_identifier".
	Field string
	// Reason says what is wrong with it, in lower case.
	Reason string
	// Err is the underlying error, if any (for instance from protobuf).
	Err error
}

func (e *DecodeError) Error() string {
	msg := "identity: decode identity update"
	if e.Field != "" {
		msg += ": " + e.Field
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(field, reason string) error {
	return &DecodeError{Field: field, Reason: reason}
}

// SignatureError reports a signature of an identity update that did not
// verify (spec §5.4). It wraps [ErrInvalidSignature] or
// [ErrSmartContractWalletUnsupported].
type SignatureError struct {
	// Action is the index of the action holding the signature.
	Action int
	// Role says which signature of the action it is.
	Role SignatureRole
	// Kind is the signature's kind.
	Kind SignatureKind
	// Reason says why it failed, in lower case; it holds no key material.
	Reason string
	// Err is ErrInvalidSignature or ErrSmartContractWalletUnsupported.
	Err error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("identity: action %d: %s signature (%s): %s (spec §5.4)", e.Action, e.Role, e.Kind, e.Reason)
}

func (e *SignatureError) Unwrap() error { return e.Err }

// Rule names one association-state rule of spec §5.5. A Rule is itself an
// error, so errors.Is(err, RuleReplay) tells which rule a [*RuleError]
// broke.
type Rule string

// The association-state rules (spec §5.5). The strings are stable and may be
// shown to operators.
const (
	// RuleMultipleCreate: CreateInbox on an inbox that already exists.
	RuleMultipleCreate Rule = "multiple create"
	// RuleNotCreated: an action other than CreateInbox on an inbox that does
	// not exist yet (including an update with no actions).
	RuleNotCreated Rule = "inbox not created"
	// RuleMissingExistingMember: the signer is neither the identifier being
	// created, a current member, nor (where allowed) the recovery identifier.
	RuleMissingExistingMember Rule = "missing existing member"
	// RuleNewMemberSignatureMismatch: the new-member signature was not made by
	// the member being added.
	RuleNewMemberSignatureMismatch Rule = "new member identifier does not match signer"
	// RuleAddSelf: the existing-member and new-member signers are the same.
	RuleAddSelf Rule = "tried to add self"
	// RuleLegacySignatureReuse: a legacy-delegated signature outside an inbox
	// with nonce 0 of that wallet, or used as the recovery identifier's
	// signature when adding.
	RuleLegacySignatureReuse Rule = "legacy signature reuse"
	// RuleSignatureNotAllowed: the signature kind does not fit the role's
	// member kind (Ethereum: erc-191, erc-1271, legacy-delegated;
	// installation: installation-key; passkey: p256), or a legacy-delegated
	// signature was used to revoke or change the recovery identifier.
	RuleSignatureNotAllowed Rule = "signature kind not allowed for role"
	// RuleMemberNotAllowed: an installation tried to add an installation.
	RuleMemberNotAllowed Rule = "member kind not allowed to add member kind"
	// RuleReplay: a signature was already used by an earlier update.
	RuleReplay Rule = "replay"
	// RuleChainIDMismatch: a member signed on another chain than the one it
	// was added on.
	RuleChainIDMismatch Rule = "chain id mismatch"
	// RuleWrongInboxID: the update's inbox_id is not the inbox's id.
	RuleWrongInboxID Rule = "wrong inbox id"
	// RuleInvalidAccountAddress: the identifier an inbox id is derived from
	// is not "0x" followed by 40 hex digits.
	RuleInvalidAccountAddress Rule = "invalid account address"
	// RuleSequence: updates were not applied in increasing sequence-id order
	// (spec §3.3), or a requested sequence id is not in the log.
	RuleSequence Rule = "sequence id"
)

func (r Rule) Error() string { return "identity: " + string(r) }

// RuleError reports an identity update that breaks an association-state
// rule (spec §5.5). The update is rejected and the state is unchanged.
type RuleError struct {
	// Rule is the broken rule.
	Rule Rule
	// Update is the index of the update in the ApplyUpdates call.
	Update int
	// Action is the index of the action in the update, or -1 when the rule
	// concerns the whole update.
	Action int
	// Detail adds what the caller needs to explain the refusal, in lower
	// case (member kinds, chain ids, sequence ids); never key material.
	Detail string
}

func (e *RuleError) Error() string {
	where := fmt.Sprintf("update %d", e.Update)
	if e.Action >= 0 {
		where += fmt.Sprintf(" action %d", e.Action)
	}
	msg := fmt.Sprintf("identity: %s: %s", where, string(e.Rule))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + " (spec §5.5)"
}

// Unwrap returns the Rule, so that errors.Is(err, RuleReplay) works.
func (e *RuleError) Unwrap() error { return e.Rule }
