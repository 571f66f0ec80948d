package commands

import (
	"strconv"
	"strings"
	"testing"
)

// An entries import is a bulk import of history from another system: each
// entry it writes is marked imported from --from (default the file's name),
// the line's own recordedBy and recordedAt kept as the original author and
// time, recordedBy the importing user; `entry show` says so. The mark is not
// content: the same lines again, or a practice's own export back into it,
// change nothing.
func TestEntryImportMarksHistory(t *testing.T) {
	a, _ := surgeryDay(t, false)
	b := newPracticeEnv(t, false)
	b.terms = testTerms
	b.setUp()
	if r := b.run(a.ok("--as", "admin", "patient", "export"), "--as", "admin", "patient", "import", "-"); r.code != 0 {
		t.Fatalf("patient import: %d %q", r.code, r.err)
	}
	var orig []struct {
		ID         string `json:"id"`
		RecordedBy string `json:"recordedBy"`
	}
	a.jsonOf(&orig, "--as", "dr.patel", "problem", "list", smithNHS, "--all")
	out := a.ok("--as", "dr.patel", "problem", "list", smithNHS, "--all", "-o", "ndjson")
	n := strings.Count(out, "\n")
	if r := b.run(out, "--as", "dr.patel", "problem", "import", "--from", "Old Surgery (EMIS)", "-"); r.code != 0 || !strings.Contains(r.out, "written "+strconv.Itoa(n)) {
		t.Fatalf("import: %d %q %q", r.code, r.out, r.err)
	}
	var got []struct {
		ID         string `json:"id"`
		RecordedBy string `json:"recordedBy"`
		Imported   *struct {
			Source string `json:"source"`
			Author string `json:"author"`
		} `json:"imported"`
	}
	b.jsonOf(&got, "--as", "dr.patel", "problem", "list", smithNHS, "--all")
	author := map[string]string{}
	for _, o := range orig {
		author[o.ID] = o.RecordedBy
	}
	if len(got) != n || n == 0 {
		t.Fatalf("%d problems in B, %d imported", len(got), n)
	}
	for _, g := range got {
		if g.Imported == nil || g.Imported.Source != "Old Surgery (EMIS)" || g.Imported.Author != author[g.ID] || g.RecordedBy != "dr.patel" {
			t.Errorf("problem %s: recordedBy %q, imported %+v; want marked from Old Surgery (EMIS) by %q, recorded here by dr.patel", g.ID, g.RecordedBy, g.Imported, author[g.ID])
		}
	}
	b.tty = true
	if s := b.ok("--as", "dr.patel", "entry", "show", got[0].ID); !strings.Contains(s, "imported from Old Surgery (EMIS) (recorded by "+author[got[0].ID]) {
		t.Errorf("entry show does not say the problem was imported:\n%s", s)
	}
	b.tty = false
	if r := b.run(out, "--as", "dr.patel", "problem", "import", "-"); r.code != 0 || !strings.Contains(r.out, "written 0, unchanged "+strconv.Itoa(n)) {
		t.Errorf("the same history again: %d %q %q", r.code, r.out, r.err)
	}
	if r := a.run(out, "--as", "dr.patel", "problem", "import", "-"); r.code != 0 || !strings.Contains(r.out, "written 0, unchanged "+strconv.Itoa(n)) {
		t.Errorf("A's own export back into A: %d %q %q", r.code, r.out, r.err)
	}
}

// Patients moving from another system (`patient import --from`) are marked
// imported, who registered them there kept as data; the same file again
// changes nothing, and without --from nothing is marked.
func TestPatientImportFromMarksThePatients(t *testing.T) {
	a, _ := surgeryDay(t, false)
	out := a.ok("--as", "admin", "patient", "export")
	b := newPracticeEnv(t, false)
	b.terms = testTerms
	b.setUp()
	if r := b.run(out, "--as", "admin", "patient", "import", "--from", "Old Surgery (EMIS)", "-"); r.code != 0 {
		t.Fatalf("patient import: %d %q", r.code, r.err)
	}
	var got struct {
		RecordedBy string `json:"recordedBy"`
		Imported   *struct {
			Source string `json:"source"`
		} `json:"imported"`
	}
	b.jsonOf(&got, "--as", "admin", "patient", "show", smithNHS)
	if got.Imported == nil || got.Imported.Source != "Old Surgery (EMIS)" || got.RecordedBy != "admin" {
		t.Fatalf("patient after import --from: recordedBy %q, imported %+v; want marked from Old Surgery (EMIS), recorded here by admin", got.RecordedBy, got.Imported)
	}
	if r := b.run(out, "--as", "admin", "patient", "import", "--from", "Old Surgery (EMIS)", "-"); r.code != 0 || !strings.Contains(r.out, "written 0") {
		t.Errorf("the same patients again: %d %q %q", r.code, r.out, r.err)
	}
	c := newPracticeEnv(t, false)
	c.terms = testTerms
	c.setUp()
	if r := c.run(out, "--as", "admin", "patient", "import", "-"); r.code != 0 {
		t.Fatalf("patient import: %d %q", r.code, r.err)
	}
	got.Imported = nil
	c.jsonOf(&got, "--as", "admin", "patient", "show", smithNHS)
	if got.Imported != nil {
		t.Errorf("a patient import without --from marked the patient: %+v", got.Imported)
	}
}
