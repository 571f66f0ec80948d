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
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The record's actions (issue 20's list) as the real program runs them: the
// key, the form as a user fills it, the confirmation or reason asked, the
// notice on screen, and the record read back through the clinical service.

// startRecord runs the program with pid's record open.
func startRecord(t *testing.T, dir string, svc *clinical.Service, terms Terms, pid string) (*teatest.TestModel, *Model) {
	t.Helper()
	draftDebounce = time.Millisecond
	m := New(Options{Svc: svc, Terms: terms, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40, OpenID: pid})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	await(t, tm, m, "Record · Summary", "Active problems") // loaded: a key before that is told to wait
	return tm, m
}

// quitFlow quits the program and waits for it to end.
func quitFlow(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// realTerms is the embedded terminology (allergy agents and recall codes
// the fake one lacks).
func realTerms(t *testing.T, dir string) termsOf {
	t.Helper()
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmn.Close() })
	return termsOf{tmn}
}

// waitGone waits until the screen no longer shows s.
func waitGone(t *testing.T, tm *teatest.TestModel, m *Model, s string) {
	t.Helper()
	waitUntil(t, tm, m, func(f string) bool { return !strings.Contains(f, s) })
}

// await is waitFor that shows the model's last frame when it gives up.
func await(t *testing.T, tm *teatest.TestModel, m *Model, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f, ok := m.LastFrame(), true
		for _, w := range want {
			ok = ok && strings.Contains(f, w)
		}
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the screen never showed %q; last frame:\n%s", want, m.LastFrame())
}

func noProblems(svc *clinical.Service) func(string) bool {
	return func(pid string) bool {
		l, err := svc.Problems(context.Background(), pid, clinical.ProblemFilter{ListOptions: clinical.ListOptions{All: true}})
		return err == nil && len(l.Items) == 0
	}
}

// TestFlowNKDA: N, the save key; the banner no longer says the allergy
// status is unknown, and the record holds "no known drug allergy".
func TestFlowNKDA(t *testing.T) {
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, nil)
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "a")
	await(t, tm, m, "allergy status unknown")
	typeKeys(tm, "N")
	await(t, tm, m, "Record no known drug allergy")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "No known drug allergy recorded")
	waitGone(t, tm, m, "allergy status unknown") // the record reloaded
	quitFlow(t, tm)
	l, err := svc.Allergies(context.Background(), pid, clinical.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || !l.Items[0].NKDA || l.Items[0].RecordedBy != "dr.patel" {
		t.Fatalf("allergies after N: %+v", l.Items)
	}
}

// TestFlowAllergyRecordThenResolve: A records a severe penicillin allergy
// (the banner shows it at once); Z de-labels it, refusing until a reason is
// typed; the record keeps it, resolved, with the reason.
func TestFlowAllergyRecordThenResolve(t *testing.T) {
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, nil)
	tm, m := startRecord(t, dir, svc, realTerms(t, dir), pid)
	typeKeys(tm, "A")
	await(t, tm, m, "Record an allergy")
	tm.Type("penicillin")
	await(t, tm, m, "› 373270004  Penicillin")
	typeKeys(tm, "tab")
	tm.Type("Urticaria")
	typeKeys(tm, "tab", "down", "down", "down") // severity: severe
	await(t, tm, m, "› severe")
	typeKeys(tm, "ctrl+s")
	// The harness's service has no terminology for display terms: the code
	// stands in for the term the practice's release would give.
	await(t, tm, m, "Allergy recorded: sct 373270004", "ALLERGY: sct 373270004")
	typeKeys(tm, "Z")
	await(t, tm, m, "Resolve (de-label) an allergy", "› sct 373270004")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Why it is no longer believed: required")
	typeKeys(tm, "tab")
	tm.Type("Negative oral penicillin challenge")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Allergy resolved")
	waitGone(t, tm, m, "ALLERGY: sct 373270004")
	quitFlow(t, tm)
	l, err := svc.Allergies(context.Background(), pid, clinical.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 {
		t.Fatalf("allergies: %+v", l.Items)
	}
	a := l.Items[0]
	if a.Agent.Code != "373270004" || a.Severity != "severe" || a.Reaction != "Urticaria" || a.Status != "resolved" ||
		a.ResolvedReason != "Negative oral penicillin challenge" || a.ResolvedOn != "2026-11-24" {
		t.Fatalf("the allergy after the flow: %+v", a)
	}
}

