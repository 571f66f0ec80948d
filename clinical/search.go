package clinical

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// searchKinds are the records a population search reads.
var searchKinds = []record.Kind{record.KindPatient, record.KindProblem, record.KindConsultation,
	record.KindObservation, record.KindMedication, record.KindImmunisation, record.KindAllergy}

// SearchKinds are the record kinds a population search can read.
func SearchKinds() []record.Kind { return append([]record.Kind(nil), searchKinds...) }

// ScanForSearch streams the current version of every record a population
// search reads (patients, problems, consultations, observations, medicines,
// immunisations, allergies) to fn, for a user with the search right (the role
// table: managers and clinicians; a refusal is audited). It writes no audit
// event itself: the search run that uses it writes one with its query and
// count (SearchRun).
func (s *Service) ScanForSearch(ctx context.Context, fn func(record.Entity)) error {
	return s.ScanKindsForSearch(ctx, nil, fn)
}

// ScanKindsForSearch is ScanForSearch of some kinds only (nil: all), the
// patients always: a search that reads no medicines need not fetch them
// from a server. Over a store whose transactions offer store.Scanner (a
// remote server) it reads them that way: one paged search per resource type,
// not a request per patient.
func (s *Service) ScanKindsForSearch(ctx context.Context, kinds []record.Kind, fn func(record.Entity)) error {
	if err := s.require(ctx, ActSearch, ""); err != nil {
		return err
	}
	want := []record.Kind{record.KindPatient}
	for _, k := range searchKinds[1:] {
		if kinds == nil || slices.Contains(kinds, k) {
			want = append(want, k)
		}
	}
	for _, k := range kinds {
		if !slices.Contains(searchKinds, k) {
			return fmt.Errorf("a population search does not read %s records", k)
		}
	}
	return s.store().View(ctx, func(tx store.Tx) error {
		if sc, ok := tx.(store.Scanner); ok {
			return sc.Scan(want, func(e record.Entity) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				fn(e)
				return nil
			})
		}
		for _, k := range want {
			if err := tx.ForEach(k, func(e record.Entity) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				fn(e)
				return nil
			}); err != nil {
				return fmt.Errorf("read %s records for the search: %w", k, err)
			}
		}
		return nil
	})
}

// PatientForSearch streams one patient's records that a search reads (the
// patient first), for explaining a search: the search right, not the
// clinical read right (a manager may see why a patient is on a register).
// ref is an NHS number or a patient id.
func (s *Service) PatientForSearch(ctx context.Context, ref string, fn func(record.Entity)) (*record.Patient, error) {
	return s.PatientForSearchWith(ctx, ref, ReadOptions{}, fn)
}

// PatientForSearchWith is PatientForSearch with the reason the user gave to
// see a sensitive record's values: the values are withheld or shown by the
// search (cohort), but a server that keeps a sensitive record's reads behind
// a reason (gpsoc serve, in remote mode) is sent it with each read.
func (s *Service) PatientForSearchWith(ctx context.Context, ref string, ro ReadOptions, fn func(record.Entity)) (*record.Patient, error) {
	if err := s.require(ctx, ActSearch, ""); err != nil {
		return nil, err
	}
	ctx = store.WithAccessReason(ctx, strings.TrimSpace(ro.Reason))
	var p *record.Patient
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		if p, err = resolvePatient(tx, ref); err != nil {
			return err
		}
		fn(p)
		if sc, ok := tx.(store.Scanner); ok { // as a whole-practice search reads them
			return sc.ScanPatient(p.ID, searchKinds[1:], func(e record.Entity) error { fn(e); return nil })
		}
		for _, k := range searchKinds[1:] {
			es, err := tx.List(p.ID, k)
			if err != nil {
				return err
			}
			for _, e := range es {
				fn(e)
			}
		}
		return nil
	})
	return p, err
}

// SearchRun is the audit of one run of a search, register or indicator:
// what ran (its title and the hash of its text), for whom (patientID, for an
// explanation), how many patients it found, and the reason given to see the
// values of sensitive records ("" when none was).
type SearchRun struct {
	Query     string
	PatientID string
	Count     int
	Reason    string
	Action    string // "search" (default) or "explain"
}

