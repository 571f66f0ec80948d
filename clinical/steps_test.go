package clinical_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

const (
	dmdApixaban5   = "703908001"         // Apixaban 5mg tablets
	dmdAmoxil500   = "39732411000001106" // Amoxicillin 500mg capsules
	dmdParacetamol = "39720311000001101" // Paracetamol 500mg soluble tablets
	dmdTramadol50  = "42017811000001106" // Tramadol 50mg capsules
)

// override answers every alert of a --check with one reason.
func overrideAll(alerts []clinical.SafetyAlert, why string) clinical.Answers {
	a := clinical.Answers{Override: map[string]string{}}
	for _, x := range alerts {
		a.Override[x.ID] = why
	}
	return a
}

func alertsOf(t *testing.T, err error) []clinical.SafetyAlert {
	t.Helper()
	var ae *clinical.AlertsError
	if !errors.As(err, &ae) {
		t.Fatalf("want a refusal by alerts, got %v", err)
	}
	return ae.Alerts
}

func hasBase(as []clinical.SafetyAlert, prefix string) *clinical.SafetyAlert {
	for i := range as {
		if strings.HasPrefix(clinical.BaseAlertID(as[i].ID), prefix) {
			return &as[i]
		}
	}
	return nil
}

// TestIssueRechecksAndAnsweredAlertIsNotRaisedAgain: the bug report's
// flucloxacillin case on amoxicillin: the allergy recorded after the repeat
// was authorised stops the next issue; once answered at that issue it is
// not raised again at the one after, and nothing is issued while unanswered.
func TestIssueRechecksAndAnsweredAlertIsNotRaisedAgain(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	m := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdAmoxil500, Dose: "1 tds", Quantity: 21, Repeat: true, Issues: 6})
	if _, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false); err != nil {
		t.Fatalf("first issue: %v", err)
	}
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: sctAllergyPenicill, Reaction: "anaphylaxis"}); err != nil {
		t.Fatal(err)
	}
	rx.tick(7 * 24 * time.Hour)
	_, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false)
	as := alertsOf(t, err)
	al := hasBase(as, "allergy:")
	if al == nil || al.Severity != "high" {
		t.Fatalf("issue after a penicillin allergy: %+v", as)
	}
	rows, _, _ := rx.gp().IssueHistory(rx.ctx, rx.pid, clinical.ReadOptions{})
	if len(rows) != 1 {
		t.Fatalf("a refused issue wrote: %d issues", len(rows))
	}
	// an acknowledgement cannot answer a high alert; an override with a reason does
	if _, err := rx.gp().IssueWith(rx.ctx, clinical.IssueInput{PatientRef: rx.pid, IDs: []string{m.ID}, Answers: clinical.Answers{Ack: []string{al.ID}}}); err == nil {
		t.Fatal("a high alert acknowledged at issue")
	}
	res, err := rx.gp().IssueWith(rx.ctx, clinical.IssueInput{PatientRef: rx.pid, IDs: []string{m.ID}, Answers: overrideAll(as, "tolerated for years; allergist advice")})
	if err != nil || len(res.Issued) != 1 || len(res.Answered) != 1 {
		t.Fatalf("issue with the answer: %v %+v", err, res)
	}
	rx.tick(7 * 24 * time.Hour)
	if _, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false); err != nil {
		t.Fatalf("the answered alert was raised again with the same facts: %v", err)
	}
	// the answer at issue is audited, with its reason
	found := false
	for _, ev := range rx.events(0) {
		if ev.Action == "alert-override" && ev.EntityID == m.ID && strings.Contains(ev.Reason, "allergist advice") {
			found = true
		}
	}
	if !found {
		t.Error("the answer at issue is not in the audit trail")
	}
}

