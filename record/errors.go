// Package record holds the nouns of a GP record and their validation.
// It imports nothing of ours, so every other package can speak in its types.
package record

import (
	"errors"
	"fmt"
	"time"
)

// ValidationError is an invalid value: it names the field and the value.
type ValidationError struct {
	Field  string
	Value  string
	Reason string
	// Confirm marks a value that is implausible rather than impossible: a
	// clinician at the keyboard may confirm it (--confirm, a prompt in the TUI).
	Confirm bool
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// Invalid builds a ValidationError.
func Invalid(field, value, reason string, args ...any) error {
	if len(args) > 0 {
		reason = fmt.Sprintf(reason, args...)
	}
	return &ValidationError{Field: field, Value: value, Reason: reason}
}

// ConflictError is a stale version or a duplicate.
type ConflictError struct {
	What string // e.g. "patient 0193…" or "NHS number 943 476 5919"
	By   string // who made the current version, when known
	At   time.Time
	Msg  string
}

func (e *ConflictError) Error() string {
	s := e.What + ": " + e.Msg
	if e.By != "" {
		s += fmt.Sprintf(" (changed by %s at %s)", e.By, e.At.Format(time.RFC3339))
	}
	return s
}

// NotFoundError is a record that does not exist.
type NotFoundError struct {
	Kind string
	ID   string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }

// PermissionError is an action this user's role may not take.
type PermissionError struct {
	User   string
	Role   Role
	Action string
}

func (e *PermissionError) Error() string {
	if e.Role == "" {
		return fmt.Sprintf("%s: not permitted for %s", e.Action, e.User)
	}
	return fmt.Sprintf("%s: not permitted for %s (role %s)", e.Action, e.User, e.Role)
}

// BusyError means the practice file is held by another process or owned by a server.
type BusyError struct {
	Path string
	Msg  string
}

func (e *BusyError) Error() string { return fmt.Sprintf("practice file %s is busy: %s", e.Path, e.Msg) }

// ErrNotFound is matched by every NotFoundError through errors.Is.
var ErrNotFound = errors.New("not found")

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// IsNotFound reports whether err is a NotFoundError.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
