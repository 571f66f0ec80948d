package clinical_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/terminology"
)

// realTerms gives a practice a real terminology (the embedded default, or
// what was imported into it), as gpsoc's commands do.
type realTerms struct{ tm *terminology.Terminology }

func (r realTerms) Lookup(system, code string) (string, error) {
	if err := r.tm.Validate(system, code); err != nil {
		return "", record.Invalid("code", code, "%v", err)
	}
	d, err := r.tm.Concept(system, code)
	return d.PreferredTerm, err
}

func (r realTerms) Hierarchies(system, code string) ([]string, error) {
	return r.tm.Hierarchies(system, code)
}

// validPractice is a practice on terms, with a GP and one patient born
// 1961-03-12, on a fixed clock.
func validPractice(t *testing.T, terms clinical.Terminology) (*clinical.Service, *clinical.Service, string, time.Time) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)
	p := clinical.New(clinical.Options{Store: st, Terms: terms, Now: func() time.Time { return now }})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Leeds Road Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	if _, err := admin.AddUser(ctx, record.User{Name: "dr.patel", Role: record.RoleGP, Prescriber: true}); err != nil {
		t.Fatal(err)
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}
	if _, err := admin.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	gp, err := p.As(ctx, "dr.patel")
	if err != nil {
		t.Fatal(err)
	}
	return gp, admin, pt.ID, now
}

func wantInvalid(t *testing.T, err error, field string, contains ...string) {
	t.Helper()
	var ve *record.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a validation error on %s", err, field)
	}
	if ve.Field != field {
		t.Errorf("field = %q, want %q (%v)", ve.Field, field, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not say %q", err, c)
		}
	}
}

func f64(v float64) *float64 { return &v }

// codesForTheirField runs the field rules against a practice on tm.
func codesForTheirField(t *testing.T, tm *terminology.Terminology) {
	gp, _, pid, _ := validPractice(t, realTerms{tm})
	ctx := context.Background()
	_, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, Code: "387458008"}) // Aspirin (substance)
	wantInvalid(t, err, "code", "387458008", "substance", "a problem")
	_, err = gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, Code: "38341003"}) // Hypertension (disorder)
	wantInvalid(t, err, "agent", "38341003", "an allergy agent")
	_, err = gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: "387458008", Value: f64(75)})
	wantInvalid(t, err, "code", "387458008", "an observation")
	// What fits is written.
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, Code: "38341003"}); err != nil {
		t.Errorf("hypertension as a problem: %v", err)
	}
	if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, Code: "387458008"}); err != nil {
		t.Errorf("aspirin as an allergy agent: %v", err)
	}
	if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, Code: "91936005"}); err != nil {
		t.Errorf("allergy to penicillin (an allergy finding) as an allergy: %v", err)
	}
	if _, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: "27113001", Value: f64(82.5), Unit: "kg"}); err != nil {
		t.Errorf("body weight: %v", err)
	}
	// The same rules on the NDJSON import.
	sum, err := interop.ImportEntries(ctx, gp, record.KindProblem, strings.NewReader(
		`{"patientId":"`+pid+`","code":{"system":"http://snomed.info/sct","code":"387458008"}}`+"\n"), clinical.ImportOptions{})
	if err != nil || sum.Written != 0 || len(sum.Rejections) != 1 || sum.Rejections[0].Field != "code" {
		t.Errorf("aspirin problem imported: %+v, %v", sum, err)
	}
}

func TestCodesValidForTheirFieldOnTheEmbeddedTerminology(t *testing.T) {
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	for code, want := range map[string]string{"387458008": "substance", "38341003": "disorder", "91936005": "allergy finding",
		"27113001": "observable entity", "91935009": "allergy finding", "762952008": "substance", "71388002": "procedure"} {
		tags, err := tm.Hierarchies("sct", code)
		if err != nil || !strings.Contains(strings.Join(tags, ","), want) {
			t.Errorf("Hierarchies(%s) = %v, %v; want %s", code, tags, err, want)
		}
	}
	codesForTheirField(t, tm)
}

