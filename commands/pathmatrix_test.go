package commands

// The path matrix (issue 15, one door): for each control, the same input
// driven through each path's real entry point (the command, remote mode's
// command against gpsoc serve, the HTTP request: POST, transaction, batch,
// and the imports: import fhir, NDJSON) gets the same outcome. The rows and
// their outcomes are internal/pathmatrix's; the TUI's column is
// tui.TestPathMatrixTUI, which drives the same inputs by keys through the
// workstation's actions and holds them to the same rows.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/internal/pathmatrix"
	"github.com/opengpsoc/gpsoc/record"
)

// outcome is a path's answer, in one vocabulary: ok, forbidden (exit 4,
// 403), invalid (exit 2, 400/422; an import's rejected entry), alert (exit
// 6, 422 naming the safety alert).
type outcome = pathmatrix.Outcome

const (
	oOK        = pathmatrix.OK
	oForbidden = pathmatrix.Forbidden
	oInvalid   = pathmatrix.Invalid
	oAlert     = pathmatrix.Alert
)

func exitOutcome(code int) outcome {
	switch code {
	case 0:
		return oOK
	case ExitForbidden:
		return oForbidden
	case ExitAlert:
		return oAlert
	case ExitUsage, ExitFailure: // an import's rejected line or entry exits 1
		return oInvalid
	}
	return outcome("exit " + strconv.Itoa(code))
}

func httpOutcome(status int, body []byte) outcome {
	switch {
	case status < 300:
		return oOK
	case status == 403:
		return oForbidden
	case status == 422 && bytes.Contains(body, []byte("safety alert")):
		return oAlert
	case status == 400 || status == 422:
		return oInvalid
	}
	return outcome("status " + strconv.Itoa(status))
}

// matrix is a practice (admin, dr.patel a GP prescriber, nurse.jones,
// reception; Smith, allergic to penicillin) used locally, and the same
// practice served, with its own Smith, used over the API and in remote mode.
type matrix struct {
	t             *testing.T
	local, served *practiceEnv
	localID       string // Smith's id in each
	servedID      string
}

const matrixNHS = "9434765919"

func newMatrix(t *testing.T) *matrix {
	m := &matrix{t: t}
	mk := func() (*practiceEnv, string) {
		e := newPracticeEnv(t, false)
		e.setUp()
		e.ok("--as", "reception", "patient", "add", "--nhs", matrixNHS, "--family", "Smith", "--given", "John",
			"--dob", "1961-03-12", "--sex", "male")
		e.ok("--as", "dr.patel", "allergy", "add", matrixNHS, "--code", "91936005", "--reaction", "rash")
		var p struct {
			ID string `json:"id"`
		}
		e.jsonOf(&p, "--as", "dr.patel", "patient", "show", matrixNHS)
		return e, p.ID
	}
	m.local, m.localID = mk()
	m.served, m.servedID = mk()
	serveDay(t)(m.served)
	return m
}

// api sends one request to the served practice as user.
func (m *matrix) api(user, method, path string, body any, hdr ...string) (int, []byte) {
	m.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, strings.TrimSuffix(m.served.remote.url, "/")+path, rd)
	req.Header.Set("Authorization", "Bearer "+m.served.remote.tokens[user])
	req.Header.Set("Content-Type", "application/fhir+json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func bundleOf(typ string, rs ...map[string]any) map[string]any {
	var es []any
	for i, r := range rs {
		es = append(es, map[string]any{"fullUrl": fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i+1), "resource": r,
			"request": map[string]any{"method": "POST", "url": r["resourceType"]}})
	}
	return map[string]any{"resourceType": "Bundle", "type": typ, "entry": es}
}

// batchOutcome is the outcome of a one-entry batch's entry.
func batchOutcome(status int, body []byte) outcome {
	var b struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if status != 200 || json.Unmarshal(body, &b) != nil || len(b.Entry) != 1 {
		return httpOutcome(status, body)
	}
	code, _ := strconv.Atoi(strings.Fields(b.Entry[0].Response.Status + " 0")[0])
	return httpOutcome(code, b.Entry[0].Resource)
}

func weightJSON(pid string, when string) map[string]any {
	return map[string]any{"resourceType": "Observation", "status": "final",
		"code":              map[string]any{"coding": []any{map[string]any{"system": record.SystemSNOMED, "code": "27113001"}}},
		"subject":           map[string]any{"reference": "Patient/" + pid},
		"effectiveDateTime": when,
		"valueQuantity":     map[string]any{"value": 80, "unit": "kg", "system": record.SystemUCUM, "code": "kg"}}
}

