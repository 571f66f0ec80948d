package remote

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

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
	default: // Encounter: neither note nor comment
		fhir.WithRetractionReason(r, rt.Reason)
	}
}

// oneCreate sends one create as a plain POST; a type the server takes only
// in a transaction (405: `gpsoc serve` takes prescriptions, consultations
// and recalls under the import rules) goes as a one-entry transaction Bundle.
func (w *wtx) oneCreate(creates []record.Entity) error {
	err := w.one(creates[0])
	var he *httpError
	if errors.As(err, &he) && he.status == http.StatusMethodNotAllowed {
		return w.bundle(creates)
	}
	return err
}

// partsOf appends, after the records' own entries (whose places the
// response's entries follow), the resources a new consultation or
// prescription is written as besides its own: the consultation's coded
// entries, the prescription's issues. The import rules read them back into
// the record.
func (w *wtx) partsOf(c *fhir.Context, b *fhir.Bundle, puts []record.Entity, created map[string]string) error {
	for _, e := range puts {
		rs := c.Resources(e) // the one mapping: the record's own resource first
		if len(rs) < 2 || e.Head().Version != 0 {
			continue
		}
		for _, r := range rs[1:] {
			raw, err := fhir.Marshal(r)
			if err != nil {
				return err
			}
			s := string(raw)
			for ref, urn := range created {
				s = strings.ReplaceAll(s, `"reference":"`+ref+`"`, `"reference":"`+urn+`"`)
			}
			b.Entry = append(b.Entry, fhir.BundleEntry{Resource: json.RawMessage(s), FullURL: "urn:uuid:" + uuid.Must(uuid.NewV7()).String(),
				Request: &fhir.BundleRequest{Method: "POST", URL: r.FHIRType()}})
		}
	}
	return nil
}