// writeRF2 writes a SNOMED CT RF2 Snapshot of concepts (id -> FSN, parent)
// into dir: the shape of a real release, with the concepts the field rules
// need (their ids and terms as in supplement.csv, which cites them).
func writeRF2(t *testing.T, dir string, concepts [][3]string) {
	t.Helper()
	td := filepath.Join(dir, "Snapshot", "Terminology")
	if err := os.MkdirAll(td, 0o755); err != nil {
		t.Fatal(err)
	}
	var c, d, r strings.Builder
	c.WriteString("id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId\n")
	d.WriteString("id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId\n")
	r.WriteString("id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\ttypeId\tcharacteristicTypeId\tmodifierId\n")
	for i, x := range concepts {
		fmt.Fprintf(&c, "%s\t20250101\t1\t900000000000207008\t900000000000074008\n", x[0])
		fmt.Fprintf(&d, "%d011\t20250101\t1\t900000000000207008\t%s\ten\t900000000000003001\t%s\t900000000000448009\n", 100+i, x[0], x[1])
		if x[2] != "" {
			fmt.Fprintf(&r, "%d021\t20250101\t1\t900000000000207008\t%s\t%s\t0\t116680003\t900000000000011006\t900000000000451002\n", 100+i, x[0], x[2])
		}
	}
	for name, b := range map[string]*strings.Builder{"sct2_Concept_Snapshot_INT_20250101.txt": &c,
		"sct2_Description_Snapshot-en_INT_20250101.txt": &d, "sct2_Relationship_Snapshot_INT_20250101.txt": &r} {
		if err := os.WriteFile(filepath.Join(td, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCodesValidForTheirFieldAfterAnRF2Import(t *testing.T) {
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	rf2 := t.TempDir()
	writeRF2(t, rf2, [][3]string{
		{"138875005", "SNOMED CT Concept (SNOMED RT+CTV3)", ""},
		{"404684003", "Clinical finding (finding)", "138875005"},
		{"64572001", "Disease (disorder)", "404684003"},
		{"38341003", "Hypertensive disorder, systemic arterial (disorder)", "64572001"},
		{"420134006", "Propensity to adverse reaction (finding)", "404684003"},
		{"91936005", "Allergy to penicillin (finding)", "420134006"},
		{"105590001", "Substance (substance)", "138875005"},
		{"387458008", "Aspirin (substance)", "105590001"},
		{"363787002", "Observable entity (observable entity)", "138875005"},
		{"27113001", "Body weight (observable entity)", "363787002"},
		{"71388002", "Procedure (procedure)", "138875005"},
	})
	if _, err := tm.ImportRF2(rf2); err != nil {
		t.Fatal(err)
	}
	if d, err := tm.Concept("sct", "38341003"); err != nil || !strings.HasPrefix(d.FSN, "Hypertensive disorder") {
		t.Fatalf("the imported release is not the one in use: %+v, %v", d, err)
	}
	codesForTheirField(t, tm)
}

func TestObservableTableEveryRowCited(t *testing.T) {
	tab := clinical.Observables()
	if len(tab.Observables) < 15 {
		t.Fatalf("%d observables in the table", len(tab.Observables))
	}
	rows := 0
	for _, o := range tab.Observables {
		for _, u := range o.Units {
			rows++
			if strings.TrimSpace(u.Source) == "" || strings.TrimSpace(u.Section) == "" || u.Date == "" {
				t.Errorf("%s %s %s: no citation (source, section, date)", o.Name, u.Unit, u.Component)
			}
			if u.Impossible.Below == nil && u.Impossible.Above == nil {
				t.Errorf("%s %s: no impossible range", o.Name, u.Unit)
			}
		}
	}
	// Every observable the issue names is there, by code.
	for name, code := range map[string]string{"BP": "75367002", "pulse": "78564009", "temperature": "386725007", "SpO2": "431314004",
		"weight": "27113001", "height": "50373000", "BMI": "60621009", "waist": "276361009", "HbA1c": "999791000000106",
		"eGFR": "1011481000000105", "creatinine": "1000731000000107", "potassium": "1000651000000109",
		"sodium": "1000661000000107", "cholesterol": "1005671000000105", "peak flow": "29893006"} {
		if tab.Lookup(record.SystemSNOMED, code) == nil {
			t.Errorf("%s (%s) is not in the table", name, code)
		}
	}
	// The loader refuses a row without its citation, and a range the wrong way round.
	src, err := os.ReadFile("observables/ranges.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for what, broken := range map[string]string{
		"no source":  strings.Replace(string(src), `source: "NHS Data Dictionary, PERSON WEIGHT`, `xsource: "`, 1),
		"no section": strings.Replace(string(src), `section: "PERSON WEIGHT format/length"`, `section: ""`, 1),
		"bad date":   strings.Replace(string(src), "date: 2024-04-01", "date: April 2024", 1),
		"inside out": strings.Replace(string(src), "implausible: {below: 1, above: 300}", "implausible: {below: 0.1, above: 300}", 1),
	} {
		if broken == string(src) {
			t.Fatalf("%s: the table changed; update this test", what)
		}
		if _, err := clinical.LoadObservables([]byte(broken)); err == nil {
			t.Errorf("%s: loaded", what)
		}
	}
	if _, err := clinical.LoadObservables(src); err != nil {
		t.Errorf("the shipped table: %v", err)
	}
}

func obs(code, unit string, v float64) *record.Observation {
	return &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: code}, Value: &v, Unit: unit}
}

func bp(sys, dia float64) *record.Observation {
	return &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: clinical.BPCode}, Systolic: &sys, Diastolic: &dia, Unit: "mm[Hg]"}
}

