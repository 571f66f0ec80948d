package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/internal/pathmatrix"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// tuiOutcome reads the workstation's answer off its screen, in the path
// matrix's vocabulary ("" when the screen says none of them).
func tuiOutcome(screen string) pathmatrix.Outcome {
	switch {
	case strings.Contains(screen, "SAFETY ALERT"):
		return pathmatrix.Alert
	case strings.Contains(screen, "not permitted"), strings.Contains(screen, "need a clinician's role"),
		strings.Contains(screen, "This record is marked sensitive."):
		return pathmatrix.Forbidden
	case strings.Contains(screen, "is impossible"), strings.Contains(screen, "must be"):
		return pathmatrix.Invalid
	case strings.Contains(screen, "Consultation saved"), strings.Contains(screen, "Prescribed"),
		strings.Contains(screen, "Record · Summary"):
		return pathmatrix.OK
	}
	return ""
}

// The TUI's column of the path matrix (commands.TestPathMatrix holds the
// others to the same rows): the same inputs, typed at the workstation
// through its own actions, get the outcome every other path gets, write
// nothing when refused, and leave the refusal in the audit trail. The
// TUI records results in a consultation, dated now: the row "a result dated
// 2099" has no keyboard form, so its column is the impossible weight.
func TestPathMatrixTUI(t *testing.T) {
	ctx := context.Background()
	dir, gp := practice(t, 50)
	p := gp.Practice()
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmn.Close()
	p.SetDrugs(tmn)
	saved := AlertGrace
	AlertGrace = 0
	defer func() { AlertGrace = saved }()
	as := func(user string) *clinical.Service {
		s, err := p.As(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if user != "dr.patel" {
			if err := s.SetPassphrase(ctx, testPassphrase); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	open := func(s *clinical.Service, id string) *driver {
		m := New(Options{Svc: s, Terms: termsOf{tmn}, Keys: keymaps.Default(), Now: clock, DataDir: t.TempDir(), Plain: true,
			Width: 120, Height: 40, OpenID: id})
		d := &driver{t: t, m: m}
		d.init()
		return d
	}
	const smith = "9993652814" // allergic to penicillin
	expect := func(c pathmatrix.Control, d *driver) {
		t.Helper()
		if got := tuiOutcome(d.screen()); got != c.Want {
			t.Errorf("%s via the TUI: %q, want %s (as every other path):\n%s", c.Name, got, c.Want, d.screen())
		}
	}
	obsOf := func() []*record.Observation {
		l, err := gp.Observations(ctx, smith, clinical.ObsFilter{ListOptions: clinical.ListOptions{All: true}})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	before := len(obsOf())

	// Role: a receptionist records a result (a consultation's weight).
	d := open(as("reception.smith"), smith)
	d.keys("c")
	expect(pathmatrix.Role, d)

	// Validation: a weight of -5 kg.
	d = open(as("nurse.jones"), smith)
	d.keys("c", "tab", "tab", "tab", "tab")
	d.typeText("-5")
	d.keys("ctrl+s")
	expect(pathmatrix.ImpossibleWeight, d)
	if n := len(obsOf()); n != before {
		t.Fatalf("refused inputs wrote %d results", n-before)
	}

	// Prescriber: a nurse without the right prescribes.
	prescribe := func(s *clinical.Service, drug string) *driver {
		d := open(s, smith)
		d.keys("x")
		d.typeText(drug)
		d.keys("enter")
		d.typeText("1 od")
		d.keys("enter")
		d.typeText("21")
		d.keys("ctrl+s")
		return d
	}
	meds := func() int {
		l, _ := gp.Medications(ctx, smith, clinical.ListOptions{All: true})
		return len(l.Items)
	}
	medsBefore := meds()
	expect(pathmatrix.Prescriber, prescribe(as("nurse.begum"), "ramipril 5mg caps"))

	// Safety alert: amoxicillin for a patient allergic to penicillin.
	expect(pathmatrix.SafetyAlert, prescribe(gp, "amoxicillin 500mg caps"))
	if n := meds(); n != medsBefore {
		t.Fatalf("refused prescriptions wrote %d medications", n-medsBefore)
	}

	// Authorship: the nurse's weight is hers.
	d = open(as("nurse.jones"), smith)
	d.keys("c", "tab", "tab", "tab", "tab")
	d.typeText("80")
	d.keys("ctrl+s")
	d.contains("Consultation saved")
	for _, o := range obsOf() {
		if o.Code.Code == "27113001" && o.RecordedBy != "nurse.jones" {
			t.Errorf("the nurse's weight is recorded by %q", o.RecordedBy)
		}
	}

	// Sensitive-record reason: opened without one, then with one.
	if _, err := gp.UpdatePatient(ctx, smith, clinical.PatientUpdate{Mutate: func(pt *record.Patient) error {
		pt.Sensitive = true
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	d = open(gp, smith)
	expect(pathmatrix.SensitiveNoReason, d)
	d.typeText("safeguarding review")
	d.keys("enter")
	expect(pathmatrix.SensitiveReason, d)

	// Audit: each refusal the services made is in the trail, and the
	// opening carries its reason.
	admin := as("admin")
	evs, err := admin.AuditEvents(ctx, clinical.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	denied, reasoned, consultRefused := map[string]bool{}, false, false
	for _, ev := range evs {
		if ev.Outcome == "denied" || ev.Outcome == "blocked" {
			denied[ev.User] = true
		}
		// the consult key's refusal, made by the workstation before any
		// action, is audited as the action's own would be
		consultRefused = consultRefused || (ev.User == "reception.smith" && ev.Outcome == "denied" && ev.Reason == string(clinical.ActWriteClinical))
		reasoned = reasoned || (ev.User == "dr.patel" && ev.Reason == "safeguarding review")
	}
	if !denied["nurse.begum"] || !denied["dr.patel"] || !reasoned || !consultRefused {
		t.Errorf("trail: refusals audited for %v (want nurse.begum's prescription, dr.patel's blocked one, reception.smith's consult key: %v), a read with its reason %v", denied, consultRefused, reasoned)
	}
}
