package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/record"
)

const (
	htNHS1 = "9434765919" // on the register, BP controlled
	htNHS2 = "9434765870" // on the register, BP high; sensitive record
	htNHS3 = "9434765838" // hypertension resolved
)

// searchPractice: three hypertensive patients and one without; a manager.
func searchPractice(t *testing.T) (*practiceEnv, string) {
	e := newPracticeEnv(t, false)
	terms := fakeTerms{"162659009": "Hypertension resolved"}
	for k, v := range testTerms {
		terms[k] = v
	}
	e.terms = terms
	e.setUp()
	e.ok("--as", "admin", "user", "add", "mrs.khan", "--role", "manager")
	e.bind("mrs.khan")
	gp := func(args ...string) { e.ok(append([]string{"--as", "dr.patel"}, args...)...) }
	var nd strings.Builder
	for i, nhs := range []string{htNHS1, htNHS2, htNHS3, "9434765846"} {
		fmt.Fprintf(&nd, `{"nhsNumber":%q,"family":%q,"given":["Ann"],"birthDate":"1961-03-12","sex":"female","registration":{"type":"regular","registeredOn":"2010-01-01"}}`+"\n",
			nhs, []string{"Smith", "Jones", "Brown", "Green"}[i])
	}
	if r := e.run(nd.String(), "--as", "dr.patel", "patient", "import", "-"); r.code != 0 {
		t.Fatalf("import: %s %s", r.out, r.err)
	}
	gp("problem", "add", htNHS1, "--code", "38341003", "--onset", "2015-01-01")
	gp("problem", "add", htNHS2, "--code", "38341003", "--onset", "2015-01-01")
	gp("problem", "add", htNHS3, "--code", "38341003", "--onset", "2015-01-01")
	gp("problem", "add", htNHS3, "--code", "162659009", "--onset", "2020-01-01")
	gp("obs", "add", htNHS1, "--bp", "132/84", "--date", "2026-10-01")
	gp("obs", "add", htNHS2, "--bp", "162/94", "--date", "2026-10-02")
	gp("patient", "update", htNHS2, "--sensitive", "--if-version", "1")
	file := filepath.Join(t.TempDir(), "high-bp.search")
	if err := os.WriteFile(file, []byte(`search "Hypertension, BP above 140/90"
reference 2026-11-24
set htn = has code in ecl "<< 38341003"
select htn and not latest bp within 12 months <= 140/90
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return e, file
}

func TestSearchRunRolesAuditAndSensitive(t *testing.T) {
	e, file := searchPractice(t)
	var rows []cohort.Row
	e.jsonOf(&rows, "--as", "mrs.khan", "search", "run", file)
	// Jones (BP 162/94, sensitive) and Brown (no BP at all) are found; Jones
	// is flagged with her values withheld.
	if len(rows) != 2 || rows[0].Name != "BROWN, Ann" || rows[1].Name != "JONES, Ann" {
		t.Fatalf("rows %+v", rows)
	}
	if !rows[1].Sensitive || len(rows[1].Matched) != 0 || rows[0].Sensitive || len(rows[0].Matched) == 0 {
		t.Fatalf("sensitive row not flagged or values not withheld: %+v", rows)
	}
	// With a reason, the values show, and the reason is audited.
	e.jsonOf(&rows, "--as", "dr.patel", "search", "run", file, "--reason", "hypertension clinic")
	if !rows[1].Sensitive || len(rows[1].Matched) == 0 {
		t.Fatalf("with a reason: %+v", rows)
	}
	// Reception and the admin may not run searches.
	e.want(ExitForbidden, "--as", "reception", "search", "run", file)
	e.want(ExitForbidden, "--as", "admin", "search", "run", file)
	var runs []record.AuditEvent
	for _, ev := range e.auditEvents() {
		if ev.Action == "search" && strings.Contains(ev.Query, "Hypertension, BP above") {
			runs = append(runs, ev)
		}
	}
	if len(runs) != 2 || !strings.HasSuffix(runs[0].Query, "count 2") || runs[0].User != "mrs.khan" || runs[1].Reason != "hypertension clinic" {
		t.Fatalf("search audit events: %+v", runs)
	}
	// CSV has the header and one line a patient.
	out := e.ok("--as", "dr.patel", "search", "run", file, "-o", "csv")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || lines[0] != "name,nhsNumber,matched,patientId" {
		t.Fatalf("csv:\n%s", out)
	}
}

func TestSearchErrorsNameLineAndColumn(t *testing.T) {
	e, _ := searchPractice(t)
	bad := filepath.Join(t.TempDir(), "bad.search")
	_ = os.WriteFile(bad, []byte("search \"x\"\nselect has code in ecl \"<< 38341003\" within 12 monts\n"), 0o644)
	if stderr := e.want(ExitUsage, "--as", "dr.patel", "search", "run", bad); !strings.Contains(stderr, "bad.search:2:48: expected days, weeks, months or years") {
		t.Fatalf("stderr %q", stderr)
	}
	_ = os.WriteFile(bad, []byte("search \"x\"\nselect has code in cluster NOPE_COD\n"), 0o644)
	if stderr := e.want(ExitUsage, "--as", "dr.patel", "search", "run", bad); !strings.Contains(stderr, "bad.search:2:20: unknown cluster \"NOPE_COD\"") {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestSearchExplain(t *testing.T) {
	e, file := searchPractice(t)
	out := e.ok("--as", "dr.patel", "search", "explain", file, htNHS1)
	for _, want := range []string{"SMITH, Ann  943 476 5919: OUT", "yes  set htn: has code in ecl \"<< 38341003\"",
		"latest bp: 75367002", "132/84 mm[Hg] 2026-10-01", "no   not: latest bp within 12 months <= 140/90"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	// a sensitive record: the verdict, not the entries, without a reason
	r := e.run("", "--as", "dr.patel", "search", "explain", file, htNHS2)
	if r.code != 0 || !strings.Contains(r.out, ": IN") || strings.Contains(r.out, "162/94") || !strings.Contains(r.err, "--reason") {
		t.Fatalf("sensitive explain: %d\n%s\n%s", r.code, r.out, r.err)
	}
	if out := e.ok("--as", "dr.patel", "search", "explain", file, htNHS2, "--reason", "clinic"); !strings.Contains(out, "162/94") {
		t.Fatalf("with a reason:\n%s", out)
	}
}

func TestRegisterCommands(t *testing.T) {
	e, _ := searchPractice(t)
	dir := filepath.Join("testdata", "registers")
	var sums []registerSummary
	e.jsonOf(&sums, "--as", "mrs.khan", "register", "list", "--registers", dir)
	byID := map[string]registerSummary{}
	for _, s := range sums {
		byID[s.ID] = s
	}
	ht, ind := byID["HT"], byID["HT1"]
	if ht.Count != 2 || ht.Prevalence == nil || *ht.Prevalence != 0.5 {
		t.Fatalf("HT: %+v", ht)
	}
	if ind.Count != 2 || *ind.Numerator != 1 || *ind.Exceptions != 0 || *ind.Achievement != 0.5 {
		t.Fatalf("HT1: %+v", ind)
	}
	var rows []cohort.Row
	e.jsonOf(&rows, "--as", "nurse.jones", "register", "show", "ht1", "--registers", dir, "--reason", "audit")
	if len(rows) != 2 || rows[0].Status != "denominator" || rows[1].Status != "numerator" {
		t.Fatalf("HT1 rows: %+v", rows)
	}
	out := e.ok("--as", "dr.patel", "register", "explain", "HT", htNHS3, "--registers", dir)
	if !strings.Contains(out, ": OUT") || !strings.Contains(out, "resolved by: 162659009") {
		t.Fatalf("explain resolved:\n%s", out)
	}
	csv := e.ok("--as", "mrs.khan", "register", "export", "HT", "--registers", dir)
	if !strings.HasPrefix(csv, "name,nhsNumber,matched,patientId\n") || strings.Count(csv, "\n") != 3 {
		t.Fatalf("export:\n%s", csv)
	}
	e.want(ExitForbidden, "--as", "reception", "register", "export", "HT", "--registers", dir)
	if stderr := e.want(ExitUsage, "--as", "dr.patel", "register", "show", "HTT", "--registers", dir); !strings.Contains(stderr, "did you mean HT or HT1?") {
		t.Fatalf("unknown id: %s", stderr)
	}
}

func TestSearchRecallFromSearch(t *testing.T) {
	e, file := searchPractice(t)
	out := e.ok("--as", "mrs.khan", "search", "recall", file, "--code", "182836005", "--due", "2026-12-15", "--dry-run")
	if !strings.Contains(out, "dry run: read 2, written 2, unchanged 0, rejected 0") {
		t.Fatalf("dry run:\n%s", out)
	}
	var recalls []record.Recall
	e.jsonOf(&recalls, "--as", "mrs.khan", "recall", "list")
	if len(recalls) != 0 {
		t.Fatalf("a dry run wrote %d recalls", len(recalls))
	}
	before := len(e.auditEvents())
	out = e.ok("--as", "mrs.khan", "search", "recall", file, "--code", "182836005", "--due", "2026-12-15")
	if !strings.Contains(out, "read 2, written 2, unchanged 0, rejected 0") {
		t.Fatalf("recall:\n%s", out)
	}
	creates := 0
	for _, ev := range e.auditEvents()[before:] {
		if ev.Action == "create" && ev.Kind == record.KindRecall {
			creates++
		}
	}
	if creates != 2 {
		t.Fatalf("%d recall audit events, want one a patient", creates)
	}
	// the recall list names each patient and the due date
	list := e.ok("--as", "mrs.khan", "recall", "list", "-o", "csv")
	if !strings.Contains(list, "JONES, Ann") || !strings.Contains(list, "943 476 5870") || !strings.Contains(list, "2026-12-15") {
		t.Fatalf("recall list:\n%s", list)
	}
	// a rerun leaves those with an open recall unchanged
	if out := e.ok("--as", "mrs.khan", "search", "recall", file, "--code", "182836005", "--due", "2026-12-15"); !strings.Contains(out, "read 2, written 0, unchanged 2") {
		t.Fatalf("rerun:\n%s", out)
	}
	if out := e.ok("--as", "dr.patel", "search", "task", file, "--text", "Book a BP check", "--dry-run"); !strings.Contains(out, "written 2") {
		t.Fatalf("task dry run:\n%s", out)
	}
}

// In remote mode against gpsoc serve, a search runs on the server (where the
// data is): the same patients come back, the run is audited in the server's
// trail, and no note says it ran here. An explanation runs there too
// (Group/$explain): a manager, who may not read the journal over the API,
// sees why a patient is in, and a sensitive record's entries are withheld
// without a reason, as locally; each is audited there.
func TestSearchRemoteRunsOnServer(t *testing.T) {
	e, file := searchPractice(t)
	var local, localReason []cohort.Row
	e.jsonOf(&local, "--as", "dr.patel", "search", "run", file)
	e.jsonOf(&localReason, "--as", "dr.patel", "search", "run", file, "--reason", "hypertension clinic")
	localCSV := e.ok("--as", "mrs.khan", "register", "export", "HT1", "--registers", filepath.Join("testdata", "registers"))
	var localX, localSens cohort.Explanation
	e.jsonOf(&localX, "--as", "mrs.khan", "search", "explain", file, htNHS1)
	e.jsonOf(&localSens, "--as", "mrs.khan", "register", "explain", "HT", htNHS2, "--registers", filepath.Join("testdata", "registers"))
	khan := strings.TrimSpace(e.ok("--as", "admin", "user", "token", "mrs.khan"))
	before := len(e.auditEvents())
	serveDay(t)(e)
	e.remote.tokens["mrs.khan"] = khan
	r := e.run("", "--as", "mrs.khan", "search", "run", file, "-o", "json")
	if r.code != 0 || strings.Contains(r.err, "in the workstation") {
		t.Fatalf("remote search: %d %s", r.code, r.err)
	}
	var remote []cohort.Row
	if err := json.Unmarshal([]byte(r.out), &remote); err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, remote), mustJSON(t, local); a != b || !remote[1].Sensitive || len(remote[1].Matched) != 0 || len(remote[0].Matched) == 0 {
		t.Fatalf("rows found on the server:\n%s\nhere:\n%s", a, b)
	}
	var reason []cohort.Row
	e.jsonOf(&reason, "--as", "dr.patel", "search", "run", file, "--reason", "hypertension clinic")
	if a, b := mustJSON(t, reason), mustJSON(t, localReason); a != b || len(reason[1].Matched) == 0 {
		t.Fatalf("rows found on the server with a reason:\n%s\nhere:\n%s", a, b)
	}
	if csv := e.ok("--as", "mrs.khan", "register", "export", "HT1", "--registers", filepath.Join("testdata", "registers")); csv != localCSV {
		t.Fatalf("register export on the server:\n%s\nhere:\n%s", csv, localCSV)
	}
	var sums []registerSummary
	e.jsonOf(&sums, "--as", "mrs.khan", "register", "list", "--registers", filepath.Join("testdata", "registers"))
	found := false
	for _, s := range sums {
		if s.ID == "HT1" && s.Count == 2 && *s.Numerator == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("remote register list: %+v", sums)
	}
	e.want(ExitForbidden, "--as", "reception", "search", "run", file)

	var x, sens cohort.Explanation
	e.jsonOf(&x, "--as", "mrs.khan", "search", "explain", file, htNHS1)
	if a, b := mustJSON(t, x), mustJSON(t, localX); a != b || len(x.Lines) == 0 {
		t.Fatalf("explained on the server:\n%s\nhere:\n%s", a, b)
	}
	r = e.run("", "--as", "mrs.khan", "register", "explain", "HT", htNHS2, "--registers", filepath.Join("testdata", "registers"), "-o", "json")
	if r.code != 0 || !strings.Contains(r.err, "give --reason") {
		t.Fatalf("a sensitive record explained on the server: %d %s", r.code, r.err)
	}
	if err := json.Unmarshal([]byte(r.out), &sens); err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, sens), mustJSON(t, localSens); a != b || !sens.Withheld || !sens.In {
		t.Fatalf("a sensitive record explained on the server:\n%s\nhere:\n%s", a, b)
	}
	e.want(ExitForbidden, "--as", "reception", "search", "explain", file, htNHS1)

	e.ok("--as", "mrs.khan", "search", "recall", file, "--code", "38341003", "--due", "2027-01-01", "--dry-run")
	n, explained, exported, dry := 0, 0, 0, 0
	for _, ev := range e.auditEvents()[before:] {
		if ev.Action == "search" && strings.HasPrefix(ev.Query, "export indicator HT1 ") && strings.HasSuffix(ev.Query, "; count 2") {
			exported++
		}
		if ev.Action == "search" && strings.HasPrefix(ev.Query, "dry run of recall/task from search ") {
			dry++
		}
		if ev.Action == "search" && ev.User == "mrs.khan" && strings.Contains(ev.Query, "Hypertension, BP above") {
			n++
		}
		if ev.Action == "explain" && ev.User == "mrs.khan" && ev.PatientID != "" && strings.Contains(ev.Query, "; count ") {
			explained++
		}
	}
	if n != 2 || explained != 2 || exported != 1 || dry != 1 {
		t.Fatalf("server audit events: %d of the search by mrs.khan (want 2: a run and a recall dry run), %d of the explanations (2), %d of the export (1), %d of the dry run (1)",
			n, explained, exported, dry)
	}
}