// TestFlowProblemAddSignificanceResolve: P adds a minor problem, G marks it
// major, E resolves it on a date typed; each says so and the record holds it.
func TestFlowProblemAddSignificanceResolve(t *testing.T) {
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, noProblems(svc))
	tm, m := startRecord(t, dir, svc, realTerms(t, dir), pid) // the problem hierarchies searched as the demo has them
	typeKeys(tm, "P")
	await(t, tm, m, "Add a problem")
	tm.Type("hypertension")
	await(t, tm, m, "› 38341003  Hypertension")
	typeKeys(tm, "tab", "down") // significance: minor
	await(t, tm, m, "› minor")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Problem added: sct 38341003")
	// ... and, the record reloaded, in the summary's active problems too
	waitUntil(t, tm, m, func(f string) bool { return strings.Count(f, "sct 38341003") == 2 })
	typeKeys(tm, "G")
	await(t, tm, m, "Change a problem's significance", "› minor  sct 38341003")
	typeKeys(tm, "tab", "ctrl+s") // major is first
	await(t, tm, m, "Problem marked major")
	typeKeys(tm, "E")
	await(t, tm, m, "Resolve a problem", "› sct 38341003")
	typeKeys(tm, "tab")
	tm.Type("2026-11-20")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Problem resolved")
	quitFlow(t, tm)
	l, err := svc.Problems(context.Background(), pid, clinical.ProblemFilter{ListOptions: clinical.ListOptions{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 {
		t.Fatalf("problems: %+v", l.Items)
	}
	p := l.Items[0]
	if p.Code.Code != "38341003" || p.Significance != "major" || p.Status != "past" || p.ResolvedOn != "2026-11-20" || p.RecordedBy != "dr.patel" {
		t.Fatalf("the problem after the flow: %+v", p)
	}
}

// TestFlowMakeProblem: M offers the coded entry of today's consultation;
// the save key makes it a problem from that consultation's date.
func TestFlowMakeProblem(t *testing.T) {
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, noProblems(svc))
	if _, err := svc.AddConsultation(context.Background(), clinical.ConsultInput{PatientRef: pid, Type: "surgery", History: "Cough for three weeks",
		Codes: []record.CodedEntry{{Code: record.Code{System: record.SystemSNOMED, Code: "49727002"}}}}); err != nil {
		t.Fatal(err)
	}
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "M")
	await(t, tm, m, "Make a coded entry a problem", "› "+DateOf(fixedNow)+"  ")
	if f := m.LastFrame(); !strings.Contains(f, "49727002") && !strings.Contains(f, "Cough") {
		t.Fatalf("the cough entry is not offered:\n%s", f)
	}
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Problem added")
	quitFlow(t, tm)
	l, err := svc.Problems(context.Background(), pid, clinical.ProblemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Code.Code != "49727002" || l.Items[0].Onset != "2026-11-24" || l.Items[0].Significance != "minor" {
		t.Fatalf("problems after M: %+v", l.Items)
	}
}

// TestFlowTaskAndRecallCreateComplete: T adds a task, L a recall (its due
// date required), K completes each; the record holds both done.
func TestFlowTaskAndRecallCreateComplete(t *testing.T) {
	ctx := context.Background()
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, func(pid string) bool {
		ts, err1 := svc.Tasks(ctx, clinical.TaskFilter{PatientRef: pid, All: true})
		rs, err2 := svc.Recalls(ctx, clinical.RecallFilter{PatientRef: pid, All: true})
		return err1 == nil && err2 == nil && len(ts) == 0 && len(rs) == 0
	})
	tm, m := startRecord(t, dir, svc, realTerms(t, dir), pid)
	typeKeys(tm, "T")
	await(t, tm, m, "Add a task about this patient")
	tm.Type("Ring about the blood results")
	typeKeys(tm, "tab")
	tm.Type("2026-11-30")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Task added")
	typeKeys(tm, "L")
	await(t, tm, m, "Add a recall")
	tm.Type("review of medication")
	await(t, tm, m, "› 182836005  Review of medication")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Due YYYY-MM-DD: required")
	typeKeys(tm, "tab")
	tm.Type("2027-05-01")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Recall added")
	typeKeys(tm, "t") // the tasks section lists both once the record has reloaded
	await(t, tm, m, "Ring about the blood results", "01-May-2027")
	typeKeys(tm, "K")
	await(t, tm, m, "Complete a task or recall", "› task  30-Nov-2026  Ring about the blood results", "recall  01-May-2027")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Task done", "30-Nov-2026 done") // the record reloaded
	typeKeys(tm, "K")
	await(t, tm, m, "Complete a task or recall", "› recall  01-May-2027")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Recall done")
	quitFlow(t, tm)
	ts, err := svc.Tasks(ctx, clinical.TaskFilter{PatientRef: pid, All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Text != "Ring about the blood results" || ts[0].Due != "2026-11-30" || ts[0].Status != "done" {
		t.Fatalf("tasks after the flow: %+v", ts)
	}
	rs, err := svc.Recalls(ctx, clinical.RecallFilter{PatientRef: pid, All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Code.Code != "182836005" || rs[0].Due != "2027-05-01" || rs[0].Status != "done" {
		t.Fatalf("recalls after the flow: %+v", rs)
	}
}

// TestFlowRetractWithReason: D in the problems section offers its entries;
// the save key without a reason is refused; with one the entry is marked
// entered in error, the reason kept, and it leaves the active list.
func TestFlowRetractWithReason(t *testing.T) {
	ctx := context.Background()
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, noProblems(svc))
	added, err := svc.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, System: "sct", Code: "38341003", Significance: "major"})
	if err != nil {
		t.Fatal(err)
	}
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "p")
	await(t, tm, m, "Record · Problems", "sct 38341003")
	typeKeys(tm, "D")
	await(t, tm, m, "Retract an entry made in error", "› sct 38341003")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Why it was entered in error: required")
	typeKeys(tm, "tab")
	tm.Type("recorded in the wrong patient's record")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Entry retracted")
	quitFlow(t, tm)
	l, err := svc.Problems(ctx, pid, clinical.ProblemFilter{ListOptions: clinical.ListOptions{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Items {
		if x.ID == added.ID {
			if x.Status != record.StatusEnteredInError || x.Retraction == nil || x.Retraction.Reason != "recorded in the wrong patient's record" || x.Retraction.By != "dr.patel" {
				t.Fatalf("the retracted problem: %+v (retraction %+v)", x, x.Retraction)
			}
			return
		}
	}
	t.Fatal("the retracted problem is gone from the record")
}

// TestFlowConsultationTypes: ctrl+t steps the consultation type through
// surgery, telephone, video and home visit; each saved consultation has
// the type shown when it was saved.
func TestFlowConsultationTypes(t *testing.T) {
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, nil)
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	shown := []string{"surgery", "telephone", "video", "home visit"}
	for i, typ := range shown {
		typeKeys(tm, "c")
		await(t, tm, m, "History:", "Type: surgery")
		repeatKey(tm, "ctrl+t", i)
		await(t, tm, m, "Type: "+typ)
		tm.Type("Seen by " + typ)
		typeKeys(tm, "ctrl+s")
		await(t, tm, m, "Consultation saved", "Record · Journal", "Seen by "+typ)
	}
	quitFlow(t, tm)
	l, err := svc.Consultations(context.Background(), pid, clinical.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Seen by surgery": "surgery", "Seen by telephone": "telephone", "Seen by video": "video", "Seen by home visit": "home"}
	for _, c := range l.Items {
		if w, ok := want[c.History]; ok {
			if c.Type != w {
				t.Errorf("%q saved as %q, want %q", c.History, c.Type, w)
			}
			delete(want, c.History)
		}
	}
	if len(want) != 0 {
		t.Fatalf("not saved: %v", want)
	}
}

// TestFlowEditPatientAddress: U opens the details prefilled; the address
// and postcode replaced are saved as a new version, the rest kept, and the
// summary shows the new address.
func TestFlowEditPatientAddress(t *testing.T) {
	ctx := context.Background()
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, nil)
	before, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"", ""}
	town := ""
	if before.Address != nil {
		copy(lines, before.Address.Lines)
		town = before.Address.Town
	}
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "U")
	await(t, tm, m, "Change "+before.Name()+"'s details", before.Family)
	repeatKey(tm, "tab", 4) // family, given, date of birth, sex: kept
	for _, f := range []struct{ old, now string }{{lines[0], "7 Mill Lane"}, {lines[1], ""}, {town, "Otley"}, {before.Postcode, "LS21 1AA"}} {
		repeatKey(tm, "backspace", len([]rune(f.old)))
		tm.Type(f.now)
		typeKeys(tm, "tab")
	}
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Details saved", "7 Mill Lane, Otley LS21 1AA")
	quitFlow(t, tm)
	p, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Address == nil || len(p.Address.Lines) != 1 || p.Address.Lines[0] != "7 Mill Lane" || p.Address.Town != "Otley" || p.Postcode != "LS21 1AA" ||
		p.Family != before.Family || p.BirthDate != before.BirthDate || p.Sex != before.Sex || p.Version != before.Version+1 {
		t.Fatalf("after the form: %+v (address %+v), was %+v", p, p.Address, before)
	}
}

