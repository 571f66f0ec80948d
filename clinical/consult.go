package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Code checks a code against the terminology and returns it with its display.
// system is a short name or URI; an empty system means SNOMED CT.
func (s *Service) Code(field, system, code string) (record.Code, error) {
	uri, err := record.SystemURI(system)
	if err != nil {
		return record.Code{}, err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return record.Code{}, record.Invalid(field, code, "a code is required")
	}
	if uri == record.SystemSNOMED && !record.ValidSCTID(code) {
		return record.Code{}, record.Invalid(field, code, "not a valid SNOMED CT identifier")
	}
	c := record.Code{System: uri, Code: code}
	if s.p.terms != nil {
		// Codes repeat (bulk imports, busy days): known-good displays are cached.
		if d, ok := s.p.codeCache.Load(uri + "|" + code); ok {
			c.Display = d.(string)
			return c, nil
		}
		d, err := s.p.terms.Lookup(uri, code)
		if err != nil {
			if ve, ok := err.(*record.ValidationError); ok {
				ve.Field = field
				return c, ve
			}
			return c, err
		}
		c.Display = d
		s.p.codeCache.Store(uri+"|"+code, d)
	}
	return c, nil
}

// ObsInput is a structured value recorded in a consultation or on its own.
type ObsInput struct {
	Code      record.Code
	Value     *float64
	ValueCode *record.Code // a coded result (smoking status, a coded finding)
	ValueText string
	Unit      string
	Systolic  *float64
	Diastolic *float64
	Effective time.Time
}

// ConsultInput is a whole consultation, saved as one write.
type ConsultInput struct {
	PatientRef  string
	Type        string
	Start, End  time.Time
	Location    string
	History     string
	Examination string
	Plan        string
	Text        string
	Codes       []record.CodedEntry
	Obs         []ObsInput
	// Problem links the consultation to a problem: an existing problem id, or
	// a code (a new problem is created when ProblemNew).
	Problem    string
	ProblemNew bool
	// Confirm stores implausible values (flagged) rather than refusing them.
	Confirm bool
}

// ConsultResult is what AddConsultation wrote.
type ConsultResult struct {
	Consultation *record.Consultation
	Observations []*record.Observation
	Problem      *record.Problem
}

