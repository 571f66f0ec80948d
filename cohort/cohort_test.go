package cohort

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// fakeSets resolves clusters and classes from literal code lists.
type fakeSets map[string][]string

func (f fakeSets) CodeSet(kind, text string) (CodeSet, error) {
	codes, ok := f[kind+":"+text]
	if !ok {
		return nil, fmt.Errorf("unknown %s %q", kind, text)
	}
	s := listSet{system: record.SystemSNOMED, codes: map[string]bool{}}
	for _, c := range codes {
		s.codes[c] = true
	}
	return s, nil
}

func (f fakeSets) MedicineSet(kind, text string) (CodeSet, error) { return f.CodeSet(kind, text) }

var sets = fakeSets{
	"cluster:DM_COD":       {"44054006", "46635009"},
	"cluster:DMRES_COD":    {"315051004"},
	"cluster:IFCCHBAM_COD": {"1049301000000100"},
	"cluster:BP_COD":       {"75367002"},
	"class:anticoagulants": {"vmp-apixaban", "vmp-warfarin"},
	"cluster:HYP_COD":      {"38341003"},
	"cluster:HF_COD":       {"84114007"},
}

var today = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

func sct(c string) record.Code {
	return record.Code{System: record.SystemSNOMED, Code: c, Display: "t" + c}
}

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

type fixture struct {
	b   *Builder
	n   int
	ids []string
}

func newFixture() *fixture { return &fixture{b: NewBuilder(true)} }

func (f *fixture) patient(birth, sex, reg string, mod func(*record.Patient)) string {
	f.n++
	id := fmt.Sprintf("p%03d", f.n)
	p := &record.Patient{Meta: record.Meta{ID: id, Status: record.PatientActive}, Family: "Test" + id, Given: []string{"Pat"},
		BirthDate: birth, Sex: sex, NHSNumber: fmt.Sprintf("99900%05d", f.n), Registration: record.Registration{RegisteredOn: reg}}
	if mod != nil {
		mod(p)
	}
	f.b.Add(p)
	f.ids = append(f.ids, id)
	return id
}

func (f *fixture) problem(pid, code, onset string) {
	f.b.Add(&record.Problem{Meta: record.Meta{ID: pid + code + onset, PatientID: pid, Status: "active"}, Code: sct(code), Onset: onset})
}

func (f *fixture) obs(pid, code, day string, v float64, unit string) {
	f.b.Add(&record.Observation{Meta: record.Meta{ID: pid + code + day, PatientID: pid, Status: "final"}, Code: sct(code),
		Value: &v, Unit: unit, Effective: at(day)})
}

func (f *fixture) bp(pid, day string, s, d float64) {
	f.b.Add(&record.Observation{Meta: record.Meta{ID: pid + "bp" + day, PatientID: pid, Status: "final"}, Code: sct("75367002"),
		Systolic: &s, Diastolic: &d, Unit: "mm[Hg]", Effective: at(day)})
}

func (f *fixture) med(pid, code, typ, start, stopped string, issues ...string) {
	m := &record.Medication{Meta: record.Meta{ID: pid + code + start, PatientID: pid, Status: "active", RecordedAt: at(start)},
		Code: record.Code{System: record.SystemDMD, Code: code}, Type: typ, AuthorisedOn: start, StoppedOn: stopped}
	for _, i := range issues {
		m.Issues = append(m.Issues, record.Issue{At: at(i)})
	}
	f.b.Add(m)
}

