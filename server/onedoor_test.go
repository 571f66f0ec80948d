package server_test

// One door (issue 15): over the API every entry of a transaction is applied
// by the services or the whole Bundle is refused naming the entry; the
// audit trail is the server's own; every read goes through the services'
// read rules.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

func bundle(typ string, entries ...map[string]any) map[string]any {
	var es []any
	for _, r := range entries {
		es = append(es, map[string]any{"resource": r, "request": map[string]any{"method": "POST", "url": r["resourceType"]}})
	}
	return map[string]any{"resourceType": "Bundle", "type": typ, "entry": es}
}

func (f *fixture) count(t *testing.T, k record.Kind) int {
	t.Helper()
	n := 0
	_ = f.p.Store().View(ctx, func(tx store.Tx) error { n = tx.Count(k); return nil })
	return n
}

func (f *fixture) trail(t *testing.T, keep func(*record.AuditEvent) bool) []*record.AuditEvent {
	t.Helper()
	var out []*record.AuditEvent
	_ = f.p.Store().View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error {
			if keep(ev) {
				out = append(out, ev)
			}
			return nil
		})
	})
	return out
}

// A nurse's transaction holding an AuditEvent (a forged read of a sensitive
// patient by another GP, dated 2024, from "tui") plus a patient is refused
// whole, naming the entry: nothing is written and the trail holds no such
// event. POST /AuditEvent is gone: clients never write the trail.
func TestTransactionWithAuditEventRefused(t *testing.T) {
	f := start(t)
	forged := map[string]any{"resourceType": "AuditEvent", "recorded": "2024-01-01T09:00:00Z",
		"type":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
		"agent":  []any{map[string]any{"who": map[string]any{"display": "dr.gp"}, "requestor": true}},
		"source": map[string]any{"observer": map[string]any{"display": "tui"}}}
	for _, typ := range []string{"transaction", "batch"} {
		r := f.do(t, "nurse", "POST", "/", bundle(typ, patientJSON("9434765919", "Forge", "Ann", "1970-01-02"), forged))
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(string(r.raw), "entry 1: AuditEvent") {
			t.Errorf("%s refusal does not name the entry: %s", typ, r.raw)
		}
	}
	if n := f.count(t, record.KindPatient); n != 0 {
		t.Errorf("%d patients written by a refused Bundle", n)
	}
	if evs := f.trail(t, func(ev *record.AuditEvent) bool { return ev.At.Year() == 2024 || ev.Source == "tui" }); len(evs) != 0 {
		t.Errorf("the forged event is in the trail: %+v", evs[0])
	}
	r := f.do(t, "nurse", "POST", "/AuditEvent", forged)
	wantStatus(t, r, http.StatusNotFound)
}

// An entry the server does not hold (a DiagnosticReport) refuses the whole
// Bundle, naming it: never 200 for an entry that was not applied.
func TestTransactionUnhandledEntryRefused(t *testing.T) {
	f := start(t)
	dr := map[string]any{"resourceType": "DiagnosticReport", "status": "final",
		"code": map[string]any{"text": "Full blood count"}}
	r := f.do(t, "dr.gp", "POST", "/", bundle("transaction", patientJSON("9434765919", "Report", "Ann", "1970-01-02"), dr))
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(string(r.raw), "entry 1: DiagnosticReport") {
		t.Errorf("refusal does not name the entry: %s", r.raw)
	}
	if n := f.count(t, record.KindPatient); n != 0 {
		t.Errorf("%d patients written by a refused Bundle", n)
	}
}

// sensitivePatient registers a sensitive patient with one result, through the services.
func (f *fixture) sensitivePatient(t *testing.T) string {
	t.Helper()
	gp, err := f.p.As(ctx, "dr.gp")
	if err != nil {
		t.Fatal(err)
	}
	p := &record.Patient{NHSNumber: "9434765919", Family: "Quayle", Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female"}
	p.Sensitive = true
	if _, err := gp.AddPatient(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: p.ID, System: record.SystemSNOMED, Code: "27113001",
		Value: ptr(70.0), Unit: "kg"}); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func ptr[T any](v T) *T { return &v }

// $everything, history and search go through the Patient read's rules: a GP
// without a reason and an admin (who may not read the clinical record) get
// what the Patient read gives them, 403, and each refusal is audited; with a
// reason the GP gets the record, and the read is audited with the reason.
func TestEverythingAndHistoryFollowTheReadRules(t *testing.T) {
	f := start(t)
	id := f.sensitivePatient(t)
	for _, path := range []string{"/Patient/" + id + "/$everything", "/Patient/" + id + "/_history", "/Patient/" + id,
		"/Observation?patient=" + id} {
		for _, user := range []string{"dr.gp", "admin"} {
			wantStatus(t, f.do(t, user, "GET", path, nil), http.StatusForbidden)
		}
		wantStatus(t, f.do(t, "admin", "GET", path, nil, "X-Access-Reason", "audit of access"), map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[path == "/Patient/"+id || strings.HasSuffix(path, "_history")])
		wantStatus(t, f.do(t, "recep", "GET", path, nil, "X-Access-Reason", "booking"), map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[path == "/Patient/"+id || strings.HasSuffix(path, "_history")])
		r := f.do(t, "dr.gp", "GET", path, nil, "X-Access-Reason", "safeguarding review")
		wantStatus(t, r, http.StatusOK)
	}
	r := f.do(t, "dr.gp", "GET", "/Patient/"+id+"/$everything", nil, "X-Access-Reason", "safeguarding review")
	if !strings.Contains(string(r.raw), `"Observation"`) {
		t.Errorf("$everything with a reason lacks the result: %s", r.raw)
	}
	denied := f.trail(t, func(ev *record.AuditEvent) bool { return ev.Outcome == "denied" && ev.PatientID == id })
	if len(denied) < 8 {
		t.Errorf("%d refusals audited, want at least 8", len(denied))
	}
	withReason := f.trail(t, func(ev *record.AuditEvent) bool {
		return ev.User == "dr.gp" && ev.PatientID == id && ev.Reason == "safeguarding review" && ev.Outcome != "denied"
	})
	if len(withReason) < 4 {
		t.Errorf("%d reads audited with the reason, want at least 4", len(withReason))
	}
}