// TestFlowFlags: F adds a safeguarding flag (the banner shows it at once),
// F again removes it; the record holds neither the flag nor a lost version.
func TestFlowFlags(t *testing.T) {
	ctx := context.Background()
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, func(pid string) bool {
		p, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
		return err == nil && len(p.Flags) == 0
	})
	downs := 0
	for i, f := range record.KnownFlags {
		if f == "safeguarding" {
			downs = i
		}
	}
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "F")
	await(t, tm, m, "Warning flags", "› add: "+record.KnownFlags[0])
	repeatKey(tm, "down", downs)
	await(t, tm, m, "› add: safeguarding")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Flag added: safeguarding", "SAFEGUARDING")
	p, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasFlag("safeguarding") {
		t.Fatalf("flags after adding: %v", p.Flags)
	}
	typeKeys(tm, "F")
	await(t, tm, m, "Warning flags", "› remove: safeguarding")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Flag removed: safeguarding")
	waitGone(t, tm, m, "SAFEGUARDING")
	quitFlow(t, tm)
	after, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.HasFlag("safeguarding") || after.Version != p.Version+1 {
		t.Fatalf("after removing: flags %v, version %d (was %d)", after.Flags, after.Version, p.Version)
	}
}

// answerAlertsFlow answers, each on its own once its grace period is over,
// whatever alerts a prescribing write raises (overriding with a reason), until
// the screen says done.
func answerAlertsFlow(t *testing.T, tm *teatest.TestModel, m *Model, done string) {
	t.Helper()
	for range 10 {
		waitUntil(t, tm, m, func(s string) bool { return strings.Contains(s, done) || strings.Contains(s, "Answer with:") })
		if strings.Contains(m.LastFrame(), done) {
			return
		}
		typeKeys(tm, "ctrl+o")
		await(t, tm, m, "Reason for overriding")
		tm.Type("reviewed with the patient")
		typeKeys(tm, "enter")
		waitUntil(t, tm, m, func(s string) bool { return !strings.Contains(s, "Reason for overriding") })
	}
	await(t, tm, m, done)
}

