package clinical_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// Real dm+d products from the embedded terminology (fixtures/embedded, OGL).
const (
	dmdAmoxicillin500  = "39732411000001106" // Amoxicillin 500mg capsules (VMP)
	dmdAmoxicillinAMP  = "10381311000001104" // Amoxicillin 500mg capsules (AMP)
	dmdCoAmoxiclav     = "39732211000001107" // Co-amoxiclav 500mg/125mg tablets: ingredients not verified
	dmdCoCodamol       = "42009811000001101" // Co-codamol 30mg/500mg tablets: ingredients not verified
	dmdValproate       = "322956002"         // Sodium valproate 200mg gastro-resistant tablets
	dmdMetformin       = "325278007"         // Metformin 500mg tablets
	dmdMethotrexate    = "326874007"         // Methotrexate 2.5mg tablets
	dmdTrimethoprim    = "324431001"         // Trimethoprim 200mg tablets
	dmdSimvastatin     = "320000009"         // Simvastatin 40mg tablets
	dmdSimvaEzetimibe  = "414178007"         // Simvastatin 40mg / Ezetimibe 10mg tablets
	dmdClarithromycin  = "324244008"         // Clarithromycin 500mg tablets
	dmdRamipril        = "318902004"         // Ramipril 5mg capsules
	dmdParacetamolSol  = "39720311000001101" // Paracetamol 500mg soluble tablets
	dmdSpiramycin      = "35900311000001105" // Spiramycin oral solution: no BNF code, no dm+d ingredient rows: known by name only
	sctAllergyPenicill = "91936005"          // Allergy to penicillin (finding)
	sctPenicillin      = "373270004"         // Penicillin (substance class)
	sctEGFR            = "1011481000000105"  // eGFR (CKD-EPI)
)

var rxTerms struct {
	once sync.Once
	tm   *terminology.Terminology
	err  error
}

// rxTerminology opens the embedded terminology once for the package's tests.
func rxTerminology(tb testing.TB) *terminology.Terminology {
	tb.Helper()
	rxTerms.once.Do(func() {
		dir, err := os.MkdirTemp("", "gpsoc-rx-terms-")
		if err != nil {
			rxTerms.err = err
			return
		}
		rxTerms.tm, rxTerms.err = terminology.Open(dir)
	})
	if rxTerms.err != nil {
		tb.Fatal(rxTerms.err)
	}
	return rxTerms.tm
}

type rxPractice struct {
	*recordPractice
	ctx context.Context
}

// newRxPractice is the record practice (dr.patel, nurse.jones, reception,
// John Smith b. 1961) with the dm+d dictionary for prescribing.
func newRxPractice(t *testing.T) *rxPractice {
	rp := newRecordPractice(t)
	rp.p.SetDrugs(rxTerminology(t))
	return &rxPractice{recordPractice: rp, ctx: context.Background()}
}

func (rx *rxPractice) gp() *clinical.Service { return rx.as("dr.patel") }

func (rx *rxPractice) patient(family, sex, dob string) string {
	rx.t.Helper()
	pt := &record.Patient{Family: family, Given: []string{"Test"}, BirthDate: dob, Sex: sex, NoNHSReason: "temporary-resident"}
	if _, err := rx.as("reception").AddPatient(rx.ctx, pt); err != nil {
		rx.t.Fatal(err)
	}
	return pt.ID
}

func (rx *rxPractice) nkda(pid string) {
	rx.t.Helper()
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: pid, NKDA: true}); err != nil {
		rx.t.Fatal(err)
	}
}

func (rx *rxPractice) prescribe(in clinical.PrescribeInput) (*clinical.PrescribeResult, error) {
	if in.Dose == "" {
		in.Dose = "1 od"
	}
	if in.Quantity == 0 {
		in.Quantity = 21
	}
	return rx.gp().Prescribe(rx.ctx, in)
}

func (rx *rxPractice) mustPrescribe(in clinical.PrescribeInput) *record.Medication {
	rx.t.Helper()
	res, err := rx.prescribe(in)
	if err != nil {
		rx.t.Fatalf("prescribe %s: %v", in.Code, err)
	}
	return res.Medication
}

