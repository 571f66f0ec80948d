package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/terminology"
)

// sensitiveOnRegister marks the first patient (by name) of the test HT
// register sensitive and returns their row with its values, and the query
// the audit names.
func sensitiveOnRegister(t *testing.T, d *driver, eng *cohort.Engine, defs []*cohort.Def) (cohort.Row, string) {
	t.Helper()
	R := cohort.Day(fixedNow)
	run := eng.NewRun(R)
	res, err := run.Evaluate(defs[0])
	if err != nil {
		t.Fatal(err)
	}
	rows := run.Rows(res, true)
	if len(rows) == 0 || len(rows[0].Matched) == 0 {
		t.Fatalf("the HT register's first row has no values: %+v", rows)
	}
	yes := true
	if _, err := d.m.c.Svc.UpdatePatient(context.Background(), rows[0].PatientID, clinical.PatientUpdate{Sensitive: &yes}); err != nil {
		t.Fatal(err)
	}
	return rows[0], cohort.Query(defs[0], R)
}

// reasonEvents are the search and explain events that carry a reason, for
// one patient.
func reasonEvents(t *testing.T, svc *clinical.Service, patientID string) []*record.AuditEvent {
	t.Helper()
	admin, err := svc.Practice().As(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := admin.AuditEvents(context.Background(), clinical.AuditFilter{PatientID: patientID})
	if err != nil {
		t.Fatal(err)
	}
	var out []*record.AuditEvent
	for _, e := range evs {
		if e.Reason != "" && e.PatientID == patientID && (e.Action == "search" || e.Action == "explain") {
			out = append(out, e)
		}
	}
	return out
}

func lineWith(screen, s string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// A sensitive record is a flagged row without its values; v asks a reason
// (an empty one is refused), then the row shows its values and the reveal
// is audited with the reason, as `register show --reason` is.
func TestRegistersRevealSensitiveRow(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	row, query := sensitiveOnRegister(t, d, eng, defs)
	value := shortTerm(row.Matched[0].Code)
	d.keys("f6", "enter")
	line := lineWith(d.screen(), row.Name)
	if !strings.Contains(line, "SENSITIVE (values withheld: v gives a reason)") || strings.Contains(line, value) {
		t.Fatalf("the sensitive row is not flagged without its values: %q", line)
	}
	d.keys("down", "v") // a row that is not sensitive: nothing to reveal
	if d.m.top().TextFocus() {
		t.Fatal("v on a row with its values asks a reason")
	}
	d.keys("up", "v")
	d.contains("Reason to see this sensitive record")
	golden(t, "registers-reveal-120x40", d.screen())
	d.keys("enter") // no reason: stays asking, nothing shown, nothing audited
	d.contains("Reason to see this sensitive record")
	d.contains("type why you need")
	if got := reasonEvents(t, d.m.c.Svc, row.PatientID); len(got) != 0 {
		t.Fatalf("audited before a reason was given: %+v", got)
	}
	d.typeText("hypertension clinic")
	d.keys("enter")
	line = lineWith(d.screen(), row.Name)
	if !strings.Contains(line, "sensitive, reason given: "+value) {
		t.Fatalf("the row does not show its values after the reason: %q\n%s", line, d.screen())
	}
	evs := reasonEvents(t, d.m.c.Svc, row.PatientID)
	if len(evs) != 1 || evs[0].Reason != "hypertension clinic" || evs[0].Action != "search" ||
		!strings.HasPrefix(evs[0].Query, "show "+query) || evs[0].User != "dr.patel" {
		t.Fatalf("the reveal's audit: %+v; want one search event by dr.patel with the reason and %q", evs, "show "+query)
	}
}

// The explanation of a sensitive record withholds its entries and says so;
// v with a reason explains it again with them, audited as `register explain
// --reason` is; esc closes the prompt without revealing anything.
func TestRegistersRevealSensitiveExplanation(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	row, query := sensitiveOnRegister(t, d, eng, defs)
	d.keys("f6", "enter", "e")
	d.contains(": IN")
	d.contains("SENSITIVE record: the entries are withheld; v gives a reason (audited)")
	if strings.Contains(d.screen(), "diagnosis:") {
		t.Fatalf("the explanation shows the entries of a sensitive record:\n%s", d.screen())
	}
	d.keys("v")
	d.typeText("never mind")
	d.keys("esc")
	if d.m.top().TextFocus() || strings.Contains(d.screen(), "Reason to see") {
		t.Fatalf("esc left the prompt open:\n%s", d.screen())
	}
	if got := reasonEvents(t, d.m.c.Svc, row.PatientID); len(got) != 0 {
		t.Fatalf("esc audited a reveal: %+v", got)
	}
	d.keys("v")
	d.typeText("safeguarding review")
	d.keys("enter")
	if s := d.screen(); strings.Contains(s, "entries are withheld") || !strings.Contains(s, shortTerm(row.Matched[0].Code)) {
		t.Fatalf("the explanation does not show the entries after the reason:\n%s", s)
	}
	evs := reasonEvents(t, d.m.c.Svc, row.PatientID)
	if len(evs) != 1 || evs[0].Reason != "safeguarding review" || evs[0].Action != "explain" || !strings.HasPrefix(evs[0].Query, query) {
		t.Fatalf("the reveal's audit: %+v; want one explain event with the reason and %q", evs, query)
	}
}

// teatest flow: f6, drill into a register, v on the flagged row, a reason,
// and the values show; the final model holds the revealed row.
func TestFlowRegistersReveal(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	row, _ := sensitiveOnRegister(t, d, eng, defs)
	m := New(Options{Svc: d.m.c.Svc, Terms: fakeTerms{}, Keys: d.m.c.Keys, Now: clock, DataDir: d.m.c.DataDir, Plain: true,
		Width: 120, Height: 40, Cohort: d.m.c.Cohort})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	waitFor(t, tm, m, "No recent patients yet")
	typeKeys(tm, "f6")
	waitFor(t, tm, m, "Registers and indicators", "reference date")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "SENSITIVE (values withheld")
	typeKeys(tm, "v")
	waitFor(t, tm, m, "Reason to see this sensitive record")
	tm.Type("annual review")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "sensitive, reason given: "+shortTerm(row.Matched[0].Code))
	typeKeys(tm, "ctrl+q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	p, ok := fm.top().(*registersPage)
	if !ok || len(p.rows) == 0 || p.rows[0].PatientID != row.PatientID || len(p.rows[0].Matched) == 0 {
		t.Fatalf("final page %T: the revealed row is not held", fm.top())
	}
}

// From a record, Q lists the patient's registers; the explanation of a
// sensitive record withholds its entries there too, and v with a reason
// shows them, audited.
func TestPatientRegistersRevealSensitive(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	row, query := sensitiveOnRegister(t, d, eng, defs)
	d.send(openPatientMsg{ID: row.PatientID})
	d.contains("This record is marked sensitive.") // opening the record itself asks first
	d.typeText("clinic")
	d.keys("enter", "Q")
	d.contains("This patient's registers and indicators")
	d.keys("enter")
	d.contains("SENSITIVE record: the entries are withheld")
	d.keys("v")
	d.typeText("register review")
	d.keys("enter")
	if s := d.screen(); strings.Contains(s, "entries are withheld") || !strings.Contains(s, shortTerm(row.Matched[0].Code)) {
		t.Fatalf("the explanation does not show the entries after the reason:\n%s", s)
	}
	evs := reasonEvents(t, d.m.c.Svc, row.PatientID)
	if len(evs) != 1 || evs[0].Reason != "register review" || evs[0].Action != "explain" || !strings.HasPrefix(evs[0].Query, query) {
		t.Fatalf("the reveal's audit: %+v", evs)
	}
}

// In remote mode against gpsoc serve, the list comes from the server (a
// sensitive row flagged there); v with a reason reads that patient through
// the services over the API, the reason sent with each read, and shows the
// values; the explanation runs on the server, withheld until v gives a reason.
func TestRegistersRevealRemote(t *testing.T) {
	var defs []*cohort.Def
	for i, src := range testDefs {
		d, err := cohort.Parse(fmt.Sprintf("t%d.search", i), src)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	res := cohort.NewTermResolver(tm)
	local, eng, _ := registersModel(t, 120, 40)
	row, _ := sensitiveOnRegister(t, local, eng, defs) // the same generated practice: the same patient

	serveCohort.Store(t, &server.Cohort{Resolver: res, Defs: defs})
	remoteTests.Store(t, true)
	dir, svc := practice(t, 120)
	remoteTests.Delete(t)
	yes := true
	if _, err := svc.UpdatePatient(context.Background(), row.NHSNumber, clinical.PatientUpdate{Sensitive: &yes}); err != nil {
		t.Fatal(err)
	}
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true,
		Width: 120, Height: 40, Cohort: &Cohort{Resolver: res, Defs: defs}})
	d := &driver{t: t, m: m}
	d.init()
	d.keys("f6")
	d.contains("run on the server")
	d.keys("enter")
	if line := lineWith(d.screen(), row.Name); !strings.Contains(line, "SENSITIVE (values withheld") {
		t.Fatalf("the server's sensitive row is not flagged: %q\n%s", line, d.screen())
	}
	d.keys("v")
	d.typeText("annual review")
	d.keys("enter")
	if line := lineWith(d.screen(), row.Name); !strings.Contains(line, "sensitive, reason given: "+shortTerm(row.Matched[0].Code)) {
		t.Fatalf("the row does not show its values after the reason: %q\n%s", line, d.screen())
	}
	// explaining it runs on the server (Group/$explain), which withholds the
	// entries without a reason; v sends one and the server shows them
	d.keys("e")
	d.contains("SENSITIVE record: the entries are withheld")
	d.keys("v")
	d.contains("Reason to see this sensitive record")
	d.typeText("annual review")
	d.keys("enter")
	d.contains(": IN")
	if s := d.screen(); strings.Contains(s, "entries are withheld") || !strings.Contains(s, shortTerm(row.Matched[0].Code)) {
		t.Fatalf("the explanation does not show the entries after the reason:\n%s", s)
	}
}

