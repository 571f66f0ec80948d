package remote

import (
	"errors"
	"net/url"
	"sort"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// forEachSession walks the practice's sessions: a Schedule search (every
// status: the services filter, as they do over the practice file).
func (t *tx) forEachSession(fn func(record.Entity) error) error {
	var out []record.Entity
	_, err := t.s.search(t.ctx, "Schedule", url.Values{}, func(r fhir.Resource) error {
		e, err := t.entity(r)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Head().ID < out[j].Head().ID }) // id order, as ForEach promises
	for _, e := range out {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// AppointmentsBetween is the appointment book of a time range: one standard
// Appointment search by date (no patient), so booking and the day's list do
// not walk every patient. A server that refuses the search (one that wants
// a patient) is walked patient by patient instead.
func (t *tx) AppointmentsBetween(from, to time.Time, fn func(*record.Appointment) error) error {
	var out []*record.Appointment
	keep := func(e record.Entity) error {
		if a, ok := e.(*record.Appointment); ok && !a.Start.Before(from) && a.Start.Before(to) {
			out = append(out, a)
		}
		return nil
	}
	q := url.Values{"date": {"ge" + from.UTC().Format(time.RFC3339), "lt" + to.UTC().Format(time.RFC3339)}}
	_, err := t.s.search(t.ctx, "Appointment", q, func(r fhir.Resource) error {
		e, err := t.entity(r)
		if err != nil {
			return err
		}
		return keep(e)
	})
	if err != nil {
		var ve *record.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		out = nil
		if err := t.ForEach(record.KindAppointment, keep); err != nil {
			return err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	for _, a := range out {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

var _ store.AppointmentIndex = (*tx)(nil)

// withRetractionReason puts the reason a record is entered in error where
// the server reads it on the PUT that marks it: the last note, or the
// comment of the types without notes.
func withRetractionReason(r fhir.Resource, rt *record.Retraction) {
	if rt == nil || rt.Reason == "" {
		return
	}
	n := fhir.Annotation{Text: rt.Reason}
	switch x := r.(type) {
	case *fhir.Observation:
		x.Note = append(x.Note, n)
	case *fhir.Condition:
		x.Note = append(x.Note, n)
	case *fhir.AllergyIntolerance:
		x.Note = append(x.Note, n)
	case *fhir.Immunization:
		x.Note = append(x.Note, n)
	case *fhir.MedicationRequest:
		x.Note = append(x.Note, n)
	case *fhir.Task:
		x.Note = append(x.Note, n)
	case *fhir.Appointment:
		x.Comment = rt.Reason
	case *fhir.Schedule:
		x.Comment = rt.Reason
	}
}