// alerts runs the checks only and returns the alert ids.
func (rx *rxPractice) alerts(pid, code string) map[string]clinical.SafetyAlert {
	rx.t.Helper()
	res, err := rx.prescribe(clinical.PrescribeInput{PatientRef: pid, Code: code, Check: true})
	if err != nil {
		rx.t.Fatalf("check %s: %v", code, err)
	}
	out := map[string]clinical.SafetyAlert{}
	for _, a := range res.Alerts { // keyed without the facts hash (checked in steps_test.go)
		out[clinical.BaseAlertID(a.ID)] = a
	}
	return out
}

func ids(m map[string]clinical.SafetyAlert) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPenicillinAllergyStopsAmoxicillinAndCoAmoxiclav(t *testing.T) {
	rx := newRxPractice(t)
	al, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: sctAllergyPenicill, Reaction: "urticaria"})
	if err != nil {
		t.Fatal(err)
	}
	agent := al.Agent.Code
	for _, code := range []string{dmdAmoxicillin500, dmdAmoxicillinAMP, dmdCoAmoxiclav} {
		_, err := rx.prescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: code})
		var ae *clinical.AlertsError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: want refusal by alerts, got %v", code, err)
		}
		id := "allergy:" + agent + ":" + code
		found := false
		for _, a := range ae.Alerts {
			if clinical.BaseAlertID(a.ID) == id {
				found = true
				if a.Severity != "high" || !strings.Contains(strings.ToLower(a.Message), "amoxicillin") {
					t.Errorf("%s: alert %+v", code, a)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s among %+v", code, id, ae.Alerts)
		}
	}
	// Same check, same data: same ids.
	a1, a2 := rx.alerts(rx.pid, dmdCoAmoxiclav), rx.alerts(rx.pid, dmdCoAmoxiclav)
	if strings.Join(sortStr(ids(a1)), ",") != strings.Join(sortStr(ids(a2)), ",") {
		t.Errorf("ids differ between runs: %v %v", ids(a1), ids(a2))
	}
	// co-amoxiclav's ingredients come from its BNF substance (amoxicillin +
	// clavulanic acid): the allergy alert names amoxicillin, and nothing is
	// left unchecked.
	if a, ok := a1["allergy:"+agent+":"+dmdCoAmoxiclav]; !ok || !strings.Contains(a.Message, "amoxicillin") {
		t.Errorf("co-amoxiclav: want the allergy alert naming amoxicillin, got %v", a1)
	}
	// A drug with nothing to do with penicillin passes.
	if a := rx.alerts(rx.pid, dmdRamipril); len(a) != 0 {
		t.Errorf("ramipril with a penicillin allergy: %v", ids(a))
	}
}

func TestUnverifiedProductIsANoteEveryTime(t *testing.T) {
	rx := newRxPractice(t)
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: sctAllergyPenicill}); err != nil {
		t.Fatal(err)
	}
	// Spiramycin oral solution: no BNF code and no dm+d ingredient rows, so its ingredients are a guess from the name.
	for range 2 {
		res, err := rx.prescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdSpiramycin, Check: true})
		if err != nil {
			t.Fatal(err)
		}
		// two notes: the ingredients, and the dose (no maximum-dose entry for it)
		if len(res.Alerts) != 0 || len(res.Notes) != 2 || res.Notes[0].Kind != clinical.KindNotChecked ||
			!strings.Contains(res.Notes[0].Message, "Checks incomplete") || !strings.HasPrefix(res.Notes[1].ID, "not-checked:dose:") {
			t.Fatalf("want the ingredients and dose notes and no alert, got alerts %+v notes %+v", res.Alerts, res.Notes)
		}
	}
	// A note needs no answer: the prescription is written, the note shown.
	res, err := rx.prescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdSpiramycin})
	if err != nil || res.Medication == nil || len(res.Notes) != 2 {
		t.Fatalf("prescribe with a note: %v %+v", err, res)
	}
}