func mustParse(t *testing.T, src string) *Def {
	t.Helper()
	d, err := Parse("t.search", src)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func members(t *testing.T, e *Engine, d *Def, on string) []string {
	t.Helper()
	r, _ := parseDay(on)
	res, err := e.NewRun(r).Evaluate(d)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	res.Members.Each(func(p int) { out = append(out, e.ix.Patients[p].ID) })
	return out
}

const dmRegister = `register DM "Diabetes mellitus"
population registered and age >= 17
select has code in cluster DM_COD resolved by cluster DMRES_COD
`

func TestRegisterResolvedCodesAndPopulation(t *testing.T) {
	f := newFixture()
	dm := f.patient("1960-01-01", "male", "2000-01-01", nil)
	resolved := f.patient("1960-01-01", "female", "2000-01-01", nil)
	sameDay := f.patient("1960-01-01", "female", "2000-01-01", nil)
	rediagnosed := f.patient("1960-01-01", "female", "2000-01-01", nil)
	child := f.patient("2012-01-01", "female", "2012-01-01", nil)
	left := f.patient("1960-01-01", "male", "2000-01-01", func(p *record.Patient) {
		p.Status, p.Registration.LeftOn = record.PatientLeft, "2026-03-31"
	})
	died := f.patient("1960-01-01", "male", "2000-01-01", func(p *record.Patient) {
		p.Status, p.Registration.DeceasedOn = record.PatientDeceased, "2026-04-01" // after R: still counted
	})
	future := f.patient("1960-01-01", "male", "2000-01-01", nil)
	for _, p := range []string{dm, resolved, sameDay, rediagnosed, child, left, died} {
		f.problem(p, "44054006", "2015-05-05")
	}
	f.problem(resolved, "315051004", "2020-01-01")
	f.problem(sameDay, "315051004", "2015-05-05")
	f.problem(rediagnosed, "315051004", "2018-01-01")
	f.problem(rediagnosed, "46635009", "2019-01-01")
	f.problem(future, "44054006", "2026-04-01") // after the reference date: not counted
	e := NewEngine(f.b.Build(), sets, nil)
	got := members(t, e, mustParse(t, dmRegister), "2026-03-31")
	want := []string{dm, rediagnosed, died}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("DM register = %v, want %v", got, want)
	}
}

