package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Hostile requests: a truncated or malformed transaction Bundle and
// escape-laden names are refused with 400 and nothing is written.
func TestHostileRequestsWriteNothing(t *testing.T) {
	f := start(t)
	entry := func(family string) map[string]any {
		return map[string]any{"resource": patientJSON("9434765919", family, "John", "1961-03-12"),
			"request": map[string]any{"method": "POST", "url": "Patient"}}
	}
	tx := func(entries ...any) []byte {
		b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
		return b
	}
	whole := tx(entry("Smith"), map[string]any{"resource": patientJSON("4010232137", "Jones", "Mary", "1950-12-01"),
		"request": map[string]any{"method": "POST", "url": "Patient"}})
	cut := bytes.Index(whole, []byte(`},{"request"`)) + 2 // between the two entries
	for name, body := range map[string][]byte{
		"cut between entries": whole[:cut],
		"malformed":           []byte(`{"resourceType":"Bundle","type":"batch","entry":[}]}`),
		"escape in a name":    tx(entry("Smith\x1b]0;pwned\x07")),
		"newline in a name":   tx(entry("Smith\nJones")),
		"bidi in a name":      tx(entry("\u202eHTIMS")),
	} {
		req, _ := http.NewRequest("POST", f.url+"/", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.tokens["dr.gp"])
		req.Header.Set("Content-Type", "application/fhir+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// A Bundle that cannot be read is 400; one whose content a rule
		// refuses (control characters in a name) is 422, as a single POST.
		want := http.StatusUnprocessableEntity
		if name == "cut between entries" || name == "malformed" {
			want = http.StatusBadRequest
		}
		if res.StatusCode != want || !strings.Contains(string(raw), "OperationOutcome") {
			t.Errorf("%s: %d %s; want %d with an OperationOutcome", name, res.StatusCode, raw, want)
		}
		if strings.ContainsAny(string(raw), "\x1b\x07") {
			t.Errorf("%s: the response echoes raw escape characters: %q", name, raw)
		}
	}
	s := f.do(t, "dr.gp", "GET", "/Patient", nil)
	if s.body["total"].(float64) != 0 {
		t.Fatalf("patients written by refused requests: %s", s.raw)
	}
}