// AddConsultation writes a consultation with its coded entries, structured
// values and problem link in one transaction, with one audit event per record.
func (s *Service) AddConsultation(ctx context.Context, in ConsultInput) (*ConsultResult, error) {
	if err := s.require(ctx, ActWriteClinical, ""); err != nil {
		return nil, err
	}
	now := s.p.now()
	if in.Start.IsZero() {
		in.Start = now
	}
	c := &record.Consultation{Meta: record.Meta{PatientID: "pending"}, Type: in.Type, Start: in.Start, End: in.End,
		Clinician: s.user.Name, Location: in.Location, History: in.History, Examination: in.Examination,
		Plan: in.Plan, Text: in.Text, Entries: in.Codes}
	res := &ConsultResult{Consultation: c}
	if in.Problem != "" && in.ProblemNew {
		code, err := s.Code("problem", "", in.Problem)
		if err != nil {
			return nil, err
		}
		res.Problem = &record.Problem{Meta: record.Meta{PatientID: "pending"}, Code: code, Onset: in.Start.Format(record.DateLayout), Significance: "major"}
		c.ProblemLink = "new"
	}
	for _, o := range in.Obs {
		eff := o.Effective
		if eff.IsZero() {
			eff = in.Start
		}
		res.Observations = append(res.Observations, &record.Observation{Meta: record.Meta{PatientID: "pending"}, Code: o.Code,
			Value: o.Value, ValueCode: o.ValueCode, ValueText: o.ValueText, Unit: o.Unit, Systolic: o.Systolic, Diastolic: o.Diastolic, Effective: eff})
	}
	// Ids are assigned up front so the consultation and its entries can name
	// each other and each is written once.
	var entities []record.Entity
	c.ID = newID()
	if res.Problem != nil {
		res.Problem.ID = newID()
		res.Problem.ConsultationID = c.ID
		c.ProblemID = res.Problem.ID
		c.Linked = append(c.Linked, record.LinkedEntry{Kind: record.KindProblem, ID: res.Problem.ID})
		entities = append(entities, res.Problem)
	}
	for _, ob := range res.Observations {
		ob.ID = newID()
		ob.ConsultationID = c.ID
		c.Linked = append(c.Linked, record.LinkedEntry{Kind: record.KindObservation, ID: ob.ID})
		entities = append(entities, ob)
	}
	entities = append([]record.Entity{c}, entities...)
	// Validate everything first, so a bad value writes nothing.
	mode := ValuesTyped
	if in.Confirm {
		mode = ValuesConfirmed
	}
	for _, e := range entities {
		s.stamp(e.Head())
		if err := e.Validate(); err != nil {
			return nil, err
		}
		if err := s.checkCodes(e); err != nil {
			return nil, err
		}
		if ob, ok := e.(*record.Observation); ok {
			if err := CheckObservation(ob, mode); err != nil {
				return nil, err
			}
		}
	}
	if in.Problem != "" && !in.ProblemNew {
		c.ProblemLink = "ongoing"
	}
	err := s.store().Update(ctx, func(tx store.WTx) error {
		p, err := resolvePatient(tx, in.PatientRef)
		if err != nil {
			return err
		}
		if in.Problem != "" && !in.ProblemNew {
			ps, err := tx.List(p.ID, record.KindProblem)
			if err != nil {
				return err
			}
			c.ProblemID = ""
			for _, e := range ps {
				x := e.(*record.Problem)
				if x.Status != record.StatusEnteredInError && (x.ID == in.Problem || (x.Code.Code == in.Problem && x.Status == "active")) {
					c.ProblemID = x.ID
				}
			}
			if c.ProblemID == "" {
				return record.Invalid("problem", in.Problem, "no such problem for this patient (use --new to start one)")
			}
		}
		for _, e := range entities {
			m := e.Head()
			m.PatientID, m.Version = p.ID, 0
			if err := s.checkWrite(tx, e); err != nil {
				return err
			}
			if err := tx.Put(e); err != nil {
				return err
			}
			if err := tx.Append(s.event("create", e.Kind(), m.ID, p.ID, m.Version)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// patientForWrite resolves a patient for a clinical write: role checked,
// and no new clinical entries for someone who has died.
func (s *Service) patientForWrite(ctx context.Context, ref string, a Action) (*record.Patient, error) {
	if err := s.require(ctx, a, ""); err != nil {
		return nil, err
	}
	var p *record.Patient
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		p, err = resolvePatient(tx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ParseBP reads "140/90".
func ParseBP(s string) (sys, dia float64, err error) {
	var a, b float64
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%g/%g", &a, &b); err != nil {
		return 0, 0, record.Invalid("bp", s, "must be systolic/diastolic, e.g. 140/90")
	}
	o := record.Observation{Systolic: &a, Diastolic: &b}
	o.PatientID, o.Code, o.Effective = "x", record.Code{System: record.SystemSNOMED, Code: "75367002"}, time.Now()
	if err := o.Validate(); err != nil {
		if ve, ok := err.(*record.ValidationError); ok {
			ve.Field, ve.Value = "bp", s
		}
		return 0, 0, err
	}
	return a, b, nil
}

// LegacyMapper is implemented by terminologies that map Read v2 and CTV3
// codes to SNOMED CT (the NHS maps).
type LegacyMapper interface {
	MapLegacy(system, code string) (*record.Code, error)
}

// CodedEntry checks a code for a consultation entry. A legacy Read v2 or
// CTV3 code is recorded as given with its mapped SNOMED CT concept alongside.
func (s *Service) CodedEntry(field, system, code string) (record.CodedEntry, error) {
	c, err := s.Code(field, system, code)
	if err != nil {
		return record.CodedEntry{}, err
	}
	e := record.CodedEntry{Code: c}
	if c.System == record.SystemRead2 || c.System == record.SystemCTV3 {
		if m, ok := s.p.terms.(LegacyMapper); ok {
			mapped, err := m.MapLegacy(c.System, c.Code)
			if err != nil {
				return e, err
			}
			e.Mapped = mapped
		}
	}
	return e, nil
}
