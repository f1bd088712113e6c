package client

import "errors"

// Errors of API misuse. Remote input that breaks a rule gets a typed error
// ([*KeyPackageError], [*WelcomeError], [*GroupContextError],
// [*MessageError]) and drops only that input.
var (
	// ErrInvalidArgument is wrapped when a caller passes a malformed or
	// out-of-range argument.
	ErrInvalidArgument = errors.New("client: invalid argument")
	// ErrNotRegistered is returned by operations that need this
	// installation to be registered on the network first.
	ErrNotRegistered = errors.New("client: installation not registered")
	// ErrGroupNotFound is returned for a group this installation does not
	// have.
	ErrGroupNotFound = errors.New("client: group not found")
	// ErrInactiveGroup is returned when sending in a group we were removed
	// from.
	ErrInactiveGroup = errors.New("client: not an active member of the group")
	// ErrClosed is returned by operations on a closed Client.
	ErrClosed = errors.New("client: closed")
	// ErrNoKeyPackages is returned by AddMembers when none of the
	// requested installations had a usable key package.
	ErrNoKeyPackages = errors.New("client: no installation could be added")
	// ErrInternal is wrapped when an invariant of the client is broken (a
	// bug or a damaged database), never for bad input.
	ErrInternal = errors.New("client: internal error")
)
