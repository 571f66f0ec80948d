package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The main workstation flows run as the real program (teatest: its own
// goroutines, the terminal output, the keys as a user types them), each
// ending with what the store holds. Where a flow must move to a row of the
// day, the synchronous driver first finds how many keys that takes on the
// same deterministic practice (the real program's model is not read across
// goroutines).

// bookPlan finds, in the book opened from find (as the flow will), the
// clinician tabs and the downs to a row that want accepts.
func bookPlan(t *testing.T, dir string, svc *clinical.Service, open string, want func(bookRow) bool) (tabs, downs int, who string, row bookRow) {
	t.Helper()
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	if open != "" {
		d.typeText(open)
		d.keys("enter")
	}
	d.send(key("f5"))
	b := d.m.top().(*bookPage)
	for b.who < len(b.clinicians) {
		for i, r := range b.rows {
			if want(r) {
				return b.who, i, b.clinicians[b.who], r
			}
		}
		d.keys("tab")
		if b.who == 0 {
			break // wrapped round
		}
	}
	t.Fatal("no such row in the fixture's book today")
	return
}

func repeatKey(tm *teatest.TestModel, k string, n int) {
	for range n {
		typeKeys(tm, k)
	}
}

// TestFlowBookSlot: a free slot later today booked for the open patient,
// the mode and reason asked first.
func TestFlowBookSlot(t *testing.T) {
	dir, svc := practice(t, 50)
	tabs, downs, who, row := bookPlan(t, dir, svc, "kingsland", func(r bookRow) bool { return r.free && r.start.After(fixedNow) })
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "Find")
	tm.Type("kingsland")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "KINGSLAND, Kathleen")
	typeKeys(tm, "f5")
	waitFor(t, tm, m, "Booking for Kingsland, Kathleen", "08:30")
	for range tabs { // each clinician's day loads before the next key
		typeKeys(tm, "tab")
	}
	waitFor(t, tm, m, "2026  "+who, "› 08:30")
	repeatKey(tm, "down", downs)
	at := row.start.In(UK).Format("15:04")
	waitFor(t, tm, m, "› "+at)
	typeKeys(tm, "b")
	waitFor(t, tm, m, "Mode:")
	typeKeys(tm, "tab") // telephone
	tm.Type("Diabetes review")
	typeKeys(tm, "ctrl+s")
	waitFor(t, tm, m, "booked "+DateTime(row.start)+" (telephone)") // the notice of this booking, not a row already there
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	ix, _ := svc.Practice().Index(t.Context())
	pid := ix.Search(t.Context(), "kingsland", 1)[0].ID
	as, err := svc.Appointments(context.Background(), clinical.ApptFilter{PatientRef: pid})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Start.Equal(row.start) && a.Mode == "telephone" && a.Reason == "Diabetes review" && a.Status == "booked" {
			return
		}
	}
	t.Fatalf("no telephone booking at %s: %+v", at, as)
}

// TestFlowDNAConfirm: d on an appointment that has started asks first; only
// the save key marks it did-not-attend.
func TestFlowDNAConfirm(t *testing.T) {
	dir, svc := practice(t, 50)
	tabs, downs, who, row := bookPlan(t, dir, svc, "", func(r bookRow) bool {
		return r.appt != nil && r.appt.Status == "booked" && !r.start.After(fixedNow)
	})
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "No recent patients yet")
	typeKeys(tm, "f5")
	waitFor(t, tm, m, "Appointments", "› 08:30")
	repeatKey(tm, "tab", tabs)
	waitFor(t, tm, m, "2026  "+who, "› 08:30")
	repeatKey(tm, "down", downs)
	waitFor(t, tm, m, "› "+row.start.In(UK).Format("15:04"))
	typeKeys(tm, "d")
	waitFor(t, tm, m, "did not attend?")
	typeKeys(tm, "y", "enter") // type-ahead: neither confirms
	typeKeys(tm, "ctrl+s")
	waitFor(t, tm, m, row.name+": did-not-attend")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	as, err := svc.Appointments(context.Background(), clinical.ApptFilter{Date: row.start.In(UK).Format("2006-01-02"), All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.ID == row.appt.ID {
			if a.Status != "did-not-attend" || a.Version != row.appt.Version+1 {
				t.Fatalf("after the flow: %+v", a)
			}
			return
		}
	}
	t.Fatal("the appointment is gone")
}

