package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

// The scripted day end to end, read back as JSON, with every step audited.
func TestSurgeryDayReadBackAndAudit(t *testing.T) {
	e, _ := surgeryDay(t, false)

	var sm map[string]json.RawMessage
	e.jsonOf(&sm, "--as", "dr.patel", "record", smithNHS)
	for _, k := range []string{"patient", "flags", "alerts", "problems", "medications", "allergies", "latest", "appointments", "tasks", "recalls"} {
		if _, ok := sm[k]; !ok {
			t.Errorf("record -o json has no %q key: %s", k, keysOf(sm))
		}
	}
	var latest []record.Observation
	_ = json.Unmarshal(sm["latest"], &latest)
	if len(latest) != 1 || !latest[0].IsBP() || *latest[0].Systolic != 148 || *latest[0].Diastolic != 92 {
		t.Errorf("latest = %+v, want only the blood pressure 148/92 (the weight was retracted)", latest)
	}
	var allergies []record.Allergy
	_ = json.Unmarshal(sm["allergies"], &allergies)
	if len(allergies) != 1 || allergies[0].Agent.Code != "764146007" || allergies[0].Finding == nil || allergies[0].Finding.Code != "91936005" {
		t.Errorf("allergies = %+v, want penicillin agent with the finding kept", allergies)
	}

	var cons []record.Consultation
	e.jsonOf(&cons, "--as", "dr.patel", "consult", "list", smithNHS)
	if len(cons) != 1 || len(cons[0].Entries) != 1 || cons[0].Entries[0].Code.Code != "38341003" || len(cons[0].Linked) != 3 {
		t.Fatalf("consultations = %+v", cons)
	}
	var obs []record.Observation
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS, "--all")
	var retracted *record.Observation
	for i := range obs {
		if obs[i].Status == record.StatusEnteredInError {
			retracted = &obs[i]
		}
	}
	if retracted == nil || retracted.Retraction == nil || retracted.Retraction.By != "dr.patel" || retracted.Retraction.Reason == "" {
		t.Fatalf("no retraction with who and why in %+v", obs)
	}
	var hist []map[string]any
	e.jsonOf(&hist, "--as", "dr.patel", "history", smithNHS)
	versions := 0
	for _, h := range hist {
		if h["id"] == retracted.ID {
			versions++
		}
	}
	if versions != 2 {
		t.Errorf("history holds %d versions of the retracted observation, want 2 (nothing is overwritten)", versions)
	}

	// Every step audited: one event per record written, one per list, denials too.
	evs := e.auditEvents()
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.Action+" "+string(ev.Kind)]++
		if ev.Action == "denied" {
			count["denied by "+ev.User]++
		}
	}
	for what, n := range map[string]int{
		"create patient": 2, "create session": 1, "create appointment": 3, "update appointment": 2,
		"create consultation": 1, "create observation": 2, "create problem": 1, "create allergy": 1,
		"create task": 1, "create recall": 1, "retract observation": 1, "create immunisation": 1,
		"read patient": 3, "list consultation": 2, "list history": 2, "denied by reception": 1,
	} {
		if count[what] < n {
			t.Errorf("audit has %d %q events, want at least %d", count[what], what, n)
		}
	}
	e.ok("--as", "admin", "audit", "verify")
}

func keysOf(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}

