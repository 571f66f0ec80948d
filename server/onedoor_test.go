package server_test

// One door (issue 15): over the API every entry of a transaction is applied
// by the services or the whole Bundle is refused naming the entry; the
// audit trail is the server's own; every read goes through the services'
// read rules.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
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
	_ = f.st.View(ctx, func(tx store.Tx) error { n = tx.Count(k); return nil })
	return n
}

func (f *fixture) trail(t *testing.T, keep func(*record.AuditEvent) bool) []*record.AuditEvent {
	t.Helper()
	var out []*record.AuditEvent
	_ = f.st.View(ctx, func(tx store.Tx) error {
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

func medStatementJSON(pid, code, status string) map[string]any {
	return map[string]any{
		"resourceType":              "MedicationStatement",
		"status":                    status,
		"subject":                   map[string]any{"reference": "Patient/" + pid},
		"medicationCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": record.SystemDMD, "code": code}}},
		"dosage":                    []any{map[string]any{"text": "1 tds"}},
	}
}

// A MedicationStatement with status active, from a nurse who is not a
// prescriber, is history recorded elsewhere: written with her as its
// author, never an active prescription of ours (it cannot be issued), and
// the prescribing checks take it into account (a duplicate alert when the
// GP prescribes the same medicine).
func TestMedicationStatementIsHistory(t *testing.T) {
	f, pid := rxPractice(t)
	r := f.do(t, "nurse", "POST", "/", txOf(medStatementJSON(pid, rxAmoxicillin, "active")))
	wantStatus(t, r, http.StatusOK)
	ms := medsOf(t, f, pid)
	if len(ms) != 1 {
		t.Fatalf("%d medications after the statement", len(ms))
	}
	m := ms[0]
	if m.Type != record.MedElsewhere || m.Status != "active" || m.RecordedBy != "nurse" || m.Prescriber == "nurse" {
		t.Fatalf("the statement was stored as %+v, want active history recorded elsewhere by the nurse", m)
	}
	// Not ours to issue.
	g := f.do(t, "dr.gp", "GET", "/MedicationRequest/"+m.ID, nil)
	wantStatus(t, g, http.StatusOK)
	if g.body["reportedBoolean"] != true {
		t.Errorf("history is not reported as such: %s", g.raw)
	}
	g.body["status"] = "stopped"
	g.body["statusReason"] = map[string]any{"text": "x"}
	delete(g.body, "statusReason")
	g.body["dispenseRequest"] = map[string]any{"numberOfRepeatsAllowed": 3}
	if r := f.do(t, "dr.gp", "PUT", "/MedicationRequest/"+m.ID, g.body, "If-Match", g.header.Get("ETag")); r.status < 400 {
		t.Errorf("a medicine recorded elsewhere was changed as a prescription: %d %s", r.status, r.raw)
	}
	// Checked against: the same medicine prescribed here raises a duplicate alert.
	r = f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxAmoxicillin, "active",
		map[string]any{"alertId": "allergy-status:not-recorded", "answer": "ack"})))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.raw), "duplicate:") || !strings.Contains(string(r.raw), m.ID) {
		t.Errorf("no duplicate alert naming the medicine recorded elsewhere: %s", r.raw)
	}
	// A nurse who is not a prescriber cannot prescribe it as ours.
	wantStatus(t, f.do(t, "nurse", "POST", "/", txOf(medRequestJSON(pid, rxRamipril, "active"))), http.StatusForbidden)
	if n := len(medsOf(t, f, pid)); n != 1 {
		t.Errorf("%d medications, want the one statement", n)
	}
}

func encounterJSON(pid, clinician string) map[string]any {
	e := map[string]any{"resourceType": "Encounter", "status": "finished",
		"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
		"subject": map[string]any{"reference": "Patient/" + pid},
		"period":  map[string]any{"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:10:00Z"}}
	if clinician != "" {
		e["participant"] = []any{map[string]any{"individual": map[string]any{"reference": "Practitioner/" + fhir.PractitionerID(clinician)}}}
	}
	return e
}