func TestAllergyStatusNotRecordedIsAnAlert(t *testing.T) {
	rx := newRxPractice(t)
	a := rx.alerts(rx.pid, dmdRamipril)
	if x, ok := a["allergy-status:not-recorded"]; !ok || x.Severity != "moderate" {
		t.Fatalf("want allergy-status:not-recorded, got %+v", a)
	}
	rx.nkda(rx.pid)
	if a := rx.alerts(rx.pid, dmdRamipril); len(a) != 0 {
		t.Fatalf("with NKDA: %v", ids(a))
	}
}

func TestDuplicateIngredient(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	m := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdSimvastatin, Dose: "1 on", Quantity: 28, Repeat: true, Issues: 6})
	a := rx.alerts(rx.pid, dmdSimvaEzetimibe)
	id := "duplicate:387584000:" + m.ID
	if x, ok := a[id]; !ok || x.Severity != "moderate" || !strings.Contains(x.Message, "simvastatin") {
		t.Fatalf("want %s, got %+v", id, a)
	}
	// acknowledged (a moderate alert), it is written with the answer recorded
	res, err := rx.prescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdSimvaEzetimibe, Answers: clinical.Answers{Ack: []string{id}}})
	if err != nil {
		t.Fatal(err)
	}
	if an := res.Medication.Answers; len(an) != 1 || an[0].Answer != "ack" || an[0].By != "dr.patel" {
		t.Fatalf("answers %+v", an)
	}
}

func TestValproateRule(t *testing.T) {
	rx := newRxPractice(t)
	young := rx.patient("Young", "female", "2000-05-01") // 26
	older := rx.patient("Older", "female", "1960-05-01") // 66
	man := rx.patient("Man", "male", "2000-05-01")
	for _, p := range []string{young, older, man} {
		rx.nkda(p)
	}
	id := "rule:valproate-female-12-55:" + dmdValproate
	if a := rx.alerts(young, dmdValproate); a[id].Severity != "high" {
		t.Errorf("female 26: want %s high, got %+v", id, a)
	}
	if a := rx.alerts(older, dmdValproate); len(a) != 0 {
		t.Errorf("female 66: %v", ids(a))
	}
	if a := rx.alerts(man, dmdValproate); len(a) != 0 {
		t.Errorf("male: %v", ids(a))
	}
	// an acknowledgement cannot answer a high alert; an override with a reason can
	_, err := rx.prescribe(clinical.PrescribeInput{PatientRef: young, Code: dmdValproate, Answers: clinical.Answers{Ack: []string{id}}})
	var ve *record.ValidationError
	if !errors.As(err, &ve) || ve.Field != "ack" {
		t.Fatalf("ack of a high alert: %v", err)
	}
	res, err := rx.prescribe(clinical.PrescribeInput{PatientRef: young, Code: dmdValproate, Repeat: true, Issues: 3,
		Answers: clinical.Answers{Override: map[string]string{id: "two neurologists agree; PPP in place, ARAF signed"}}})
	if err != nil {
		t.Fatal(err)
	}
	an := res.Medication.Answers
	if len(an) != 1 || clinical.BaseAlertID(an[0].AlertID) != id || an[0].Answer != "override" || an[0].By != "dr.patel" ||
		an[0].Reason != "two neurologists agree; PPP in place, ARAF signed" || an[0].Severity != "high" {
		t.Fatalf("override not recorded: %+v", an)
	}
	// the override is audited, with its reason
	found := false
	for _, ev := range rx.events(0) {
		if ev.Action == "alert-override" && ev.EntityID == res.Medication.ID && strings.Contains(ev.Reason, "neurologists") && ev.User == "dr.patel" {
			found = true
		}
	}
	if !found {
		t.Error("override not in the audit trail")
	}
}

func TestPregnancyRule(t *testing.T) {
	rx := newRxPractice(t)
	p := rx.patient("Older", "female", "1960-05-01")
	rx.nkda(p)
	if _, err := rx.gp().AddProblem(rx.ctx, clinical.ProblemInput{PatientRef: p, Code: "77386006"}); err != nil {
		t.Fatal(err)
	}
	if a := rx.alerts(p, dmdValproate); a["rule:valproate-pregnancy:"+dmdValproate].Severity != "high" {
		t.Fatalf("pregnancy: %+v", a)
	}
}