// importFHIR runs `gpsoc import fhir` on a collection Bundle of Smith and resources.
func importFHIR(e *practiceEnv, user string, rs ...map[string]any) int {
	e.t.Helper()
	pat := map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"system": record.SystemNHS, "value": matrixNHS}},
		"name": []any{map[string]any{"family": "Smith", "given": []string{"John"}}}, "gender": "male", "birthDate": "1961-03-12"}
	all := append([]map[string]any{pat}, rs...)
	b := bundleOf("collection", all...)
	for i := range rs {
		res := b["entry"].([]any)[i+1].(map[string]any)["resource"].(map[string]any)
		for _, k := range []string{"subject", "patient"} {
			if _, ok := res[k]; ok {
				res[k] = map[string]any{"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}
			}
		}
	}
	raw, _ := json.Marshal(b)
	f := filepath.Join(e.t.TempDir(), "bundle.json")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return e.run("", "--as", user, "import", "fhir", f).code
}

// importNDJSON runs `gpsoc obs import` on one line.
func importNDJSON(e *practiceEnv, user, line string) int {
	e.t.Helper()
	return e.run(line+"\n", "--as", user, "obs", "import", "-").code
}

func (m *matrix) expect(c pathmatrix.Control, got map[string]outcome) {
	m.t.Helper()
	for path, o := range got {
		if o != c.Want {
			m.t.Errorf("%s via %s: %s, want %s (as every other path)", c.Name, path, o, c.Want)
		}
	}
}