// TestAlertIDChangesWithItsFacts: the same check on the same facts gives the
// same id; a new result value, or another allergy record, gives another.
func TestAlertIDChangesWithItsFacts(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	v := 25.0
	if _, err := rx.gp().AddObservation(rx.ctx, clinical.ObservationInput{PatientRef: rx.pid, Code: sctEGFR, Value: &v, Unit: "mL/min/1.73m2", Effective: rx.now().Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	id := func() string {
		res, err := rx.gp().Prescribe(rx.ctx, clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdMetformin, Dose: "1 bd", Quantity: 56, Check: true})
		if err != nil {
			t.Fatal(err)
		}
		a := hasBase(res.Alerts, "rule:metformin-egfr-below-30:")
		if a == nil {
			t.Fatalf("no metformin alert: %+v", res.Alerts)
		}
		if !strings.Contains(a.ID, "@") || len(a.ID)-strings.Index(a.ID, "@") != 9 {
			t.Fatalf("id %q carries no facts hash", a.ID)
		}
		return a.ID
	}
	first := id()
	if again := id(); again != first {
		t.Fatalf("same facts, different ids: %s %s", first, again)
	}
	v2 := 24.0
	if _, err := rx.gp().AddObservation(rx.ctx, clinical.ObservationInput{PatientRef: rx.pid, Code: sctEGFR, Value: &v2, Unit: "mL/min/1.73m2", Effective: rx.now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if after := id(); after == first {
		t.Fatalf("a new eGFR kept the id %s", first)
	}
}

// TestEarlyIssueNeedsReason: three issues of apixaban in a minute (the bug
// report's 168 tablets): the second and third need a reason, which is
// recorded and audited; --reason answers them.
func TestEarlyIssueNeedsReason(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	m := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdApixaban5, Dose: "1 bd", Quantity: 56, Repeat: true, Issues: 6})
	if _, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false); err != nil {
		t.Fatal(err)
	}
	rx.tick(time.Minute)
	_, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false)
	as := alertsOf(t, err)
	early := hasBase(as, "early-issue:"+m.ID)
	if early == nil || !strings.Contains(early.Message, "Duplicate issue") {
		t.Fatalf("second issue the same day: %+v", as)
	}
	if _, err := rx.gp().IssueWith(rx.ctx, clinical.IssueInput{PatientRef: rx.pid, IDs: []string{m.ID}, Answers: clinical.Answers{Ack: []string{early.ID}}}); err == nil {
		t.Fatal("an early issue acknowledged without a reason")
	}
	res, err := rx.gp().IssueWith(rx.ctx, clinical.IssueInput{PatientRef: rx.pid, IDs: []string{m.ID}, Reason: "first prescription lost in the post"})
	if err != nil || len(res.Issued) != 1 || res.Answered[0].Reason != "first prescription lost in the post" {
		t.Fatalf("issue with a reason: %v %+v", err, res)
	}
	// 20 days into a 28-day supply (75% is day 21): still early
	rx.tick(20 * 24 * time.Hour)
	if _, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false); hasBase(alertsOf(t, err), "early-issue:") == nil {
		t.Fatal("an issue 20 days into 28 passed")
	}
	rx.tick(2 * 24 * time.Hour)
	if _, err := rx.gp().Issue(rx.ctx, rx.pid, []string{m.ID}, false); err != nil {
		t.Fatalf("an issue 22 days into 28: %v", err)
	}
}

// TestRecordingAnAllergyRaisesAlertOnRecord: the record's banner shows an
// alert on a current medicine the moment an allergy makes it unsafe.
func TestRecordingAnAllergyRaisesAlertOnRecord(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdAmoxil500, Dose: "1 tds", Quantity: 21, Repeat: true, Issues: 2})
	banner := func() []string {
		sm, err := rx.gp().RecordSummary(rx.ctx, rx.pid, clinical.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range *sm.Alerts {
			if a.Kind == "medicine" {
				out = append(out, a.Message)
			}
		}
		return out
	}
	if b := banner(); len(b) != 0 {
		t.Fatalf("medicine alerts before the allergy: %v", b)
	}
	if _, err := rx.gp().AddAllergy(rx.ctx, clinical.AllergyInput{PatientRef: rx.pid, Code: sctAllergyPenicill, Reaction: "anaphylaxis"}); err != nil {
		t.Fatal(err)
	}
	b := banner()
	if len(b) != 1 || !strings.Contains(b[0], "Amoxicillin") || !strings.Contains(b[0], "Penicillin") {
		t.Fatalf("banner after the allergy: %v", b)
	}
	mas, err := rx.gp().MedicineAlerts(rx.ctx, rx.pid, clinical.ReadOptions{})
	if err != nil || len(mas) != 1 || mas[0].Alert.Severity != "high" {
		t.Fatalf("medicine alerts: %v %+v", err, mas)
	}
}

// TestRecheckPractice: gpsoc rules recheck finds, across the practice, the
// current medicines a new rule makes unsafe, and counts what it checked.
func TestRecheckPractice(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	other := rx.patient("Recheck", "male", "1950-01-01")
	rx.nkda(other)
	rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdRamipril, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 2})
	rx.mustPrescribe(clinical.PrescribeInput{PatientRef: other, Code: dmdMetformin, Dose: "1 bd", Quantity: 56, Repeat: true, Issues: 2})
	sum, err := rx.gp().RecheckPractice(rx.ctx)
	if err != nil || sum.Patients != 2 || sum.Medications != 2 || len(sum.Alerts) != 0 {
		t.Fatalf("before the rule: %v %+v", err, sum)
	}
	rule := []byte("version: 1\nrules:\n  - id: ramipril-check\n    severity: moderate\n    drug: {names: [ramipril]}\n    when: {age: {min: 18}}\n    message: Check potassium.\n    source: practice policy 2026\n")
	if _, err := rx.as("admin").ImportRules(rx.ctx, rule); err != nil {
		t.Fatal(err)
	}
	sum, err = rx.gp().RecheckPractice(rx.ctx)
	if err != nil || len(sum.Alerts) != 1 || sum.Alerts[0].Drug != "Ramipril 5mg capsules" {
		t.Fatalf("after the rule: %v %+v", err, sum)
	}
	if _, err := rx.as("reception").RecheckPractice(rx.ctx); err == nil {
		t.Fatal("a receptionist re-checked the practice's medicines")
	}
}

