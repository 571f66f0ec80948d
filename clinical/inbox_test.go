package clinical_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

func fp(v float64) *float64 { return &v }

// inboxPractice is recordPractice with a laboratory feed and a manager.
func inboxPractice(t *testing.T) *recordPractice {
	t.Helper()
	rp := newRecordPractice(t)
	admin := rp.as("admin")
	for _, u := range []record.User{{Name: "lab", Role: record.RoleInterface}, {Name: "manager", Role: record.RoleManager},
		{Name: "dr.jones", Role: record.RoleGP, RegNumber: "G7654321"}} {
		if _, err := admin.AddUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	return rp
}

// ureport is a urea and electrolytes report for John Smith (9434765919);
// potassium is given, flagged as the test says.
func ureport(id string, k float64, flag string) *record.Report {
	return &record.Report{
		Format: "fhir", LabReportID: id, LabStatus: "final",
		Sender:    record.Party{Name: "Leeds Teaching Hospitals Pathology", ODS: "RR8"},
		Requester: record.Party{Name: "Dr Jones", Code: "G7654321"},
		Title:     record.Code{System: record.SystemSNOMED, Code: "1000981000000109", Display: "Urea and electrolytes"},
		Specimen:  record.Specimen{ID: "SP" + id, Type: "Serum", Collected: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
		Issued:    time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC),
		SentPatient: record.SentPatient{NHSNumber: "9434765919", Family: "SMITH", Given: []string{"John"},
			BirthDate: "1961-03-12", Sex: "male"},
		Tests: []record.ReportTest{
			{Name: "Serum potassium", Codes: []record.Code{{System: record.SystemLOINC, Code: "2823-3"}, {System: record.SystemSNOMED, Code: "1000651000000109"}},
				Value: fp(k), Unit: "mmol/L", Range: &record.ReferenceRange{Low: fp(3.5), High: fp(5.3)}, Flag: flag},
			{Name: "Serum sodium", Codes: []record.Code{{System: "https://lab.example.nhs.uk/codes", Code: "NA"}},
				Value: fp(139), Unit: "mmol/L", Range: &record.ReferenceRange{Low: fp(133), High: fp(146)}},
		},
	}
}

func deliver(t *testing.T, s *clinical.Service, r *record.Report) *clinical.Delivery {
	t.Helper()
	d, err := s.DeliverReport(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func patientObs(t *testing.T, rp *recordPractice) []*record.Observation {
	t.Helper()
	l, err := rp.as("dr.patel").Observations(context.Background(), rp.pid, clinical.ObsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// A matched report's values enter the record at once, unreviewed, with
// their ranges and flags, codes as sent (LOINC, a lab's own) never refused;
// it is in the requester's inbox until a clinician files it.
func TestInboxMatchedReportEntersRecordUnreviewed(t *testing.T) {
	rp := inboxPractice(t)
	d := deliver(t, rp.as("lab"), ureport("R1", 6.2, "H"))
	if d.Outcome != clinical.DeliveredMatched || d.Observations != 2 || d.Report.MatchedPatient != rp.pid || d.Report.To != "dr.jones" {
		t.Fatalf("delivery = %+v, report %+v", d, d.Report)
	}
	obs := patientObs(t, rp)
	if len(obs) != 2 {
		t.Fatalf("record has %d observations", len(obs))
	}
	var k, na *record.Observation
	for _, o := range obs {
		if !o.Unreviewed || o.ReportID != d.Report.ID {
			t.Fatalf("observation %+v not unreviewed or not linked", o)
		}
		switch o.Code.Code {
		case "1000651000000109":
			k = o
		case "NA":
			na = o
		}
	}
	if k == nil || *k.Value != 6.2 || k.Interpretation != "H" || k.ReferenceRange.String() != "3.5-5.3" || !k.Abnormal() {
		t.Fatalf("potassium = %+v", k)
	}
	if na == nil || na.Code.System != "https://lab.example.nhs.uk/codes" || na.Abnormal() {
		t.Fatalf("sodium (a lab's own code) = %+v", na)
	}
	items, err := rp.as("dr.jones").Inbox(context.Background(), clinical.InboxFilter{To: "dr.jones"})
	if err != nil || len(items) != 1 || !items[0].Abnormal || items[0].Patient.ID != rp.pid {
		t.Fatalf("inbox = %+v, %v", items, err)
	}
	res, err := rp.as("dr.jones").FileReport(context.Background(), clinical.FilingInput{ReportID: d.Report.ID, Action: record.FileNormal})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Status != record.ReportFiled || res.Report.Filing.By != "dr.jones" {
		t.Fatalf("filed = %+v", res.Report)
	}
	for _, o := range patientObs(t, rp) {
		if o.Unreviewed {
			t.Fatalf("still unreviewed after filing: %+v", o)
		}
	}
	items, _ = rp.as("dr.jones").Inbox(context.Background(), clinical.InboxFilter{})
	if len(items) != 0 {
		t.Fatalf("filed report still in the inbox: %+v", items)
	}
	evs := rp.events(0)
	if a := actions(evs[len(evs)-4:]); !strings.Contains(a, "file report") {
		t.Fatalf("filing not audited: %s", a)
	}
}

// Matching is by NHS number and date of birth; every mismatch, and no
// match, waits in the unmatched queue with the reason; never by name alone.
func TestInboxMismatchesGoUnmatched(t *testing.T) {
	cases := map[string]struct {
		edit func(*record.SentPatient)
		want string
	}{
		"no NHS number (name alone)": {func(p *record.SentPatient) { p.NHSNumber = "" }, "no NHS number"},
		"invalid NHS number":         {func(p *record.SentPatient) { p.NHSNumber = "9434765918" }, "not a valid NHS number"},
		"unknown NHS number":         {func(p *record.SentPatient) { p.NHSNumber = "9990000018" }, "no patient here"},
		"date of birth":              {func(p *record.SentPatient) { p.BirthDate = "1961-03-13" }, "date of birth sent 1961-03-13"},
		"no date of birth":           {func(p *record.SentPatient) { p.BirthDate = "" }, "no date of birth"},
		"family name":                {func(p *record.SentPatient) { p.Family = "SMYTHE" }, "family name"},
		"given name":                 {func(p *record.SentPatient) { p.Given = []string{"Jane"} }, "given name"},
		"sex":                        {func(p *record.SentPatient) { p.Sex = "female" }, "sex sent"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rp := inboxPractice(t)
			r := ureport("R1", 4.1, "")
			c.edit(&r.SentPatient)
			d := deliver(t, rp.as("lab"), r)
			if d.Outcome != clinical.DeliveredUnmatched || d.Report.Status != record.ReportUnmatched || !strings.Contains(d.Report.Unmatched, c.want) {
				t.Fatalf("delivery %s: %q", d.Outcome, d.Report.Unmatched)
			}
			if obs := patientObs(t, rp); len(obs) != 0 {
				t.Fatalf("an unmatched report wrote %d values", len(obs))
			}
			// The manager sees it, headers only; the GP with values.
			items, err := rp.as("manager").Inbox(context.Background(), clinical.InboxFilter{})
			if err != nil || len(items) != 1 || !items[0].HeadersOnly || items[0].Report.Tests[0].Value != nil || items[0].Report.Tests[0].Name != "Serum potassium" {
				t.Fatalf("manager's inbox = %+v, %v", items, err)
			}
			items, _ = rp.as("dr.patel").Inbox(context.Background(), clinical.InboxFilter{Unmatched: true})
			if len(items) != 1 || items[0].HeadersOnly || items[0].Report.Tests[0].Value == nil {
				t.Fatalf("GP's unmatched queue = %+v", items)
			}
		})
	}
	// Close spellings agree: case, spaces, hyphens and an initial.
	rp := inboxPractice(t)
	r := ureport("R2", 4.1, "")
	r.SentPatient.Family, r.SentPatient.Given, r.SentPatient.Sex = " smith ", []string{"J"}, "M"
	if d := deliver(t, rp.as("lab"), r); d.Outcome != clinical.DeliveredMatched {
		t.Fatalf("close spelling: %s %q", d.Outcome, d.Report.Unmatched)
	}
}

// inbox match files an unmatched report to a patient, with a reason,
// audited; an admin may, a receptionist may not; the reason is required.
func TestInboxMatchUnmatched(t *testing.T) {
	rp := inboxPractice(t)
	r := ureport("R1", 4.1, "")
	r.SentPatient.NHSNumber = ""
	d := deliver(t, rp.as("lab"), r)
	ctx := context.Background()
	if _, err := rp.as("reception").MatchReport(ctx, d.Report.ID, rp.pid, "phoned the lab", 0); !errors.As(err, new(*record.PermissionError)) {
		t.Fatalf("receptionist matched: %v", err)
	}
	if _, err := rp.as("admin").MatchReport(ctx, d.Report.ID, rp.pid, " ", 0); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("no reason: %v", err)
	}
	m, err := rp.as("admin").MatchReport(ctx, d.Report.ID, rp.pid, "lab confirmed the NHS number by phone", 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != record.ReportUnfiled || m.MatchedBy != "admin" || m.To != "dr.jones" {
		t.Fatalf("matched = %+v", m)
	}
	evs := rp.events(0)
	if n := len(patientObs(t, rp)); n != 2 {
		t.Fatalf("values after match: %d", n)
	}
	last := evs[len(evs)-1]
	if last.Action != "match" || last.Reason != "lab confirmed the NHS number by phone" || last.PatientID != rp.pid {
		t.Fatalf("match event %+v", last)
	}
	if _, err := rp.as("admin").MatchReport(ctx, d.Report.ID, rp.pid, "again", 0); !errors.As(err, new(*record.ConflictError)) {
		t.Fatalf("matched twice: %v", err)
	}
}

// Every filing action: each leaves the inbox by one call; the task and
// recall actions make their task or recall.
func TestInboxEveryFilingAction(t *testing.T) {
	for _, act := range record.FilingActions {
		t.Run(act, func(t *testing.T) {
			rp := inboxPractice(t)
			d := deliver(t, rp.as("lab"), ureport("R1", 6.2, "H"))
			in := clinical.FilingInput{ReportID: d.Report.ID, Action: act}
			switch act {
			case record.FileComment:
				in.Comment, in.For = "Tell patient results are fine", "patient"
			case record.FileRepeat:
				in.Weeks = 6
			}
			res, err := rp.as("dr.patel").FileReport(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Status != record.ReportFiled || res.Report.Filing.Action != act {
				t.Fatalf("filing = %+v", res.Report.Filing)
			}
			tasks, _ := rp.as("reception").Tasks(context.Background(), clinical.TaskFilter{PatientRef: rp.pid})
			recalls, _ := rp.as("dr.patel").Recalls(context.Background(), clinical.RecallFilter{PatientRef: rp.pid})
			switch act {
			case record.FileRoutineAppt, record.FileUrgent, record.FileSpeakToGP:
				if len(tasks) != 1 || res.Task == nil || tasks[0].ID != res.Report.Filing.TaskID {
					t.Fatalf("tasks = %+v", tasks)
				}
				if act == record.FileUrgent && (tasks[0].Due != "2026-11-24" || !strings.HasPrefix(tasks[0].Text, "URGENT")) {
					t.Fatalf("urgent task = %+v", tasks[0])
				}
			case record.FileRepeat:
				if len(recalls) != 1 || recalls[0].Due != "2027-01-05" || recalls[0].Code.Code != "1000981000000109" {
					t.Fatalf("recalls = %+v", recalls)
				}
			default:
				if len(tasks) != 0 || len(recalls) != 0 {
					t.Fatalf("%s made tasks %v recalls %v", act, tasks, recalls)
				}
			}
			if _, err := rp.as("dr.patel").FileReport(context.Background(), in); !errors.As(err, new(*record.ConflictError)) {
				t.Fatalf("filed twice: %v", err)
			}
		})
	}
	rp := inboxPractice(t)
	d := deliver(t, rp.as("lab"), ureport("R1", 4, ""))
	for _, in := range []clinical.FilingInput{
		{ReportID: d.Report.ID, Action: "ignore"},
		{ReportID: d.Report.ID, Action: record.FileComment},
		{ReportID: d.Report.ID, Action: record.FileRepeat, Weeks: 0},
	} {
		if _, err := rp.as("dr.patel").FileReport(context.Background(), in); !errors.As(err, new(*record.ValidationError)) {
			t.Fatalf("%+v: %v", in, err)
		}
	}
	for _, u := range []string{"admin", "manager", "reception", "lab"} {
		if _, err := rp.as(u).FileReport(context.Background(), clinical.FilingInput{ReportID: d.Report.ID, Action: record.FileNormal}); !errors.As(err, new(*record.PermissionError)) {
			t.Fatalf("%s filed: %v", u, err)
		}
	}
}

// A corrected report (a later version of the same report id) supersedes
// the earlier values and comes back to the inbox marked CORRECTED, even
// after the earlier one was filed. The same message again changes nothing.
func TestInboxCorrectedReportAfterFiling(t *testing.T) {
	rp := inboxPractice(t)
	ctx := context.Background()
	d1 := deliver(t, rp.as("lab"), ureport("R1", 6.2, "H"))
	if again := deliver(t, rp.as("lab"), ureport("R1", 6.2, "H")); again.Outcome != clinical.DeliveredDuplicate {
		t.Fatalf("same report again: %s", again.Outcome)
	}
	if _, err := rp.as("dr.jones").FileReport(ctx, clinical.FilingInput{ReportID: d1.Report.ID, Action: record.FileNormal}); err != nil {
		t.Fatal(err)
	}
	rp.tick(time.Hour)
	c := ureport("R1", 4.4, "") // haemolysed sample re-run
	c.LabStatus = "corrected"
	d2 := deliver(t, rp.as("lab"), c)
	if !d2.Corrected || !d2.Report.Corrected || d2.Report.LabVersion != 2 || d2.Report.Supersedes != d1.Report.ID || d2.Report.Status != record.ReportUnfiled {
		t.Fatalf("correction = %+v", d2.Report)
	}
	items, _ := rp.as("dr.jones").Inbox(ctx, clinical.InboxFilter{})
	if len(items) != 1 || items[0].Report.ID != d2.Report.ID || !items[0].Report.Corrected {
		t.Fatalf("inbox after correction = %+v", items)
	}
	var live []float64
	for _, o := range patientObs(t, rp) {
		if o.Code.Code == "1000651000000109" {
			live = append(live, *o.Value)
		}
	}
	if len(live) != 1 || live[0] != 4.4 {
		t.Fatalf("potassium values in the record after correction: %v", live)
	}
	v, err := rp.as("dr.jones").Report(ctx, d1.Report.ID)
	if err != nil || v.Report.Status != record.ReportSuperseded || v.Report.SupersededBy != d2.Report.ID {
		t.Fatalf("earlier version = %+v, %v", v, err)
	}
	if _, err := rp.as("dr.jones").FileReport(ctx, clinical.FilingInput{ReportID: d1.Report.ID, Action: record.FileNormal}); !errors.As(err, new(*record.ConflictError)) {
		t.Fatalf("filed a superseded report: %v", err)
	}
	// An older version arriving late changes nothing.
	old := ureport("R1", 6.2, "H")
	old.LabVersion = 1
	if d := deliver(t, rp.as("lab"), old); d.Outcome != clinical.DeliveredDuplicate {
		t.Fatalf("late older version: %s", d.Outcome)
	}
}

// Reports are never refused for values, units or codes; a report that
// is not a report (no id, no sender, no results) is, naming the field.
func TestInboxNeverRefusesValues(t *testing.T) {
	rp := inboxPractice(t)
	r := ureport("R1", 99999, "HH")
	r.Tests[0].Unit = "furlongs"
	r.Tests = append(r.Tests, record.ReportTest{Name: "Comment only", Comments: []string{"Sample haemolysed"}},
		record.ReportTest{Name: "Bad SNOMED", Codes: []record.Code{{System: record.SystemSNOMED, Code: "12345"}}, ValueText: "positive"})
	d := deliver(t, rp.as("lab"), r)
	if d.Outcome != clinical.DeliveredMatched || d.Observations != 4 {
		t.Fatalf("delivery %+v %q", d, d.Report.Unmatched)
	}
	for _, bad := range []func(*record.Report){
		func(r *record.Report) { r.LabReportID = "" },
		func(r *record.Report) { r.Sender = record.Party{} },
		func(r *record.Report) { r.Tests = nil },
	} {
		r := ureport("R9", 4, "")
		bad(r)
		if _, err := rp.as("lab").DeliverReport(context.Background(), r); !errors.As(err, new(*record.ValidationError)) {
			t.Fatalf("refused report: %v", err)
		}
	}
	if _, err := rp.as("reception").DeliverReport(context.Background(), ureport("R8", 4, "")); !errors.As(err, new(*record.PermissionError)) {
		t.Fatalf("receptionist delivered: %v", err)
	}
}

// The inbox lists abnormal first, then oldest first.
func TestInboxOrder(t *testing.T) {
	rp := inboxPractice(t)
	deliver(t, rp.as("lab"), ureport("N1", 4, ""))
	rp.tick(time.Minute)
	deliver(t, rp.as("lab"), ureport("A1", 6.5, "H"))
	rp.tick(time.Minute)
	deliver(t, rp.as("lab"), ureport("N2", 4, ""))
	rp.tick(time.Minute)
	deliver(t, rp.as("lab"), ureport("A2", 2.9, "L"))
	items, err := rp.as("dr.patel").Inbox(context.Background(), clinical.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Report.LabReportID)
	}
	if strings.Join(got, " ") != "A1 A2 N1 N2" {
		t.Fatalf("order %v", got)
	}
}

// Filing rules: the enabled rule files a normal report under its id,
// audited; no rule files an abnormal or a comment-bearing result or a
// corrected report, whatever it says.
func TestInboxRulesNeverFileAbnormal(t *testing.T) {
	rp := inboxPractice(t)
	ctx := context.Background()
	rules := []byte(`rules:
  - id: ue-normal
    description: normal U&E from Leeds
    enabled: true
    sender: RR8
    tests: ["2823-3", "Serum sodium"]
`)
	if _, err := rp.as("nurse.jones").SetFilingRules(ctx, rules); !errors.As(err, new(*record.PermissionError)) {
		t.Fatalf("a nurse enabled rules: %v", err)
	}
	if _, err := rp.as("dr.patel").SetFilingRules(ctx, rules); err != nil {
		t.Fatal(err)
	}
	lab := rp.as("lab")
	if d := deliver(t, lab, ureport("N1", 4.2, "")); d.Outcome != clinical.DeliveredAutoFiled || d.Report.Filing.Rule != "ue-normal" {
		t.Fatalf("normal report: %s", d.Outcome)
	}
	evs := rp.events(0)
	if last := evs[len(evs)-1]; last.Action != "file" || !strings.Contains(last.Reason, "by rule ue-normal") {
		t.Fatalf("auto-filing event %+v", last)
	}
	abn := []*record.Report{ureport("A1", 6.2, "H"), ureport("A2", 6.2, ""), ureport("A3", 4.2, "A")}
	withComment := ureport("C1", 4.2, "")
	withComment.Tests[1].Comments = []string{"Please repeat"}
	reportComment := ureport("C2", 4.2, "")
	reportComment.Comments = []string{"Lipaemic sample"}
	corrected := ureport("N1", 4.3, "")
	corrected.LabStatus = "corrected"
	for _, r := range append(abn, withComment, reportComment, corrected) {
		d := deliver(t, lab, r)
		if d.Outcome != clinical.DeliveredMatched || d.Report.Status != record.ReportUnfiled {
			t.Fatalf("%s (flag %q) was %s", r.LabReportID, r.Tests[0].Flag, d.Outcome)
		}
	}
	// A rule that claims another action is refused, naming the line.
	_, err := clinical.ParseFilingRules([]byte("rules:\n  - id: a\n    sender: RR8\n    tests: [x]\n  - id: b\n    sender: RR8\n    tests: [x]\n    action: urgent\n"))
	if err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("rule with another action: %v", err)
	}
	if _, err := clinical.ParseFilingRules([]byte("rules:\n  - id: a\n    sender: RR8\n    testz: [x]\n")); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("unknown field: %v", err)
	}
	vs, err := rp.as("dr.patel").TestFilingRules(ctx, rules)
	if err != nil || len(vs) != 6 {
		t.Fatalf("rules test = %d, %v", len(vs), err)
	}
	for _, v := range vs {
		if v.Rule != "" {
			t.Fatalf("rules test would file %s: %s", v.Report.LabReportID, v.Why)
		}
	}
}

// An unfiled report survives the process closing and the file reopening:
// the inbox is the store, not memory.
func TestInboxSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), bolt.FileName)
	open := func() (*clinical.Practice, store.Store) {
		st, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return clinical.New(clinical.Options{Store: st}), st
	}
	ctx := context.Background()
	p, st := open()
	if _, err := p.Init(ctx, "Leeds Road Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	as := func(p *clinical.Practice, u string) *clinical.Service {
		s, err := p.As(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, u := range []record.User{{Name: "lab", Role: record.RoleInterface}, {Name: "dr.patel", Role: record.RoleGP}} {
		if _, err := as(p, "admin").AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := as(p, "admin").AddPatient(ctx, &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}); err != nil {
		t.Fatal(err)
	}
	r := ureport("R1", 6.2, "H")
	r.Specimen.Collected, r.Issued = time.Now().Add(-2*time.Hour).UTC(), time.Now().Add(-time.Hour).UTC()
	if _, err := as(p, "lab").DeliverReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := as(p, "dr.patel").Inbox(ctx, clinical.InboxFilter{}); err != nil { // warms the cache
		t.Fatal(err)
	}
	st.Close()
	p2, st2 := open()
	defer st2.Close()
	items, err := as(p2, "dr.patel").Inbox(ctx, clinical.InboxFilter{})
	if err != nil || len(items) != 1 || items[0].Report.LabReportID != "R1" || !items[0].Abnormal {
		t.Fatalf("after restart: %+v, %v", items, err)
	}
}

// A specimen taken before the patient was born cannot be theirs: the
// report waits unmatched and writes nothing to the record.
func TestInboxDatesThatDoNotFitGoUnmatched(t *testing.T) {
	rp := inboxPractice(t)
	r := ureport("R1", 4.1, "")
	r.Specimen.Collected = time.Date(1960, 1, 5, 9, 0, 0, 0, time.UTC)
	d := deliver(t, rp.as("lab"), r)
	if d.Outcome != clinical.DeliveredUnmatched || !strings.Contains(d.Report.Unmatched, "specimen date") {
		t.Fatalf("delivery %s: %q", d.Outcome, d.Report.Unmatched)
	}
	if obs := patientObs(t, rp); len(obs) != 0 {
		t.Fatalf("wrote %d values", len(obs))
	}
	if _, err := rp.as("admin").MatchReport(context.Background(), d.Report.ID, rp.pid, "sure", 0); !errors.As(err, new(*record.ValidationError)) {
		t.Fatalf("matched by hand to a patient not yet born: %v", err)
	}
}

// A report filed to a sensitive record lists with its values held back, and
// opens only with a reason, as the record does; the reason is audited.
func TestInboxSensitiveRecordNeedsAReason(t *testing.T) {
	rp := inboxPractice(t)
	ctx := context.Background()
	pt := &record.Patient{NHSNumber: "9990000026", Family: "Jones", Given: []string{"Ann"}, BirthDate: "1970-01-01", Sex: "female",
		Meta: record.Meta{Sensitive: true}}
	if _, err := rp.as("admin").AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	r := ureport("S1", 6.2, "H")
	r.SentPatient = record.SentPatient{NHSNumber: "9990000026", Family: "JONES", Given: []string{"Ann"}, BirthDate: "1970-01-01", Sex: "female"}
	d := deliver(t, rp.as("lab"), r)
	items, err := rp.as("dr.patel").Inbox(ctx, clinical.InboxFilter{})
	if err != nil || len(items) != 1 || !items[0].HeadersOnly || items[0].Report.Tests[0].Value != nil || !items[0].Abnormal || !items[0].Patient.Sensitive {
		t.Fatalf("sensitive list = %+v, %v", items, err)
	}
	if _, err := rp.as("dr.patel").Report(ctx, d.Report.ID); !errors.As(err, new(*record.PermissionError)) {
		t.Fatalf("opened without a reason: %v", err)
	}
	v, err := rp.as("dr.patel").OpenReport(ctx, d.Report.ID, clinical.ReadOptions{Reason: "reviewing results"})
	if err != nil || *v.Report.Tests[0].Value != 6.2 {
		t.Fatalf("with a reason: %+v, %v", v, err)
	}
	evs := rp.events(0)
	if last := evs[len(evs)-1]; last.Action != "read" || last.Reason != "reviewing results" {
		t.Fatalf("read event %+v", last)
	}
}

// Whatever reports arrive, a rule that claims every test files only the
// normal ones without comments: 300 reports with random flags, values
// inside and outside their ranges, and comments.
func TestInboxRulesNeverFileAbnormalRandom(t *testing.T) {
	rp := inboxPractice(t)
	ctx := context.Background()
	if _, err := rp.as("dr.patel").SetFilingRules(ctx, []byte("rules:\n  - id: all\n    enabled: true\n    sender: RR8\n    tests: [\"Serum potassium\", \"Serum sodium\"]\n")); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(22, 22))
	flags := []string{"", "", "", "N", "H", "L", "A", "HH", "LL", "AA"}
	lab := rp.as("lab")
	filed := 0
	for i := 0; i < 300; i++ {
		r := ureport(fmt.Sprintf("Q%03d", i), 2+rng.Float64()*5, flags[rng.IntN(len(flags))])
		r.Tests[1].Flag = flags[rng.IntN(len(flags))]
		if rng.IntN(3) == 0 {
			r.Tests[1].Range = nil
		}
		if rng.IntN(8) == 0 {
			r.Tests[rng.IntN(2)].Comments = []string{"see comment"}
		}
		if rng.IntN(10) == 0 {
			r.Comments = []string{"report comment"}
		}
		abnormal, comments := r.Abnormal(), r.HasComments()
		d := deliver(t, lab, r)
		if d.Outcome == clinical.DeliveredAutoFiled {
			filed++
			if abnormal || comments {
				t.Fatalf("rule filed report %d: abnormal %v, comments %v: %+v", i, abnormal, comments, r.Tests)
			}
		} else if !abnormal && !comments {
			t.Fatalf("normal report %d not filed by the rule: %s", i, d.Outcome)
		}
	}
	if filed == 0 || filed == 300 {
		t.Fatalf("%d of 300 filed: the mix did not test both sides", filed)
	}
}

