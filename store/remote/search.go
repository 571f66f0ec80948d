package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// RunSearch asks the server to run a search where the data is (POST
// Group/$search) when its CapabilityStatement declares that operation;
// against any other server ok is false and the workstation runs the search
// itself over standard FHIR search (Scan).
func (s *Store) RunSearch(ctx context.Context, text, on, reason, purpose string) (*store.SearchResult, bool, error) {
	if !s.searchOp {
		return nil, false, nil
	}
	path := "Group/$search"
	q := url.Values{}
	if on != "" {
		q.Set("on", on)
	}
	if purpose != "" {
		q.Set("purpose", purpose)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	hdr := reasonHeader(reason)
	var raw []byte
	if err := s.do(ctx, "POST", path, []byte(text), hdr, &raw); err != nil {
		return nil, true, typed(err, "search")
	}
	return groupResult(raw)
}

// reasonHeader is the X-Access-Reason of a request, or none.
func reasonHeader(reason string) map[string]string {
	hdr := map[string]string{"Content-Type": "text/plain; charset=utf-8"}
	if r := strings.TrimSpace(reason); r != "" {
		hdr["X-Access-Reason"] = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, r)
	}
	return hdr
}

// RunExplain asks the server to explain a search for one patient (POST
// Group/$explain?patient=REF) when its CapabilityStatement declares it:
// the patient's records are read there, with the search right and the
// server's audit, and never cross the wire; ok is false otherwise.
func (s *Store) RunExplain(ctx context.Context, text, ref, on, reason string, out any) (bool, error) {
	if !s.explainOp {
		return false, nil
	}
	q := url.Values{"patient": {ref}}
	if on != "" {
		q.Set("on", on)
	}
	var raw []byte
	if err := s.do(ctx, "POST", "Group/$explain?"+q.Encode(), []byte(text), reasonHeader(reason), &raw); err != nil {
		return true, typed(err, "explain")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return true, fmt.Errorf("remote: Group/$explain: %w", err)
	}
	return true, nil
}

func groupResult(raw []byte) (*store.SearchResult, bool, error) {
	var g fhir.Group
	if err := fhir.Unmarshal(raw, &g); err != nil {
		return nil, true, fmt.Errorf("remote: Group/$search: %w", err)
	}
	out := &store.SearchResult{Title: g.Name}
	for _, e := range g.Extension {
		switch e.URL {
		case fhir.ExtSearchReference:
			if e.ValueString != nil {
				out.Reference = *e.ValueString
			}
		case fhir.ExtSearchRegistered:
			if e.ValueInteger != nil {
				out.Registered = *e.ValueInteger
			}
		case fhir.ExtSearchAchieved:
			if f, err := strconv.ParseFloat(string(e.ValueDecimal), 64); err == nil {
				out.Achievement = &f
			}
		}
	}
	for _, m := range g.Member {
		sm := store.SearchMember{PatientID: strings.TrimPrefix(m.Entity.Reference, "Patient/"), Name: m.Entity.Display}
		if m.Entity.Identifier != nil {
			sm.NHSNumber = m.Entity.Identifier.Value
		}
		for _, e := range m.Extension {
			switch {
			case e.URL == fhir.ExtSearchStatus && e.ValueCode != nil:
				sm.Status = *e.ValueCode
			case e.URL == fhir.ExtSearchSensitive && e.ValueBoolean != nil:
				sm.Sensitive = *e.ValueBoolean
			case e.URL == fhir.ExtSearchMatch && e.ValueString != nil:
				sm.Matched = append(sm.Matched, *e.ValueString)
			case e.URL == fhir.ExtSearchEvidence && e.ValueString != nil:
				sm.Evidence = append(sm.Evidence, *e.ValueString)
			}
		}
		out.Members = append(out.Members, sm)
	}
	return out, true, nil
}

var _ store.Scanner = (*tx)(nil)

