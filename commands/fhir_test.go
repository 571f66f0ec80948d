package commands

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fhirRun(t *testing.T, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ios, out, errOut := Test(stdin, false)
	f := NewFactory(ios)
	f.Now = func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"--data-dir", dir, "--as", "admin"}, args...))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Msg == "") {
			fmt.Fprintln(errOut, "gpsoc: "+err.Error())
		}
	}
	_ = f.Close()
	return out.String(), errOut.String(), ExitCode(err)
}

func TestFHIRCommands(t *testing.T) {
	t.Setenv("GPSOC_USER", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	if _, e, code := fhirRun(t, dir, "", "init", "--practice", "FHIR Surgery", "--ods", "B86010", "--admin", "admin"); code != 0 {
		t.Fatalf("init: %d %s", code, e)
	}
	bundle := "../fhir/testdata/other-generator.json"
	out, e, code := fhirRun(t, dir, "", "import", "fhir", bundle)
	if code != 0 || !strings.HasPrefix(out, "imported 11, skipped 3, rejected 0\n") || !strings.Contains(out, "Observation") {
		t.Fatalf("import: exit %d\n%s%s", code, out, e)
	}
	out, _, code = fhirRun(t, dir, "", "-o", "json", "import", "fhir", bundle)
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 {
		t.Fatalf("json: %v exit %d %s", err, code, out)
	}
	for _, k := range []string{"imported", "skipped", "rejected", "byType", "rejections"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("-o json lacks %q: %s", k, out)
		}
	}
	if sum["imported"].(float64) != 0 {
		t.Errorf("re-run imported %v", sum["imported"])
	}
	// A patient's record as a collection Bundle.
	out, e, code = fhirRun(t, dir, "", "export", "fhir", "--patient", "999 000 0115")
	if code != 0 || !strings.Contains(out, `"type":"collection"`) || !strings.Contains(out, `"resourceType":"Bundle"`) {
		t.Fatalf("export --patient: exit %d %s %.300s", code, e, out)
	}
	file := filepath.Join(t.TempDir(), "p.json")
	if _, e, code = fhirRun(t, dir, "", "export", "fhir", "--patient", "9990000115", "--out", file); code != 0 {
		t.Fatalf("export --out: %d %s", code, e)
	}
	// The whole practice as Bulk NDJSON.
	bulk := filepath.Join(t.TempDir(), "exit")
	out, e, code = fhirRun(t, dir, "", "export", "fhir", "--all", "--out", bulk)
	if code != 0 || !strings.HasPrefix(out, "exported ") {
		t.Fatalf("export --all: %d %s %s", code, out, e)
	}
	for _, ty := range []string{"Patient", "Organization", "Practitioner", "Encounter", "AuditEvent", "MedicationRequest"} {
		if st, err := os.Stat(filepath.Join(bulk, ty+".ndjson")); err != nil || st.Size() == 0 {
			t.Errorf("%s.ndjson: %v", ty, err)
		}
	}
	if _, e, code = fhirRun(t, dir, "", "export", "fhir", "--all", "--out", bulk); code != ExitUsage {
		t.Errorf("export into a full dir: exit %d %s", code, e)
	}
	if _, _, code = fhirRun(t, dir, "", "export", "fhir"); code != ExitUsage {
		t.Errorf("export without --patient or --all: exit %d", code)
	}
	// Into another practice, from a directory, then a rejected gzipped bundle on stdin.
	dir2 := t.TempDir()
	fhirRun(t, dir2, "", "init", "--practice", "Other Surgery", "--ods", "B86011", "--admin", "admin")
	if out, e, code = fhirRun(t, dir2, "", "import", "fhir", "--dry-run", bulk); code != 0 || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %d %s %s", code, out, e)
	}
	if out, e, code = fhirRun(t, dir2, "", "import", "fhir", bulk); code != 0 {
		t.Fatalf("import of an export: %d %s %s", code, out, e)
	}
	raw, _ := os.ReadFile(bundle)
	bad := bytes.ReplaceAll(raw, []byte("9990000115"), []byte("9990000116"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bad)
	zw.Close()
	out, e, code = fhirRun(t, dir2, gz.String(), "import", "fhir", "-")
	if code != ExitFailure || !strings.Contains(out, "rejected 14") || !strings.Contains(e, "-: entry 2: Patient.identifier[0].value") {
		t.Errorf("rejected bundle: exit %d\n%s%s", code, out, e)
	}
}