func TestObservationValuesImpossibleAndWrongUnits(t *testing.T) {
	for _, c := range []struct {
		what  string
		o     *record.Observation
		field string
		says  []string
	}{
		{"BP 300/20", bp(300, 20), "bp", []string{"300/20", "impossible", "pulse pressure"}},
		{"BP 420/90", bp(420, 90), "systolic", []string{"impossible", "40–300"}},
		{"weight -5 kg", obs("27113001", "kg", -5), "value", []string{"-5 kg", "impossible", "0.2–650"}},
		{"eGFR -5 kg", obs("1011481000000105", "kg", -5), "unit", []string{`"kg"`, "mL/min/{1.73_m2}"}},
		{"HbA1c 7.5 % under mmol/mol", obs("999791000000106", "%", 7.5), "unit", []string{`"%"`, "mmol/mol"}},
		{"HbA1c 7.5 mmol/mol", obs("999791000000106", "mmol/mol", 7.5), "value", []string{"impossible", "DCCT", "58 mmol/mol"}},
		{"BP under body weight", &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "27113001"}, Systolic: f64(140), Diastolic: f64(90)}, "bp", []string{"Body weight", "does not take a blood pressure"}},
		{"one number under BP", obs(clinical.BPCode, "mm[Hg]", 140), "value", []string{"systolic/diastolic"}},
		{"1e308 kg", obs("27113001", "kg", 1e308), "value", []string{"not a measurement"}},
		{"1e308 of anything", obs("999999999", "", 1e308), "value", []string{"not a measurement"}},
		{"SpO2 101 %", obs("431314004", "%", 101), "value", []string{"impossible"}},
		{"temperature 98.6 Cel", obs("386725007", "Cel", 98.6), "value", []string{"impossible", "13.7–46.5"}},
		{"decimal comma", &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "27113001"}, ValueText: "82,5"}, "value", []string{"decimal point"}},
	} {
		for _, mode := range []clinical.ValueMode{clinical.ValuesTyped, clinical.ValuesConfirmed, clinical.ValuesImported} {
			o := *c.o
			err := clinical.CheckObservation(&o, mode)
			var ve *record.ValidationError
			if !errors.As(err, &ve) || ve.Confirm {
				t.Errorf("%s (mode %d): err = %v, want a refusal that cannot be confirmed", c.what, mode, err)
				continue
			}
			if ve.Field != c.field {
				t.Errorf("%s: field %q, want %q (%v)", c.what, ve.Field, c.field, err)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: %q does not say %q", c.what, err, s)
				}
			}
		}
	}
	// Plain values pass without a flag, whatever the mode; an alias unit is accepted.
	for _, o := range []*record.Observation{bp(138, 86), obs("27113001", "kg", 82.5), obs("1011481000000105", "mL/min/1.73m2", 62),
		obs("999791000000106", "mmol/mol", 53), obs("1003671000000109", "%", 7.5), obs("386725007", "°C", 37.2), obs("27113001", "", 80)} {
		if err := clinical.CheckObservation(o, clinical.ValuesTyped); err != nil || len(o.Flags) > 0 {
			t.Errorf("%s %v %s: %v %v", o.Code.Code, *valueOf(o), o.Unit, err, o.Flags)
		}
	}
}