// rxFlow runs the program on the record of the patient with this NHS
// number, in a practice with the embedded drug dictionary.
func rxFlow(t *testing.T, nhs string) (*teatest.TestModel, *Model, *clinical.Service, string) {
	t.Helper()
	dir, svc := practice(t, 50)
	terms := realTerms(t, dir)
	svc.Practice().SetDrugs(terms.tm)
	old := AlertGrace
	AlertGrace = 50 * time.Millisecond
	t.Cleanup(func() { AlertGrace = old })
	p, err := svc.Patient(context.Background(), nhs, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tm, m := startRecord(t, dir, svc, terms, p.ID)
	return tm, m, svc, p.ID
}

// TestFlowPrescribeRepeatWithReview: x, a repeat of six issues, 4 weeks
// each, its review date (offered a year on) changed before the save; the
// alerts answered; the record holds the repeat as typed.
func TestFlowPrescribeRepeatWithReview(t *testing.T) {
	tm, m, svc, _ := rxFlow(t, "9993652814")
	typeKeys(tm, "x")
	await(t, tm, m, "Drug:")
	tm.Type("atorvastatin 20mg tab")
	await(t, tm, m, "Atorvastatin 20mg tablets")
	typeKeys(tm, "enter")
	await(t, tm, m, "Dose:")
	tm.Type("1 on")
	await(t, tm, m, "reads: Take ONE tablet at night")
	typeKeys(tm, "enter")
	tm.Type("28")
	typeKeys(tm, "enter")
	tm.Type("y")
	typeKeys(tm, "enter")
	tm.Type("6")
	typeKeys(tm, "enter")
	await(t, tm, m, "Review date (repeat): 2027-11-24")
	tm.Type("4w")
	typeKeys(tm, "enter")
	repeatKey(tm, "backspace", len("2027-11-24"))
	tm.Type("2027-05-24")
	await(t, tm, m, "Review date (repeat): 2027-05-24")
	typeKeys(tm, "ctrl+s")
	answerAlertsFlow(t, tm, m, "Prescribed Atorvastatin 20mg tablets")
	await(t, tm, m, "Record · Medication", "› Atorvastatin") // reloaded before quitting
	quitFlow(t, tm)
	ms := medsNamed(t, svc, "Atorvastatin")
	if len(ms) != 1 {
		t.Fatalf("atorvastatin: %+v", ms)
	}
	if x := ms[0]; x.Type != "repeat" || x.IssuesAuthorised != 6 || x.DurationDays != 28 || x.ReviewDate != "2027-05-24" || x.Dose != "1 on" || x.Prescriber != "dr.patel" {
		t.Fatalf("the repeat as written: %+v", x)
	}
}

// TestFlowIssueReauthoriseStop: on a repeat, I issues it (early: the checks
// ask a reason first), R re-authorises it for 3 issues, S stops it, refusing
// until a reason is typed; each says so and the record holds all three.
func TestFlowIssueReauthoriseStop(t *testing.T) {
	ctx := context.Background()
	tm, m, svc, pid := rxFlow(t, "9997456920")
	typeKeys(tm, "m")
	await(t, tm, m, "Record · Medication", "› Sitagliptin 100mg tablets")
	typeKeys(tm, "I")
	await(t, tm, m, "Issue Sitagliptin 100mg tablets: Take ONE tablet")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Early issue", "Reason for going ahead:")
	tm.Type("going abroad for a month")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Issued Sitagliptin 100mg tablets: 28 tablet, issue")
	await(t, tm, m, "› Sitagliptin 100mg tablets") // reloaded
	typeKeys(tm, "R")
	await(t, tm, m, "Re-authorise Sitagliptin 100mg tablets?")
	typeKeys(tm, "backspace")
	tm.Type("3")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Re-authorised Sitagliptin 100mg tablets for 3 issues")
	typeKeys(tm, "S")
	await(t, tm, m, "Stop a medication", "› Sitagliptin 100mg tablets")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Reason: required")
	typeKeys(tm, "tab")
	tm.Type("HbA1c at target on metformin alone")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "Medication stopped")
	waitUntil(t, tm, m, func(s string) bool { return !strings.Contains(s, "› Sitagliptin") || strings.Contains(s, "stopped") })
	quitFlow(t, tm)

	rows, _, err := svc.IssueHistory(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	today := 0
	for _, r := range rows {
		if strings.HasPrefix(r.Drug, "Sitagliptin") && r.At.In(UK).Format("2006-01-02") == "2026-11-24" {
			today++
		}
	}
	if today != 1 {
		t.Fatalf("Sitagliptin issued %d times today, want 1", today)
	}
	l, err := svc.Medications(ctx, pid, clinical.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Items {
		if strings.HasPrefix(x.Code.Display, "Sitagliptin") {
			// re-authorised for 3 more issues from today, on top of those made
			if x.Status != "stopped" || x.StopReason != "HbA1c at target on metformin alone" || x.IssuesAuthorised != len(x.Issues)+3 || x.AuthorisedOn != "2026-11-24" {
				t.Fatalf("sitagliptin after the flow: %+v", x)
			}
			return
		}
	}
	t.Fatal("sitagliptin is gone from the record")
}

// TestFlowPaletteRunsARecordAction: the same action from the palette: ctrl+k,
// its name typed, enter opens its form; the save key records NKDA.
func TestFlowPaletteRunsARecordAction(t *testing.T) {
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, nil)
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "ctrl+k")
	await(t, tm, m, "Command")
	tm.Type("no known drug allergy")
	await(t, tm, m, "› record no known drug allergy")
	typeKeys(tm, "enter")
	await(t, tm, m, "Record no known drug allergy")
	typeKeys(tm, "ctrl+s")
	await(t, tm, m, "No known drug allergy recorded")
	waitGone(t, tm, m, "allergy status unknown")
	quitFlow(t, tm)
	l, err := svc.Allergies(context.Background(), pid, clinical.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || !l.Items[0].NKDA {
		t.Fatalf("allergies after the palette: %+v", l.Items)
	}
}

// TestFlowHelpListsRecordActions: ? on the record lists every record
// action beside its key (a long description is cut to its column at 120).
func TestFlowHelpListsRecordActions(t *testing.T) {
	dir, svc := practice(t, 20)
	pid := plainPatient(t, svc, nil)
	tm, m := startRecord(t, dir, svc, fakeTerms{}, pid)
	typeKeys(tm, "?")
	await(t, tm, m, "Keys: record")
	f := m.LastFrame()
	for _, b := range keymaps.Default().Bindings("record") {
		if len(b.Keys) == 0 || !strings.Contains(f, fmt.Sprintf("%-19s%s", b.Keys[0], string([]rune(b.Help)[:min(16, len([]rune(b.Help)))]))) {
			t.Errorf("help lacks %s (%q, keys %v)", b.Name, b.Help, b.Keys)
		}
	}
	if t.Failed() {
		t.Logf("help:\n%s", f)
	}
	typeKeys(tm, "esc")
	quitFlow(t, tm)
}