func TestEGFRRule(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	id := "rule:metformin-egfr-below-30:" + dmdMetformin
	obs := func(v float64) {
		if _, err := rx.gp().AddObservation(rx.ctx, clinical.ObservationInput{PatientRef: rx.pid, Code: sctEGFR, Value: &v, Unit: "mL/min/1.73m2"}); err != nil {
			t.Fatal(err)
		}
		rx.tick(time.Hour)
	}
	if a := rx.alerts(rx.pid, dmdMetformin); len(a) != 0 {
		t.Fatalf("no eGFR: %v", ids(a))
	}
	obs(24)
	if a := rx.alerts(rx.pid, dmdMetformin); a[id].Severity != "high" {
		t.Fatalf("eGFR 24: %+v", a)
	}
	obs(45) // the latest result decides
	if a := rx.alerts(rx.pid, dmdMetformin); len(a) != 0 {
		t.Fatalf("latest eGFR 45: %v", ids(a))
	}
}

func TestInteractionPair(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	mtx := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdMethotrexate, Dose: "4 tablets on Monday", Quantity: 16, Repeat: true, Issues: 3})
	a := rx.alerts(rx.pid, dmdTrimethoprim)
	id := "interaction:methotrexate-trimethoprim:" + mtx.ID
	if a[id].Severity != "high" || !strings.Contains(a[id].Message, "bone-marrow") {
		t.Fatalf("want %s, got %+v", id, a)
	}
	// warfarin's ingredients are not verified in the embedded dm+d: its VTM name still matches
	war := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: "319733000", Dose: "as directed by the anticoagulant clinic", Quantity: 28, Repeat: true, Issues: 3})
	if a := rx.alerts(rx.pid, dmdClarithromycin); a["interaction:warfarin-macrolide:"+war.ID].Severity != "moderate" {
		t.Fatalf("warfarin + clarithromycin: %+v", a)
	}
	sim := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdSimvastatin, Repeat: true, Issues: 3})
	if a := rx.alerts(rx.pid, dmdClarithromycin); a["interaction:simvastatin-clarithromycin:"+sim.ID].Severity != "high" {
		t.Fatalf("simvastatin + clarithromycin: %+v", a)
	}
}

func TestOnlyPrescribersPrescribe(t *testing.T) {
	rx := newRxPractice(t)
	for _, u := range []string{"reception", "nurse.jones", "admin"} {
		_, err := rx.as(u).Prescribe(rx.ctx, clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdRamipril, Dose: "1 od", Quantity: 28})
		var pe *record.PermissionError
		if !errors.As(err, &pe) {
			t.Errorf("%s: want a permission error, got %v", u, err)
		}
	}
}

func TestLeftPatientCannotBePrescribedFor(t *testing.T) {
	rx := newRxPractice(t)
	if _, _, err := rx.gp().Leave(rx.ctx, rx.pid, "2026-11-20", "moved away", 0); err != nil {
		t.Fatal(err)
	}
	_, err := rx.prescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdRamipril})
	var ve *record.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "cannot be prescribed for") {
		t.Fatalf("want refusal, got %v", err)
	}
}