func valueOf(o *record.Observation) *float64 {
	if o.Value != nil {
		return o.Value
	}
	return o.Systolic
}

func TestImplausibleValuesByPath(t *testing.T) {
	// Typed: refused, and the face may ask for confirmation.
	o := obs("27113001", "kg", 310)
	err := clinical.CheckObservation(o, clinical.ValuesTyped)
	if !clinical.IsConfirmable(err) || !strings.Contains(err.Error(), "implausible") || !strings.Contains(err.Error(), "1–300") {
		t.Errorf("typed 310 kg: %v", err)
	}
	// Confirmed, or imported: stored, flagged, not held.
	for _, mode := range []clinical.ValueMode{clinical.ValuesConfirmed, clinical.ValuesImported} {
		o := obs("27113001", "kg", 310)
		if err := clinical.CheckObservation(o, mode); err != nil || len(o.Flags) != 1 || o.Flags[0].Kind != clinical.FlagImplausible || o.Review {
			t.Errorf("mode %d: %v %+v review=%v", mode, err, o.Flags, o.Review)
		}
	}
	o = bp(260, 100)
	if err := clinical.CheckObservation(o, clinical.ValuesImported); err != nil || len(o.Flags) == 0 || !strings.Contains(o.Flags[0].Reason, "systolic") {
		t.Errorf("BP 260/100 imported: %v %+v", err, o.Flags)
	}
}

// A laboratory report is never refused for its values: what fails is kept
// as given, flagged and held for review (the results inbox builds on this).
func TestLabReportModeKeepsWhatFailsForReview(t *testing.T) {
	for _, c := range []struct {
		what string
		o    *record.Observation
		kind string
	}{
		{"a lab's own unit", obs("1000651000000109", "mEq/L", 4.1), clinical.FlagUnit},
		{"out of range", obs("1000651000000109", "mmol/L", 16), clinical.FlagImpossible},
		{"implausible", obs("1000651000000109", "mmol/L", 8.5), clinical.FlagImplausible},
		{"decimal comma", &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "1000661000000107"}, ValueText: "140,2"}, clinical.FlagUnparsed},
		{"not a number", obs("1000661000000107", "mmol/L", 1e300), clinical.FlagImpossible},
	} {
		before := *c.o
		err := clinical.CheckObservation(c.o, clinical.ValuesLabReport)
		if err != nil {
			t.Errorf("%s: refused: %v", c.what, err)
			continue
		}
		if !c.o.Review || len(c.o.Flags) == 0 || c.o.Flags[0].Kind != c.kind || c.o.Flags[0].Reason == "" {
			t.Errorf("%s: flags %+v review %v, want %s held for review", c.what, c.o.Flags, c.o.Review, c.kind)
		}
		if c.o.Unit != before.Unit || c.o.ValueText != before.ValueText || (before.Value != nil && *c.o.Value != *before.Value) {
			t.Errorf("%s: the value was changed: %+v", c.what, c.o)
		}
	}
	o := obs("1000651000000109", "mmol/L", 4.1)
	if err := clinical.CheckObservation(o, clinical.ValuesLabReport); err != nil || o.Review || len(o.Flags) != 0 {
		t.Errorf("a plain potassium: %v %+v", err, o)
	}
	// Through the service's one entry point: held for its value, refused for its date.
	gp, _, pid, now := validPractice(t, nil)
	p := &record.Patient{BirthDate: "1961-03-12"}
	p.ID = pid
	lab := obs("1000651000000109", "mEq/L", 4.1)
	lab.PatientID, lab.Effective = pid, now.Add(-time.Hour)
	if err := gp.ValidateEntry(p, lab, clinical.ValuesLabReport); err != nil || !lab.Review {
		t.Errorf("lab value through ValidateEntry: %v %+v", err, lab)
	}
	lab.Effective = time.Date(1950, 1, 1, 9, 0, 0, 0, time.UTC)
	if err := gp.ValidateEntry(p, lab, clinical.ValuesLabReport); err == nil || !strings.Contains(err.Error(), "date of birth") {
		t.Errorf("a lab result dated before birth: %v", err)
	}
	// And an import of the same value refuses the unknown unit.
	lab.Effective = now.Add(-time.Hour)
	if err := gp.ValidateEntry(p, lab, clinical.ValuesImported); err == nil || !strings.Contains(err.Error(), "mEq/L") {
		t.Errorf("an imported mEq/L: %v", err)
	}
}

