package mls

import (
	"errors"
	"fmt"
)

// ErrInternal is wrapped when an invariant of this package is broken: a bug,
// never bad input.
var ErrInternal = errors.New("mls: internal error")

// ValidationError reports remote input that breaks a rule of RFC 9420. The
// caller drops the offending message (or proposal, commit, Welcome) and goes
// on; the group state is unchanged.
type ValidationError struct {
	// Section is the RFC 9420 section that states the rule, e.g. "§12.2".
	Section string
	// Reason says which rule was broken, in lower case, without the section.
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("mls: %s (RFC 9420 %s)", e.Reason, e.Section)
}

// invalid returns a *ValidationError for section with a formatted reason.
func invalid(section, format string, args ...any) error {
	return &ValidationError{Section: section, Reason: fmt.Sprintf(format, args...)}
}