func TestRepeatLifecycle(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	gp := rx.gp()
	m := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdRamipril, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 2, Review: "2027-05-24", DurationDays: 28})
	if m.Unit != "capsule" || m.Type != "repeat" || m.IssuesLeft() != 2 || len(m.Issues) != 0 {
		t.Fatalf("prescribed %+v", m)
	}
	for i := 0; i < 2; i++ {
		res, err := gp.Issue(rx.ctx, rx.pid, nil, true)
		if err != nil || len(res.Issued) != 1 {
			t.Fatalf("issue %d: %v %+v", i, err, res)
		}
		rx.tick(28 * 24 * time.Hour)
	}
	if _, err := gp.Issue(rx.ctx, rx.pid, []string{m.ID}, false); err == nil || !strings.Contains(err.Error(), "re-authorise") {
		t.Fatalf("third issue: %v", err)
	}
	// Nothing is due: --all-due issues nothing.
	if res, err := gp.Issue(rx.ctx, rx.pid, nil, true); err != nil || len(res.Issued) != 0 {
		t.Fatalf("all due with none left: %v %+v", err, res)
	}
	cur, err := gp.Entry(rx.ctx, m.ID, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := cur.Head().Version
	// someone else re-authorises first: ours, based on v, is stale
	if _, err := gp.Reauthorise(rx.ctx, rx.pid, m.ID, 6, "", v); err != nil {
		t.Fatal(err)
	}
	_, err = rx.as("dr.patel").Reauthorise(rx.ctx, rx.pid, m.ID, 3, "", v)
	var ce *record.ConflictError
	if !errors.As(err, &ce) || ce.By != "dr.patel" {
		t.Fatalf("stale reauth: want a conflict naming who, got %v", err)
	}
	res, err := gp.Issue(rx.ctx, rx.pid, []string{m.ID}, false)
	if err != nil || res.Issued[0].IssuesLeft() != 5 {
		t.Fatalf("issue after reauth: %v", err)
	}
	// change dose: a new record replacing the old, which is kept (stopped)
	ch, err := gp.ChangeDose(rx.ctx, rx.pid, m.ID, "2 od", 0, clinical.Answers{})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Medication.Replaces != m.ID || ch.Medication.Dose != "2 od" || ch.Medication.IssuesLeft() != 5 {
		t.Fatalf("changed %+v", ch.Medication)
	}
	old, _ := gp.Entry(rx.ctx, m.ID, clinical.ReadOptions{})
	if o := old.(*record.Medication); o.Status != "stopped" || o.Dose != "1 od" {
		t.Fatalf("old kept as %+v", o)
	}
	rows, _, err := gp.IssueHistory(rx.ctx, rx.pid, clinical.ReadOptions{})
	if err != nil || len(rows) != 3 {
		t.Fatalf("issue history: %v %d", err, len(rows))
	}
	st, err := gp.Stop(rx.ctx, rx.pid, ch.Medication.ID, "cough", 0)
	if err != nil || st.StopReason != "cough" || st.Status != "stopped" {
		t.Fatalf("stop: %v %+v", err, st)
	}
	l, err := gp.MedicationList(rx.ctx, rx.pid, clinical.MedListOptions{Current: true})
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("current after stop: %v %d", err, len(l.Items))
	}
}

func TestOverdueReview(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdRamipril, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 12, Review: "2026-12-01"})
	if ms, _ := rx.gp().OverdueReviews(rx.ctx, ""); len(ms) != 0 {
		t.Fatalf("not yet overdue: %d", len(ms))
	}
	rx.tick(10 * 24 * time.Hour)
	if ms, err := rx.gp().OverdueReviews(rx.ctx, ""); err != nil || len(ms) != 1 {
		t.Fatalf("overdue: %v %d", err, len(ms))
	}
}

func TestDoseInWords(t *testing.T) {
	for _, c := range []struct{ dose, unit, want string }{
		{"1 od", "tablet", "Take ONE tablet once a day"},
		{"2 bd", "capsule", "Take TWO capsules twice a day"},
		{"1-2 qds prn", "tablet", "Take ONE or TWO tablets four times a day when required"},
		{"10ml tds", "ml", "Take 10 ml three times a day"},
		{"One tablet at night", "tablet", "Take ONE tablet at night"},
		{"as directed", "tablet", "As directed"},
	} {
		if got := clinical.DoseInWords(c.dose, c.unit); got != c.want {
			t.Errorf("%q: got %q, want %q", c.dose, got, c.want)
		}
	}
}