// In remote mode against gpsoc serve, a sensitive record opened with a
// reason still gets its banner's indicators and its registers (Q): the
// reason goes with those reads, which the server otherwise refuses; the
// entries stay withheld from the explanation until v.
func TestSensitiveRecordRegistersRemote(t *testing.T) {
	var defs []*cohort.Def
	for i, src := range testDefs {
		d, err := cohort.Parse(fmt.Sprintf("t%d.search", i), src)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	res := cohort.NewTermResolver(tm)
	_, eng, _ := registersModel(t, 120, 40)
	hres, err := eng.NewRun(cohort.Day(fixedNow)).Evaluate(defs[2])
	if err != nil {
		t.Fatal(err)
	}
	due := ""
	hres.Members.Each(func(p int) {
		if hres.Status(p) == "denominator" && due == "" {
			due = eng.Index().Patients[p].NHSNumber
		}
	})
	if due == "" {
		t.Fatal("the fixture has no patient due HT9")
	}

	serveCohort.Store(t, &server.Cohort{Resolver: res, Defs: defs})
	remoteTests.Store(t, true)
	dir, svc := practice(t, 120)
	remoteTests.Delete(t)
	yes := true
	p, err := svc.UpdatePatient(context.Background(), due, clinical.PatientUpdate{Sensitive: &yes})
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true,
		Width: 120, Height: 40, Cohort: &Cohort{Resolver: res, Defs: defs}})
	d := &driver{t: t, m: m}
	d.init()
	d.send(openPatientMsg{ID: p.ID})
	d.contains("This record is marked sensitive.")
	d.typeText("diabetic review")
	d.keys("enter")
	d.contains("QOF due: HT9")
	d.keys("Q")
	d.contains("HT9      due (not met)")
}
