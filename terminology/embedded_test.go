package terminology_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/terminology"
)

func TestEmbeddedDefaultOnFreshMachine(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	tm, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first open (builds the embedded default into terminology.db): %v", time.Since(start))
	st, err := os.Stat(filepath.Join(dir, "terminology.db"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("terminology.db mode %v, want 0600", st.Mode().Perm())
	}
	sn, ok := about(tm, terminology.SourceSNOMED)
	if !ok || !sn.Embedded || !strings.Contains(sn.Licence, "CC BY 4.0") || !strings.Contains(sn.Attribution, "SNOMED International") {
		t.Fatalf("snomed source: %+v", sn)
	}
	if sn.Counts["ipsConcepts"] != 8143 || sn.Counts["dmdSubstances"] != 3482 {
		t.Errorf("embedded SNOMED counts %v, want 8143 IPS concepts and 3482 dm+d substances", sn.Counts)
	}
	dm, ok := about(tm, terminology.SourceDMD)
	if !ok || !dm.Embedded || dm.Counts["vtm"] != 2859 || !strings.Contains(dm.Licence, "Open Government Licence") {
		t.Fatalf("dmd source: %+v", dm)
	}
	tm.Close()

	// a second open reads the file, it does not rebuild (timings belong to benchmarks)
	start = time.Now()
	tm, err = terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	t.Logf("reopen: %v", time.Since(start))
	again, _ := about(tm, terminology.SourceSNOMED)
	if !again.ImportedAt.Equal(sn.ImportedAt) {
		t.Errorf("reopen rebuilt the embedded default")
	}
}

func TestEmbeddedPenicillinSafetyPath(t *testing.T) {
	tm, _ := open(t)
	ctx := context.Background()
	// the prescriber picks amoxicillin 500mg capsules among VMPs
	rs, err := tm.Search(ctx, "amoxicillin 500mg caps", terminology.SearchOptions{System: "dmd", ECL: "^999000561000001109", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].Term != "Amoxicillin 500mg capsules" || rs[0].System != terminology.SystemDMD {
		t.Fatalf("search: %+v", rs)
	}
	p, err := tm.Product(rs[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "VMP" || !p.Derived || !p.IngredientsVerified || len(p.Ingredients) != 1 {
		t.Fatalf("product: %+v", p)
	}
	ing := p.Ingredients[0]
	if ing.Code != "372687004" || ing.Name != "Amoxicillin" || ing.Strength != "500 mg" {
		t.Errorf("ingredient: %+v", ing)
	}
	if p.VTM == nil || p.VTM.Code != "27658006" {
		t.Errorf("VTM: %+v", p.VTM)
	}
	// the allergy check: a penicillin allergy covers the ingredient
	ok, err := tm.Subsumes("373270004", ing.Code)
	if err != nil || !ok {
		t.Fatalf("penicillin subsumes amoxicillin: %v %v", ok, err)
	}
	// …and a salt (dm+d lists salts as ingredients of real VMPs)
	if ok, _ := tm.Subsumes("373270004", "426208000"); !ok {
		t.Errorf("penicillin should subsume flucloxacillin sodium")
	}
	if ok, _ := tm.Subsumes("373270004", "395939008"); ok {
		t.Errorf("clavulanic acid is not a penicillin")
	}
	// co-amoxiclav: the name does not name its ingredients; its BNF chemical
	// substance "Co-amoxiclav (Amoxicillin/clavulanic acid)" does
	co, err := tm.Product("39732111000001101")
	if err != nil {
		t.Fatal(err)
	}
	if !co.IngredientsVerified || co.IngredientsFrom != terminology.FromBNFSplit || len(co.Ingredients) != 2 ||
		co.Ingredients[0].Code != "372687004" || co.Ingredients[1].Code != "395939008" || co.BNF == nil || co.BNF.Substance.Code != "0501013K0" ||
		co.VTM == nil || co.VTM.Term != "Co-amoxiclav" {
		t.Errorf("co-amoxiclav: %+v", co)
	}
	// an allergy picker limited to substances finds the substance, not the products
	rs, err = tm.Search(ctx, "amoxicillin", terminology.SearchOptions{ECL: "<< 105590001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].Code != "372687004" {
		t.Errorf("substance search: %+v", rs)
	}
	for _, r := range rs {
		if r.System != terminology.SystemSNOMED {
			t.Errorf("substance search returned %+v", r)
		}
	}
}

func TestEmbeddedClinicalHierarchy(t *testing.T) {
	tm, _ := open(t)
	for _, c := range []struct{ a, b string }{
		{"73211009", "44054006"}, {"73211009", "46635009"}, {"73211009", "237599002"},
		{"404684003", "44054006"}, {"38341003", "59621000"}, {"709044004", "433144002"},
		{"75367002", "271649006"}, {"75367002", "271650006"}, {"363787002", "60621009"},
		{"365981007", "8517006"}, {"44054006", "44054006"},
	} {
		ok, err := tm.Subsumes(c.a, c.b)
		if err != nil || !ok {
			t.Errorf("Subsumes(%s, %s) = %v, %v; want true", c.a, c.b, ok, err)
		}
	}
	if ok, _ := tm.Subsumes("44054006", "73211009"); ok {
		t.Errorf("a child does not subsume its parent")
	}
	_, err := tm.Subsumes("73211009", "999999999999")
	mustNotFound(t, err)

	got, err := tm.ECL("<< 73211009 |Diabetes mellitus| MINUS << 44054006")
	if err != nil {
		t.Fatal(err)
	}
	m := conceptCodes(got)
	if !m["73211009"] || !m["46635009"] || m["44054006"] || m["237599002"] {
		t.Errorf("ECL result %v", m)
	}
	c, err := tm.Concept("sct", "271649006")
	if err != nil {
		t.Fatal(err)
	}
	if c.PreferredTerm != "Systolic blood pressure" || len(c.Parents) != 1 || c.Parents[0].Code != "75367002" {
		t.Errorf("concept: %+v", c)
	}
	// observables for the demo are findable by their usual words
	rs, err := tm.Search(context.Background(), "hba1c", terminology.SearchOptions{ECL: "<< 363787002"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasCode(rs, "999791000000106") && !hasCode(rs, "1003671000000109") {
		t.Errorf("hba1c search: %+v", rs)
	}
	// a code typed directly comes first
	rs, _ = tm.Search(context.Background(), "60621009", terminology.SearchOptions{})
	if len(rs) == 0 || rs[0].Code != "60621009" || rs[0].Term != "Body mass index" {
		t.Errorf("code search: %+v", rs)
	}
}

func TestEmbeddedInactiveSubstanceResolvesOnlyOnRequest(t *testing.T) {
	tm, _ := open(t)
	// Abacavir: ISID 387005008, previous id 3276611000001104 in the dm+d ingredient table
	err := tm.Validate("sct", "3276611000001104")
	var ie *terminology.InactiveError
	if !errors.As(err, &ie) || !errors.Is(err, terminology.ErrInactive) {
		t.Fatalf("Validate: %v", err)
	}
	if len(ie.Replacements) != 1 || ie.Replacements[0].Code != "387005008" || !ie.Replacements[0].Automatic {
		t.Errorf("replacements: %+v", ie.Replacements)
	}
	if !strings.Contains(err.Error(), "387005008") {
		t.Errorf("error should suggest the replacement: %v", err)
	}
	if err := tm.Validate("sct", "387005008"); err != nil {
		t.Errorf("active code: %v", err)
	}
	// search does not offer inactive codes unless asked
	rs, _ := tm.Search(context.Background(), "3276611000001104", terminology.SearchOptions{})
	if len(rs) != 0 {
		t.Errorf("inactive code offered: %+v", rs)
	}
	rs, _ = tm.Search(context.Background(), "3276611000001104", terminology.SearchOptions{IncludeInactive: true})
	if len(rs) != 1 || rs[0].Active {
		t.Errorf("inactive code with IncludeInactive: %+v", rs)
	}
}

// A narrow search before the index exists scans only the subset with find's reference
// matcher; once the index is built the same search goes through it. Same answers.
func TestSubsetScanMatchesIndex(t *testing.T) {
	tm, _ := open(t)
	ctx := context.Background()
	cases := []struct{ q, ecl string }{
		{"diab", "<< 404684003"}, {"t2dm", "<< 73211009"}, {"asthma", "<< 404684003"}, {"amox", "<< 105590001"},
		{"hba1c", "<< 363787002"}, {"penicil", "<< 373270004"}, {"blood pres", "<< 363787002"},
		{"amoxicillin 500", "^999000561000001109"},
	}
	before := make([][]terminology.Result, len(cases))
	for i, c := range cases {
		rs, err := tm.Search(ctx, c.q, terminology.SearchOptions{ECL: c.ecl, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		before[i] = rs
	}
	// any unfiltered search builds the indexes
	if _, err := tm.Search(ctx, "x", terminology.SearchOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		after, _ := tm.Search(ctx, c.q, terminology.SearchOptions{ECL: c.ecl, Limit: 10})
		if len(after) != len(before[i]) {
			t.Errorf("%q %s: %d results by scan, %d by index", c.q, c.ecl, len(before[i]), len(after))
			continue
		}
		if len(after) == 0 {
			t.Errorf("%q %s: no results", c.q, c.ecl)
			continue
		}
		if after[0].Code != before[i][0].Code {
			t.Errorf("%q %s: top %v by scan, %v by index", c.q, c.ecl, before[i][0], after[0])
		}
	}
}
