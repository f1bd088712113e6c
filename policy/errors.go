package policy

import (
	"errors"
	"fmt"
)

// ErrInvalidPolicy is API misuse: a policy or policy set that is not valid
// for its place (a zero value, an empty And/Any, a base policy the kind
// cannot hold, or [AllowSameMember] given to [Marshal]).
var ErrInvalidPolicy = errors.New("policy: invalid policy")

// ErrInvalidPermissionUpdate is API misuse of [UpdatePermissionPolicy]: an
// unknown update type, a missing or superfluous metadata field, or a
// policy that the update type cannot hold.
var ErrInvalidPermissionUpdate = errors.New("policy: invalid permission update")

// DecodeError reports permissions-extension bytes that libxmtp would also
// refuse to decode: malformed protobuf, a missing required policy, an
// unset or unknown base policy, or an empty condition. It is an invalid
// remote payload: the commit carrying it is invalid (xmtp-groups §4 step 5).
type DecodeError struct {
	// Reason says what is wrong, e.g. "add_member_policy: base policy 7 is
	// not a membership base policy".
	Reason string
}

func (e *DecodeError) Error() string { return "policy: decode permissions: " + e.Reason }

func decodeErrorf(format string, args ...any) error {
	return &DecodeError{Reason: fmt.Sprintf(format, args...)}
}

// DeniedError is a [Decision] that denied, as an error. Its Error text names
// the rule, the actor and the spec section; [DeniedError.UserMessage] is
// safe to show in chat.
type DeniedError struct {
	Decision Decision
}

func (e *DeniedError) Error() string {
	d := e.Decision
	msg := fmt.Sprintf("policy: %s denied: %s", d.Rule.ID, d.Rule.Text)
	if d.Actor.Inbox != "" {
		msg += fmt.Sprintf(" (actor %s, %s)", d.Actor.Inbox, d.Actor.Role)
	}
	if d.Subject != "" {
		msg += fmt.Sprintf(" (subject %s)", d.Subject)
	}
	if d.Field != "" {
		msg += fmt.Sprintf(" (field %s)", d.Field)
	}
	return msg + " [" + d.Rule.Section + "]"
}

// UserMessage returns the deciding rule's sentence, with no identifiers:
// safe for a chat reply.
func (e *DeniedError) UserMessage() string { return e.Decision.Rule.Text }

// VersionTooLowError reports a group whose minimum supported protocol
// version is above this client's version (libxmtp's ProtocolVersionTooLow,
// xmtp-groups §4 step 15). It does not make the commit invalid: the group
// pauses until the client is upgraded (xmtp-groups §4.1).
type VersionTooLowError struct {
	Min, Own string
}

func (e *VersionTooLowError) Error() string {
	return fmt.Sprintf("policy: group needs protocol version %s, this client is %s [%s]", e.Min, e.Own, SectionMinVersion)
}

// VersionFormatError reports a version string that libxmtp 1.9.1 does not
// parse (its InvalidVersionFormat; the rules are at [CompareVersions]). A
// commit setting such a minimum version is invalid.
type VersionFormatError struct {
	Value  string
	Reason string
}

func (e *VersionFormatError) Error() string {
	return fmt.Sprintf("policy: invalid version %q: %s", e.Value, e.Reason)
}
