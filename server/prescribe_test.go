package server_test

import (
	"encoding/json"
	"github.com/opengpsoc/gpsoc/clinical"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
)

// Real dm+d products and SNOMED CT codes of the embedded terminology (the
// ones clinical/prescribing_test.go uses).
const (
	rxAmoxicillin = "39732411000001106" // Amoxicillin 500mg capsules (VMP)
	rxRamipril    = "318902004"         // Ramipril 5mg capsules
	rxMetformin   = "325278007"         // Metformin 500mg tablets
	rxPenAllergy  = "91936005"          // Allergy to penicillin (finding)
)

func medRequestJSON(pid, code, status string, answers ...map[string]any) map[string]any {
	r := map[string]any{
		"resourceType":              "MedicationRequest",
		"status":                    status,
		"intent":                    "order",
		"subject":                   map[string]any{"reference": "Patient/" + pid},
		"medicationCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": record.SystemDMD, "code": code}}},
		"dosageInstruction":         []any{map[string]any{"text": "1 od"}},
		"dispenseRequest":           map[string]any{"quantity": map[string]any{"value": 21, "unit": "capsule"}},
	}
	if len(answers) > 0 {
		b, _ := json.Marshal(map[string]any{"alertAnswers": answers})
		r["extension"] = []any{map[string]any{"url": "https://opengpsoc.org/fhir/StructureDefinition/record-extra", "valueString": string(b)}}
	}
	return r
}

func txOf(rs ...map[string]any) map[string]any {
	var es []any
	for _, r := range rs {
		es = append(es, map[string]any{"fullUrl": "urn:uuid:" + uuid.NewString(), "resource": r,
			"request": map[string]any{"method": "POST", "url": r["resourceType"]}})
	}
	return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": es}
}