func TestIndicatorCountsAndExplain(t *testing.T) {
	f := newFixture()
	good := f.patient("1960-01-01", "male", "2000-01-01", nil)
	high := f.patient("1960-01-01", "male", "2000-01-01", nil)
	old := f.patient("1960-01-01", "male", "2000-01-01", nil)
	newdx := f.patient("1960-01-01", "male", "2000-01-01", nil)
	newreg := f.patient("1960-01-01", "male", "2026-02-01", nil)
	boundary := f.patient("1960-01-01", "male", "2000-01-01", nil)
	for _, p := range []string{good, high, old, boundary, newreg} {
		f.problem(p, "44054006", "2015-05-05")
	}
	f.problem(newdx, "44054006", "2026-02-15")
	f.obs(good, "1049301000000100", "2025-10-01", 52, "mmol/mol")
	f.obs(high, "1049301000000100", "2025-06-01", 50, "mmol/mol")
	f.obs(high, "1049301000000100", "2026-01-01", 70, "mmol/mol") // latest decides
	f.obs(old, "1049301000000100", "2025-03-31", 40, "mmol/mol")  // one day before the 12 months
	f.obs(boundary, "1049301000000100", "2025-04-01", 40, "mmol/mol")
	reg := mustParse(t, dmRegister)
	ind := mustParse(t, `indicator DM006 "HbA1c 58 or less"
denominator in register DM
numerator latest value in cluster IFCCHBAM_COD within 12 months <= 58 mmol/mol
exceptions has first code in cluster DM_COD within 3 months or registered within 3 months
`)
	e := NewEngine(f.b.Build(), sets, []*Def{reg, ind})
	R, _ := parseDay("2026-03-31")
	run := e.NewRun(R)
	res, err := run.Evaluate(ind)
	if err != nil {
		t.Fatal(err)
	}
	if d, n, x := res.Members.Count(), res.Numerator.Count(), res.Exceptions.Count(); d != 6 || n != 2 || x != 2 {
		t.Fatalf("den %d num %d exc %d, want 6 2 2", d, n, x)
	}
	if a, ok := res.Achievement(); !ok || a != 0.5 {
		t.Fatalf("achievement %v %v, want 0.5", a, ok)
	}
	p, _ := e.ix.Lookup(high)
	x, err := run.Explain(ind, p)
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != "denominator" {
		t.Fatalf("status %q", x.Status)
	}
	var found bool
	for _, l := range x.Lines {
		for _, ev := range l.Evidence {
			if ev.Date == "2026-01-01" && ev.Value == "70 mmol/mol" && !l.Holds {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("explanation does not name the latest HbA1c 70 on 2026-01-01 as failing: %+v", x.Lines)
	}
	// No HbA1c in the 12 months (one a day before them): the explanation
	// says none was recorded, rather than leaving the line bare or showing
	// the older value as if it counted.
	p, _ = e.ix.Lookup(old)
	if x, err = run.Explain(ind, p); err != nil {
		t.Fatal(err)
	}
	var none bool
	for _, l := range x.Lines {
		for _, ev := range l.Evidence {
			if ev.Value == "40 mmol/mol" {
				t.Errorf("the HbA1c outside the period is shown: %+v", ev)
			}
			none = none || !l.Holds && ev.Note == "none recorded in the period"
		}
	}
	if !none {
		t.Fatalf("the explanation of a patient with no HbA1c in the period does not say so: %+v", x.Lines)
	}
	// every patient: the explanation's verdict is the bulk result's
	for p := range e.ix.Patients {
		x, err := run.Explain(ind, p)
		if err != nil {
			t.Fatal(err)
		}
		if x.In != res.Members.Has(p) || x.Status != "not in denominator" && x.Status != res.Status(p) {
			t.Errorf("%s: explain %v %s, run %v %s", e.ix.Patients[p].ID, x.In, x.Status, res.Members.Has(p), res.Status(p))
		}
	}
}

func TestBPMedsAndScore(t *testing.T) {
	f := newFixture()
	ok := f.patient("1950-01-01", "female", "2000-01-01", nil)
	highDia := f.patient("1950-01-01", "male", "2000-01-01", nil)
	stopped := f.patient("1970-01-01", "male", "2000-01-01", nil)
	acuteOld := f.patient("1970-01-01", "male", "2000-01-01", nil)
	f.bp(ok, "2026-01-01", 138, 88)
	f.bp(highDia, "2026-01-01", 130, 92)
	f.med(ok, "vmp-apixaban", "repeat", "2024-01-01", "", "2026-03-01")
	f.med(stopped, "vmp-warfarin", "repeat", "2020-01-01", "2025-01-01")
	f.med(acuteOld, "vmp-warfarin", "acute", "2025-06-01", "", "2025-06-01")
	f.problem(ok, "38341003", "2010-01-01")
	f.problem(highDia, "38341003", "2010-01-01")
	e := NewEngine(f.b.Build(), sets, nil)
	if got := members(t, e, mustParse(t, `search "bp"
select latest bp within 12 months <= 140/90`), "2026-03-31"); strings.Join(got, ",") != ok {
		t.Fatalf("bp <= 140/90: %v", got)
	}
	if got := members(t, e, mustParse(t, `search "on anticoag"
select current medicine in class anticoagulants`), "2026-03-31"); strings.Join(got, ",") != ok {
		t.Fatalf("current anticoagulant: %v", got)
	}
	if got := members(t, e, mustParse(t, `search "issued"
select issued medicine in class anticoagulants within 12 months`), "2026-03-31"); strings.Join(got, ",") != ok+","+acuteOld {
		t.Fatalf("issued anticoagulant: %v", got)
	}
	src := `search "chads"
score s = 1 if has code in cluster HYP_COD \
        + 2 if age >= 75 \
        + 1 if sex female
select s >= 4`
	if got := members(t, e, mustParse(t, src), "2026-03-31"); strings.Join(got, ",") != ok {
		t.Fatalf("score >= 4: %v", got)
	}
}

func TestParseErrorsNameLineAndColumn(t *testing.T) {
	cases := []struct{ src, want string }{
		{"search \"x\"\nselect has code in clusterr DM_COD\n", "t.search:2:20: expected a code set"},
		{"search \"x\"\nselect age >> 3\n", "t.search:2:13: expected a number"},
		{"search \"x\"\nselect undefinedset\n", "t.search:2:8: unknown criterion or set \"undefinedset\""},
		{"search \"x\"\nselect (age > 3\n", "t.search:3:1: unclosed"},
		{"register DM \"x\"\nselect has code in cluster DM_COD within 12 monthz\n", "t.search:2:45: expected days, weeks, months or years"},
		{"search \"x\"\nset and = registered\nselect and\n", "t.search:2:5: \"and\" is a keyword"},
		{"search \"x\"\nselect latest bp <= 140\n", "t.search:2:21: expected a blood pressure"},
		{"indicator X \"x\"\nselect registered\n", "an indicator has denominator"},
		{"search \"x\"\n", "a search needs a select line"},
	}
	for _, c := range cases {
		_, err := Parse("t.search", c.src)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
	// an unknown cluster is found before any patient is read, at its place
	d := mustParse(t, "search \"x\"\nselect has code in cluster DM_CDO\n")
	err := NewEngine(NewBuilder(false).Build(), sets, nil).Check(d)
	if err == nil || !strings.Contains(err.Error(), "t.search:2:20: unknown cluster \"DM_CDO\"") {
		t.Fatalf("unknown cluster: %v", err)
	}
}

func TestPeriodsClampMonths(t *testing.T) {
	r, _ := parseDay("2026-03-31")
	run := (&Engine{ix: NewBuilder(false).Build()}).NewRun(r)
	for _, c := range []struct {
		p      Period
		lo, hi string
	}{
		{Period{Kind: "within", N: 12, Unit: "month"}, "2025-04-01", "2026-03-31"},
		{Period{Kind: "within", N: 1, Unit: "month"}, "2026-03-01", "2026-03-31"},
		{Period{Kind: "ago", N: 15, Unit: "month"}, "", "2024-12-31"},
		{Period{Kind: "between", From: "2020-01-01", To: "2030-01-01"}, "2020-01-01", "2026-03-31"},
		{Period{Kind: "before", From: "2026-01-01"}, "", "2025-12-31"},
	} {
		lo, hi := run.bounds(&c.p)
		if DayString(lo) != c.lo || DayString(hi) != c.hi {
			t.Errorf("%+v: %s..%s, want %s..%s", c.p, DayString(lo), DayString(hi), c.lo, c.hi)
		}
	}
	if d := DayString(addUnits(r, -1, "month")); d != "2026-02-28" {
		t.Errorf("31 March minus a month = %s", d)
	}
}

// TestBulkAgreesWithPerPatient: the fast path (candidates from the postings,
// bitmaps) agrees with the per-patient evaluation an explanation uses, on
// random practices with resolved codes, boundary dates, leavers and deaths.
func TestBulkAgreesWithPerPatient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	f := newFixture()
	days := []string{"2014-02-03", "2025-03-31", "2025-04-01", "2025-12-31", "2026-01-01", "2026-03-31", "2026-04-01"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for i := 0; i < 400; i++ {
		id := f.patient(pick([]string{"1940-04-01", "1960-06-30", "2009-03-31", "2008-04-01"}), pick([]string{"male", "female"}),
			pick([]string{"1990-01-01", "2026-01-15", "2026-03-31"}), func(p *record.Patient) {
				switch rng.IntN(8) {
				case 0:
					p.Status, p.Registration.LeftOn = record.PatientLeft, pick(days)
				case 1:
					p.Status, p.Registration.DeceasedOn = record.PatientDeceased, pick(days)
				}
			})
		for j := rng.IntN(6); j > 0; j-- {
			f.problem(id, pick([]string{"44054006", "46635009", "315051004", "38341003", "84114007"}), pick(days))
		}
		for j := rng.IntN(4); j > 0; j-- {
			f.obs(id, "1049301000000100", pick(days), float64(40+rng.IntN(40)), pick([]string{"mmol/mol", "%"}))
			f.bp(id, pick(days), float64(110+rng.IntN(50)), float64(60+rng.IntN(40)))
		}
		if rng.IntN(3) == 0 {
			f.med(id, pick([]string{"vmp-apixaban", "vmp-warfarin"}), pick([]string{"acute", "repeat"}), pick(days[:5]), pick([]string{"", "2025-12-31"}), pick(days))
		}
	}
	reg := mustParse(t, dmRegister)
	defs := []*Def{reg,
		mustParse(t, `indicator I1 "x"
score s = 1 if has code in cluster HYP_COD + 2 if age >= 75 + 1 if sex female + 1 if has code in cluster HF_COD
denominator in register DM and s >= 2
numerator current medicine in class anticoagulants or latest bp within 12 months <= 140/90
exceptions registered within 3 months or not has latest code in cluster DM_COD within 15 months`),
		mustParse(t, `search "x"
population all
select (left within 12 months or died ever) and has first code in cluster DM_COD between 2014-01-01 and 2025-12-31 \
  or latest value in cluster IFCCHBAM_COD more than 3 months ago between 50 and 60 mmol/mol \
  or has no code in cluster HYP_COD and issued medicine in class anticoagulants within 6 months`),
	}
	e := NewEngine(f.b.Build(), sets, defs)
	for _, on := range []string{"2026-03-31", "2025-12-31"} {
		R, _ := parseDay(on)
		run := e.NewRun(R)
		for _, d := range defs {
			res, err := run.Evaluate(d)
			if err != nil {
				t.Fatal(err)
			}
			if res.Members.Count() == 0 || res.Members.Count() == e.ix.Len() {
				t.Fatalf("%s on %s: %d of %d: the fixture does not exercise it", d.ID, on, res.Members.Count(), e.ix.Len())
			}
			for p := range e.ix.Patients {
				x, err := run.Explain(d, p)
				if err != nil {
					t.Fatal(err)
				}
				if x.In != res.Members.Has(p) {
					t.Fatalf("%s on %s, %s: explain says %v, run says %v\n%+v", d.ID, on, e.ix.Patients[p].ID, x.In, res.Members.Has(p), x.Lines)
				}
			}
		}
	}
}

// An unknown cluster inside a register that another definition names is
// reported at its own file, line and column.
func TestCheckNamesTheFileOfANamedRegister(t *testing.T) {
	reg, err := Parse("BAD.search", "register BAD \"x\"\n\nselect has code in cluster NOPE_COD\n")
	if err != nil {
		t.Fatal(err)
	}
	ind := mustParse(t, "indicator I \"x\"\ndenominator in register BAD\nnumerator registered\n")
	err = NewEngine(NewBuilder(false).Build(), sets, []*Def{reg, ind}).Check(ind)
	if err == nil || !strings.HasPrefix(err.Error(), "BAD.search:3:20: unknown cluster") {
		t.Fatalf("got %v", err)
	}
}

// Blood pressure as QOF reads it: the lowest systolic and the lowest
// diastolic of the latest day decide, from different readings if need be;
// a latest reading missing its diastolic fails, and an older complete one
// never stands in. A value is the last recorded on its latest day.
func TestSameDayReadings(t *testing.T) {
	f := newFixture()
	twoReadings := f.patient("1950-01-01", "male", "2000-01-01", nil)
	partial := f.patient("1950-01-01", "male", "2000-01-01", nil)
	values := f.patient("1950-01-01", "male", "2000-01-01", nil)
	sameDay := at("2026-02-01")
	bpAt := func(pid, id string, when time.Time, s, d *float64) {
		f.b.Add(&record.Observation{Meta: record.Meta{ID: id, PatientID: pid, Status: "final"}, Code: sct("75367002"),
			Systolic: s, Diastolic: d, Unit: "mm[Hg]", Effective: when})
	}
	num := func(v float64) *float64 { return &v }
	bpAt(twoReadings, "a1", sameDay, num(150), num(85))
	bpAt(twoReadings, "a2", sameDay.Add(time.Hour), num(138), num(92))
	f.bp(partial, "2025-12-01", 120, 70)
	bpAt(partial, "b1", sameDay, num(130), nil)
	v1, v2 := 70.0, 50.0
	f.b.Add(&record.Observation{Meta: record.Meta{ID: "zz", PatientID: values, Status: "final"}, Code: sct("1049301000000100"), Value: &v1, Unit: "mmol/mol", Effective: sameDay})
	f.b.Add(&record.Observation{Meta: record.Meta{ID: "aa", PatientID: values, Status: "final"}, Code: sct("1049301000000100"), Value: &v2, Unit: "mmol/mol", Effective: sameDay.Add(time.Hour)})
	e := NewEngine(f.b.Build(), sets, nil)
	if got := members(t, e, mustParse(t, "search \"bp\"\nselect latest bp within 12 months <= 140/90"), "2026-03-31"); strings.Join(got, ",") != twoReadings {
		t.Fatalf("bp <= 140/90: %v, want only %s (138/85 from two readings)", got, twoReadings)
	}
	if got := members(t, e, mustParse(t, "search \"v\"\nselect latest value in cluster IFCCHBAM_COD within 12 months <= 58"), "2026-03-31"); strings.Join(got, ",") != values {
		t.Fatalf("the later HbA1c of the day (50) should decide: %v", got)
	}
	R, _ := parseDay("2026-03-31")
	p, _ := e.Index().Lookup(partial)
	x, err := e.NewRun(R).Explain(mustParse(t, "search \"bp\"\nselect latest bp within 12 months <= 140/90"), p)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range x.Lines {
		for _, ev := range l.Evidence {
			found = found || ev.Note == "no diastolic recorded" && ev.Date == "2026-02-01"
		}
	}
	if x.In || !found {
		t.Fatalf("a latest reading without its diastolic: in %v, %+v", x.In, x.Lines)
	}
}

// show SCORE prints the score's value; an entry both a criterion and a show
// column name is listed once.
func TestShowScoreAndNoDuplicateValues(t *testing.T) {
	f := newFixture()
	pid := f.patient("1950-01-01", "female", "2000-01-01", nil)
	f.problem(pid, "38341003", "2010-01-01")
	f.obs(pid, "1049301000000100", "2026-01-10", 52, "mmol/mol")
	e := NewEngine(f.b.Build(), sets, nil)
	d := mustParse(t, `search "s"
score s = 1 if has code in cluster HYP_COD + 2 if age >= 75
select latest value in cluster IFCCHBAM_COD within 12 months <= 58
show latest value in cluster IFCCHBAM_COD within 12 months
show s`)
	R, _ := parseDay("2026-03-31")
	run := e.NewRun(R)
	res, err := run.Evaluate(d)
	if err != nil || res.Count() != 1 {
		t.Fatal(res, err)
	}
	m := run.Matched(res, 0)
	if len(m) != 2 || m[0].Value != "52 mmol/mol" || m[1].Role != "score s" || m[1].Value != "3" {
		t.Fatalf("matched %+v", m)
	}
	if _, err := Parse("t", "search \"s\"\nscore s = 1 if age > 3\nselect s\n"); err == nil || !strings.Contains(err.Error(), "needs a comparison") {
		t.Fatalf("a bare score in select: %v", err)
	}
}
