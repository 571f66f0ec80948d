package clinical

import (
	"context"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ProblemInput is a new problem.
type ProblemInput struct {
	PatientRef   string
	System       string // sct (default), ctv3, read2 or a URI
	Code         string
	Onset        string // YYYY-MM-DD
	Significance string // major | minor (default minor)
	Sensitive    bool
}

// AddProblem adds a problem to the patient's list. The same code active twice
// is a conflict naming the problem already there.
func (s *Service) AddProblem(ctx context.Context, in ProblemInput) (*record.Problem, error) {
	p, err := s.patientForWrite(ctx, in.PatientRef, ActWriteClinical)
	if err != nil {
		return nil, err
	}
	code, err := s.Code("code", in.System, in.Code)
	if err != nil {
		return nil, err
	}
	pr := &record.Problem{Meta: record.Meta{PatientID: p.ID, Sensitive: in.Sensitive}, Code: code,
		Onset: in.Onset, Significance: in.Significance}
	if pr.Onset != "" {
		d, err := record.ParseDate("onset", pr.Onset)
		if err != nil {
			return nil, err
		}
		if err := s.notFuture("onset", d); err != nil {
			return nil, err
		}
	}
	on := s.p.now()
	if pr.Onset != "" {
		on = dayStart(pr.Onset)
	}
	if err := entryAllowed(p, record.KindProblem, on, s.p.now()); err != nil {
		return nil, err
	}
	var dup *record.Problem
	if err := s.store().View(ctx, func(tx store.Tx) error {
		es, err := tx.List(p.ID, record.KindProblem)
		for _, e := range es {
			x := e.(*record.Problem)
			if x.Status == "active" && x.Code.System == code.System && x.Code.Code == code.Code {
				dup = x
			}
		}
		return err
	}); err != nil {
		return nil, err
	}
	if dup != nil {
		return nil, &record.ConflictError{What: "problem " + code.Code, Msg: "already an active problem for this patient (" + dup.ID + ")"}
	}
	if err := s.newEntry(ctx, pr); err != nil {
		return nil, err
	}
	return pr, nil
}

// ResolveProblem marks a problem past (resolved) on a date (default today).
func (s *Service) ResolveProblem(ctx context.Context, patientRef, id, date string, ifVersion int) (*record.Problem, error) {
	d, err := s.pastDay("date", date)
	if err != nil {
		return nil, err
	}
	p, err := s.lookupPatient(ctx, patientRef)
	if err != nil {
		return nil, err
	}
	e, err := s.changeEntry(ctx, []record.Kind{record.KindProblem}, id, ifVersion, writeActionFor, "update",
		func(_ store.Tx, e record.Entity) error {
			pr := e.(*record.Problem)
			if pr.PatientID != p.ID {
				return record.Invalid("id", id, "is not a problem of patient %s", p.ID)
			}
			switch pr.Status {
			case record.StatusEnteredInError:
				return record.Invalid("id", id, "was entered in error")
			case "past":
				return &record.ConflictError{What: "problem " + id, Msg: "already resolved on " + pr.ResolvedOn, By: pr.RecordedBy, At: pr.RecordedAt}
			}
			if pr.Onset != "" && d < pr.Onset {
				return record.Invalid("date", d, "is before the onset %s", pr.Onset)
			}
			pr.ResolvedOn = d
			pr.Status = "past"
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Problem), nil
}

// ProblemFilter narrows a problem list.
type ProblemFilter struct {
	ListOptions
	Status string // active | past | "" (both)
}

// Problems lists a patient's problems (clinicians only; audited).
func (s *Service) Problems(ctx context.Context, ref string, f ProblemFilter) (*Listed[*record.Problem], error) {
	if f.Status != "" && f.Status != "active" && f.Status != "past" {
		return nil, record.Invalid("status", f.Status, "must be active or past")
	}
	return listEntries(ctx, s, ref, record.KindProblem, f.ListOptions, strings.TrimSpace("problems status="+f.Status),
		func(p *record.Problem) bool { return f.Status == "" || p.Status == f.Status })
}

// SetProblemSignificance marks a problem major or minor (a new version,
// version-checked with ifVersion when it is not 0).
func (s *Service) SetProblemSignificance(ctx context.Context, patientRef, id, significance string, ifVersion int) (*record.Problem, error) {
	if significance != "major" && significance != "minor" {
		return nil, record.Invalid("significance", significance, "must be major or minor")
	}
	p, err := s.lookupPatient(ctx, patientRef)
	if err != nil {
		return nil, err
	}
	e, err := s.changeEntry(ctx, []record.Kind{record.KindProblem}, id, ifVersion, writeActionFor, "update",
		func(_ store.Tx, e record.Entity) error {
			pr := e.(*record.Problem)
			switch {
			case pr.PatientID != p.ID:
				return record.Invalid("id", id, "is not a problem of patient %s", p.ID)
			case pr.Status == record.StatusEnteredInError:
				return record.Invalid("id", id, "was entered in error")
			case pr.Significance == significance:
				return &record.ConflictError{What: "problem " + id, Msg: "is already " + significance, By: pr.RecordedBy, At: pr.RecordedAt}
			}
			pr.Significance = significance
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Problem), nil
}