// Scan reads every record of the kinds over standard FHIR search, one paged
// search per resource type (GET Type?_count=N, following the server's next
// links; a few types at once), patients given first: what a population search needs when the server
// cannot run it (another vendor's). Asking patient by patient would cost a
// request per patient and type, and a version number one more per record on
// a server with opaque version ids; a search reads neither, so records come
// with Version 0. A record is kept only when it belongs to one of the
// server's patients (a resource about a device or a group is no one's
// record); one the mapping cannot read fails the scan, naming it, since a
// search that silently skipped it would be wrong.
//
// Records are read back as an import reads them: a consultation's coded
// entries, written as Observations without a value or Procedures naming
// its Encounter, are its entries again (a Procedure outside any is a
// consultation of its own); a prescription's issues are its issues
// (medicines).
func (t *tx) Scan(kinds []record.Kind, fn func(record.Entity) error) error {
	if t.s.gpsoc {
		// gpsoc serve searches one patient's record at a time (and one that
		// declares no Group/$search has no terminology to run it): patient
		// by patient, its version numbers costing nothing.
		var ids []string
		if err := t.scan([]record.Kind{record.KindPatient}, "", func(e record.Entity) error {
			ids = append(ids, e.Head().ID)
			if !slices.Contains(kinds, record.KindPatient) {
				return nil
			}
			return fn(e)
		}); err != nil {
			return err
		}
		for _, id := range ids {
			if err := t.ScanPatient(id, kinds, fn); err != nil {
				return err
			}
		}
		return nil
	}
	return t.scan(kinds, "", fn)
}

// ScanPatient is Scan of one patient's records (GET Type?patient=…), the
// patient not included: what an explanation reads.
func (t *tx) ScanPatient(patientID string, kinds []record.Kind, fn func(record.Entity) error) error {
	if patientID == "" {
		return &record.NotFoundError{Kind: "patient", ID: patientID}
	}
	return t.scan(slices.DeleteFunc(slices.Clone(kinds), func(k record.Kind) bool { return k == record.KindPatient }), patientID, fn)
}