// TestFlowRegisterPatient: f2 on find, the fields as a receptionist types
// them, the save key; the new record opens.
func TestFlowRegisterPatient(t *testing.T) {
	dir, svc := practice(t, 20)
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "No recent patients yet")
	typeKeys(tm, "f2")
	waitFor(t, tm, m, "Register a patient")
	tm.Type("401 023 2137")
	typeKeys(tm, "tab", "tab")
	tm.Type("Okonkwo")
	typeKeys(tm, "tab")
	tm.Type("Chiamaka Ada")
	typeKeys(tm, "tab")
	tm.Type("1987-04-09")
	typeKeys(tm, "tab", "tab")
	tm.Type("12 Cardigan Road")
	typeKeys(tm, "tab")
	tm.Type("Leeds")
	typeKeys(tm, "tab")
	tm.Type("LS6 3AB")
	typeKeys(tm, "ctrl+s")
	waitFor(t, tm, m, "Record · Summary", "OKONKWO, Chiamaka Ada")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	p, err := svc.Patient(context.Background(), "4010232137", clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Postcode != "LS6 3AB" || p.Address == nil || p.Address.Town != "Leeds" || p.BirthDate != "1987-04-09" {
		t.Fatalf("registered %+v", p)
	}
}

// TestFlowChangeDose: a prescribing step as the real program: the repeat's
// dose changed from the medication section, the new dose read back before
// the save key, and the old authorisation stopped.
func TestFlowChangeDose(t *testing.T) {
	dir, svc := practice(t, 50)
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmn.Close()
	svc.Practice().SetDrugs(tmn)
	old := AlertGrace
	AlertGrace = 50 * time.Millisecond
	t.Cleanup(func() { AlertGrace = old })
	ctx := context.Background()
	res, err := svc.Prescribe(ctx, clinical.PrescribeInput{PatientRef: "9993652814", Code: "320030001", Dose: "1 on", Quantity: 28,
		Repeat: true, Issues: 6, Review: "2027-05-24", Answers: clinical.Answers{}})
	var ae *clinical.AlertsError
	if errors.As(err, &ae) { // answer whatever the fixture's record raises, as a prescriber would
		ans := clinical.Answers{Override: map[string]string{}}
		for _, a := range ae.Alerts {
			ans.Override[a.ID] = "reviewed"
		}
		res, err = svc.Prescribe(ctx, clinical.PrescribeInput{PatientRef: "9993652814", Code: "320030001", Dose: "1 on", Quantity: 28,
			Repeat: true, Issues: 6, Review: "2027-05-24", Answers: ans})
	}
	if err != nil {
		t.Fatal(err)
	}
	pid := res.Medication.PatientID
	opts := Options{Svc: svc, Terms: termsOf{tmn}, Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40, OpenID: pid}
	// How many downs to atorvastatin in the medication section.
	d := &driver{t: t, m: New(opts)}
	d.init()
	d.keys("m")
	downs := 0
	for ; downs < 30 && !strings.Contains(d.screen(), "› Atorvastatin"); downs++ {
		d.keys("down")
	}
	m := New(opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	waitFor(t, tm, m, "O'CONNOR, Siobhan Mary")
	typeKeys(tm, "m")
	waitFor(t, tm, m, "Record · Medication")
	repeatKey(tm, "down", downs)
	waitFor(t, tm, m, "› Atorvastatin")
	typeKeys(tm, "C")
	waitFor(t, tm, m, "Change dose", "Now: 1 on")
	tm.Type("2 on")
	waitFor(t, tm, m, "reads: Take TWO tablets at night")
	typeKeys(tm, "ctrl+s")
	answerAlertsFlow(t, tm, m, "Dose changed") // each alert of the new authorisation on its own, after its grace period
	waitFor(t, tm, m, "Dose changed: Atorvastatin 20mg tablets", "Record · Medication")
	waitFor(t, tm, m, "2 on")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	l, err := svc.Medications(ctx, "9993652814", clinical.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Items {
		if x.Replaces == res.Medication.ID && x.Dose == "2 on" && x.Status == "active" {
			return
		}
	}
	t.Fatal("no new authorisation at 2 on replacing the old one")
}
