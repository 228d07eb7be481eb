package hearth

import (
	"errors"
	"fmt"
)

// Sentinel error kinds. Every error Hearth returns to a user wraps one of
// them, so the API can pick the HTTP status and the CLI its exit code.
var (
	// ErrInvalid: the request is malformed or asks for something impossible.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: the named cluster, step or node does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is valid but not in the resource's current
	// state (terminating a protected cluster, adding steps to a dead one).
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: missing or wrong credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credential is good but may not do this (an access
	// key asking to create or delete access keys).
	ErrForbidden = errors.New("forbidden")
	// ErrTooLarge: the request is bigger than Hearth reads (see
	// MaxRequestBytes).
	ErrTooLarge = errors.New("request too large")
	// ErrUnavailable: a dependency (the server, a runtime) cannot be reached.
	ErrUnavailable = errors.New("unavailable")
)

// ValidationError names the field that is wrong, the value given, and what
// would be right. It wraps ErrInvalid.
type ValidationError struct {
	Field  string // e.g. "instance-groups[1].InstanceCount"
	Value  string // the offending value as given; may be empty
	Reason string // what is expected, and how to fix it
}

func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s: %s, got %s", e.Field, e.Reason, e.Value)
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Invalid returns a *ValidationError.
func Invalid(field, value, reason string) error {
	return &ValidationError{Field: field, Value: value, Reason: reason}
}

// MaxRequestBytes is the largest request body Hearth's APIs read: far more
// than any cluster spec or batch of steps needs, little enough that no
// caller can make the server hold much in memory.
const MaxRequestBytes = 8 << 20

// TooLarge returns the error for a request body over MaxRequestBytes.
func TooLarge() error {
	return fmt.Errorf("%w: body: must be at most %d bytes (%d MiB); send fewer steps or configurations per request", ErrTooLarge, MaxRequestBytes, MaxRequestBytes>>20)
}