func TestDatesWithinThePatientsLifeAndTheClock(t *testing.T) {
	gp, admin, pid, now := validPractice(t, nil)
	ctx := context.Background()
	_, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: "27113001", Value: f64(80), Unit: "kg",
		Effective: time.Date(1960, 5, 1, 9, 0, 0, 0, time.UTC)})
	wantInvalid(t, err, "effective", "1960-05-01", "before the patient's date of birth 1961-03-12")
	_, err = gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, Code: "38341003", Onset: "1950-01-01"})
	wantInvalid(t, err, "onset", "before the patient's date of birth")
	_, err = gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: "27113001", Value: f64(80), Unit: "kg",
		Effective: now.Add(25 * time.Hour)})
	wantInvalid(t, err, "date", "in the future", "24 hours")
	// Within 24 hours (a lab's clock ahead of ours) is kept.
	if _, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: pid, Code: "27113001", Value: f64(80), Unit: "kg",
		Effective: now.Add(2 * time.Hour)}); err != nil {
		t.Errorf("2 h ahead: %v", err)
	}
	// An import is held to the same dates, line by line.
	sum, err := interop.ImportEntries(ctx, gp, record.KindObservation, strings.NewReader(strings.Join([]string{
		`{"patientId":"` + pid + `","code":{"system":"http://snomed.info/sct","code":"27113001"},"value":81,"unit":"kg","effective":"2099-01-01T09:00:00Z"}`,
		`{"patientId":"` + pid + `","code":{"system":"http://snomed.info/sct","code":"27113001"},"value":81,"unit":"kg","effective":"1955-01-01T09:00:00Z"}`,
		`{"patientId":"` + pid + `","code":{"system":"http://snomed.info/sct","code":"27113001"},"value":81,"unit":"kg","effective":"1985-01-01T09:00:00Z"}`,
	}, "\n")+"\n"), clinical.ImportOptions{})
	if err != nil || sum.Written != 1 || len(sum.Rejections) != 2 || sum.Rejections[0].Line != 1 || sum.Rejections[1].Line != 2 ||
		!strings.Contains(sum.Rejections[0].Reason, "future") || !strings.Contains(sum.Rejections[1].Reason, "date of birth") {
		t.Errorf("import: %+v, %v", sum, err)
	}
	// A date of birth moved after existing entries is refused, naming them.
	later := "1990-06-01"
	_, err = admin.UpdatePatient(ctx, pid, clinical.PatientUpdate{BirthDate: &later})
	wantInvalid(t, err, "birthDate", "1990-06-01", "observation", "effective 1985-01-01", "before birth")
	earlier := "1961-03-01"
	if _, err := admin.UpdatePatient(ctx, pid, clinical.PatientUpdate{BirthDate: &earlier}); err != nil {
		t.Errorf("an earlier date of birth: %v", err)
	}
}
