package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/internal/medplumtest"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/remote"
	"github.com/opengpsoc/gpsoc/terminology"
)

// testDefs are small definitions over codes the generator writes (not QOF:
// the shipped QOF files have their own tests).
var testDefs = []string{`register HT "Hypertension (test)"
reference 2026-11-24
select has code in ecl "<< 38341003"`, `register DMT "Diabetes (test)"
reference 2026-11-24
population registered and age >= 17
select has code in ecl "<< 73211009"`, `indicator HT9 "Hypertension: latest BP 140/90 or less in 12 months (test)"
reference 2026-11-24
denominator in register HT
numerator latest bp within 12 months <= 140/90`}

func registersModel(t *testing.T, w, h int) (*driver, *cohort.Engine, []*cohort.Def) {
	dir, svc := practice(t, 120)
	tm, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	var defs []*cohort.Def
	for i, src := range testDefs {
		d, err := cohort.Parse(fmt.Sprintf("t%d.search", i), src)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	res := cohort.NewTermResolver(tm)
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true,
		Width: w, Height: h, Cohort: &Cohort{Resolver: res, Defs: defs}})
	d := &driver{t: t, m: m}
	d.init()
	ix, err := cohort.Build(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	return d, cohort.NewEngine(ix, res, defs), defs
}

// f6 opens the registers; the counts are the engine's; enter drills into a
// register, e explains the selected patient rule by rule, o opens the record.
func TestRegistersScreen(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	run := eng.NewRun(cohort.Day(fixedNow))
	var counts []int
	for _, def := range defs {
		r, err := run.Evaluate(def)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, r.Count())
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Fatalf("the fixture practice has no hypertension or diabetes: %v", counts)
	}
	d.keys("f6")
	d.contains("Registers and indicators")
	for i, def := range defs {
		d.contains(fmt.Sprintf("%-9s%-8d", def.ID, counts[i]))
	}
	golden(t, "registers-120x40", d.screen())
	d.keys("enter")
	d.contains(fmt.Sprintf("HT  Hypertension (test)  (%d)", counts[0]))
	d.contains("Essential hypertension")
	d.keys("e")
	d.contains(": IN")
	d.contains("yes select: has code in ecl")
	golden(t, "registers-explain-120x40", d.screen())
	d.keys("o")
	if s := d.screen(); !strings.Contains(s, "Record") {
		t.Fatalf("o did not open the record:\n%s", s)
	}
}

func TestRegistersScreenSmall(t *testing.T) {
	d, _, _ := registersModel(t, 80, 24)
	d.keys("f6")
	golden(t, "registers-80x24", d.screen())
	d.keys("down", "down", "enter")
	d.contains("HT9")
	d.contains("denominator")
}

// The banner's slot names the indicators whose target the open patient has
// not met; a patient who met them all has none.
func TestBannerIndicatorsDue(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	res, err := eng.NewRun(cohort.Day(fixedNow)).Evaluate(defs[2])
	if err != nil {
		t.Fatal(err)
	}
	due, met := "", ""
	res.Members.Each(func(p int) {
		id := eng.Index().Patients[p].ID
		switch res.Status(p) {
		case "denominator":
			due = id
		case "numerator":
			met = id
		}
	})
	if due == "" || met == "" {
		t.Fatalf("the fixture lacks a patient due (%q) or one who met the target (%q)", due, met)
	}
	d.send(openPatientMsg{ID: due})
	d.contains("QOF due: HT9")
	d.send(openPatientMsg{ID: met})
	if strings.Contains(d.screen(), "QOF due") {
		t.Fatalf("a patient who met the target is shown as due:\n%s", d.screen())
	}
}

// In remote mode against gpsoc serve the registers run on the server, where
// the data is, and the screen says so; the counts are the same as here.
func TestRegistersScreenRemote(t *testing.T) {
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
	local, _, _ := registersModel(t, 120, 40)
	local.keys("f6")
	want := strings.Split(local.screen(), "\n")[2]

	serveCohort.Store(t, &server.Cohort{Resolver: res, Defs: defs})
	remoteTests.Store(t, true)
	dir, svc := practice(t, 120)
	remoteTests.Delete(t)
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true,
		Width: 120, Height: 40, Cohort: &Cohort{Resolver: res, Defs: defs}})
	d := &driver{t: t, m: m}
	d.init()
	d.keys("f6")
	d.contains("run on the server")
	if got := strings.Split(d.screen(), "\n")[2]; strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Fatalf("on the server %q, here %q", got, want)
	}
	d.keys("enter")
	d.contains("Essential hypertension")
}

// Q on a record lists that patient's registers and indicators, each in or
// out (or the indicator's status); enter explains one rule by rule.
func TestPatientRegisters(t *testing.T) {
	d, eng, defs := registersModel(t, 120, 40)
	res, err := eng.NewRun(cohort.Day(fixedNow)).Evaluate(defs[0])
	if err != nil {
		t.Fatal(err)
	}
	var id string
	res.Members.Each(func(p int) {
		if id == "" {
			id = eng.Index().Patients[p].ID
		}
	})
	d.send(openPatientMsg{ID: id})
	d.keys("Q")
	d.contains("This patient's registers and indicators")
	d.contains("HT       IN")
	d.contains("DMT      ")
	d.keys("enter")
	d.contains("HT  ")
	d.contains(": IN")
	d.contains("yes select: has code in ecl")
	d.keys("esc")
	d.contains("This patient")
}

// Against another vendor's FHIR server (Medplum's FHIR router, which runs no
// gpsoc searches) the registers screen runs every definition in the
// workstation over records fetched by standard FHIR search, says so and how
// much it fetched, and shows the counts the same practice gives locally.
func TestRegistersScreenOtherVendor(t *testing.T) {
	local, _, defs := registersModel(t, 120, 40)
	local.keys("f6")
	want := strings.Split(local.screen(), "\n")[2]

	// The same records on Medplum, patient by patient (a test fixture,
	// written below the services).
	dir, svc := practice(t, 120)
	byPatient := map[string][]record.Entity{}
	var order []string
	if err := svc.ScanForSearch(t.Context(), func(e record.Entity) {
		pid := e.Head().PatientID
		if e.Kind() == record.KindPatient {
			pid = e.Head().ID
			order = append(order, pid)
		}
		e.Head().Version = 0
		byPatient[pid] = append(byPatient[pid], e)
	}); err != nil {
		t.Fatal(err)
	}
	rs, err := remote.Open(t.Context(), remote.Options{URL: medplumtest.Start(t), Token: medplumtest.Token, User: "dr.who",
		Role: record.RoleGP, Practice: record.Practice{Name: fixtures.PracticeName, ODS: fixtures.PracticeODS}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range order {
		recs := byPatient[pid] // the patient first: the scan reads patients first
		if err := rs.Update(t.Context(), func(w store.WTx) error {
			for _, e := range recs {
				if err := w.Put(e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	rsvc, err := clinical.New(clinical.Options{Store: rs, Now: clock, Source: "tui"}).As(t.Context(), "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	m := New(Options{Svc: rsvc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: t.TempDir(), Plain: true,
		Width: 120, Height: 40, Cohort: &Cohort{Resolver: cohort.NewTermResolver(tm), Defs: defs}})
	d := &driver{t: t, m: m}
	d.init()
	d.keys("f6")
	d.contains("searched here over standard FHIR search: 120 patients,")
	d.contains("(slower than a gpsoc server)")
	if got := strings.Split(d.screen(), "\n")[2]; strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Fatalf("over FHIR %q, here %q", got, want)
	}
	d.keys("enter")
	d.contains("Essential hypertension")
}