func TestPathMatrix(t *testing.T) {
	m := newMatrix(t)
	L, S := m.local, m.served
	ndWeight := func(pid, when string) string {
		return fmt.Sprintf(`{"patientId":%q,"code":{"system":%q,"code":"27113001"},"value":80,"unit":"kg","effective":%q}`, pid, record.SystemSNOMED, when)
	}
	now := "2026-11-24T08:00:00Z"

	// Role: a receptionist records a weight.
	got := map[string]outcome{
		"CLI":         exitOutcome(L.run("", "--as", "reception", "obs", "add", matrixNHS, "--code", "27113001", "--value", "80", "--unit", "kg").code),
		"remote CLI":  exitOutcome(S.run("", "--as", "reception", "obs", "add", matrixNHS, "--code", "27113001", "--value", "80", "--unit", "kg").code),
		"import fhir": exitOutcome(importFHIR(L, "reception", weightJSON("", now))),
		"NDJSON":      exitOutcome(importNDJSON(L, "reception", ndWeight(m.localID, now))),
	}
	got["POST"] = httpOutcome(m.api("reception", "POST", "/Observation", weightJSON(m.servedID, now)))
	got["transaction"] = httpOutcome(m.api("reception", "POST", "/", bundleOf("transaction", weightJSON(m.servedID, now))))
	got["batch"] = batchOutcome(m.api("reception", "POST", "/", bundleOf("batch", weightJSON(m.servedID, now))))
	m.expect(pathmatrix.Role, got)

	// Validation: a result dated 2099.
	future := "2099-01-01T10:00:00Z"
	got = map[string]outcome{
		"CLI":         exitOutcome(L.run("", "--as", "nurse.jones", "obs", "add", matrixNHS, "--code", "27113001", "--value", "80", "--unit", "kg", "--date", future).code),
		"remote CLI":  exitOutcome(S.run("", "--as", "nurse.jones", "obs", "add", matrixNHS, "--code", "27113001", "--value", "80", "--unit", "kg", "--date", future).code),
		"import fhir": exitOutcome(importFHIR(L, "dr.patel", weightJSON("", future))),
		"NDJSON":      exitOutcome(importNDJSON(L, "dr.patel", ndWeight(m.localID, future))),
	}
	got["POST"] = httpOutcome(m.api("nurse.jones", "POST", "/Observation", weightJSON(m.servedID, future)))
	got["transaction"] = httpOutcome(m.api("nurse.jones", "POST", "/", bundleOf("transaction", weightJSON(m.servedID, future))))
	got["batch"] = batchOutcome(m.api("nurse.jones", "POST", "/", bundleOf("batch", weightJSON(m.servedID, future))))
	m.expect(pathmatrix.FutureResult, got)

	// Validation: an impossible weight (the TUI's column types it too).
	got = map[string]outcome{
		"CLI":         exitOutcome(L.run("", "--as", "nurse.jones", "obs", "add", matrixNHS, "--code", "27113001", "--value", "-5", "--unit", "kg").code),
		"remote CLI":  exitOutcome(S.run("", "--as", "nurse.jones", "obs", "add", matrixNHS, "--code", "27113001", "--value", "-5", "--unit", "kg").code),
		"import fhir": exitOutcome(importFHIR(L, "dr.patel", minusFive(weightJSON("", now)))),
		"NDJSON":      exitOutcome(importNDJSON(L, "dr.patel", strings.Replace(ndWeight(m.localID, now), `"value":80`, `"value":-5`, 1))),
	}
	got["POST"] = httpOutcome(m.api("nurse.jones", "POST", "/Observation", minusFive(weightJSON(m.servedID, now))))
	got["transaction"] = httpOutcome(m.api("nurse.jones", "POST", "/", bundleOf("transaction", minusFive(weightJSON(m.servedID, now)))))
	m.expect(pathmatrix.ImpossibleWeight, got)

	// Nothing of the refused results was written, on either practice.
	for name, e := range map[string]*practiceEnv{"local": L, "served": S} {
		var obs []json.RawMessage
		e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", matrixNHS, "--all")
		if len(obs) != 0 {
			t.Errorf("%s: %d results written by refused requests", name, len(obs))
		}
	}

	// Prescriber: a nurse who is not a prescriber prescribes.
	ramipril := medJSON(m.servedID, rxRamipril)
	got = map[string]outcome{
		"CLI":        exitOutcome(L.run("", "--as", "nurse.jones", "med", "prescribe", matrixNHS, "--code", rxRamipril, "--dose", "1 od", "--quantity", "28").code),
		"remote CLI": exitOutcome(S.run("", "--as", "nurse.jones", "med", "prescribe", matrixNHS, "--code", rxRamipril, "--dose", "1 od", "--quantity", "28").code),
	}
	got["transaction"] = httpOutcome(m.api("nurse.jones", "POST", "/", bundleOf("transaction", ramipril)))
	got["batch"] = batchOutcome(m.api("nurse.jones", "POST", "/", bundleOf("batch", ramipril)))
	m.expect(pathmatrix.Prescriber, got)

	// Safety alerts: amoxicillin for a patient allergic to penicillin.
	amox := medJSON(m.servedID, rxAmoxicillin)
	got = map[string]outcome{
		"CLI":        exitOutcome(L.run("", "--as", "dr.patel", "med", "prescribe", matrixNHS, "--code", rxAmoxicillin, "--dose", "1 tds", "--quantity", "21").code),
		"remote CLI": exitOutcome(S.run("", "--as", "dr.patel", "med", "prescribe", matrixNHS, "--code", rxAmoxicillin, "--dose", "1 tds", "--quantity", "21").code),
	}
	got["transaction"] = httpOutcome(m.api("dr.patel", "POST", "/", bundleOf("transaction", amox)))
	got["batch"] = batchOutcome(m.api("dr.patel", "POST", "/", bundleOf("batch", amox)))
	m.expect(pathmatrix.SafetyAlert, got)

	// Authorship: the nurse's weight is hers on every path; a payload naming
	// another clinician is refused.
	L.ok("--as", "nurse.jones", "obs", "add", matrixNHS, "--code", "27113001", "--value", "80", "--unit", "kg")
	S.ok("--as", "nurse.jones", "obs", "add", matrixNHS, "--code", "27113001", "--value", "81", "--unit", "kg")
	if st, b := m.api("nurse.jones", "POST", "/Observation", weightJSON(m.servedID, now)); st != 201 {
		t.Fatalf("the nurse's POST: %d %s", st, b)
	}
	if st, b := m.api("nurse.jones", "POST", "/", bundleOf("transaction", weightJSON(m.servedID, now))); st != 200 {
		t.Fatalf("the nurse's transaction: %d %s", st, b)
	}
	for name, e := range map[string]*practiceEnv{"local": L, "served": S} {
		var obs []struct {
			RecordedBy string `json:"recordedBy"`
		}
		e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", matrixNHS)
		for _, o := range obs {
			if o.RecordedBy != "nurse.jones" {
				t.Errorf("%s: a result the nurse wrote is recorded by %q", name, o.RecordedBy)
			}
		}
		if name == "served" && len(obs) != 3 {
			t.Errorf("served: %d results, want the nurse's 3 (remote CLI, POST, transaction)", len(obs))
		}
	}
	enc := map[string]any{"resourceType": "Encounter", "status": "finished",
		"class":       map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
		"subject":     map[string]any{"reference": "Patient/" + m.servedID},
		"period":      map[string]any{"start": now},
		"participant": []any{map[string]any{"individual": map[string]any{"reference": "Practitioner/dr.patel", "display": "dr.patel"}}}}
	if o := httpOutcome(m.api("nurse.jones", "POST", "/", bundleOf("transaction", enc))); o != oInvalid {
		t.Errorf("a nurse's consultation naming dr.patel as its clinician: %s, want invalid", o)
	}

	// Sensitive-record reason: the record made sensitive, read without a reason.
	L.ok("--as", "reception", "patient", "update", matrixNHS, "--sensitive")
	S.ok("--as", "reception", "patient", "update", matrixNHS, "--sensitive")
	got = map[string]outcome{
		"CLI":        exitOutcome(L.run("", "--as", "dr.patel", "patient", "show", matrixNHS).code),
		"remote CLI": exitOutcome(S.run("", "--as", "dr.patel", "patient", "show", matrixNHS).code),
		"CLI export": exitOutcome(L.run("", "--as", "dr.patel", "export", "fhir", "--patient", matrixNHS, "-o", "json").code),
	}
	got["GET"] = httpOutcome(m.api("dr.patel", "GET", "/Patient/"+m.servedID, nil))
	got["$everything"] = httpOutcome(m.api("dr.patel", "GET", "/Patient/"+m.servedID+"/$everything", nil))
	got["history"] = httpOutcome(m.api("dr.patel", "GET", "/Patient/"+m.servedID+"/_history", nil))
	got["$everything as admin"] = httpOutcome(m.api("admin", "GET", "/Patient/"+m.servedID+"/$everything", nil, "X-Access-Reason", "audit"))
	m.expect(pathmatrix.SensitiveNoReason, got)
	got = map[string]outcome{
		"CLI":        exitOutcome(L.run("", "--as", "dr.patel", "patient", "show", matrixNHS, "--reason", "safeguarding").code),
		"remote CLI": exitOutcome(S.run("", "--as", "dr.patel", "patient", "show", matrixNHS, "--reason", "safeguarding").code),
	}
	got["GET"] = httpOutcome(m.api("dr.patel", "GET", "/Patient/"+m.servedID, nil, "X-Access-Reason", "safeguarding"))
	got["$everything"] = httpOutcome(m.api("dr.patel", "GET", "/Patient/"+m.servedID+"/$everything", nil, "X-Access-Reason", "safeguarding"))
	m.expect(pathmatrix.SensitiveReason, got)

	// Audit: every refusal above is in the trail of the practice it was
	// made against, and each opening with a reason carries the reason.
	{
		denied, reasoned := map[string]bool{}, false
		for _, ev := range L.auditEvents() {
			if ev.Outcome == "denied" || ev.Outcome == "blocked" {
				denied[ev.User] = true
			}
			reasoned = reasoned || (ev.User == "dr.patel" && ev.Reason == "safeguarding")
		}
		if !denied["reception"] || !denied["nurse.jones"] || !denied["dr.patel"] || !reasoned {
			t.Errorf("local trail: refusals audited for %v (want reception, nurse.jones, dr.patel), a read with its reason %v", denied, reasoned)
		}
	}
	var evs []record.AuditEvent
	st, b := m.api("admin", "GET", "/AuditEvent?_count=1000", nil)
	if st != 200 {
		t.Fatalf("the server's trail: %d %s", st, b)
	}
	var bun struct {
		Entry []struct {
			Resource struct {
				Extension []struct {
					URL         string `json:"url"`
					ValueString string `json:"valueString"`
				} `json:"extension"`
			} `json:"resource"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(b, &bun)
	for _, en := range bun.Entry {
		for _, x := range en.Resource.Extension {
			var ev record.AuditEvent
			if strings.HasSuffix(x.URL, "record-extra") && json.Unmarshal([]byte(x.ValueString), &ev) == nil {
				evs = append(evs, ev)
			}
		}
	}
	denied, reasoned := map[string]bool{}, false
	for _, ev := range evs {
		if ev.Outcome == "denied" || ev.Outcome == "blocked" {
			denied[ev.User] = true
		}
		reasoned = reasoned || (ev.User == "dr.patel" && ev.Reason == "safeguarding" && ev.Source == "api")
	}
	if !denied["reception"] || !denied["nurse.jones"] || !denied["dr.patel"] || !reasoned {
		t.Errorf("served trail: refusals audited for %v (want reception, nurse.jones, dr.patel), a read with its reason from the remote workstation %v", denied, reasoned)
	}
}

// minusFive is a weight resource with the value -5 kg.
func minusFive(r map[string]any) map[string]any {
	r["valueQuantity"] = map[string]any{"value": -5, "unit": "kg", "system": record.SystemUCUM, "code": "kg"}
	return r
}

func medJSON(pid, code string) map[string]any {
	return map[string]any{"resourceType": "MedicationRequest", "status": "active", "intent": "order",
		"subject":                   map[string]any{"reference": "Patient/" + pid},
		"medicationCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": record.SystemDMD, "code": code}}},
		"dosageInstruction":         []any{map[string]any{"text": "1 tds"}},
		"dispenseRequest":           map[string]any{"quantity": map[string]any{"value": 21, "unit": "capsule"}}}
}
