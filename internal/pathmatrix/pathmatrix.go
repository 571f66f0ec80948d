// Package pathmatrix is the one-door path matrix (issue 15, design.md §1):
// for each control, the outcome every path must give for the same input.
// commands.TestPathMatrix holds the CLI, remote-mode, API and import columns
// against it, and tui.TestPathMatrixTUI the TUI's, driven by keys through
// the workstation's own actions; neither can expect anything else.
package pathmatrix

// Outcome is a path's answer in one vocabulary: an exit code, an HTTP
// status, a rejected import line and a TUI's refusal all map onto it.
type Outcome string

const (
	OK        Outcome = "ok"
	Forbidden Outcome = "forbidden" // exit 4, 403, the TUI's "not permitted"
	Invalid   Outcome = "invalid"   // exit 2, 400/422, a rejected import entry, the TUI naming the field
	Alert     Outcome = "alert"     // exit 6, 422 naming the alert, the TUI's alert screen
)

// A Control is one row: what is tried, and the outcome on every path.
type Control struct {
	Name string
	Want Outcome
}

var (
	Role              = Control{"role (a receptionist's result)", Forbidden}
	FutureResult      = Control{"validation (a result dated 2099)", Invalid}
	ImpossibleWeight  = Control{"validation (a weight of -5 kg)", Invalid}
	Prescriber        = Control{"prescriber (a nurse without the right prescribing)", Forbidden}
	SafetyAlert       = Control{"safety alert (penicillin allergy, amoxicillin)", Alert}
	SensitiveNoReason = Control{"sensitive record without a reason", Forbidden}
	SensitiveReason   = Control{"sensitive record with a reason", OK}
)
