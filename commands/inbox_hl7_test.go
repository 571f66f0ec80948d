package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HL7 v2 ORU^R01 files go through the same import as FHIR bundles, told
// apart by their MSH| start: matched, corrected, and refused whole with the
// line, field and value when malformed.
func TestInboxImportHL7v2(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", "9990000018", "--family", "Carter", "--given", "Eleanor",
		"--dob", "1961-03-12", "--sex", "female")
	msgs := filepath.Join("..", "interop", "hl7v2", "testdata")
	out := e.ok("--as", "admin", "inbox", "import", filepath.Join(msgs, "fbc_v24.hl7"))
	if !strings.Contains(out, "read 1, written 1, unchanged 0, rejected 0 (matched 1") {
		t.Fatalf("import: %s", out)
	}
	// A directory: the same report again (unchanged), its correction, the
	// batch of three unmatched, and the U&E for a patient we do not hold.
	dir := t.TempDir()
	for _, n := range []string{"fbc_v24.hl7", "fbc_corrected_v24.hl7", "batch_lf.hl7", "ue_v251.hl7"} {
		b, err := os.ReadFile(filepath.Join(msgs, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out = e.ok("--as", "admin", "inbox", "import", dir)
	if !strings.Contains(out, "read 6, written 5, unchanged 1, rejected 0 (matched 1, unmatched 4, auto-filed 0, corrected 1)") {
		t.Fatalf("directory import: %s", out)
	}
	show := e.ok("--as", "dr.patel", "inbox", "list")
	if !strings.Contains(show, "CORRECTED") && !strings.Contains(strings.ToLower(show), "corrected") {
		t.Errorf("the corrected report is listed as corrected:\n%s", show)
	}
	// From stdin, no file name to go by: told by the MSH| start.
	b, _ := os.ReadFile(filepath.Join(msgs, "fbc_v24.hl7"))
	bad := strings.Replace(string(b), "||98|g/L|", "||9 8|g/L|", 1)
	r := e.run(bad, "--as", "admin", "inbox", "import", "-")
	if r.code != 1 || !strings.Contains(r.err, `line 7: FILE "-": HL7 v2 OBX-5 "9 8": not a number`) {
		t.Fatalf("a malformed message: exit %d, stderr %q, stdout %q", r.code, r.err, r.out)
	}
	if !strings.Contains(r.out, "read 1, written 0, unchanged 0, rejected 1") {
		t.Errorf("nothing written: %s", r.out)
	}
}