func medsOf(t *testing.T, f *fixture, pid string) []*record.Medication {
	t.Helper()
	var out []*record.Medication
	if err := f.st.View(ctx, func(tx store.Tx) error {
		es, err := tx.List(pid, record.KindMedication)
		for _, e := range es {
			out = append(out, e.(*record.Medication))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// rxPractice is a served practice with the dm+d dictionary (as gpsoc serve
// has) and one patient, whose id it returns.
func rxPractice(t *testing.T) (*fixture, string) {
	t.Helper()
	f := start(t)
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f.p.SetDrugs(tm)
	r := f.do(t, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"))
	wantStatus(t, r, 201)
	return f, r.body["id"].(string)
}

// A prescription written through the API passes the checks local
// prescribing runs (H30): a penicillin-allergic patient's amoxicillin is
// refused until the alert is answered, and the refusal is audited.
func TestAPIPrescribingRunsTheSafetyChecks(t *testing.T) {
	f, pid := rxPractice(t)
	var r resp
	wantStatus(t, f.do(t, "dr.gp", "POST", "/AllergyIntolerance", map[string]any{
		"resourceType": "AllergyIntolerance", "type": "allergy",
		"patient": map[string]any{"reference": "Patient/" + pid},
		"code":    map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": rxPenAllergy}}},
	}), 201)

	// Unanswered: 422, each alert in the OperationOutcome, nothing written, audited.
	r = f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxAmoxicillin, "active")))
	wantStatus(t, r, 422)
	alertID := ""
	for _, is := range r.body["issue"].([]any) {
		d, _ := is.(map[string]any)["details"].(map[string]any)
		if d == nil {
			continue
		}
		cs := d["coding"].([]any)
		id := cs[0].(map[string]any)["code"].(string)
		if strings.HasPrefix(id, "allergy:") && strings.HasSuffix(clinical.BaseAlertID(id), ":"+rxAmoxicillin) {
			alertID = id
			if sev := cs[1].(map[string]any)["code"]; sev != "high" || !strings.Contains(strings.ToLower(d["text"].(string)), "amoxicillin") {
				t.Errorf("alert issue %v", is)
			}
		}
	}
	if alertID == "" {
		t.Fatalf("no penicillin allergy alert in %s", r.raw)
	}
	if ms := medsOf(t, f, pid); len(ms) != 0 {
		t.Fatalf("a refused prescription was written: %+v", ms[0])
	}
	if ev := lastAudit(t, f.st); ev.Action != "prescribe" || ev.Outcome != "blocked" || ev.User != "dr.gp" ||
		ev.PatientID != pid || !strings.Contains(ev.Reason, alertID) {
		t.Errorf("blocked prescription audited as %+v", ev)
	}

	// Not a prescriber: refused before any check.
	wantStatus(t, f.do(t, "nurse", "POST", "/", txOf(medRequestJSON(pid, rxRamipril, "active"))), 403)

	// An acknowledgement does not answer a high alert; an answer to an alert not raised is refused.
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxAmoxicillin, "active",
		map[string]any{"alertId": alertID, "answer": "ack"}))), 422)
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxRamipril, "active",
		map[string]any{"alertId": "allergy:x:y", "answer": "override", "reason": "r"}))), 422)
	if ms := medsOf(t, f, pid); len(ms) != 0 {
		t.Fatalf("written with a wrong answer: %+v", ms[0])
	}

	// Answered (override with a reason): written, the answer stored and audited.
	r = f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxAmoxicillin, "active",
		map[string]any{"alertId": alertID, "answer": "override", "reason": "tolerated amoxicillin in 2024"})))
	wantStatus(t, r, 200)
	ms := medsOf(t, f, pid)
	if len(ms) != 1 || len(ms[0].Answers) != 1 {
		t.Fatalf("after the answered prescription: %+v", ms)
	}
	if a := ms[0].Answers[0]; a.AlertID != alertID || a.Answer != "override" || a.Reason != "tolerated amoxicillin in 2024" ||
		a.By != "dr.gp" || a.Severity != "high" {
		t.Errorf("stored answer %+v", a)
	}
	if ev := lastAudit(t, f.st); ev.Action != "alert-override" || ev.EntityID != ms[0].ID || !strings.HasPrefix(ev.Reason, alertID+": ") {
		t.Errorf("override audited as %+v", ev)
	}
	g := f.do(t, "dr.gp", "GET", "/MedicationRequest/"+ms[0].ID, nil)
	wantStatus(t, g, 200)
	if !strings.Contains(string(g.raw), "tolerated amoxicillin in 2024") {
		t.Errorf("the answer is not on the MedicationRequest: %s", g.raw)
	}

	// No alert: written as it is.
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxRamipril, "active"))), 200)
	// History (a stopped prescription) is not prescribing: not checked.
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxAmoxicillin, "stopped"))), 200)
	if ms := medsOf(t, f, pid); len(ms) != 3 {
		t.Fatalf("want 3 medications, have %d", len(ms))
	}
	// A plain create of a prescription is still refused: it goes in a transaction.
	wantStatus(t, f.do(t, "dr.gp", "POST", "/MedicationRequest", medRequestJSON(pid, rxAmoxicillin, "active")), 405)

	// A nurse prescriber prescribes only when the practice allows nurse
	// prescribing (set here through the API, as a workstation's admin does).
	admin, err := f.p.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	us, err := admin.ReadUsers(ctx, "nurse")
	if err != nil || len(us) != 1 {
		t.Fatal(us, err)
	}
	nu := us[0]
	nu.Prescriber, nu.RegNumber = true, "12A3456E"
	if _, err := admin.UpdateUser(ctx, nu); err != nil {
		t.Fatal(err)
	}
	o := f.do(t, "admin", "GET", "/Organization/B86001", nil)
	wantStatus(t, o, 200)
	for _, x := range o.body["extension"].([]any) {
		if e := x.(map[string]any); e["url"] == "https://opengpsoc.org/fhir/StructureDefinition/record-extra" {
			var v map[string]any
			if err := json.Unmarshal([]byte(e["valueString"].(string)), &v); err != nil {
				t.Fatal(err)
			}
			st, _ := v["settings"].(map[string]any)
			if st == nil {
				st = map[string]any{}
			}
			st["nurse-prescribing"] = "true"
			v["settings"] = st
			b, _ := json.Marshal(v)
			e["valueString"] = string(b)
		}
	}
	wantStatus(t, f.do(t, "admin", "PUT", "/Organization/B86001", o.body, "If-Match", o.header.Get("ETag")), 200)
	if pr := f.p.PracticeRecord(ctx); pr.Settings["nurse-prescribing"] != "true" {
		t.Fatalf("nurse prescribing not set: %+v", pr.Settings)
	}
	wantStatus(t, f.do(t, "nurse", "POST", "/", txOf(medRequestJSON(pid, rxMetformin, "active"))), 200)
}