// scan is Scan, of one patient's records when patientID is set.
func (t *tx) scan(kinds []record.Kind, patientID string, fn func(record.Entity) error) error {
	want := map[record.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	// The types to read, each once, Encounters before what names them.
	var types []string
	for _, k := range kinds {
		if typ := fhir.KindType(k); typ != "" && typ != "Patient" && !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	if want[record.KindConsultation] {
		types = slices.DeleteFunc(types, func(s string) bool { return s == "Encounter" || s == "Observation" })
		types = append([]string{"Encounter", "Observation", "Procedure"}, types...)
	}
	// A type the server's CapabilityStatement leaves out it holds none of
	// (gpsoc serve keeps a consultation's entries in its Encounter, and
	// serves no Procedure).
	types = slices.DeleteFunc(types, func(typ string) bool { return !t.s.offers(typ) })
	pats := map[string]bool{}
	if patientID != "" {
		pats[patientID] = true
	} else {
		types = append([]string{"Patient"}, types...)
	}
	got, err := t.fetch(types, patientID)
	if err != nil {
		return err
	}
	for _, it := range got["Patient"] {
		e, err := t.mapped(it.r, false)
		if err != nil {
			return err
		}
		pats[e.Head().ID] = true
		if want[record.KindPatient] {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	rs := t.resolver()
	consults := map[string]*record.Consultation{}
	var order []*record.Consultation // sent last, with their entries
	entryOf := func(enc *fhir.Reference) *record.Consultation {
		return consults[rs.ID(enc, "Encounter")] // nil: none, or one whose entries came with it (api-record)
	}
	for _, typ := range types {
		if typ == "Patient" {
			continue
		}
		var meds []fhir.Resource // mapped once all are read: an issue is its plan's
		if err := eachFetched(got[typ], func(pid string, r fhir.Resource) error {
			if !pats[pid] {
				return nil
			}
			switch x := r.(type) {
			case *fhir.MedicationRequest:
				meds = append(meds, r)
				return nil
			case *fhir.Encounter:
				e, err := t.mapped(r, false)
				if err != nil {
					return err
				}
				c := e.(*record.Consultation)
				if len(c.Entries) == 0 {
					consults[c.ID] = c
				}
				order = append(order, c)
				return nil
			case *fhir.Observation:
				if c := entryOf(x.Encounter); c != nil && fhir.IsCodedEntry(x) {
					ce, _, err := fhir.EntryFromObservation(x)
					if err != nil {
						return fmt.Errorf("remote: Observation/%s: %w", x.ID, err)
					}
					if x.Status != record.StatusEnteredInError {
						c.Entries = append(c.Entries, ce)
					}
					return nil
				}
				if !want[record.KindObservation] {
					return nil
				}
			case *fhir.Procedure:
				if x.Status == record.StatusEnteredInError {
					return nil
				}
				ce, _, err := fhir.EntryFromProcedure(x)
				if err != nil {
					return fmt.Errorf("remote: Procedure/%s: %w", x.ID, err)
				}
				if c := entryOf(x.Encounter); c != nil {
					c.Entries = append(c.Entries, ce)
					return nil
				}
				at, err := fhir.ProcedureTime(x)
				if err != nil {
					return fmt.Errorf("remote: Procedure/%s: %w", x.ID, err)
				}
				c := &record.Consultation{Start: at, Entries: []record.CodedEntry{ce}}
				c.ID, c.PatientID = "Procedure/"+x.ID, pid
				order = append(order, c)
				return nil
			}
			e, err := t.mapped(r, false)
			if err != nil {
				return err
			}
			if !want[e.Kind()] {
				return nil
			}
			return fn(e)
		}); err != nil {
			return fmt.Errorf("read %s resources: %w", typ, err)
		}
		if len(meds) > 0 {
			es, err := t.medicines(meds, false)
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range order {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// fetched is a resource a scan read, with the patient it is about.
type fetched struct {
	pid string
	r   fhir.Resource
}

func eachFetched(items []fetched, fn func(pid string, r fhir.Resource) error) error {
	for _, it := range items {
		if err := fn(it.pid, it.r); err != nil {
			return err
		}
	}
	return nil
}

// scanParallel is how many resource types a scan reads at once: each type's
// pages follow one another, but the types need not wait for each other (a
// server across a network answers several requests in the time of one).
const scanParallel = 4

// fetch reads every resource of each type by paged standard search (of one
// patient's when patientID is set), a few types at once, each checked
// complete against the server's total.
func (t *tx) fetch(types []string, patientID string) (map[string][]fetched, error) {
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	out := make(map[string][]fetched, len(types))
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	sem := make(chan struct{}, scanParallel)
	rs := t.resolver()
	for _, typ := range types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var items []fetched
			q := url.Values{"_count": {strconv.Itoa(t.s.o.PageSize)}}
			if patientID != "" {
				q.Set("patient", "Patient/"+patientID)
			}
			total, err := t.s.searchRaw(ctx, typ, q, func(raw json.RawMessage, r fhir.Resource) error {
				pid := *r.Head().ID
				if typ != "Patient" {
					var about struct {
						Subject, Patient *fhir.Reference
					}
					_ = json.Unmarshal(raw, &about)
					if pid = rs.ID(about.Subject, "Patient"); pid == "" {
						pid = rs.ID(about.Patient, "Patient")
					}
				}
				items = append(items, fetched{pid, r})
				return nil
			})
			if err == nil {
				err = complete(typ, total, len(items))
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("read %s resources: %w", typ, err)
				cancel()
			}
			out[typ] = items
		}()
	}
	wg.Wait()
	return out, first
}

// complete fails a scan that was given fewer resources than the server said
// match (a server that pages without next links, or one that changed under
// the scan): a search over part of the records would be wrong, not slow.
func complete(typ string, total, got int) error {
	if total >= 0 && got < total {
		return fmt.Errorf("remote: the server says %d %s resources match but gave %d over its pages: the search cannot be complete; run it again", total, typ, got)
	}
	return nil
}

// medicines maps MedicationRequests to medicines. An order based on a plan
// among them is how a prescription's issue is written (fhir's
// MedicationResources: intent order, basedOn the authorisation), so it is
// an issue of that plan, as an import reads it, not a medicine of its own;
// an order whose plan is not among them is a medicine as the server holds it.
func (t *tx) medicines(in []fhir.Resource, version bool) ([]record.Entity, error) {
	rs := t.resolver()
	plans := map[string]*record.Medication{}
	var out []record.Entity
	var orders []*fhir.MedicationRequest
	planOf := func(x *fhir.MedicationRequest) string {
		if x.Intent != "order" || len(x.BasedOn) != 1 {
			return ""
		}
		return rs.ID(&x.BasedOn[0], "MedicationRequest")
	}
	for _, r := range in {
		if x := r.(*fhir.MedicationRequest); planOf(x) != "" {
			orders = append(orders, x)
			continue
		}
		e, err := t.mapped(r, version)
		if err != nil {
			return nil, err
		}
		plans[e.Head().ID] = e.(*record.Medication)
		out = append(out, e)
	}
	for _, x := range orders {
		p := plans[planOf(x)]
		if p == nil {
			e, err := t.mapped(x, version)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			continue
		}
		if x.Status == record.StatusEnteredInError {
			continue
		}
		is, err := fhir.IssueFrom(x, rs)
		if err != nil {
			return nil, fmt.Errorf("remote: MedicationRequest/%s: %w", x.ID, err)
		}
		if !slices.ContainsFunc(p.Issues, func(i record.Issue) bool { return i.At.Equal(is.At) }) {
			p.Issues = append(p.Issues, is)
		}
	}
	for _, p := range plans {
		slices.SortStableFunc(p.Issues, func(a, b record.Issue) int { return a.At.Compare(b.At) })
	}
	return out, nil
}
