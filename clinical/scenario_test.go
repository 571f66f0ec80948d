package clinical_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The prescribing-safety scenario table: every file in testdata/scenarios/
// is a list of cases (patient context, one medicine prescribed, the alerts
// and notes expected), run on the embedded default terminology and the
// default rules, through the same service actions the CLI, TUI and API use.
// The schema is documented in testdata/scenarios/README.md.

// scenarioFile is one YAML file of cases.
type scenarioFile struct {
	Cases []scenario `yaml:"cases"`
}

type scenario struct {
	Name    string `yaml:"name"`
	Patient struct {
		Sex       string `yaml:"sex"`       // female | male (default female)
		Age       int    `yaml:"age"`       // years on the scenario day (default 50)
		BirthDate string `yaml:"birthDate"` // instead of age
	} `yaml:"patient"`
	// Allergies absent: no known drug allergy is recorded. An empty list:
	// nothing is recorded (allergy status unknown).
	Allergies *[]scAllergy  `yaml:"allergies"`
	Meds      []scMed       `yaml:"meds"` // current medication, as a record transferred in
	Problems  []scProblem   `yaml:"problems"`
	Results   []scResult    `yaml:"results"`
	Prescribe scMed         `yaml:"prescribe"`
	Expect    []scExpect    `yaml:"expect"` // every alert and note raised, and nothing else
	Practice  *scPracticeCF `yaml:"practice"`
	// Doses: the dose and supply alerts and notes are part of what is
	// expected. Without it they are left out, so a case about allergies
	// need not restate the dose checks of its default dose.
	Doses bool `yaml:"doses"`
	// Step is the prescribing step checked (steps.go): prescribe (default,
	// a --check), issue or reauth of the medicine prescribed as a repeat
	// (every alert answered at authorisation), recheck (the record's banner
	// after After is recorded), or print (med print's wording, in Words).
	Step   string    `yaml:"step"`
	After  *scAfter  `yaml:"after"`  // recorded after the repeat was authorised
	Issued *scIssued `yaml:"issued"` // the repeat's last issue, days before the step
	Words  string    `yaml:"words"`  // print: the instructions med print gives
}

// scAfter are facts recorded after a repeat was authorised.
type scAfter struct {
	Allergies []scAllergy `yaml:"allergies"`
	Problems  []scProblem `yaml:"problems"`
	Results   []scResult  `yaml:"results"`
	Rules     string      `yaml:"rules"` // a practice rules file imported after authorisation
}

// scIssued is the repeat's last issue before the step.
type scIssued struct {
	DaysAgo int `yaml:"daysAgo"`
}

// scPracticeCF is practice configuration a case needs (rules files).
type scPracticeCF struct {
	Rules string `yaml:"rules"` // a rules YAML imported before the case (practice rules)
}

type scAllergy struct {
	Code     string `yaml:"code"`     // SNOMED CT agent or finding, or a dm+d product
	Text     string `yaml:"text"`     // recorded as text only (an import of an uncoded allergy)
	Reaction string `yaml:"reaction"` // e.g. anaphylaxis
	Severity string `yaml:"severity"` // mild | moderate | severe
	Type     string `yaml:"type"`     // allergy | intolerance
	Category string `yaml:"category"` // medication | food | environment | biologic
	NKDA     bool   `yaml:"nkda"`
}

// scMed is a medicine: by dm+d code, or by its exact dm+d name (VMP chosen
// over an AMP of the same name).
type scMed struct {
	Code         string  `yaml:"code"`
	Product      string  `yaml:"product"`
	Dose         string  `yaml:"dose"`
	Quantity     float64 `yaml:"quantity"`
	Route        string  `yaml:"route"` // documents the route; checked against the product's dm+d/BNF route
	Repeat       bool    `yaml:"repeat"`
	DurationDays int     `yaml:"durationDays"`
}

type scProblem struct {
	Code  string `yaml:"code"`
	Onset string `yaml:"onset"`
}

type scResult struct {
	Code    string  `yaml:"code"`
	Value   float64 `yaml:"value"`
	Unit    string  `yaml:"unit"`
	DaysAgo int     `yaml:"daysAgo"`
	Date    string  `yaml:"date"` // instead of daysAgo
}

