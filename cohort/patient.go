package cohort

import (
	"context"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
)

// Reveal is the one path by which a face reads one patient for a definition
// and shows the values that decided it: the CLI's `search|register explain`
// and the TUI's explain and reveal keys call it, so withholding a sensitive
// record's values and auditing the read (with the reason, when one is given)
// happen the same way everywhere.
type Reveal struct {
	Svc      *clinical.Service
	Resolver Resolver
	Defs     []*Def
	Def      *Def
	On       int32  // the reference date
	Reason   string // why the values of a sensitive record are needed ("": withheld)
}

func (r Reveal) withReason() bool { return strings.TrimSpace(r.Reason) != "" }

// Explain explains the definition for one patient (NHS number or id) where
// the data is (ExplainFor: on gpsoc serve in remote mode, else read here on
// their own). withheld reports that the record (or an entry that decided
// it) is sensitive and no reason was given, so the entries are left out. The
// explanation is audited, with the reason, before it is returned.
func (r Reveal) Explain(ctx context.Context, ref string) (x *Explanation, withheld bool, err error) {
	x, err = ExplainFor(ctx, r.Svc, r.Resolver, r.Defs, r.Def, r.On, ref, r.Reason)
	if err != nil {
		return nil, false, err
	}
	return x, x.Withheld, nil
}

// Row is the definition's row for one patient (NHS number or id), read on
// their own: a flagged row shown with its values once a reason is given. It
// is audited as a search for that patient, with the reason; nil when the
// patient is no longer in the result (the record changed since the list).
func (r Reveal) Row(ctx context.Context, ref string) (*Row, error) {
	ix, err := BuildPatientWith(ctx, r.Svc, ref, strings.TrimSpace(r.Reason))
	if err != nil {
		return nil, err
	}
	run := NewEngine(ix, r.Resolver, r.Defs).NewRun(r.On)
	res, err := run.Evaluate(r.Def)
	if err != nil {
		return nil, err
	}
	rows := run.Rows(res, r.withReason())
	if err := r.Svc.AuditSearch(ctx, clinical.SearchRun{Query: "show " + Query(r.Def, r.On), PatientID: ix.Patients[0].ID,
		Count: len(rows), Reason: r.Reason}); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}
