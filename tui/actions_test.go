package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
)

// openPlain opens a record of an active patient with no allergies recorded.
func openPlain(t *testing.T) (*driver, *clinical.Service, string) {
	t.Helper()
	dir, svc := practice(t, 50)
	pid := plainPatient(t, svc, nil)
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40, OpenID: pid})
	d := &driver{t: t, m: m}
	d.init()
	d.contains("Record · Summary")
	return d, svc, pid
}

// plainPatient is the first active, not sensitive patient of the fixture
// with no allergies recorded for which also, when given, holds.
func plainPatient(t *testing.T, svc *clinical.Service, also func(pid string) bool) string {
	t.Helper()
	ctx := context.Background()
	found, err := svc.FindPatients(ctx, "a", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if f.Patient.Status != record.PatientActive || f.Patient.Sensitive {
			continue
		}
		if l, err := svc.Allergies(ctx, f.Patient.ID, clinical.ListOptions{All: true}); err == nil && len(l.Items) == 0 && (also == nil || also(f.Patient.ID)) {
			return f.Patient.ID
		}
	}
	t.Fatal("no active patient without allergies (and as asked) in the fixture")
	return ""
}

// Record actions from the keyboard: each form makes the same service call
// as its subcommand, only on the save key; esc writes nothing.
func TestRecordActionsFromTheKeyboard(t *testing.T) {
	ctx := context.Background()
	d, svc, pid := openPlain(t)

	// NKDA: N, then the save key.
	d.keys("N")
	d.contains("Record no known drug allergy")
	d.keys("ctrl+s")
	d.contains("No known drug allergy recorded")
	if l, _ := svc.Allergies(ctx, pid, clinical.ListOptions{}); len(l.Items) != 1 || !l.Items[0].NKDA {
		t.Fatalf("allergies after N: %+v", l.Items)
	}

	// A problem: P, search, pick, save.
	d.keys("P")
	d.typeText("hyper")
	d.contains("Hypertensive disorder")
	d.keys("ctrl+s")
	d.contains("Problem added")
	probs, _ := svc.Problems(ctx, pid, clinical.ProblemFilter{})
	var added *record.Problem
	for _, x := range probs.Items {
		if x.Code.Code == "38341003" && x.Status == "active" {
			added = x
		}
	}
	if added == nil || added.RecordedBy != "dr.patel" {
		t.Fatalf("problem not added by the user at the keyboard: %+v", probs.Items)
	}

	// A task: a required field left empty is refused, nothing written.
	tasks := func() int {
		ts, _ := svc.Tasks(ctx, clinical.TaskFilter{PatientRef: pid})
		return len(ts)
	}
	before := tasks()
	d.keys("T", "ctrl+s")
	d.contains("Task: required")
	d.keys("esc")
	if tasks() != before {
		t.Fatal("an empty task form wrote a task")
	}
	d.keys("T")
	d.typeText("Call about results")
	d.keys("ctrl+s")
	d.contains("Task added")
	if tasks() != before+1 {
		t.Fatal("the task was not added")
	}

	// Retract the problem from the problems section, with a reason.
	d.keys("p", "D")
	d.contains("Retract an entry made in error")
	for !strings.Contains(d.screen(), "› sct 38341003") && !strings.Contains(d.screen(), "› Hypertensive") {
		before := d.screen()
		d.keys("down")
		if d.screen() == before {
			t.Fatalf("the problem is not offered for retraction:\n%s", d.screen())
		}
	}
	d.keys("tab")
	d.typeText("wrong patient")
	d.keys("ctrl+s")
	d.contains("Entry retracted")
	probs, _ = svc.Problems(ctx, pid, clinical.ProblemFilter{ListOptions: clinical.ListOptions{All: true}})
	for _, x := range probs.Items {
		if x.ID == added.ID && (x.Status != record.StatusEnteredInError || x.Retraction == nil || x.Retraction.Reason != "wrong patient") {
			t.Errorf("retracted problem: %+v", x)
		}
	}
}