// scExpect is one expected alert or note. Kind is "not-checked" for a note,
// else the alert id's first part (allergy, interaction, duplicate, rule,
// allergy-status, allergy-text…). Severity, ID (a path.Match pattern) and
// Message (a substring, any case) are checked when given.
type scExpect struct {
	Kind     string `yaml:"kind"`
	Severity string `yaml:"severity"`
	ID       string `yaml:"id"`
	Message  string `yaml:"message"`
}

// scenarioDay is the clock of every case.
var scenarioDay = time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)

func TestSafetyScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenario files in testdata/scenarios")
	}
	total := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var sf scenarioFile
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&sf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(sf.Cases) == 0 {
			t.Fatalf("%s: no cases", file)
		}
		names := map[string]bool{}
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			rx := newRxPractice(t)
			for _, sc := range sf.Cases {
				if sc.Name == "" || names[sc.Name] {
					t.Fatalf("%s: every case needs a unique name (%q)", file, sc.Name)
				}
				names[sc.Name] = true
				t.Run(sc.Name, func(t *testing.T) { runScenario(t, rx, sc) })
			}
		})
		total += len(sf.Cases)
	}
	t.Logf("%d scenarios in %d files", total, len(files))
}

// scenarioProducts resolves exact dm+d names once per test binary.
var scenarioProducts = map[string]string{}

