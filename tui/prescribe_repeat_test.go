package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// rxDriver opens O'Connor's record (penicillin allergy) in a practice with
// the embedded drug dictionary, alerts answerable at once.
func rxDriver(t *testing.T) (*driver, *clinical.Service) {
	t.Helper()
	dir, svc := practice(t, 50)
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmn.Close() })
	svc.Practice().SetDrugs(tmn)
	old := AlertGrace
	AlertGrace = time.Millisecond
	t.Cleanup(func() { AlertGrace = old })
	d := &driver{t: t, m: New(Options{Svc: svc, Terms: termsOf{tmn}, Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40})}
	d.init()
	d.typeText("9993652814")
	d.keys("enter")
	d.contains("O'CONNOR, Siobhan Mary")
	return d, svc
}

// answerAlerts acknowledges or overrides (with a reason) whatever alerts the
// write raised, until it goes through.
func answerAlerts(d *driver, done string) {
	d.t.Helper()
	for range 10 {
		s := d.screen()
		switch {
		case strings.Contains(s, done):
			return
		case strings.Contains(s, "HIGH SAFETY ALERT"):
			d.keys("ctrl+o")
			d.typeText("discussed with the patient")
			d.keys("enter")
		case strings.Contains(s, "SAFETY ALERT"):
			d.keys("ctrl+a")
		default:
			d.t.Fatalf("neither %q nor an alert:\n%s", done, s)
		}
	}
	d.contains(done)
}

func medsNamed(t *testing.T, svc *clinical.Service, name string) []*record.Medication {
	t.Helper()
	l, err := svc.Medications(context.Background(), "9993652814", clinical.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []*record.Medication
	for _, m := range l.Items {
		if strings.Contains(m.Code.Display, name) {
			out = append(out, m)
		}
	}
	return out
}

// A repeat from the workstation has its issues, how long each lasts and a
// review date (prefilled a year on, changed here), so med reviews lists it
// when it falls due; then its dose is changed through the same checks, the
// new dose read back before it is saved.
func TestPrescribeRepeatWithReviewThenChangeDose(t *testing.T) {
	d, svc := rxDriver(t)
	d.keys("x")
	d.typeText("atorvastatin 20mg tab")
	d.contains("Atorvastatin 20mg tablets")
	d.keys("enter")
	d.typeText("1 on")
	d.contains("reads: ")
	d.keys("enter")
	d.typeText("28")
	d.keys("enter")
	d.typeText("y")
	d.keys("enter")
	d.typeText("6")
	d.keys("enter")
	d.contains("Review date (repeat): 2027-11-24") // a year on, shown before it is saved
	d.typeText("forever")
	d.keys("ctrl+s")
	d.contains(`duration "forever"`)
	if len(medsNamed(t, svc, "Atorvastatin")) != 0 {
		t.Fatal("a refused duration wrote a medication")
	}
	for range len("forever") {
		d.keys("backspace")
	}
	d.typeText("4w")
	d.keys("enter")
	for range len("2027-11-24") {
		d.keys("backspace")
	}
	d.typeText("2027-05-24")
	d.keys("ctrl+s")
	answerAlerts(d, "Prescribed Atorvastatin 20mg tablets")
	ms := medsNamed(t, svc, "Atorvastatin")
	if len(ms) != 1 {
		t.Fatalf("atorvastatin: %+v", ms)
	}
	m := ms[0]
	if m.Type != "repeat" || m.IssuesAuthorised != 6 || m.DurationDays != 28 || m.ReviewDate != "2027-05-24" || m.Dose != "1 on" {
		t.Fatalf("the repeat as written: %+v", m)
	}

	// Change the dose: the medication section's selection, C.
	d.contains("Record · Medication")
	for range 20 {
		if strings.Contains(d.screen(), "› Atorvastatin") {
			break
		}
		d.keys("down")
	}
	d.keys("C")
	d.contains("Change dose")
	d.contains("Now: 1 on")
	d.typeText("2 on")
	d.contains("reads: ") // read back before anything is saved
	golden(t, "change-dose-120x40", d.screen())
	if got := medsNamed(t, svc, "Atorvastatin"); len(got) != 1 {
		t.Fatal("typing the new dose wrote something")
	}
	d.keys("ctrl+s")
	answerAlerts(d, "Dose changed: Atorvastatin 20mg tablets")
	var old, cur *record.Medication
	for _, x := range medsNamed(t, svc, "Atorvastatin") {
		if x.ID == m.ID {
			old = x
		} else {
			cur = x
		}
	}
	if old == nil || old.Status != "stopped" || !strings.Contains(old.StopReason, "dose changed") {
		t.Fatalf("the old authorisation: %+v", old)
	}
	if cur == nil || cur.Dose != "2 on" || cur.Replaces != m.ID || cur.ReviewDate != "2027-05-24" || cur.Prescriber != "dr.patel" {
		t.Fatalf("the new authorisation: %+v", cur)
	}
}

// prescribeAll prescribes through the service, answering whatever alerts
// the fixture's record raises (as a prescriber at the CLI would).
func prescribeAll(t *testing.T, svc *clinical.Service, in clinical.PrescribeInput) *record.Medication {
	t.Helper()
	res, err := svc.Prescribe(context.Background(), in)
	var ae *clinical.AlertsError
	if errors.As(err, &ae) {
		in.Answers = clinical.Answers{Override: map[string]string{}}
		for _, a := range ae.Alerts {
			in.Answers.Override[a.ID] = "reviewed"
		}
		res, err = svc.Prescribe(context.Background(), in)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res.Medication
}

// A record reloaded by a change made elsewhere keeps the medication
// selection on the same drug, so I (issue) cannot land on another one.
func TestMedSelectionSurvivesLiveReload(t *testing.T) {
	d, svc := rxDriver(t)
	d.keys("m")
	for range 20 {
		if strings.Contains(d.screen(), "› Omeprazole") {
			break
		}
		d.keys("down")
	}
	d.contains("› Omeprazole") // the last of the acutes
	codes, err := d.m.c.Terms.Search(context.Background(), "ramipril 2.5mg caps", "drug", "dmd", "", 1)
	if err != nil || len(codes) == 0 {
		t.Fatalf("ramipril: %v %v", codes, err)
	}
	// A repeat prescribed elsewhere: repeats are listed before acutes.
	prescribeAll(t, svc, clinical.PrescribeInput{PatientRef: "9993652814", Code: codes[0].Code, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 6})
	d.send(watchTickMsg{})
	d.contains("Ramipril")
	d.contains("› Omeprazole")
}