// A receptionist gets exit 4 from the clinical lists and sees no clinical detail in the record.
func TestReceptionistSeesNoClinicalDetail(t *testing.T) {
	e, _ := surgeryDay(t, false)
	for _, noun := range []string{"consult", "problem", "obs", "allergy", "imm"} {
		stderr := e.want(ExitForbidden, "--as", "reception", noun, "list", smithNHS)
		if !strings.Contains(stderr, "not permitted for reception") {
			t.Errorf("%s list: stderr %q", noun, stderr)
		}
	}
	e.want(ExitForbidden, "--as", "admin", "problem", "list", smithNHS)
	e.want(ExitForbidden, "--as", "reception", "problem", "add", smithNHS, "--code", "44054006")
	e.want(ExitForbidden, "--as", "reception", "consult", "add", smithNHS, "--text", "x")

	var sm map[string]json.RawMessage
	e.jsonOf(&sm, "--as", "reception", "record", "4010232137")
	if len(sm) != 3 || sm["patient"] == nil || sm["flags"] == nil || sm["appointments"] == nil {
		t.Fatalf("receptionist record keys = %s, want patient, flags, appointments only", keysOf(sm))
	}
	var appts []record.Appointment
	_ = json.Unmarshal(sm["appointments"], &appts)
	if len(appts) != 1 {
		t.Errorf("receptionist sees %d upcoming appointments, want 1 (17:30; 09:30 is over)", len(appts))
	}
	out := e.ok("--as", "reception", "record", smithNHS)
	for _, clinical := range []string{"38341003", "Penicillin", "148/92", "alerts", "Review of medication"} {
		if strings.Contains(out, clinical) {
			t.Errorf("receptionist record shows %q:\n%s", clinical, out)
		}
	}
	// Reception's history is demographics and bookings only.
	out = e.ok("--as", "reception", "history", smithNHS)
	if strings.Contains(out, "observation") || strings.Contains(out, "consultation") {
		t.Errorf("receptionist history shows clinical entries:\n%s", out)
	}
}

// recordCount is how many records the practice holds (from the audit trail's creates and updates).
func writes(e *practiceEnv) int {
	n := 0
	for _, ev := range e.auditEvents() {
		switch ev.Action {
		case "create", "update", "retract":
			n++
		}
	}
	return n
}