// TestRulesMergeByIDAndRemovalNeedsFlag: removing a default needs the flag
// and a reason, and is audited; without them nothing is stored.
func TestRulesMergeByIDAndRemovalNeedsFlag(t *testing.T) {
	rx := newRxPractice(t)
	admin := rx.as("admin")
	rm := []byte("version: 1\nremove:\n  - {id: valproate-female-12-55, reason: specialist-only prescribing in this practice}\n")
	var ve *record.ValidationError
	if _, err := admin.ImportRules(rx.ctx, rm); !errors.As(err, &ve) || ve.Field != "remove" {
		t.Fatalf("a removal without --allow-remove: %v", err)
	}
	if _, err := admin.ImportRulesWith(rx.ctx, []byte("version: 1\nremove:\n  - {id: valproate-female-12-55, reason: \"\"}\n"), clinical.ImportRulesOptions{AllowRemove: true}); err == nil {
		t.Fatal("a removal without a reason")
	}
	if _, err := admin.ImportRulesWith(rx.ctx, []byte("version: 1\nremove:\n  - {id: no-such-rule, reason: r}\n"), clinical.ImportRulesOptions{AllowRemove: true}); err == nil {
		t.Fatal("the removal of a rule that is no default")
	}
	p := rx.patient("Young", "female", "2000-05-01")
	rx.nkda(p)
	if a := rx.alerts(p, dmdValproate); a["rule:valproate-female-12-55:"+dmdValproate].Severity != "high" {
		t.Fatalf("refused imports changed the rules: %v", ids(a))
	}
	res, err := admin.ImportRulesWith(rx.ctx, rm, clinical.ImportRulesOptions{AllowRemove: true})
	if err != nil || len(res.Removed) != 1 {
		t.Fatalf("removal: %v %+v", err, res)
	}
	if a := rx.alerts(p, dmdValproate); len(a) != 0 {
		t.Fatalf("removed default still applied: %v", ids(a))
	}
	rs, _ := rx.gp().Rules(rx.ctx)
	if len(rs.Removed) != 1 || rs.Removed[0].Reason != "specialist-only prescribing in this practice" {
		t.Fatalf("rules in force do not list the removal: %+v", rs.Removed)
	}
	found := false
	for _, ev := range rx.events(0) {
		if ev.Action == "remove-default-rule" && strings.Contains(ev.Reason, "specialist-only") && ev.User == "admin" {
			found = true
		}
	}
	if !found {
		t.Error("the removal is not audited with its reason")
	}
}