func scenarioProduct(t *testing.T, tm *terminology.Terminology, m scMed) terminology.Product {
	t.Helper()
	code := m.Code
	if code == "" {
		if m.Product == "" {
			t.Fatal("a medicine needs code or product")
		}
		if c, ok := scenarioProducts[strings.ToLower(m.Product)]; ok {
			code = c
		} else {
			rs, err := tm.Search(context.Background(), m.Product, terminology.SearchOptions{System: "dmd", Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			best := ""
			for _, r := range rs {
				if !strings.EqualFold(r.Term, m.Product) {
					continue
				}
				p, err := tm.Product(r.Code)
				if err != nil {
					continue
				}
				if best == "" || p.Kind == "VMP" {
					best = r.Code
				}
				if p.Kind == "VMP" {
					break
				}
			}
			if best == "" {
				t.Fatalf("product %q: no dm+d product of that exact name in the embedded dictionary", m.Product)
			}
			scenarioProducts[strings.ToLower(m.Product)] = best
			code = best
		}
	}
	p, err := tm.Product(code)
	if err != nil {
		t.Fatalf("product %s: %v", code, err)
	}
	if m.Route != "" && !productHasRoute(p, m.Route) {
		t.Fatalf("product %s (%s) is not given by route %q", p.Code, p.Name, m.Route)
	}
	return p
}

// productHasRoute: dm+d's routes when known, else what the name says.
func productHasRoute(p terminology.Product, route string) bool {
	route = strings.ToLower(route)
	for _, r := range p.Routes {
		if strings.Contains(strings.ToLower(r.Term), route) {
			return true
		}
	}
	if len(p.Routes) > 0 {
		return false
	}
	n := strings.ToLower(p.Name)
	topical := strings.Contains(n, " gel") || strings.Contains(n, "cream") || strings.Contains(n, "ointment") ||
		strings.Contains(n, "spray") && !strings.Contains(n, "oral") || strings.Contains(n, "patch") || strings.Contains(n, "foam")
	switch route {
	case "topical", "cutaneous":
		return topical
	case "oral":
		return !topical && !strings.Contains(n, "injection") && !strings.Contains(n, "inhal") && !strings.Contains(n, "eye") && !strings.Contains(n, "suppositor")
	case "inhaled", "inhalation":
		return strings.Contains(n, "inhal")
	}
	return true
}

func runScenario(t *testing.T, rx *rxPractice, sc scenario) {
	tm := rxTerminology(t)
	ctx := context.Background()
	gp := rx.gp()
	if sc.Practice != nil && sc.Practice.Rules != "" {
		if _, err := rx.as("admin").ImportRulesWith(ctx, []byte(sc.Practice.Rules), clinical.ImportRulesOptions{AllowRemove: true}); err != nil {
			t.Fatalf("practice rules: %v", err)
		}
		t.Cleanup(func() { resetRules(t, rx) })
	}
	sex := sc.Patient.Sex
	if sex == "" {
		sex = "female"
	}
	dob := sc.Patient.BirthDate
	if dob == "" {
		age := sc.Patient.Age
		if age == 0 {
			age = 50
		}
		dob = scenarioDay.AddDate(-age, 0, -1).Format(record.DateLayout)
	}
	pid := rx.patient(strings.ReplaceAll(sc.Name, " ", "-"), sex, dob)

	// Allergies: coded ones through AddAllergy, text-only ones as an import
	// of an uncoded record brings them (FHIR AllergyIntolerance with text only).
	if sc.Allergies == nil {
		rx.nkda(pid)
	} else {
		for _, a := range *sc.Allergies {
			switch {
			case a.NKDA:
				rx.nkda(pid)
			case a.Text != "":
				importTextAllergy(t, rx, pid, a)
			default:
				in := clinical.AllergyInput{PatientRef: pid, Code: a.Code, Reaction: a.Reaction, Severity: a.Severity,
					Type: a.Type, Category: a.Category}
				if _, err := gp.AddAllergy(ctx, in); err != nil {
					t.Fatalf("allergy %s: %v", a.Code, err)
				}
			}
		}
	}
	// Current medication arrives as a transferred-in record does (medication
	// history is imported without prescribing checks), so the context does
	// not depend on the checks under test.
	if len(sc.Meds) > 0 {
		var buf bytes.Buffer
		for _, m := range sc.Meds {
			p := scenarioProduct(t, tm, m)
			med := record.Medication{Meta: record.Meta{PatientID: pid, Status: "active"},
				Code: record.Code{System: record.SystemDMD, Code: p.Code, Display: p.Name},
				Type: "repeat", Dose: or(m.Dose, "1 od"), Quantity: orf(m.Quantity, 28), Unit: clinical.UnitOf(p),
				IssuesAuthorised: 6, AuthorisedOn: scenarioDay.AddDate(0, -1, 0).Format(record.DateLayout), Prescriber: "dr.patel"}
			if !m.Repeat && m.DurationDays > 0 { // an acute within its course
				med.Type, med.Status, med.IssuesAuthorised, med.DurationDays = "acute", "completed", 0, m.DurationDays
				med.Issues = []record.Issue{{At: scenarioDay.AddDate(0, 0, -2), By: "dr.patel", Quantity: med.Quantity}}
			}
			b, _ := json.Marshal(med)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		sum, err := gp.ImportEntries(ctx, record.KindMedication, &buf, clinical.ImportOptions{})
		if err != nil {
			t.Fatalf("current medication: %v", err)
		}
		if sum.Written != len(sc.Meds) {
			t.Fatalf("current medication: %d of %d written: %+v", sum.Written, len(sc.Meds), sum.Rejections)
		}
	}
	for _, pr := range sc.Problems {
		if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, Code: pr.Code, Onset: pr.Onset}); err != nil {
			t.Fatalf("problem %s: %v", pr.Code, err)
		}
	}
	for _, r := range sc.Results {
		eff := scenarioDay.AddDate(0, 0, -r.DaysAgo)
		if r.Date != "" {
			d, err := time.Parse(record.DateLayout, r.Date)
			if err != nil {
				t.Fatalf("result date %q: %v", r.Date, err)
			}
			eff = d.Add(9 * time.Hour)
		}
		v := r.Value
		if _, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: r.Code, Value: &v, Unit: r.Unit, Effective: eff}); err != nil {
			t.Fatalf("result %s: %v", r.Code, err)
		}
	}

	prod := scenarioProduct(t, tm, sc.Prescribe)
	var got []clinical.SafetyAlert
	if sc.Step != "" && sc.Step != "prescribe" {
		got = runStep(t, rx, sc, pid, prod)
	} else {
		res, err := gp.Prescribe(ctx, clinical.PrescribeInput{PatientRef: pid, Code: prod.Code, Dose: or(sc.Prescribe.Dose, "1 tds"),
			Quantity: orf(sc.Prescribe.Quantity, 21), Repeat: sc.Prescribe.Repeat, DurationDays: sc.Prescribe.DurationDays, Check: true})
		if err != nil {
			t.Fatalf("check %s (%s): %v", prod.Code, prod.Name, err)
		}
		got = append(append([]clinical.SafetyAlert{}, res.Alerts...), res.Notes...)
	}
	if !sc.Doses {
		got = withoutDoseChecks(got)
	}
	if msg := matchExpect(sc.Expect, got); msg != "" {
		var lines []string
		for _, a := range got {
			lines = append(lines, fmt.Sprintf("  %s %s [%s] %s", alertKind(a), a.Severity, a.ID, a.Message))
		}
		sort.Strings(lines)
		t.Errorf("%s (%s): %s\nraised:\n%s", prod.Name, prod.Code, msg, strings.Join(lines, "\n"))
	}
}

