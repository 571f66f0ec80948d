package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzSearchParams sends any query string to each search the API serves:
// a bad parameter is a 400 with an OperationOutcome, never a 5xx, a dropped
// connection (a panic in a handler) or a hang.
func FuzzSearchParams(f *testing.F) {
	fx := start(f)
	r := fx.do(f, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"))
	wantStatus(f, r, http.StatusCreated)
	pid, _ := r.body["id"].(string)
	for _, q := range []string{
		"name=smith", "family=SMI&given=jo&_count=1&_offset=1", "birthdate=ge1960&birthdate=lt1962-01", "birthdate=xx1961",
		"identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919", "_sort=-birthdate,family", "_count=-1", "_count=99999999999999999999",
		"patient=" + pid + "&date=2026-11", "code=http://snomed.info/sct|27113001", "name:exact=Smith", "date=2026-13-45T99:99:99Z",
		"%zz", "name=%00%1b[2J", "_offset=9223372036854775807",
	} {
		f.Add(uint8(0), q)
	}
	types := []string{"Patient", "Observation", "Condition", "MedicationRequest", "AllergyIntolerance", "Encounter", "Appointment", "Immunization", "Task", "Schedule", "Slot", "AuditEvent"}
	// A connection per request: an error is then this request's, not a
	// kept-alive connection the server closed between runs.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	f.Fuzz(func(t *testing.T, which uint8, q string) {
		typ := types[int(which)%len(types)]
		if strings.ContainsFunc(q, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // not a request target: net/http refuses it before any handler
		}
		req, err := http.NewRequest("GET", fx.url+"/"+typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = q // as written, even when not valid: the server must refuse it cleanly
		req.Header.Set("Authorization", "Bearer "+fx.tokens["dr.gp"])
		res, err := client.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "invalid") || strings.Contains(err.Error(), "can't write") {
				return // the client itself will not send it
			}
			t.Fatalf("GET /%s?%q: %v (the handler panicked?)", typ, q, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("GET /%s?%q: %d %s", typ, q, res.StatusCode, body)
		}
	})
}