// AuditSearch writes the audit event of a search run. A search that ran
// without its audit event is not shown: callers print only after this
// returns nil.
func (s *Service) AuditSearch(ctx context.Context, r SearchRun) error {
	return s.AuditSearches(ctx, []SearchRun{r})
}

// AuditSearches writes the audit events of several runs (register list runs
// every register and indicator) in one transaction: one event each.
func (s *Service) AuditSearches(ctx context.Context, runs []SearchRun) error {
	pid := ""
	if len(runs) == 1 {
		pid = runs[0].PatientID
	}
	if err := s.require(ctx, ActSearch, pid); err != nil {
		return err
	}
	evs := make([]*record.AuditEvent, len(runs))
	for i, r := range runs {
		action := r.Action
		if action == "" {
			action = "search"
		}
		ev := s.event(action, record.KindPatient, "", r.PatientID, 0)
		ev.Query = fmt.Sprintf("%s; count %d", r.Query, r.Count)
		ev.Reason = strings.TrimSpace(r.Reason)
		evs[i] = ev
	}
	if s.unit != nil {
		for _, ev := range evs {
			if err := s.audit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	}
	return s.store().Update(ctx, func(tx store.WTx) error {
		for _, ev := range evs {
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// ServerSearch is what a server's search found (the services' own copy of
// the store's answer: nothing of the store leaves clinical).
type ServerSearch struct {
	Title       string
	Reference   string
	Registered  int // patients registered on the reference date
	Achievement *float64
	Members     []ServerSearchMember
}

// ServerSearchMember is one patient a server's search found, with the
// values that matched as the server wrote them.
type ServerSearchMember struct {
	PatientID, Name, NHSNumber, Status string
	Sensitive                          bool
	Matched                            []string
	Evidence                           []string // as the server's engine gave them (JSON), when it did
}

// SearchOnServer runs a search definition's text on the server when the
// store is one that can (gpsoc serve): the search runs where the data is and
// is audited there. ok is false otherwise (a local file, another vendor's
// server): the caller runs it here, through ScanForSearch. purpose is what
// the run is for, as its audit event names it ("" a search; export, or
// recall/task from, as SearchRun.Query begins).
func (s *Service) SearchOnServer(ctx context.Context, text, on, reason, purpose string) (*ServerSearch, bool, error) {
	if err := s.require(ctx, ActSearch, ""); err != nil {
		return nil, false, err
	}
	sr, ok := s.p.st.(store.Searcher)
	if !ok {
		return nil, false, nil
	}
	r, ok, err := sr.RunSearch(ctx, text, on, reason, purpose)
	if err != nil || !ok {
		return nil, ok, err
	}
	out := &ServerSearch{Title: r.Title, Reference: r.Reference, Registered: r.Registered, Achievement: r.Achievement}
	for _, m := range r.Members {
		out.Members = append(out.Members, ServerSearchMember{PatientID: m.PatientID, Name: m.Name, NHSNumber: m.NHSNumber,
			Status: m.Status, Sensitive: m.Sensitive, Matched: m.Matched, Evidence: m.Evidence})
	}
	return out, true, nil
}

// ExplainOnServer asks a server that runs searches to explain the search
// definition text for one patient (ref: NHS number or id) on date on, the
// JSON answer decoded into out; reason shows a sensitive record's entries
// (audited there). ok is false when the store is not such a server: the
// caller explains here.
func (s *Service) ExplainOnServer(ctx context.Context, text, ref, on, reason string, out any) (bool, error) {
	if err := s.require(ctx, ActSearch, ""); err != nil {
		return false, err
	}
	sr, ok := s.p.st.(store.Searcher)
	if !ok {
		return false, nil
	}
	return sr.RunExplain(ctx, text, ref, on, reason, out)
}

// SearchesFetch reports whether the store is a server whose searches, when
// it cannot run them itself (SearchOnServer not ok), are evaluated here over
// records fetched by standard search: the faces say so.
func (s *Service) SearchesFetch() bool {
	_, ok := s.p.st.(store.Searcher)
	return ok
}

// RequireSearch refuses (and audits) a user without the search right; a
// search over an index built earlier asks it before reading the index.
func (s *Service) RequireSearch(ctx context.Context) error {
	return s.require(ctx, ActSearch, "")
}