func TestRulesImport(t *testing.T) {
	rx := newRxPractice(t)
	admin := rx.as("admin")
	bad := []byte("version: 1\nrules:\n  - id: x\n    severity: severe\n    drug: {names: [x]}\n    message: m\n    source: s\n")
	_, err := admin.ImportRules(rx.ctx, bad)
	var ve *record.ValidationError
	if !errors.As(err, &ve) || ve.Field != "rules[0].severity" {
		t.Fatalf("bad severity: %v", err)
	}
	if _, err := rx.gp().ImportRules(rx.ctx, clinical.DefaultRuleText("contraindications")); err == nil {
		t.Fatal("a GP imported rules")
	}
	own := []byte(`version: 1
rules:
  - id: ramipril-over-80
    severity: low
    drug: {names: [ramipril]}
    when: {age: {min: 60}}
    message: Check renal function and potassium.
    source: practice policy 2026
`)
	if _, err := admin.ImportRules(rx.ctx, own); err != nil {
		t.Fatal(err)
	}
	rs, err := rx.gp().Rules(rx.ctx)
	if err != nil || rs.RulesFrom != "default+practice" || rs.InteractionsFrom != "default" {
		t.Fatalf("rules in force: %v %+v", err, rs)
	}
	rx.nkda(rx.pid)
	if a := rx.alerts(rx.pid, dmdRamipril); a["rule:ramipril-over-80:"+dmdRamipril].Severity != "low" {
		t.Fatalf("practice rule not applied: %+v", a)
	}
	// the practice's rules merge with the defaults by id: the defaults still apply
	p := rx.patient("Young", "female", "2000-05-01")
	rx.nkda(p)
	if a := rx.alerts(p, dmdValproate); a["rule:valproate-female-12-55:"+dmdValproate].Severity != "high" {
		t.Fatalf("a one-rule practice file removed the defaults: %v", ids(a))
	}
}

func sortStr(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestAcuteIsCurrentWithinItsCourse(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	m := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdAmoxicillin500, Dose: "1 tds", Quantity: 21, DurationDays: 7})
	if m.Status != "completed" || len(m.Issues) != 1 {
		t.Fatalf("acute written as %s with %d issues", m.Status, len(m.Issues))
	}
	if a := rx.alerts(rx.pid, dmdAmoxicillinAMP); a["duplicate:372687004:"+m.ID].Severity != "moderate" {
		t.Fatalf("within the course: %v", ids(a))
	}
	if _, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false); err == nil {
		t.Fatal("an acute was issued twice")
	}
	rx.tick(8 * 24 * time.Hour)
	if a := rx.alerts(rx.pid, dmdAmoxicillinAMP); len(a) != 0 {
		t.Fatalf("after the course: %v", ids(a))
	}
	if l, _ := rx.gp().MedicationList(rx.ctx, rx.pid, clinical.MedListOptions{Current: true}); len(l.Items) != 0 {
		t.Fatalf("acute still current after its course")
	}
}

func TestMedicationImportIsHistoryWithoutChecks(t *testing.T) {
	rx := newRxPractice(t)
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: sctAllergyPenicill}); err != nil {
		t.Fatal(err)
	}
	line := `{"patientId": "9434765919", "status": "completed", "code": {"system": "https://dmd.nhs.uk", "code": "` + dmdAmoxicillin500 + `"},
 "type": "acute", "dose": "1 tds", "quantity": 21, "unit": "capsule", "prescriber": "dr.old", "authorisedOn": "2019-03-02",
 "issues": [{"at": "2019-03-02T10:00:00Z", "by": "dr.old", "quantity": 21}]}`
	line = strings.ReplaceAll(line, "\n", "")
	for run, want := range []int{1, 0} { // a re-run changes nothing
		sum, err := rx.gp().ImportEntries(rx.ctx, record.KindMedication, strings.NewReader(line+"\n"), clinical.ImportOptions{})
		if err != nil || sum.Written != want || sum.Rejected != 0 {
			t.Fatalf("run %d: %v %+v", run, err, sum)
		}
	}
	l, err := rx.gp().MedicationList(rx.ctx, rx.pid, clinical.MedListOptions{})
	if err != nil || len(l.Items) != 1 || len(l.Items[0].Answers) != 0 {
		t.Fatalf("imported: %v %+v", err, l)
	}
}