// TestResultOlderThanMaxAgeDoesNotCount: an eGFR older than the rule's
// maxAgeDays is not the latest result for the rule, and a note says so;
// a rule without maxAgeDays is refused.
func TestResultOlderThanMaxAgeDoesNotCount(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	v := 24.0
	if _, err := rx.gp().AddObservation(rx.ctx, clinical.ObservationInput{PatientRef: rx.pid, Code: sctEGFR, Value: &v, Unit: "mL/min/1.73m2", Effective: rx.now().AddDate(-2, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	res, err := rx.gp().Prescribe(rx.ctx, clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdMetformin, Dose: "1 bd", Quantity: 56, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := hasBase(res.Alerts, "rule:metformin"); a != nil {
		t.Fatalf("a 2-year-old eGFR counted: %+v", a)
	}
	if n := hasBase(res.Notes, "not-checked:result:metformin-egfr-below-30:"); n == nil || !strings.Contains(n.Message, "too old") {
		t.Fatalf("no note that the result is too old: %+v", res.Notes)
	}
	bad := []byte("version: 1\nrules:\n  - id: x\n    severity: high\n    drug: {names: [metformin]}\n    when: {result: {ecl: \"<< 80274001\", below: 30}}\n    message: m\n    source: s\n")
	var ve *record.ValidationError
	if _, err := rx.as("admin").ImportRules(rx.ctx, bad); !errors.As(err, &ve) || ve.Field != "rules[0].when.result.maxAgeDays" {
		t.Fatalf("a result condition without maxAgeDays: %v", err)
	}
}

// TestAcuteWithoutDurationCountsItsQuantity: an acute with no duration is
// current for the days its quantity lasts at its dose, not a fixed 28.
func TestAcuteWithoutDurationCountsItsQuantity(t *testing.T) {
	for _, c := range []struct {
		dose      string
		qty       float64
		want      int
		durations int
	}{{"1 od", 56, 56, 0}, {"2 tds", 12, 2, 0}, {"4 tablets on Monday", 16, 28, 0}, {"as directed", 30, 30, 0}, {"1 od", 56, 7, 7}} {
		m := &record.Medication{Dose: c.dose, Quantity: c.qty, Unit: "tablet", Type: "acute", DurationDays: c.durations}
		if got := clinical.CourseDays(m); got != c.want {
			t.Errorf("%q x %v (duration %d): %d days, want %d", c.dose, c.qty, c.durations, got, c.want)
		}
	}
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	// 56 days on an acute is itself an alert: answered
	m := rx.mustPrescribe(clinical.PrescribeInput{PatientRef: rx.pid, Code: dmdClarithromycin, Dose: "1 od", Quantity: 56,
		Answers: clinical.Answers{Ack: []string{"supply-acute:" + dmdClarithromycin}}})
	rx.tick(40 * 24 * time.Hour)
	if a := rx.alerts(rx.pid, dmdSimvastatin); a["interaction:simvastatin-clarithromycin:"+m.ID].Severity != "high" {
		t.Fatalf("a 56-day acute not current on day 40: %v", ids(a))
	}
	rx.tick(20 * 24 * time.Hour)
	if a := rx.alerts(rx.pid, dmdSimvastatin); len(a) != 0 {
		t.Fatalf("a 56-day acute still current on day 60: %v", ids(a))
	}
}

// TestSupplyLimits: more than 3 months on a repeat, or 30 days on an acute or
// a Schedule 2-4 controlled drug, is an alert; within them, nothing.
func TestSupplyLimits(t *testing.T) {
	rx := newRxPractice(t)
	rx.nkda(rx.pid)
	for _, c := range []struct {
		code, dose string
		qty        float64
		repeat     bool
		want       string
	}{
		{dmdRamipril, "1 od", 200, true, "supply-repeat:"},
		{dmdRamipril, "1 od", 84, true, ""},
		{dmdParacetamol, "2 qds", 99999, false, "supply-acute:"},
		{dmdParacetamol, "2 qds", 100, false, ""},
		{dmdTramadol50, "1 qds", 160, false, "supply-cd:"},
		{dmdTramadol50, "1 qds", 120, false, ""},
	} {
		res, err := rx.gp().Prescribe(rx.ctx, clinical.PrescribeInput{PatientRef: rx.pid, Code: c.code, Dose: c.dose, Quantity: c.qty, Repeat: c.repeat, Check: true})
		if err != nil {
			t.Fatal(err)
		}
		got := hasBase(res.Alerts, "supply-")
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%s %q x %v: %+v", c.code, c.dose, c.qty, got)
		case c.want != "" && (got == nil || !strings.HasPrefix(got.ID, c.want)):
			t.Errorf("%s %q x %v: want %s, got %+v", c.code, c.dose, c.qty, c.want, res.Alerts)
		}
	}
}

// TestDoseTableCitesEverySource: the shipped maximum-dose table parses, holds
// at least 40 medicines, and every band cites its document and date.
func TestDoseTableCitesEverySource(t *testing.T) {
	dt, err := clinical.DefaultDoseTable()
	if err != nil {
		t.Fatal(err)
	}
	if len(dt.Doses) < 40 {
		t.Fatalf("%d medicines in the dose table, want at least 40", len(dt.Doses))
	}
	child := 0
	for _, d := range dt.Doses {
		for _, b := range d.Bands {
			if !strings.Contains(b.Source, "BNF") && !strings.Contains(b.Source, "MHRA") {
				t.Errorf("%s: source %q cites neither the BNF nor the MHRA", d.ID, b.Source)
			}
			if !strings.Contains(b.Source, "2026-") && !strings.Contains(b.Source, "20") {
				t.Errorf("%s: source %q has no date", d.ID, b.Source)
			}
			if b.Age.Max != nil && *b.Age.Max < 18 {
				child++
			}
		}
	}
	if child < 5 {
		t.Errorf("%d child bands", child)
	}
	if _, err := clinical.ParseDoseTable([]byte("version: 1\nweightMaxAgeDays: 90\ndoses:\n  - {id: x, drug: {names: [x]}, per: day, bands: [{age: {}, max: 10, unit: mg, source: \"\"}]}\n")); err == nil {
		t.Fatal("a band without a source parsed")
	}
}