// A laboratory's multi-line comments and stray control characters do not
// refuse its report: kept, the latter shown escaped.
func TestInboxOddTextIsKept(t *testing.T) {
	rp := inboxPractice(t)
	r := ureport("T1", 4.2, "")
	r.Tests[0].Comments = []string{"Sample haemolysed.\nPlease repeat.", "bell\x07"}
	r.Comments = []string{"Line one\r\nline two"}
	d := deliver(t, rp.as("lab"), r)
	if d.Outcome != clinical.DeliveredMatched || d.Report.Tests[0].Comments[0] != "Sample haemolysed.\nPlease repeat." ||
		strings.ContainsRune(d.Report.Tests[0].Comments[1], 7) || !strings.HasPrefix(d.Report.Tests[0].Comments[1], "bell") {
		t.Fatalf("delivery %s %q", d.Outcome, d.Report.Tests[0].Comments)
	}
}

// A result that arrives in the inbox reaches the prescribing checks at
// once, before anyone has filed it: an eGFR of 24 stops metformin.
func TestInboxResultReachesPrescribingChecksAtOnce(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	if _, err := rx.as("admin").AddUser(rx.ctx, record.User{Name: "lab", Role: record.RoleInterface}); err != nil {
		t.Fatal(err)
	}
	id := "rule:metformin-egfr-below-30:" + dmdMetformin
	if a := rx.alerts(rx.pid, dmdMetformin); len(a) != 0 {
		t.Fatalf("before the report: %v", ids(a))
	}
	r := ureport("E1", 4.2, "")
	r.Tests = []record.ReportTest{{Name: "eGFR", Codes: []record.Code{{System: record.SystemSNOMED, Code: sctEGFR}},
		Value: fp(24), Unit: "mL/min/1.73m2", Range: &record.ReferenceRange{Low: fp(60)}, Flag: "L"}}
	d := deliver(t, rx.as("lab"), r)
	if d.Report.Status != record.ReportUnfiled {
		t.Fatalf("delivery %s %q", d.Outcome, d.Report.Unmatched)
	}
	if a := rx.alerts(rx.pid, dmdMetformin); a[id].Severity != "high" {
		t.Fatalf("unfiled eGFR 24 not seen by the checks: %v", ids(a))
	}
}