func TestChangeDoseRunsTheChecks(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	mtx := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdMethotrexate, Dose: "4 tablets on Monday", Quantity: 16, Repeat: true, Issues: 3})
	id := "interaction:methotrexate-trimethoprim:" + mtx.ID
	tmp := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdTrimethoprim, Dose: "1 bd", Quantity: 6,
		Answers: clinical.Answers{Override: map[string]string{id: "renal team advice, FBC in 5 days"}}})
	// the trimethoprim dose change meets the same interaction: answered again
	_, err := rx.gp().ChangeDose(rx.ctx, rx.pid, tmp.ID, "1 od", 0, clinical.Answers{})
	var ae *clinical.AlertsError
	if !errors.As(err, &ae) || clinical.BaseAlertID(ae.Alerts[0].ID) != id {
		t.Fatalf("dose change without an answer: %v", err)
	}
	res, err := rx.gp().ChangeDose(rx.ctx, rx.pid, tmp.ID, "1 od", 0, clinical.Answers{Override: map[string]string{id: "still advised"}})
	if err != nil || res.Medication.Replaces != tmp.ID || res.Medication.Answers[0].Reason != "still advised" {
		t.Fatalf("dose change: %v %+v", err, res)
	}
}

// An allergy that came as text only is on the record's banner as such, and
// is a moderate alert on every prescription until it is coded.
func TestTextOnlyAllergyBannerSaysSo(t *testing.T) {
	rx := newRxPractice(t)
	data := []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:0b6e4a42-1f0e-4d51-9f3b-6a2c1d9e7f10","resource":{"resourceType":"AllergyIntolerance","id":"txt1","patient":{"reference":"Patient/` + rx.pid + `"},"code":{"text":"Allergic to penicillin - anaphylaxis"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]}}}]}`)
	if _, err := interop.ImportFHIR(rx.ctx, rx.gp(), []interop.FHIRInput{{Name: "a.json", Data: data}}, interop.FHIRImportOptions{}); err != nil {
		t.Fatal(err)
	}
	sum, err := rx.gp().RecordSummary(rx.ctx, rx.pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range *sum.Alerts {
		if strings.Contains(a.Message, "allergy recorded as text") && strings.Contains(a.Message, "Allergic to penicillin - anaphylaxis") {
			found = true
		}
	}
	if !found {
		t.Fatalf("banner: %+v", *sum.Alerts)
	}
	a := rx.alerts(rx.pid, dmdAmoxicillin500)
	n := 0
	for id, x := range a {
		if strings.HasPrefix(id, "allergy-text:") && x.Severity == "moderate" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("amoxicillin with a text-only allergy: %v", ids(a))
	}
}

// Allergy categories are kept; a food allergy does not block "no known drug
// allergy" (nor retire it), a drug allergy does; a bad category is refused.
func TestAllergyCategoriesAndNKDA(t *testing.T) {
	rx := newRxPractice(t)
	_, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: "762952008", Category: "plant"})
	var ve *record.ValidationError
	if !errors.As(err, &ve) || ve.Field != "category" || ve.Value != "plant" {
		t.Fatalf("bad category: %v", err)
	}
	peanut, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: "762952008"})
	if err != nil || peanut.Category != "food" {
		t.Fatalf("peanut: %+v %v", peanut, err)
	}
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, NKDA: true}); err != nil {
		t.Fatalf("NKDA beside a food allergy: %v", err)
	}
	latex, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: "111088007"})
	if err != nil || latex.Category != "environment" {
		t.Fatalf("latex: %+v %v", latex, err)
	}
	l, err := rx.gp().Allergies(rx.ctx, rx.pid, clinical.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nkda := false
	for _, a := range l.Items {
		nkda = nkda || a.NKDA
	}
	if !nkda {
		t.Fatal("a latex allergy retired no known drug allergy")
	}
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: "387207008"}); err != nil { // ibuprofen
		t.Fatal(err)
	}
	_, err = rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, NKDA: true})
	if !errors.As(err, &ve) || ve.Field != "nkda" {
		t.Fatalf("NKDA with a drug allergy active: want refused, got %v", err)
	}
}
