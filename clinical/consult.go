package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"

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
		d, err := s.p.terms.Lookup(uri, code)
		if err != nil {
			if ve, ok := err.(*record.ValidationError); ok {
				ve.Field = field
				return c, ve
			}
			return c, err
		}
		c.Display = d
	}
	return c, nil
}

// ObsInput is a structured value recorded in a consultation or on its own.
type ObsInput struct {
	Code      record.Code
	Value     *float64
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
	p, err := s.patientForWrite(ctx, in.PatientRef, ActWriteClinical)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	if in.Start.IsZero() {
		in.Start = now
	}
	c := &record.Consultation{Meta: record.Meta{PatientID: p.ID}, Type: in.Type, Start: in.Start, End: in.End,
		Clinician: s.user.Name, Location: in.Location, History: in.History, Examination: in.Examination,
		Plan: in.Plan, Text: in.Text, Entries: in.Codes}
	res := &ConsultResult{Consultation: c}
	var entities []record.Entity
	if in.Problem != "" {
		if in.ProblemNew {
			code, err := s.Code("problem", "", in.Problem)
			if err != nil {
				return nil, err
			}
			pr := &record.Problem{Meta: record.Meta{PatientID: p.ID}, Code: code, Onset: in.Start.Format(record.DateLayout), Significance: "major"}
			res.Problem = pr
			c.ProblemLink = "new"
		} else {
			var pr *record.Problem
			err := s.p.st.View(ctx, func(tx store.Tx) error {
				ps, err := tx.List(p.ID, record.KindProblem)
				if err != nil {
					return err
				}
				for _, e := range ps {
					x := e.(*record.Problem)
					if x.ID == in.Problem || (x.Code.Code == in.Problem && x.Status == "active") {
						pr = x
					}
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			if pr == nil {
				return nil, record.Invalid("problem", in.Problem, "no such problem for this patient (use --new to start one)")
			}
			c.ProblemID = pr.ID
			c.ProblemLink = "ongoing"
		}
	}
	for _, o := range in.Obs {
		eff := o.Effective
		if eff.IsZero() {
			eff = in.Start
		}
		ob := &record.Observation{Meta: record.Meta{PatientID: p.ID}, Code: o.Code, Value: o.Value, ValueText: o.ValueText,
			Unit: o.Unit, Systolic: o.Systolic, Diastolic: o.Diastolic, Effective: eff}
		res.Observations = append(res.Observations, ob)
	}
	// Validate everything first, so a bad value writes nothing.
	s.stamp(&c.Meta)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for _, ob := range res.Observations {
		s.stamp(&ob.Meta)
		if err := ob.Validate(); err != nil {
			return nil, err
		}
	}
	err = s.p.st.Update(ctx, func(tx store.WTx) error {
		c.ID, c.Version, c.Linked = "", 0, nil
		entities = entities[:0]
		if res.Problem != nil {
			res.Problem.ID, res.Problem.Version = "", 0
			s.stamp(&res.Problem.Meta)
			if err := res.Problem.Validate(); err != nil {
				return err
			}
			if err := tx.Put(res.Problem); err != nil {
				return err
			}
			c.ProblemID = res.Problem.ID
			entities = append(entities, res.Problem)
		}
		// The consultation's id is needed by its entries: create it first.
		if err := tx.Put(c); err != nil {
			return err
		}
		for _, ob := range res.Observations {
			ob.ID, ob.Version = "", 0
			ob.ConsultationID = c.ID
			if err := tx.Put(ob); err != nil {
				return err
			}
			entities = append(entities, ob)
			c.Linked = append(c.Linked, record.LinkedEntry{Kind: record.KindObservation, ID: ob.ID})
		}
		if res.Problem != nil {
			res.Problem.ConsultationID = c.ID
			c.Linked = append(c.Linked, record.LinkedEntry{Kind: record.KindProblem, ID: res.Problem.ID})
			if err := tx.Put(res.Problem); err != nil {
				return err
			}
		}
		if len(c.Linked) > 0 {
			if err := tx.Put(c); err != nil { // the links: version 2 of a record made in the same write
				return err
			}
		}
		if err := tx.Append(s.event("create", record.KindConsultation, c.ID, p.ID, c.Version)); err != nil {
			return err
		}
		for _, e := range entities {
			m := e.Head()
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

// patientForWrite resolves a patient for a clinical write: role checked,
// and no new clinical entries for someone who has died.
func (s *Service) patientForWrite(ctx context.Context, ref string, a Action) (*record.Patient, error) {
	if err := s.require(ctx, a, ""); err != nil {
		return nil, err
	}
	var p *record.Patient
	err := s.p.st.View(ctx, func(tx store.Tx) error {
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
