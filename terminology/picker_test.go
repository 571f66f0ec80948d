package terminology_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The issue's examples: each gives the right concept first in the problem picker and in
// the top 3 of an all-systems search.
var issueExamples = []struct{ q, code string }{
	{"hypertension", "38341003"}, {"depression", "35489007"}, {"copd", "13645005"},
	{"af", "49436004"}, {"mi", "22298006"}, {"urti", "54150009"}, {"htn", "38341003"},
	{"dm", "73211009"}, {"sob", "267036007"}, {"chest infection", "50417007"},
	{"flu vaccination", "86198006"}, {"current smoker", "77176002"}, {"uti", "68566005"},
	{"AF", "49436004"}, {"HTN", "38341003"}, {"water infection", "68566005"},
}

func TestIssueExamplesRankTheRightConcept(t *testing.T) {
	tm, _ := open(t)
	ctx := context.Background()
	for _, ex := range issueExamples {
		rs, err := tm.Search(ctx, ex.q, terminology.SearchOptions{Picker: terminology.PickerProblem, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if ex.q == "flu vaccination" {
			rs, _ = tm.Search(ctx, ex.q, terminology.SearchOptions{Picker: terminology.PickerConsultation, Limit: 10})
		}
		if len(rs) == 0 || rs[0].Code != ex.code {
			t.Errorf("problem picker %q: first %v, want %s", ex.q, rs, ex.code)
		}
		all, err := tm.Search(ctx, ex.q, terminology.SearchOptions{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range all {
			found = found || r.Code == ex.code
		}
		if !found {
			t.Errorf("all systems %q: top 3 %v lack %s", ex.q, all, ex.code)
		}
	}
	// "screening" ranks below unless asked for
	rs, _ := tm.Search(ctx, "hypertension screening", terminology.SearchOptions{Picker: terminology.PickerProblem, Limit: 3})
	if len(rs) == 0 || rs[0].Code != "171222001" {
		t.Errorf("asking for screening: %v, want Hypertension screening first", rs)
	}
	rs, _ = tm.Search(ctx, "hypertension", terminology.SearchOptions{Picker: terminology.PickerProblem, Limit: 20})
	for i, r := range rs {
		if strings.Contains(strings.ToLower(r.Term), "screening") && i < 5 {
			t.Errorf("hypertension: %q at %d, want screening below the disorders", r.Term, i+1)
		}
	}
}

func TestDrugPickerCommonGenericFirst(t *testing.T) {
	tm, _ := open(t)
	rs, err := tm.Search(context.Background(), "amox", terminology.SearchOptions{Picker: terminology.PickerDrug, System: "dmd", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || !strings.HasPrefix(rs[0].Term, "Amoxicillin") {
		t.Fatalf("amox: %v, want amoxicillin (common) above amoxapine", rs)
	}
	p, err := tm.Product(rs[0].Code)
	if err != nil || p.Kind != "VMP" {
		t.Errorf("amox first: %v %v, want a VMP", p.Kind, err)
	}
}

func TestTypoOnlyWhenTooFewBetter(t *testing.T) {
	tm, _ := open(t)
	rs, _ := tm.Search(context.Background(), "asthama", terminology.SearchOptions{Picker: terminology.PickerProblem, Limit: 5})
	if len(rs) == 0 || rs[0].Code != "195967001" || rs[0].Match != terminology.MatchFuzzy {
		t.Fatalf("asthama: %v, want Asthma by a typo", rs)
	}
	rs, _ = tm.Search(context.Background(), "asthma", terminology.SearchOptions{Picker: terminology.PickerProblem, Limit: 5})
	for _, r := range rs {
		if r.Match == terminology.MatchFuzzy {
			t.Errorf("asthma: typo match %q shown although better ones fill the list", r.Term)
		}
	}
	if tm.SearchNote(rs) != "" {
		t.Errorf("asthma: note %q", tm.SearchNote(rs))
	}
	rs, _ = tm.Search(context.Background(), "fbc", terminology.SearchOptions{Limit: 5})
	if len(rs) != 0 || tm.SearchNote(rs) != terminology.NotInEmbedded {
		t.Errorf("fbc: %v note %q, want nothing and the import note", rs, tm.SearchNote(rs))
	}
}

func TestUsageLiftsWithinClass(t *testing.T) {
	tm, _ := open(t)
	o := terminology.SearchOptions{Picker: terminology.PickerProblem, Limit: 10}
	rs, _ := tm.Search(context.Background(), "otitis", o)
	if len(rs) < 3 {
		t.Fatalf("otitis: %v", rs)
	}
	// the last of its match class rises to the first of that class
	last := rs[len(rs)-1]
	o.Usage = &terminology.Usage{Recent: []string{last.Code}}
	rs2, _ := tm.Search(context.Background(), "otitis", o)
	for _, r := range rs2 {
		if r.Match == last.Match {
			if r.Code != last.Code {
				t.Errorf("recently used %s (%s) not first of its class: %v", last.Code, last.Match, rs2)
			}
			break
		}
	}
	// and the practice's frequent codes too
	o.Usage = &terminology.Usage{Practice: map[string]int{last.Code: 40}}
	rs3, _ := tm.Search(context.Background(), "otitis", o)
	for _, r := range rs3 {
		if r.Match == last.Match {
			if r.Code != last.Code {
				t.Errorf("often recorded %s not first of its class: %v", last.Code, rs3)
			}
			break
		}
	}
}

func TestShorthandTableResolves(t *testing.T) {
	tm, _ := open(t)
	rows, warn := tm.Shorthands()
	if warn != "" {
		t.Fatal(warn)
	}
	withCodes := 0
	for _, r := range rows {
		if len(r.Codes) > 0 {
			withCodes++
		}
	}
	if withCodes < 200 {
		t.Errorf("%d shorthand rows map to concepts of the embedded set, want at least 200", withCodes)
	}
	// every code the built-in table names is in the embedded set (none dropped)
	f, err := os.Open("../fixtures/embedded/shorthand.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs[1:] {
		for _, c := range strings.Fields(rec[1]) {
			if !record.ValidSCTID(c) {
				t.Errorf("shorthand.csv:%d: %s fails the SNOMED CT check digit", i+2, c)
			}
			if err := tm.Validate(terminology.SystemSNOMED, c); err != nil {
				if err2 := tm.Validate(terminology.SystemDMD, c); err2 != nil {
					t.Errorf("shorthand.csv:%d: %s: %v", i+2, c, err)
				}
			}
		}
	}
}

func TestSupplementIDsPassVerhoeff(t *testing.T) {
	f, err := os.Open("../fixtures/embedded/supplement.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs[1:] {
		if !record.ValidSCTID(rec[0]) {
			t.Errorf("supplement.csv:%d: %s fails the SNOMED CT check digit", i+2, rec[0])
		}
		if strings.TrimSpace(rec[3]) == "" {
			t.Errorf("supplement.csv:%d: no source cited", i+2)
		}
	}
}

func TestPracticeShorthandFile(t *testing.T) {
	tm, dir := open(t)
	bad := "shorthand,codes,meaning\nxyz,38341003,ok\nqq,123,not a concept\n"
	_, err := tm.CheckShorthand(strings.NewReader(bad), "shorthand.csv")
	var se *terminology.RowsError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "shorthand.csv:3:") {
		t.Fatalf("bad practice file: %v, want an error naming line 3", err)
	}
	good := "shorthand,codes,meaning\nbigbp,38341003,our word for hypertension\n"
	if err := os.WriteFile(filepath.Join(dir, terminology.PracticeShorthandFile), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	tm.Close()
	tm2, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tm2.Close()
	rs, _ := tm2.Search(context.Background(), "BigBP", terminology.SearchOptions{Limit: 3})
	if len(rs) == 0 || rs[0].Code != "38341003" || rs[0].Match != terminology.MatchShorthand {
		t.Errorf("practice shorthand: %v", rs)
	}
}

func TestJudgedSetQuality(t *testing.T) {
	tm, _ := open(t)
	f, err := os.Open("testdata/gp-queries.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	qs, err := terminology.ParseJudged(f, "gp-queries.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 300 {
		t.Fatalf("%d judged queries, want at least 300", len(qs))
	}
	rows, _ := tm.Shorthands()
	keys := map[string]bool{}
	for _, r := range rows {
		keys[r.Key] = true
	}
	sh, literal := 0, 0
	for _, q := range qs {
		if q.Class == "shorthand" {
			sh++
			if keys[q.Query] {
				literal++
			}
		}
	}
	if literal*2 > sh {
		t.Errorf("%d of %d shorthand queries are literal keys of the table, want at most half", literal, sh)
	}
	rep, err := tm.RunQuality(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Overall.Top1 < 0.85 || rep.Overall.Top3 < 0.95 {
		t.Errorf("judged set: top-1 %.3f top-3 %.3f, want >= 0.85 and >= 0.95", rep.Overall.Top1, rep.Overall.Top3)
	}
	for _, c := range terminology.QueryClasses {
		if rep.ByClass[c].Queries == 0 {
			t.Errorf("class %s: no queries", c)
		}
	}
}

func TestBrandFindsBrandAndShowsGeneric(t *testing.T) {
	tm, _ := open(t)
	for _, c := range []struct{ q, brand, generic string }{
		{"lipitor", "Lipitor 10mg tablets", "Atorvastatin 10mg tablets"},
		{"utinor", "Utinor 400mg tablets", "Norfloxacin 400mg tablets"},
		{"ventolin evohaler", "Ventolin 100micrograms/dose Evohaler", "Salbutamol 100micrograms/dose inhaler CFC free"},
	} {
		rs, err := tm.Search(context.Background(), c.q, terminology.SearchOptions{Picker: terminology.PickerDrug, System: "dmd", Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || !strings.HasPrefix(rs[0].Term, c.brand) || rs[0].Generic != c.generic {
			t.Errorf("%q: %+v, want %q first showing generic %q", c.q, rs, c.brand, c.generic)
		}
	}
	rs, _ := tm.Search(context.Background(), "atorvastatin 10mg", terminology.SearchOptions{Picker: terminology.PickerDrug, System: "dmd", Limit: 3})
	if len(rs) == 0 || rs[0].Term != "Atorvastatin 10mg tablets" || rs[0].Generic != "" {
		t.Errorf("atorvastatin 10mg: %+v, want the generic first", rs)
	}
}
