package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// gpsoc demo without a terminal creates the demo once, prints its summary,
// reuses it on a rerun, marks it as a demo, and never writes over a real practice.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	r := run(t, dir, "", "demo", "--patients", "60", "-o", "json")
	if r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	var sum struct {
		DataDir                                                      string
		Created                                                      bool
		Patients, Consultations, Problems, Medications, Appointments int
		Results                                                      int
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if !sum.Created || sum.Patients != 60 || sum.Consultations == 0 || sum.Problems == 0 || sum.Medications == 0 || sum.Appointments == 0 || sum.DataDir != dir ||
		sum.Results != 60 { // the morning's inbox, delivered through the inbox service
		t.Fatalf("summary %+v", sum)
	}
	again := run(t, dir, "", "demo", "--patients", "500", "-o", "json")
	var sum2 struct {
		Created  bool
		Patients int
	}
	_ = json.Unmarshal([]byte(again.stdout), &sum2)
	if again.code != 0 || sum2.Created || sum2.Patients != 60 {
		t.Fatalf("rerun did not reuse the demo: %d %s %s", again.code, again.stdout, again.stderr)
	}
	if r := run(t, dir, "", "check"); r.code != 0 {
		t.Fatalf("check: %s", r.stderr)
	}
	// The record says it is a demo.
	id := strings.Fields(run(t, dir, "", "--as", "dr.patel", "patient", "list", "--limit", "1").stdout)[0]
	rec := run(t, dir, "", "--as", "dr.patel", "record", id, "--reason", "test", "-o", "json")
	if !strings.Contains(rec.stdout, `"demo": true`) {
		t.Fatalf("record does not say demo: %d %s %s", rec.code, rec.stdout[:min(200, len(rec.stdout))], rec.stderr)
	}
	// Diabetics generated are found by the ECL of diabetes mellitus.
	if r := run(t, dir, "", "--as", "dr.patel", "patient", "list", "--problem-ecl", "<< 73211009"); r.code != 0 {
		t.Fatalf("problem-ecl: %d %s", r.code, r.stderr)
	}
	// A real practice is never touched.
	real := newPractice(t)
	r = run(t, real, "", "demo", "--patients", "10")
	if r.code != 2 || !strings.Contains(r.stderr, "not a demo") {
		t.Fatalf("demo over a real practice: %d %s", r.code, r.stderr)
	}
}