// The consultation type is chosen in the workstation (ctrl+t), and saved.
func TestConsultationType(t *testing.T) {
	ctx := context.Background()
	d, svc, pid := openPlain(t)
	d.keys("c")
	d.contains("Type: surgery")
	d.keys("ctrl+t")
	d.contains("Type: telephone")
	d.keys("ctrl+t", "ctrl+t")
	d.contains("Type: home visit")
	d.typeText("Housebound: reviewed at home")
	d.keys("ctrl+s")
	d.contains("Consultation saved")
	l, err := svc.Consultations(ctx, pid, clinical.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range l.Items {
		if strings.Contains(c.History, "Housebound") {
			if c.Type != "home" {
				t.Fatalf("saved as %q, want home", c.Type)
			}
			return
		}
	}
	t.Fatal("the consultation was not saved")
}

// Details, flags and completions from the record.
func TestRecordDetailsFlagsAndCompletion(t *testing.T) {
	ctx := context.Background()
	d, svc, pid := openPlain(t)
	before, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	line1, town := "", ""
	if before.Address != nil && len(before.Address.Lines) > 0 {
		line1, town = before.Address.Lines[0], before.Address.Town
	}
	d.keys("U")
	d.contains("Change ")
	for i := 0; i < 4; i++ { // family, given, dob, sex: prefilled, kept
		d.keys("tab")
	}
	d.typeText(" (rear)") // the fields hold the current values: typing appends
	d.keys("tab", "tab")
	d.typeText(" North")
	d.keys("ctrl+s")
	d.contains("Details saved")
	p, err := svc.Patient(ctx, pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Address == nil || len(p.Address.Lines) == 0 || p.Address.Lines[0] != strings.TrimSpace(line1+" (rear)") || p.Address.Town != strings.TrimSpace(town+" North") ||
		p.Family != before.Family || p.BirthDate != before.BirthDate || p.Version != before.Version+1 {
		t.Fatalf("after the form: %+v (address %+v), was %+v", p, p.Address, before.Address)
	}
	d.keys("F")
	for !strings.Contains(d.screen(), "› add: safeguarding") {
		before := d.screen()
		d.keys("down")
		if d.screen() == before {
			t.Fatalf("safeguarding not offered:\n%s", d.screen())
		}
	}
	d.keys("ctrl+s")
	d.contains("Flag added: safeguarding")
	d.contains("SAFEGUARDING") // in the banner at once
	d.keys("T")
	d.typeText("Ring back")
	d.keys("ctrl+s")
	d.keys("K", "ctrl+s")
	d.contains("Task done")
	ts, _ := svc.Tasks(ctx, clinical.TaskFilter{PatientRef: pid})
	for _, x := range ts {
		if x.Text == "Ring back" && x.Status == "open" {
			t.Error("the task is still open")
		}
	}
}

// A coded entry of a consultation becomes a problem (from that
// consultation's date), and a problem's significance changes, from the keys.
func TestMakeProblemAndSignificance(t *testing.T) {
	ctx := context.Background()
	d, svc, pid := openPlain(t)
	if _, err := svc.AddConsultation(ctx, clinical.ConsultInput{PatientRef: pid, Type: "surgery", History: "Cough for three weeks",
		Codes: []record.CodedEntry{{Code: record.Code{System: record.SystemSNOMED, Code: "49727002"}}}}); err != nil {
		t.Fatal(err)
	}
	d.send(watchTickMsg{}) // the open record takes the new consultation
	d.keys("M")
	d.contains("Make a coded entry a problem")
	for !strings.Contains(d.screen(), "› ") || !strings.Contains(d.screen(), "49727002") && !strings.Contains(d.screen(), "Cough") {
		t.Fatalf("the cough entry is not offered:\n%s", d.screen())
	}
	d.keys("ctrl+s")
	d.contains("Problem added")
	probs, _ := svc.Problems(ctx, pid, clinical.ProblemFilter{})
	var cough *record.Problem
	for _, x := range probs.Items {
		if x.Code.Code == "49727002" {
			cough = x
		}
	}
	if cough == nil || cough.Onset == "" {
		t.Fatalf("no problem with its onset from the consultation: %+v", probs.Items)
	}
	d.keys("G")
	for !strings.Contains(d.screen(), "› minor  ") {
		before := d.screen()
		d.keys("down")
		if d.screen() == before {
			t.Fatalf("the minor problem is not offered:\n%s", d.screen())
		}
	}
	d.keys("tab", "ctrl+s") // significance: major is first
	d.contains("Problem marked major")
	probs, _ = svc.Problems(ctx, pid, clinical.ProblemFilter{})
	for _, x := range probs.Items {
		if x.ID == cough.ID && x.Significance != "major" {
			t.Errorf("significance %q, want major", x.Significance)
		}
	}
}

// Registering from the workstation: f2 on find, the fields, the save key;
// the same checks as patient add (a number already registered is refused),
// then the new record opens.
func TestRegisterPatientFromFind(t *testing.T) {
	ctx := context.Background()
	dir, svc := practice(t, 20)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.keys("f2")
	d.contains("Register a patient")
	d.typeText("401 023 2137")
	d.keys("tab", "tab") // no-NHS reason stays "(an NHS number is given)"
	d.typeText("Okonkwo")
	d.keys("tab")
	d.typeText("Chiamaka Ada")
	d.keys("tab")
	d.typeText("1987-04-09")
	d.keys("tab") // sex: female is first
	d.keys("tab")
	d.typeText("12 Cardigan Road")
	d.keys("tab")
	d.typeText("Leeds")
	d.keys("tab")
	d.typeText("LS6 3AB")
	d.keys("ctrl+s")
	d.contains("Record · Summary")
	d.contains("OKONKWO, Chiamaka Ada")
	p, err := svc.Patient(ctx, "4010232137", clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Sex != "female" || p.BirthDate != "1987-04-09" || p.Address == nil || p.Address.Town != "Leeds" || p.Postcode != "LS6 3AB" || p.RecordedBy != "dr.patel" {
		t.Fatalf("registered %+v (address %+v)", p, p.Address)
	}
	// The same number again: refused, nothing written, the form stays.
	d.keys("/", "f2")
	d.typeText("4010232137")
	d.keys("tab", "tab")
	d.typeText("Other")
	d.keys("tab")
	d.typeText("Person")
	d.keys("tab")
	d.typeText("1990-01-01")
	d.keys("ctrl+s")
	d.contains("already registered")
	d.contains("Register a patient")
}