// A report matched to the wrong patient is taken off their record with a
// reason: its values there are entered in error, it waits unmatched again
// (saying its filing's task stays), and it can be matched to the right one.
func TestInboxUnmatchWrongPatient(t *testing.T) {
	rp := inboxPractice(t)
	ctx := context.Background()
	other := &record.Patient{NHSNumber: "9990000026", Family: "Jones", Given: []string{"Ann"}, BirthDate: "1970-01-01", Sex: "female"}
	if _, err := rp.as("admin").AddPatient(ctx, other); err != nil {
		t.Fatal(err)
	}
	r := ureport("W1", 6.2, "H")
	r.SentPatient.NHSNumber = ""
	d := deliver(t, rp.as("lab"), r)
	if _, err := rp.as("manager").MatchReport(ctx, d.Report.ID, rp.pid, "looked right", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.as("dr.patel").FileReport(ctx, clinical.FilingInput{ReportID: d.Report.ID, Action: record.FileUrgent}); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.as("reception").UnmatchReport(ctx, d.Report.ID, "wrong", 0); !errors.As(err, new(*record.PermissionError)) {
		t.Fatalf("reception unmatched: %v", err)
	}
	u, err := rp.as("dr.patel").UnmatchReport(ctx, d.Report.ID, "lab: sample belongs to another patient", 0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != record.ReportUnmatched || u.MatchedPatient != "" || !strings.Contains(u.Unmatched, "its task") {
		t.Fatalf("unmatched %+v", u)
	}
	if obs := patientObs(t, rp); len(obs) != 0 {
		t.Fatalf("values left on the wrong record: %d", len(obs))
	}
	if _, err := rp.as("manager").MatchReport(ctx, d.Report.ID, other.ID, "lab confirmed Ann Jones", 0); err != nil {
		t.Fatal(err)
	}
	l, _ := rp.as("dr.patel").Observations(ctx, other.ID, clinical.ObsFilter{})
	if len(l.Items) != 2 {
		t.Fatalf("values on the right record: %d", len(l.Items))
	}
}