// A prescription over the API is the token holder's: one naming another
// prescriber as requester is refused, one naming none is recorded as theirs.
func TestAPIPrescriptionIsTheTokenHolders(t *testing.T) {
	f, pid := rxPractice(t)
	var r resp
	other := medRequestJSON(pid, rxRamipril, "active")
	other["requester"] = map[string]any{"reference": "Practitioner/" + fhir.PractitionerID("nurse")}
	r = f.do(t, "dr.gp", "POST", "/", txOf(other))
	if r.status == 200 || !strings.Contains(string(r.raw), "requester") {
		t.Fatalf("a prescription naming another requester: %d %s", r.status, r.raw)
	}
	if n := len(medsOf(t, f, pid)); n != 0 {
		t.Fatalf("%d medications written", n)
	}
	ack := map[string]any{"alertId": "allergy-status:not-recorded", "answer": "ack"}
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", txOf(medRequestJSON(pid, rxRamipril, "active", ack))), 200)
	if ms := medsOf(t, f, pid); len(ms) != 1 || ms[0].Prescriber != "dr.gp" {
		t.Fatalf("prescription without a requester: %+v", ms)
	}
}

// An issue sent as a PUT (numberOfPrescriptionsIssued one more) runs the
// checks again on the server: a second issue the same day is refused (422,
// the early-issue alert in the OperationOutcome) until the PUT carries an
// override with its reason in alertAnswers; then it is issued.
func TestAPIIssueRunsTheChecks(t *testing.T) {
	f, pid := rxPractice(t)
	gp, err := f.p.As(ctx, "dr.gp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, NKDA: true}); err != nil {
		t.Fatal(err)
	}
	res, err := gp.Prescribe(ctx, clinical.PrescribeInput{PatientRef: pid, Code: rxRamipril, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 6})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Medication.ID
	if _, err := gp.Issue(ctx, pid, []string{id}, false); err != nil {
		t.Fatal(err)
	}
	put := func(answers ...map[string]any) resp {
		r := f.do(t, "dr.gp", "GET", "/MedicationRequest/"+id, nil)
		wantStatus(t, r, 200)
		body := r.body
		for _, e := range body["extension"].([]any) {
			ext := e.(map[string]any)
			if ext["url"] != fhir.ExtRepeatInformation {
				continue
			}
			for _, s := range ext["extension"].([]any) {
				sub := s.(map[string]any)
				if sub["url"] == "numberOfPrescriptionsIssued" {
					sub["valueUnsignedInt"] = sub["valueUnsignedInt"].(float64) + 1
				}
			}
		}
		if len(answers) > 0 {
			b, _ := json.Marshal(map[string]any{"alertAnswers": answers})
			var exts []any
			for _, e := range body["extension"].([]any) {
				if e.(map[string]any)["url"] != "https://opengpsoc.org/fhir/StructureDefinition/record-extra" {
					exts = append(exts, e)
				}
			}
			body["extension"] = append(exts, map[string]any{"url": "https://opengpsoc.org/fhir/StructureDefinition/record-extra", "valueString": string(b)})
		}
		return f.do(t, "dr.gp", "PUT", "/MedicationRequest/"+id, body, "If-Match", r.header.Get("ETag"))
	}
	r := put()
	wantStatus(t, r, 422)
	alertID := ""
	for _, is := range r.body["issue"].([]any) {
		d, _ := is.(map[string]any)["details"].(map[string]any)
		if d == nil {
			continue
		}
		code := d["coding"].([]any)[0].(map[string]any)["code"].(string)
		if strings.HasPrefix(code, "early-issue:") {
			alertID = code
		}
	}
	if alertID == "" {
		t.Fatalf("no early-issue alert in %s", r.raw)
	}
	if ms := medsOf(t, f, pid); len(ms) != 1 || len(ms[0].Issues) != 1 {
		t.Fatalf("a refused issue was written")
	}
	r = put(map[string]any{"alertId": alertID, "answer": "override", "reason": "patient's supply destroyed in a flood"})
	wantStatus(t, r, 200)
	if ms := medsOf(t, f, pid); len(ms[0].Issues) != 2 || ms[0].Answers[len(ms[0].Answers)-1].Reason != "patient's supply destroyed in a flood" {
		t.Fatalf("issue with the answer: %+v", ms[0])
	}
}