// resetRules puts the default rules back after a case that imported its own.
func resetRules(t *testing.T, rx *rxPractice) {
	for _, kind := range []string{"contraindications", "interactions"} {
		if _, err := rx.as("admin").ImportRules(context.Background(), clinical.DefaultRuleText(kind)); err != nil {
			t.Fatalf("restore default %s: %v", kind, err)
		}
	}
}

// importTextAllergy brings in an allergy recorded as text only, as a GP2GP or
// FHIR transfer from a system that did not code it does.
func importTextAllergy(t *testing.T, rx *rxPractice, pid string, a scAllergy) {
	t.Helper()
	ai := map[string]any{
		"resourceType":   "AllergyIntolerance",
		"id":             fmt.Sprintf("text-allergy-%s-%d", pid, len(a.Text)),
		"patient":        map[string]any{"reference": "Patient/" + pid},
		"code":           map[string]any{"text": a.Text},
		"clinicalStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}}},
	}
	if a.Category != "" {
		ai["category"] = []string{a.Category}
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "collection",
		"entry": []any{map[string]any{"fullUrl": "urn:uuid:" + fmt.Sprintf("00000000-0000-4000-8000-%012d", len(a.Text)), "resource": ai}}}
	data, _ := json.Marshal(bundle)
	sum, err := interop.ImportFHIR(context.Background(), rx.gp(), []interop.FHIRInput{{Name: "text-allergy.json", Data: data}}, interop.FHIRImportOptions{})
	if err != nil {
		t.Fatalf("text allergy: %v", err)
	}
	if sum.Imported != 1 {
		t.Fatalf("text allergy not imported: %+v", sum.Rejections)
	}
}

func alertKind(a clinical.SafetyAlert) string {
	if a.Kind != "" {
		return a.Kind
	}
	k, _, _ := strings.Cut(a.ID, ":")
	return k
}