// Every invalid flag value exits 2 naming the flag and the value, and writes nothing.
func TestInvalidFlagValues(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.terms = testTerms
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	e.ok("--as", "reception", "appt", "session", "add", "--clinician", "dr.patel", "--date", "2026-11-25", "--start", "09:00", "--end", "10:00")
	before := writes(e)
	gp := []string{"--as", "dr.patel"}
	cases := []struct {
		args      []string
		flag, val string
	}{
		{[]string{"--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "tomorrow"}, "--at", "tomorrow"},
		{[]string{"--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-25 09:00", "--length", "ten"}, "--length", "ten"},
		{[]string{"--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-25 09:00", "--mode", "carrier-pigeon"}, "--mode", "carrier-pigeon"},
		{[]string{"--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.who", "--at", "2026-11-25 09:00"}, "--clinician", "dr.who"},
		{[]string{"--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-25 09:05"}, "--at", "09:05"},
		{[]string{"--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-01 09:00"}, "--at", "2026-11-01 09:00"},
		{[]string{"--as", "reception", "appt", "session", "add", "--clinician", "dr.patel", "--date", "2026-11-26", "--start", "09:00", "--end", "10:00", "--slot", "7x"}, "--slot", "7x"},
		{[]string{"--as", "reception", "appt", "session", "add", "--clinician", "dr.patel", "--date", "2026-11-26", "--start", "9am", "--end", "10:00"}, "--start", "9am"},
		{[]string{"--as", "reception", "appt", "session", "add", "--clinician", "dr.patel", "--date", "26/11/2026", "--start", "09:00", "--end", "10:00"}, "--date", "26/11/2026"},
		{[]string{"--as", "reception", "appt", "slots", "--date", "2026-13-01"}, "--date", "2026-13-01"},
		{append(gp, "consult", "add", smithNHS, "--bp", "310/90"), "--bp", "310/90"},
		{append(gp, "consult", "add", smithNHS, "--bp", "high"), "--bp", "high"},
		{append(gp, "consult", "add", smithNHS, "--code", "12345678"), "--code", "12345678"},
		{append(gp, "consult", "add", smithNHS, "--code", "195967001"), "--code", "195967001"},
		{append(gp, "consult", "add", smithNHS, "--obs", "27113001"), "--obs", "27113001"},
		{append(gp, "consult", "add", smithNHS, "--type", "pub"), "--type", "pub"},
		{append(gp, "consult", "add", smithNHS, "--start", "yesterday"), "--start", "yesterday"},
		{append(gp, "consult", "add", smithNHS, "--problem", "99999999", "--ongoing"), "--problem", "99999999"},
		{append(gp, "problem", "add", smithNHS, "--code", "38341003", "--significance", "huge"), "--significance", "huge"},
		{append(gp, "problem", "add", smithNHS, "--code", "38341003", "--onset", "2030-01-01"), "--onset", "2030-01-01"},
		{append(gp, "problem", "add", smithNHS, "--code", "38341003", "--system", "icd99"), "--system", "icd99"},
		{append(gp, "obs", "add", smithNHS, "--bp", "120/130"), "--bp", "120/130"},
		{append(gp, "obs", "add", smithNHS, "--code", "27113001", "--value", "80", "--date", "soon"), "--date", "soon"},
		{append(gp, "obs", "add", smithNHS, "--code", "27113001"), "--value", ""},
		{append(gp, "allergy", "add", smithNHS, "--code", "91936005", "--severity", "extreme"), "--severity", "extreme"},
		{append(gp, "imm", "add", smithNHS, "--code", "1181000221105", "--date", "2026-12-25"), "--date", "2026-12-25"},
		{append(gp, "task", "add", smithNHS, "--text", "x", "--due", "next week"), "--due", "next week"},
		{append(gp, "task", "add", smithNHS, "--text", "x", "--to", "nobody"), "--to", "nobody"},
		{append(gp, "recall", "add", smithNHS, "--code", "182836005", "--due", "2027-02-30"), "--due", "2027-02-30"},
		{append(gp, "patient", "leave", smithNHS, "--date", "2026-11-24"), "--reason", ""},
		{append(gp, "patient", "update", smithNHS, "--dob", "1961-02-30"), "--dob", "1961-02-30"},
		{append(gp, "patient", "update", smithNHS, "--if-version", "-1"), "--if-version", "-1"},
		{[]string{"--as", "admin", "user", "add", "x", "--role", "doctor"}, "--role", "doctor"},
		{[]string{"--as", "admin", "practice", "set", "idle-lock", "forever"}, "idle-lock", "forever"},
		{append(gp, "entry", "retract", "0193a1b2-0000-7000-8000-000000000000", "--reason", ""), "--reason", ""},
		{append(gp, "problem", "list", smithNHS, "-o", "xml"), "--output", "xml"},
	}
	for _, c := range cases {
		stderr := e.want(ExitUsage, c.args...)
		if !strings.Contains(stderr, c.flag) || !strings.Contains(stderr, `"`+c.val+`"`) {
			t.Errorf("gpsoc %s: stderr %q does not name %s and %q", strings.Join(c.args, " "), stderr, c.flag, c.val)
		}
	}
	stderr := e.want(ExitUsage, append(gp, "consult", "add", smithNHS, "--code", "195967001")...)
	if !strings.Contains(stderr, "266364000") {
		t.Errorf("an inactive code should suggest its replacement: %q", stderr)
	}
	if after := writes(e); after != before {
		t.Errorf("refused commands wrote %d records", after-before)
	}
}

// Exit codes 0, 1, 2, 4 and 5 as a script sees them.
func TestRecordExitCodes(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.terms = testTerms
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	gp := func(args ...string) []string { return append([]string{"--as", "dr.patel"}, args...) }

	// 0, also for no results.
	if out := e.ok(gp("problem", "list", smithNHS)...); out != "" {
		t.Errorf("empty problem list printed %q", out)
	}
	var pr record.Problem
	e.jsonOf(&pr, gp("problem", "add", smithNHS, "--code", "44054006", "--significance", "major")...)

	// 5: a duplicate active problem; a stale --if-version names who changed it and when.
	e.want(ExitConflict, gp("problem", "add", smithNHS, "--code", "44054006")...)
	var p record.Patient
	e.jsonOf(&p, "--as", "reception", "patient", "flag", "add", smithNHS, "interpreter-needed")
	stderr := e.want(ExitConflict, "--as", "reception", "patient", "update", smithNHS, "--phone", "0113 496 0000", "--if-version", "1")
	if !strings.Contains(stderr, "reception") || !strings.Contains(stderr, "2026-11-24T08:") || !strings.Contains(stderr, "version 2") {
		t.Errorf("stale update: %q should say who changed it, when, and the version now", stderr)
	}
	e.ok("--as", "reception", "patient", "update", smithNHS, "--phone", "0113 496 0000", "--if-version", "2")
	e.want(ExitConflict, gp("problem", "resolve", smithNHS, pr.ID, "--if-version", "7")...)
	e.ok(gp("problem", "resolve", smithNHS, pr.ID, "--if-version", "1")...)
	e.want(ExitConflict, gp("problem", "resolve", smithNHS, pr.ID)...)

	// 4: the role table, and a sensitive record without a reason.
	e.want(ExitForbidden, "--as", "reception", "user", "add", "x", "--role", "gp")
	e.want(ExitForbidden, "--as", "nurse.jones", "patient", "export")
	e.ok("--as", "reception", "patient", "update", smithNHS, "--sensitive")
	e.want(ExitForbidden, gp("record", smithNHS)...)
	e.want(ExitForbidden, gp("problem", "list", smithNHS)...)
	e.want(ExitForbidden, gp("history", smithNHS)...)
	e.ok(gp("record", smithNHS, "--reason", "reviewing results")...)
	e.ok(gp("problem", "list", smithNHS, "--reason", "reviewing results")...)
	denied := 0
	for _, ev := range e.auditEvents() {
		if ev.Action == "denied" && ev.Reason == "sensitive record opened without a reason" {
			denied++
		}
	}
	if denied != 3 {
		t.Errorf("%d audited denials of the sensitive record, want 3", denied)
	}

	// 1: a bulk import with a rejected line (the good lines are written).
	in := filepath.Join(t.TempDir(), "obs.ndjson")
	lines := `{"patientId":"9434765919","code":{"system":"http://snomed.info/sct","code":"27113001"},"value":81,"unit":"kg","effective":"2026-11-01T10:00:00Z"}
{"patientId":"9434765919","code":{"system":"http://snomed.info/sct","code":"27113001"},"value":"heavy","effective":"2026-11-02T10:00:00Z"}
{"patientId":"9434765919","code":{"system":"http://snomed.info/sct","code":"12345678"},"value":1,"effective":"2026-11-02T10:00:00Z"}
`
	if err := os.WriteFile(in, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "--as", "admin", "obs", "import", in)
	if r.code != ExitFailure || !strings.Contains(r.out, "read 3, written 1, unchanged 0, rejected 2") ||
		!strings.Contains(r.err, `line 2: value "string": must be float64`) || !strings.Contains(r.err, `line 3: code "12345678"`) {
		t.Errorf("import: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	// Running it again writes nothing new.
	r = e.run("", "--as", "admin", "obs", "import", in)
	if r.code != ExitFailure || !strings.Contains(r.out, "read 3, written 0, unchanged 1, rejected 2") {
		t.Errorf("re-import: exit %d, stdout %q", r.code, r.out)
	}
	// A nurse may not bulk import.
	e.want(ExitForbidden, "--as", "nurse.jones", "obs", "import", in)
}

// Export one noun as NDJSON, import it into another practice: written, then unchanged.
func TestEntryImportRoundTrip(t *testing.T) {
	a, _ := surgeryDay(t, false)
	b := newPracticeEnv(t, false)
	b.terms = testTerms
	b.setUp()
	pats := a.ok("--as", "admin", "patient", "export")
	r := b.run(pats, "--as", "admin", "patient", "import", "-")
	if r.code != 0 || !strings.Contains(r.out, "written 2") {
		t.Fatalf("patient import: %d %q %q", r.code, r.out, r.err)
	}
	for _, noun := range [][]string{{"problem"}, {"obs"}, {"allergy"}, {"consult"}} {
		out := a.ok(append([]string{"--as", "dr.patel"}, append(noun, "list", smithNHS, "--all", "-o", "ndjson")...)...)
		n := strings.Count(out, "\n")
		r := b.run(out, append([]string{"--as", "dr.patel"}, append(noun, "import", "-")...)...)
		if r.code != 0 || !strings.Contains(r.out, "written "+strconv.Itoa(n)) {
			t.Errorf("%s import: exit %d %q %q", noun[0], r.code, r.out, r.err)
		}
		r = b.run(out, append([]string{"--as", "dr.patel"}, append(noun, "import", "-")...)...)
		if r.code != 0 || !strings.Contains(r.out, "written 0, unchanged "+strconv.Itoa(n)) {
			t.Errorf("%s re-import: exit %d %q %q", noun[0], r.code, r.out, r.err)
		}
	}
	var sm struct {
		Problems []record.Problem `json:"problems"`
	}
	b.jsonOf(&sm, "--as", "dr.patel", "record", smithNHS)
	if len(sm.Problems) != 1 || sm.Problems[0].Code.Code != "38341003" {
		t.Errorf("imported record problems = %+v", sm.Problems)
	}
	// --dry-run counts and writes nothing.
	out := a.ok("--as", "reception", "task", "list", "-o", "ndjson")
	r = b.run(out, "--as", "admin", "task", "import", "--dry-run", "-")
	if r.code != 0 || !strings.Contains(r.out, "dry run: read 1, written 1") {
		t.Errorf("dry run: %q %q", r.out, r.err)
	}
	if got := b.ok("--as", "reception", "task", "list"); got != "" {
		t.Errorf("dry run wrote tasks: %q", got)
	}
}

// Left and deceased patients: bookings and recalls refused, entries after the
// date refused, earlier ones allowed, future appointments cancelled.
func TestLeftAndDeceasedPatients(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.terms = testTerms
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	e.ok("--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-30 11:00")
	e.ok("--as", "dr.patel", "recall", "add", smithNHS, "--code", "182836005", "--due", "2027-01-01")
	r := e.run("", "--as", "reception", "patient", "deceased", smithNHS, "--date", "2026-11-20")
	if r.code != 0 || strings.Count(r.err, "cancelled") != 2 || !strings.Contains(r.out, "deceased") {
		t.Fatalf("deceased: %d %q %q", r.code, r.out, r.err)
	}
	e.want(ExitUsage, "--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-30 11:00")
	e.want(ExitUsage, "--as", "dr.patel", "recall", "add", smithNHS, "--code", "182836005", "--due", "2027-01-01")
	e.want(ExitUsage, "--as", "dr.patel", "obs", "add", smithNHS, "--bp", "120/80")
	e.ok("--as", "dr.patel", "obs", "add", smithNHS, "--bp", "120/80", "--date", "2026-11-19")
	e.want(ExitUsage, "--as", "dr.patel", "consult", "add", smithNHS, "--text", "after death")
	e.ok("--as", "dr.patel", "consult", "add", smithNHS, "--text", "late entry", "--start", "2026-11-19 10:00")
	e.ok("--as", "dr.patel", "task", "add", smithNHS, "--text", "Return notes to PCSE")
	var p record.Patient
	e.jsonOf(&p, "--as", "reception", "patient", "show", smithNHS)
	if p.Status != record.PatientDeceased {
		t.Errorf("status %q", p.Status)
	}
	var as []record.Appointment
	e.jsonOf(&as, "--as", "reception", "appt", "list", "--patient", smithNHS, "--all")
	if len(as) != 1 || as[0].Status != "cancelled" {
		t.Errorf("appointments after death: %+v", as)
	}
	e.want(ExitConflict, "--as", "reception", "patient", "deceased", smithNHS)
	e.ok("--as", "reception", "patient", "add", "--nhs", "401 023 2137", "--family", "Khan", "--given", "Amira", "--dob", "1984-07-30", "--sex", "female")
	e.ok("--as", "reception", "patient", "leave", "4010232137", "--reason", "moved to Manchester")
	out := e.ok("--as", "reception", "patient", "list")
	if !strings.Contains(out, "\tleft") || !strings.Contains(out, "\tdeceased") {
		t.Errorf("patient list does not flag left and deceased:\n%s", out)
	}
	e.ok("--as", "reception", "patient", "flag", "add", "4010232137", "interpreter-needed")
	e.want(ExitConflict, "--as", "reception", "patient", "flag", "add", "4010232137", "interpreter-needed")
	e.ok("--as", "reception", "patient", "flag", "remove", "4010232137", "interpreter-needed")
	e.want(ExitUsage, "--as", "reception", "patient", "flag", "remove", "4010232137", "interpreter-needed")
}

// A sensitive entry is left out of lists without --reason, with a note on stderr.
func TestSensitiveEntryNote(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.terms = testTerms
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	e.ok("--as", "dr.patel", "problem", "add", smithNHS, "--code", "44054006")
	e.ok("--as", "dr.patel", "problem", "add", smithNHS, "--code", "38341003", "--sensitive")
	r := e.run("", "--as", "dr.patel", "problem", "list", smithNHS)
	if r.code != 0 || strings.Contains(r.out, "38341003") || !strings.Contains(r.out, "44054006") ||
		!strings.Contains(r.err, "1 sensitive entry not shown; give --reason") {
		t.Errorf("without a reason: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	r = e.run("", "--as", "dr.patel", "problem", "list", smithNHS, "--reason", "safeguarding review")
	if r.code != 0 || !strings.Contains(r.out, "38341003") || r.err != "" {
		t.Errorf("with a reason: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	var sm map[string]json.RawMessage
	e.jsonOf(&sm, "--as", "dr.patel", "record", smithNHS)
	if string(sm["hiddenSensitive"]) != "1" {
		t.Errorf("record hiddenSensitive = %s, want 1", sm["hiddenSensitive"])
	}
}

func TestUserCommands(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	var u record.User
	e.jsonOf(&u, "--as", "admin", "user", "add", "dr.locum", "--role", "gp", "--no-prescriber")
	if u.Prescriber {
		t.Error("a gp added with --no-prescriber is a prescriber")
	}
	e.jsonOf(&u, "--as", "admin", "user", "add", "nurse.ip", "--role", "nurse", "--prescriber", "--reg-number", "09A1234E")
	if !u.Prescriber || u.RegNumber != "09A1234E" {
		t.Errorf("nurse prescriber: %+v", u)
	}
	if stderr := e.want(ExitUsage, "--as", "admin", "user", "add", "desk", "--role", "receptionist", "--prescriber"); !strings.Contains(stderr, "--prescriber") {
		t.Errorf("receptionist prescriber: %q", stderr)
	}
	e.want(ExitUsage, "--as", "admin", "user", "add", "Dr Who", "--role", "gp")
	e.want(ExitConflict, "--as", "admin", "user", "add", "dr.patel", "--role", "gp")
	e.want(ExitForbidden, "--as", "dr.patel", "user", "add", "x", "--role", "gp")
	var tok map[string]string
	e.jsonOf(&tok, "--as", "admin", "user", "token", "dr.patel")
	if !strings.HasPrefix(tok["token"], "gpsoc_") || len(tok["token"]) < 40 {
		t.Errorf("token %q", tok["token"])
	}
	e.want(ExitForbidden, "--as", "dr.patel", "user", "token", "dr.patel")
	if out := e.ok("--as", "admin", "user", "list", "-o", "json"); strings.Contains(out, tok["token"][6:]) || strings.Contains(out, "token") {
		t.Errorf("user list shows the token:\n%s", out)
	}
	e.want(ExitForbidden, "--as", "dr.patel", "practice", "set", "nurse-prescribing", "true")
	// No practice-wide passphrase any more: each user has their own.
	if stderr := e.want(ExitUsage, "--as", "admin", "practice", "set", "passphrase", "correct horse battery"); !strings.Contains(stderr, "gpsoc passphrase") {
		t.Errorf("practice set passphrase: %q", stderr)
	}
}

// A coded result: `obs add --value-code` records it, checked like the code,
// and the table shows its term.
func TestObservationWithCodedValue(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.terms = testTerms
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	var o record.Observation
	e.jsonOf(&o, "--as", "dr.patel", "obs", "add", smithNHS, "--code", "365981007", "--value-code", "8517006")
	if o.ValueCode == nil || o.ValueCode.Code != "8517006" || o.ValueCode.Display == "" || o.Value != nil {
		t.Fatalf("coded observation %+v", o)
	}
	if out := e.ok("--as", "dr.patel", "obs", "list", smithNHS); !strings.Contains(out, "(8517006)") {
		t.Errorf("table does not show the coded value:\n%s", out)
	}
	e.want(ExitUsage, "--as", "dr.patel", "obs", "add", smithNHS, "--code", "365981007", "--value-code", "12345678")
	e.want(ExitUsage, "--as", "dr.patel", "obs", "add", smithNHS, "--code", "365981007", "--value-code", "8517006", "--value", "3")
}
