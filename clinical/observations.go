package clinical

import (
	"context"
	"sort"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// BPCode is SNOMED CT 75367002 |Blood pressure|, the code of a blood pressure
// recorded as one observation with systolic and diastolic values.
const BPCode = "75367002"

// ObservationInput is a value recorded on its own (outside a consultation).
type ObservationInput struct {
	PatientRef string
	System     string
	Code       string // default BPCode when BP is given
	Value      *float64
	// ValueSystem and ValueCode give a coded result (smoking status, a coded
	// finding), checked against the terminology like the code.
	ValueSystem string
	ValueCode   string
	ValueText   string
	Unit        string
	BP          string    // "140/90"
	Effective   time.Time // zero: now
	Sensitive   bool
	// Confirm stores an implausible value (flagged) that would otherwise be
	// refused for confirmation: the clinician said it is right.
	Confirm bool
	// Values is how values outside their ranges are treated: ValuesTyped
	// (the zero value) for the keyboard; the API sets ValuesImported.
	Values ValueMode
}

// mode is the ValueMode of an input.
func (in ObservationInput) mode() ValueMode {
	if in.Confirm && in.Values == ValuesTyped {
		return ValuesConfirmed
	}
	return in.Values
}

// ObsFromInput builds and checks an ObsInput (also for consultations): the code
// against the terminology, a blood pressure from "140/90".
func (s *Service) ObsFromInput(in ObservationInput) (ObsInput, error) {
	o := ObsInput{Value: in.Value, ValueText: in.ValueText, Unit: in.Unit, Effective: in.Effective}
	code := in.Code
	if in.BP != "" {
		if in.Value != nil || in.ValueText != "" || in.ValueCode != "" {
			return o, record.Invalid("bp", in.BP, "give either a blood pressure or a value, not both")
		}
		sys, dia, err := ParseBP(in.BP)
		if err != nil {
			return o, err
		}
		o.Systolic, o.Diastolic = &sys, &dia
		if code == "" {
			code = BPCode
		}
		if o.Unit == "" {
			o.Unit = "mm[Hg]"
		}
	} else if in.Value == nil && in.ValueText == "" && in.ValueCode == "" {
		return o, record.Invalid("value", "", "a value is required (or --bp)")
	}
	if in.ValueCode != "" {
		if in.Value != nil {
			return o, record.Invalid("valueCode", in.ValueCode, "give either a coded value or a number, not both")
		}
		vc, err := s.Code("valueCode", in.ValueSystem, in.ValueCode)
		if err != nil {
			return o, err
		}
		o.ValueCode = &vc
	}
	c, err := s.Code("code", in.System, code)
	if err != nil {
		return o, err
	}
	o.Code = c
	return o, nil
}

// AddObservation records a value, or a blood pressure, for a patient.
func (s *Service) AddObservation(ctx context.Context, in ObservationInput) (*record.Observation, error) {
	p, err := s.patientForWrite(ctx, in.PatientRef, ActWriteClinical)
	if err != nil {
		return nil, err
	}
	o, err := s.ObsFromInput(in)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	eff := o.Effective
	if eff.IsZero() {
		eff = now
	}
	if eff.After(now.Add(resultLeeway)) {
		return nil, record.Invalid("date", eff.Format(time.RFC3339), "is in the future (more than 24 hours after %s)", now.UTC().Format(time.RFC3339))
	}
	if err := entryAllowed(p, record.KindObservation, eff, now); err != nil {
		return nil, err
	}
	ob := &record.Observation{Meta: record.Meta{PatientID: p.ID, Sensitive: in.Sensitive}, Code: o.Code, Value: o.Value,
		ValueCode: o.ValueCode, ValueText: o.ValueText, Unit: o.Unit, Systolic: o.Systolic, Diastolic: o.Diastolic, Effective: eff.UTC().Truncate(time.Second)}
	if err := CheckObservation(ob, in.mode()); err != nil {
		return nil, err
	}
	if err := s.newEntry(ctx, ob); err != nil {
		return nil, err
	}
	return ob, nil
}

// ObsFilter narrows an observation list.
type ObsFilter struct {
	ListOptions
	Code string // only this code
}

// Observations lists a patient's observations, newest first (clinicians only; audited).
func (s *Service) Observations(ctx context.Context, ref string, f ObsFilter) (*Listed[*record.Observation], error) {
	q := "observations"
	if f.Code != "" {
		q += " code=" + f.Code
	}
	l, err := listEntries(ctx, s, ref, record.KindObservation, f.ListOptions, q,
		func(o *record.Observation) bool { return f.Code == "" || o.Code.Code == f.Code })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(l.Items, func(i, j int) bool { return l.Items[i].Effective.After(l.Items[j].Effective) })
	return l, nil
}