// Authorship is the acting user's: a nurse's consultation naming a GP as
// its clinician is refused whole (and its result with it); sent without a
// clinician it is hers, with the result written in it. A receptionist
// cannot create a recall in a transaction (403), as on the workstation.
func TestTransactionAuthorshipAndRoles(t *testing.T) {
	f := start(t)
	r := f.do(t, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"))
	wantStatus(t, r, 201)
	pid := r.body["id"].(string)
	withObs := func(enc map[string]any) map[string]any {
		b := txOf(enc, obsJSON(pid, 81))
		es := b["entry"].([]any)
		es[1].(map[string]any)["resource"].(map[string]any)["encounter"] = map[string]any{"reference": es[0].(map[string]any)["fullUrl"]}
		return b
	}
	r = f.do(t, "nurse", "POST", "/", withObs(encounterJSON(pid, "dr.gp")))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.raw), "entry 0") || !strings.Contains(string(r.raw), "participant") {
		t.Errorf("refusal does not name the entry and its author: %s", r.raw)
	}
	if n := f.count(t, record.KindConsultation) + f.count(t, record.KindObservation); n != 0 {
		t.Fatalf("%d records written by a refused Bundle", n)
	}
	r = f.do(t, "nurse", "POST", "/", withObs(encounterJSON(pid, "")))
	wantStatus(t, r, http.StatusOK)
	var c *record.Consultation
	var o *record.Observation
	_ = f.st.View(ctx, func(tx store.Tx) error {
		cs, _ := tx.List(pid, record.KindConsultation)
		os, _ := tx.List(pid, record.KindObservation)
		if len(cs) == 1 && len(os) == 1 {
			c, o = cs[0].(*record.Consultation), os[0].(*record.Observation)
		}
		return nil
	})
	if c == nil || c.Clinician != "nurse" || c.RecordedBy != "nurse" || o.ConsultationID != c.ID || o.RecordedBy != "nurse" {
		t.Fatalf("consultation %+v with result %+v, want the nurse's, the result in it", c, o)
	}
	recall := map[string]any{"resourceType": "Task", "status": "requested", "intent": "plan",
		"code":        map[string]any{"coding": []any{map[string]any{"system": fhir.CSTaskType, "code": "recall"}}},
		"for":         map[string]any{"reference": "Patient/" + pid},
		"reasonCode":  map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "182836005"}}},
		"restriction": map[string]any{"period": map[string]any{"end": "2027-01-10"}}}
	wantStatus(t, f.do(t, "recep", "POST", "/", txOf(recall)), http.StatusForbidden)
	if n := f.count(t, record.KindRecall); n != 0 {
		t.Fatalf("a receptionist's recall was written")
	}
	if evs := f.trail(t, func(ev *record.AuditEvent) bool { return ev.User == "recep" && ev.Outcome == "denied" }); len(evs) == 0 {
		t.Error("the receptionist's refused recall is not audited")
	}
	wantStatus(t, f.do(t, "nurse", "POST", "/", txOf(recall)), http.StatusOK)
}

// The same entry gets the same answer posted alone and in a transaction or
// batch, whatever the validation says of it (each path runs the same
// action): a result dated 2099 is refused by each (422), and the others
// (a weight of -5 kg, an unknown code: refused wherever the validation
// refuses them) get one answer on every path.
func TestTransactionValidatesAsPost(t *testing.T) {
	f := start(t)
	r := f.do(t, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"))
	wantStatus(t, r, 201)
	pid := r.body["id"].(string)
	cases := []map[string]any{obsJSON(pid, 80), obsJSON(pid, -5), obsJSON(pid, 80), obsJSON(pid, 80)}
	cases[2]["effectiveDateTime"] = "2099-01-01T10:00:00Z"
	cases[3]["code"] = map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "not-a-code"}}}
	accepted := func(status int) bool { return status == 200 || status == 201 }
	for i, o := range cases {
		single := f.do(t, "nurse", "POST", "/Observation", o)
		tx := f.do(t, "nurse", "POST", "/", txOf(o))
		batch := f.do(t, "nurse", "POST", "/", map[string]any{"resourceType": "Bundle", "type": "batch",
			"entry": []any{map[string]any{"resource": o, "request": map[string]any{"method": "POST", "url": "Observation"}}}})
		bs := ""
		if es, ok := batch.body["entry"].([]any); ok && len(es) == 1 {
			bs, _ = es[0].(map[string]any)["response"].(map[string]any)["status"].(string)
		}
		bStatus, _ := strconv.Atoi(strings.Fields(bs + " 0")[0])
		same := accepted(single.status) == accepted(tx.status) && accepted(single.status) == accepted(bStatus) &&
			(accepted(single.status) || (tx.status == single.status && bStatus == single.status))
		if !same {
			t.Errorf("case %d: POST %d, transaction %d, batch entry %q: want the same answer", i, single.status, tx.status, bs)
		}
		if i == 2 && accepted(single.status) {
			t.Errorf("a result dated 2099 was accepted: %s", single.raw)
		}
	}
}