// matchExpect pairs every expectation with a distinct alert or note; what is
// left over on either side is the failure.
func matchExpect(want []scExpect, got []clinical.SafetyAlert) string {
	used := make([]bool, len(got))
	var missing []string
	for _, w := range want {
		found := false
		for i, a := range got {
			if used[i] || alertKind(a) != w.Kind || (w.Severity != "" && a.Severity != w.Severity) {
				continue
			}
			if w.ID != "" {
				id := a.ID
				if !strings.Contains(w.ID, "@") { // the facts hash is matched only when the pattern names it
					id = clinical.BaseAlertID(a.ID)
				}
				if ok, _ := path.Match(w.ID, id); !ok {
					continue
				}
			}
			if w.Message != "" && !strings.Contains(strings.ToLower(a.Message), strings.ToLower(w.Message)) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%+v", w))
		}
	}
	var extra []string
	for i, a := range got {
		if !used[i] {
			extra = append(extra, alertKind(a)+"/"+a.Severity+" "+a.ID)
		}
	}
	switch {
	case len(missing) > 0 && len(extra) > 0:
		return fmt.Sprintf("expected but not raised: %s; raised but not expected: %s", strings.Join(missing, ", "), strings.Join(extra, ", "))
	case len(missing) > 0:
		return "expected but not raised: " + strings.Join(missing, ", ")
	case len(extra) > 0:
		return "raised but not expected: " + strings.Join(extra, ", ")
	}
	return ""
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orf(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// doseCheck is an alert or note of the dose and supply checks.
func doseCheck(a clinical.SafetyAlert) bool {
	k := alertKind(a)
	return strings.HasPrefix(k, "dose-") || strings.HasPrefix(k, "supply-") || strings.HasPrefix(a.ID, "not-checked:dose:")
}

func withoutDoseChecks(as []clinical.SafetyAlert) []clinical.SafetyAlert {
	out := []clinical.SafetyAlert{}
	for _, a := range as {
		if !doseCheck(a) {
			out = append(out, a)
		}
	}
	return out
}

// runStep prescribes the case's medicine as a repeat, answering every alert
// (authorisation), records what comes after, and returns what the step raises.
func runStep(t *testing.T, rx *rxPractice, sc scenario, pid string, prod terminology.Product) []clinical.SafetyAlert {
	t.Helper()
	ctx := context.Background()
	gp := rx.gp()
	in := clinical.PrescribeInput{PatientRef: pid, Code: prod.Code, Dose: or(sc.Prescribe.Dose, "1 od"),
		Quantity: orf(sc.Prescribe.Quantity, 28), Repeat: true, Issues: 6, DurationDays: sc.Prescribe.DurationDays}
	chk := in
	chk.Check = true
	res, err := gp.Prescribe(ctx, chk)
	if err != nil {
		t.Fatalf("check %s: %v", prod.Name, err)
	}
	in.Answers.Override = map[string]string{}
	for _, a := range res.Alerts {
		in.Answers.Override[a.ID] = "authorised in the scenario"
	}
	res, err = gp.Prescribe(ctx, in)
	if err != nil {
		t.Fatalf("authorise %s: %v", prod.Name, err)
	}
	m := res.Medication
	if sc.Step == "print" {
		mp, err := gp.PrintMedications(ctx, pid, clinical.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range mp.Items {
			if it.Drug == prod.Name && it.Instructions != sc.Words {
				t.Errorf("med print %q: %q, want %q", it.Dose, it.Instructions, sc.Words)
			}
		}
		return []clinical.SafetyAlert{}
	}
	var back time.Duration
	t.Cleanup(func() { rx.tick(-back) })
	if sc.Issued != nil {
		ir, err := gp.IssueWith(ctx, clinical.IssueInput{PatientRef: pid, IDs: []string{m.ID}})
		if err != nil {
			t.Fatalf("first issue: %v", err)
		}
		m = ir.Issued[0]
		back = time.Duration(sc.Issued.DaysAgo) * 24 * time.Hour
		rx.tick(back)
	}
	if a := sc.After; a != nil {
		for _, al := range a.Allergies {
			if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, Code: al.Code, Reaction: al.Reaction, Severity: al.Severity, Type: al.Type}); err != nil {
				t.Fatalf("allergy after: %v", err)
			}
		}
		for _, pr := range a.Problems {
			if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, Code: pr.Code}); err != nil {
				t.Fatalf("problem after: %v", err)
			}
		}
		for _, r := range a.Results {
			v := r.Value
			eff := scenarioDay.Add(back).AddDate(0, 0, -r.DaysAgo)
			if _, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: r.Code, Value: &v, Unit: r.Unit, Effective: eff}); err != nil {
				t.Fatalf("result after: %v", err)
			}
		}
		if a.Rules != "" {
			if _, err := rx.as("admin").ImportRulesWith(ctx, []byte(a.Rules), clinical.ImportRulesOptions{AllowRemove: true}); err != nil {
				t.Fatalf("rules after: %v", err)
			}
			t.Cleanup(func() { resetRules(t, rx) })
		}
	}
	var ae *clinical.AlertsError
	switch sc.Step {
	case "issue":
		ir, err := gp.IssueWith(ctx, clinical.IssueInput{PatientRef: pid, IDs: []string{m.ID}})
		if errors.As(err, &ae) {
			return ae.Alerts
		}
		if err != nil {
			t.Fatalf("issue: %v", err)
		}
		return ir.Notes
	case "reauth":
		rr, err := gp.ReauthoriseWith(ctx, clinical.ReauthInput{PatientRef: pid, ID: m.ID, Issues: 6})
		if errors.As(err, &ae) {
			return ae.Alerts
		}
		if err != nil {
			t.Fatalf("reauth: %v", err)
		}
		return rr.Notes
	case "recheck":
		mas, err := gp.MedicineAlerts(ctx, pid, clinical.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []clinical.SafetyAlert
		for _, x := range mas {
			out = append(out, x.Alert)
		}
		sm, err := gp.RecordSummary(ctx, pid, clinical.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		banner := 0
		for _, a := range *sm.Alerts {
			if a.Kind == "medicine" {
				banner++
			}
		}
		if banner != len(out) {
			t.Errorf("the record banner shows %d medicine alerts, the re-check %d", banner, len(out))
		}
		return out
	}
	t.Fatalf("step %q: must be prescribe, issue, reauth, recheck or print", sc.Step)
	return nil
}
