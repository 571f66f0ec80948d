package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/record"
)

// Exit codes (style.md; `gpsoc help exit-codes`).
const (
	ExitOK        = 0
	ExitFailure   = 1
	ExitUsage     = 2
	ExitBusy      = 3
	ExitForbidden = 4
	ExitConflict  = 5
	ExitAlert     = 6
	ExitCancelled = 130
)

// ExitCodes documents each code, for help and man pages.
var ExitCodes = []struct {
	Code    int
	Meaning string
}{
	{ExitOK, "ok (also \"no results\")"},
	{ExitFailure, "error (including a bulk run with rejected lines)"},
	{ExitUsage, "usage, or an invalid value (any validation failure)"},
	{ExitBusy, "store busy, or owned by a running server"},
	{ExitForbidden, "not permitted for this user's role"},
	{ExitConflict, "conflict: stale version, or a duplicate (e.g. NHS number already registered)"},
	{ExitAlert, "blocked by a clinical safety alert that needs an answer"},
	{ExitCancelled, "cancelled by the user"},
}

// UsageError is a bad command line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// ExitError carries an exit code for an error already reported (e.g. rejected lines).
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// AlertError is a refusal by safety alerts that need an answer.
type AlertError struct{ Msg string }

func (e *AlertError) Error() string { return e.Msg }

// ExitCode maps an error to its exit code: the one place this is decided.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		ee *ExitError
		ue *UsageError
		ve *record.ValidationError
		pe *record.PermissionError
		ce *record.ConflictError
		be *record.BusyError
		ae *AlertError
		se *cohort.SyntaxError
	)
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ue), errors.As(err, &ve), errors.As(err, &se):
		return ExitUsage
	case errors.As(err, &be):
		return ExitBusy
	case errors.As(err, &pe):
		return ExitForbidden
	case errors.As(err, &ce):
		return ExitConflict
	case errors.As(err, &ae):
		return ExitAlert
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	case record.IsNotFound(err):
		return ExitUsage
	}
	return ExitFailure
}
