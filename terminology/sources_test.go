package terminology_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

func TestImportCTV3ReleaseZip(t *testing.T) {
	tm, _ := open(t)
	info, err := tm.ImportCTV3("testdata/ctv3/nhs_readctv3_25.0.0_20180401000001.zip")
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts["concepts"] != 11 || info.Counts["activeConcepts"] != 10 || info.Release != "nhs_readctv3_25.0.0_20180401000001" {
		t.Errorf("info: %+v", info)
	}
	c, err := tm.Concept("ctv3", "H33..")
	if err != nil {
		t.Fatal(err)
	}
	if c.PreferredTerm != "Asthma" || len(c.Synonyms) != 7 || c.System != terminology.SystemCTV3 {
		t.Errorf("H33..: %+v", c)
	}
	// term198 is used when given: "BHR - Bronchial hyperreactivity"
	found := false
	for _, s := range c.Synonyms {
		found = found || s == "BHR - Bronchial hyperreactivity"
	}
	if !found {
		t.Errorf("synonyms: %v", c.Synonyms)
	}
	if ok, err := tm.SubsumesIn("ctv3", "H....", "XE0YQ"); !ok || err != nil {
		t.Errorf("H.... subsumes XE0YQ: %v %v", ok, err)
	}
	got, err := tm.ECLIn("ctv3", "<< H33..")
	if err != nil || len(got) != 4 {
		t.Errorf("<< H33..: %+v %v", got, err)
	}
	// XE0ZP is extinct: inactive
	if err := tm.Validate("ctv3", "XE0ZP"); !errors.Is(err, terminology.ErrInactive) {
		t.Errorf("XE0ZP: %v", err)
	}
	rs, _ := tm.Search(context.Background(), "bronchial asthma", terminology.SearchOptions{System: "ctv3"})
	if len(rs) == 0 || rs[0].Code != "H33.." || rs[0].System != terminology.SystemCTV3 {
		t.Errorf("search: %+v", rs)
	}
}

func TestImportCTV3Malformed(t *testing.T) {
	tm, _ := open(t)
	dir := filepath.Join(t.TempDir(), "V3")
	os.MkdirAll(dir, 0o755)
	for name, body := range map[string]string{
		"Concept.v3": ".....|C|N|Xa001\nH33..|C|N|Xa00B\n",
		"Terms.v3":   "00000|C|Read thesaurus||\nY107p|C|Asthma||\n",
		"Descrip.v3": ".....|00000|P\nH33..|Y107p|P\nH33..|NOPE1|S\n",
		"V3hier.v3":  "H33..|.....|01\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	_, err := tm.ImportCTV3(dir)
	var ie *terminology.ImportError
	if !errors.As(err, &ie) || !strings.HasSuffix(ie.Rows[0].File, "Descrip.v3") || ie.Rows[0].Line != 3 {
		t.Fatalf("want Descrip.v3:3 error, got %v", err)
	}
	if _, ok := about(tm, terminology.SourceCTV3); ok {
		t.Errorf("a failed first import must leave no CTV3 source")
	}
}

func TestImportRead2AndMaps(t *testing.T) {
	tm, _ := open(t)
	info, err := tm.ImportRead2("testdata/read2")
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts["concepts"] != 11 { // 10 codes + the root "....."
		t.Errorf("info: %+v", info)
	}
	c, err := tm.Concept("read2", "C10F.")
	if err != nil {
		t.Fatal(err)
	}
	if c.PreferredTerm != "Type 2 diabetes mellitus" || len(c.Parents) != 1 || c.Parents[0].Code != "C10.." {
		t.Errorf("C10F.: %+v", c)
	}
	if strings.Join(c.Synonyms, "|") != "Non-insulin dependent diabetes mellitus|Type II diabetes mellitus" {
		t.Errorf("synonyms from Keyv2.all: %v", c.Synonyms)
	}
	// positional hierarchy: H3300 -> H330. -> H33.. -> H3... -> H....
	if ok, _ := tm.SubsumesIn("read2", "H3...", "H3300"); !ok {
		t.Errorf("H3... should subsume H3300")
	}
	if ok, _ := tm.SubsumesIn("read2", "C10..", "H33.."); ok {
		t.Errorf("C10.. does not subsume H33..")
	}

	if _, err := tm.MapLegacy("read2", "H33.."); !errors.Is(err, terminology.ErrNoMap) {
		t.Errorf("before a map import: %v", err)
	}
	if _, err := tm.ImportReadMap("testdata/readmap"); err != nil {
		t.Fatal(err)
	}
	m, err := tm.MapLegacy("read2", "H33..")
	if err != nil || len(m) != 1 || m[0].Code != "195967001" || m[0].Term != "Asthma" || !m[0].Assured {
		t.Errorf("H33..: %+v %v", m, err)
	}
	// the later row of a map id wins
	m, _ = tm.MapLegacy("read2", "C10F.")
	if len(m) != 1 || m[0].Code != "44054006" {
		t.Errorf("C10F.: %+v", m)
	}
	// an inactive map row is not a mapping
	_, err = tm.MapLegacy("read2", "H330.")
	mustNotFound(t, err)
	m, _ = tm.MapLegacy("ctv3", "X101x")
	if len(m) != 1 || m[0].Code != "389145006" {
		t.Errorf("X101x: %+v", m)
	}
	// drug rows map through dm+d, not here
	_, err = tm.MapLegacy("ctv3", "x00Xg")
	mustNotFound(t, err)
}

func TestImportDMDExtract(t *testing.T) {
	tm, _ := open(t)
	info, err := tm.ImportDMD("testdata/dmd/set1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Embedded || info.Counts["vtm"] != 2859 || info.Counts["ingredients"] != 3482 || info.Counts["vmp"] != 7 || info.Counts["amp"] != 15 {
		t.Errorf("counts: %v", info.Counts)
	}
	p, err := tm.Product("22480211000001104")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Diclofenac 2.32% gel" || p.Kind != "VMP" || p.Derived || !p.IngredientsVerified || len(p.Ingredients) != 1 {
		t.Fatalf("VMP: %+v", p)
	}
	ing := p.Ingredients[0]
	if ing.Code != "426714006" || ing.NumeratorValue != 23.2 || ing.NumeratorUnit != "mg" || ing.DenominatorUnit != "gram" {
		t.Errorf("ingredient: %+v", ing)
	}
	if p.VTM == nil || p.VTM.Code != "32889211000001103" || p.Form == nil || p.Form.Term == "" || len(p.Routes) == 0 {
		t.Errorf("VTM/form/route: %+v %+v %+v", p.VTM, p.Form, p.Routes)
	}
	// two ingredients
	p, _ = tm.Product("28789311000001103")
	if len(p.Ingredients) != 2 {
		t.Errorf("coal tar + salicylic acid: %+v", p.Ingredients)
	}
	// AMPs inherit the VMP's ingredients and are-a VMP
	amps, err := tm.ECL("< 22480211000001104")
	if err != nil || len(amps) == 0 {
		t.Fatalf("AMPs of the VMP: %v %v", amps, err)
	}
	a, err := tm.Product(amps[0].Code)
	if err != nil || a.VMP == nil || a.VMP.Code != "22480211000001104" || len(a.Ingredients) != 1 {
		t.Errorf("AMP: %+v %v", a, err)
	}
	// previous VPID -> current (replacement on request)
	reps, err := tm.Replacements("dmd", "347209005")
	if err != nil || len(reps) != 1 || reps[0].Code != "36016311000001102" {
		t.Errorf("replacements: %+v %v", reps, err)
	}
	// the embedded code-list products are gone with the embedded dm+d source; SNOMED is untouched
	if _, err := tm.Product("39732411000001106"); !errors.Is(err, terminology.ErrNotFound) {
		t.Errorf("embedded product after a real dm+d import: %v", err)
	}
	if ok, _ := tm.Subsumes("373270004", "372687004"); !ok {
		t.Errorf("SNOMED source must be untouched")
	}
}

func TestImportDMDReleaseZipAndChangedCodes(t *testing.T) {
	tm, _ := open(t)
	if _, err := tm.ImportDMD("testdata/dmd/nhsbsa_dmd_1.0.0_20221001000001.zip"); err != nil {
		t.Fatal(err)
	}
	p, err := tm.Product("39113611000001102")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ingredients) != 1 || p.Ingredients[0].Name != "Salbutamol sulfate" || p.Ingredients[0].BasisOfStrength == nil ||
		p.Ingredients[0].BasisOfStrength.Code != "372897005" || p.UnitOfMeasure == nil {
		t.Errorf("salbutamol: %+v", p)
	}
	a, _ := tm.Product("222311000001102")
	if a.Description != "Ventolin 100micrograms/dose Evohaler (GlaxoSmithKline UK Ltd)" || len(a.Ingredients) != 1 {
		t.Errorf("AMP: %+v", a)
	}
	rs, _ := tm.Search(context.Background(), "ventolin", terminology.SearchOptions{System: "dmd"})
	if len(rs) == 0 || rs[0].Code != "222311000001102" {
		t.Errorf("search: %+v", rs)
	}

	// set2 changes a VPID: the old one becomes an inactive code pointing at the new one
	tm2, _ := open(t)
	if _, err := tm2.ImportDMD("testdata/dmd/set1/f_vtm2_3010419.xml", "testdata/dmd/set1/f_ingredient2_3010419.xml",
		"testdata/dmd/set1/f_lookup2_3010419.xml", "testdata/dmd/set2"); err != nil {
		t.Fatal(err)
	}
	err = tm2.Validate("dmd", "22480211000001104")
	var ie *terminology.InactiveError
	if !errors.As(err, &ie) || len(ie.Replacements) != 1 || ie.Replacements[0].Code != "12345" {
		t.Errorf("changed VPID: %v", err)
	}
}

func TestImportDMDEveryReleaseZip(t *testing.T) {
	tm, _ := open(t)
	zips, _ := filepath.Glob("testdata/dmd/nhsbsa_dmd_*.zip")
	if len(zips) != 3 {
		t.Fatalf("zips: %v", zips)
	}
	for _, z := range zips {
		info, err := tm.ImportDMD(z)
		if err != nil || info.Counts["vmp"] != 1 || info.Release != strings.TrimSuffix(filepath.Base(z), ".zip") {
			t.Errorf("%s: %+v %v", z, info, err)
		}
	}
	// all three at once: the same rows twice must not duplicate ingredients or routes
	if _, err := tm.ImportDMD(zips...); err != nil {
		t.Fatal(err)
	}
	p, _ := tm.Product("39113611000001102")
	if len(p.Ingredients) != 1 || len(p.Routes) != 1 {
		t.Errorf("duplicated rows: %+v", p)
	}
}

func TestImportDMDTruncatedXML(t *testing.T) {
	tm, _ := open(t)
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/dmd/set1/f_vmp2_3010419.xml")
	os.WriteFile(filepath.Join(dir, "f_vmp2_3010419.xml"), data[:len(data)/2], 0o644)
	_, err := tm.ImportDMD(dir)
	var ie *terminology.ImportError
	if !errors.As(err, &ie) || !strings.HasSuffix(ie.Rows[0].File, "f_vmp2_3010419.xml") || ie.Rows[0].Line == 0 {
		t.Fatalf("want file:line error, got %v", err)
	}
	if _, err := tm.Product("39732411000001106"); err != nil {
		t.Errorf("the embedded dm+d must still be in use: %v", err)
	}
}

func TestImportCodelistHeaderVariants(t *testing.T) {
	tm, _ := open(t)
	for _, c := range []struct {
		file, system string
		rows         int
		code, term   string
	}{
		{"asthma-medication.csv", terminology.SystemDMD, 2, "10514511000001106", "Adrenaline (base) 220micrograms/dose inhaler"},
		{"asthma-medication-alt-headers.csv", terminology.SystemSNOMED, 2, "10525011000001107", "Adrenaline (base) 220micrograms/dose inhaler refill"},
		{"opensafely-diabetes.csv", terminology.SystemCTV3, -1, "13B1.", "Diabetic diet"},
		{"opensafely-ethnicity.csv", terminology.SystemCTV3, -1, "Y9930", "Race - British"},
		{"opensafely-asthma-inhaler-steroid-medication.csv", terminology.SystemDMD, -1, "3175711000001102", "Beclometasone 50micrograms/dose inhaler (A A H Pharmaceuticals Ltd)"},
	} {
		name := strings.TrimSuffix(c.file, ".csv")
		info, err := tm.ImportCodelist(name, filepath.Join("testdata/codelists", c.file))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if info.System != c.system || (c.rows >= 0 && info.Counts["rows"] != c.rows) {
			t.Errorf("%s: %+v", c.file, info)
		}
		sys, members, err := tm.Codelist(name)
		if err != nil || sys != c.system {
			t.Errorf("%s: %v %v", c.file, sys, err)
		}
		found := false
		for _, m := range members {
			found = found || m.Code == c.code && m.Term == c.term
		}
		if !found {
			t.Errorf("%s: %s |%s| not among %d members", c.file, c.code, c.term, len(members))
		}
	}
	if got := tm.Codelists(); len(got) != 5+len(terminology.ReferenceCodelists()) {
		t.Errorf("Codelists: %v", got)
	}
	// a code list limits a search
	if _, err := tm.ImportCodelist("amox", "../fixtures/embedded/dmd-codelists/opensafely-amoxicillin-oral.csv"); err != nil {
		t.Fatal(err)
	}
	rs, err := tm.Search(context.Background(), "500mg", terminology.SearchOptions{Codelist: "amox", Limit: 50})
	if err != nil || len(rs) == 0 {
		t.Fatalf("search in code list: %v %v", rs, err)
	}
	_, members, _ := tm.Codelist("amox")
	in := map[string]bool{}
	for _, m := range members {
		in[m.Code] = true
	}
	for _, r := range rs {
		if !in[r.Code] {
			t.Errorf("outside the code list: %+v", r)
		}
	}
	// ^name in ECL stands for the code list's members
	vmps, err := tm.ECL("^amox AND ^999000561000001109 |VMP|")
	if err != nil || len(vmps) == 0 {
		t.Fatalf("^amox AND VMPs: %v %v", vmps, err)
	}
	for _, c := range vmps {
		if !in[c.Code] {
			t.Errorf("^amox returned %+v", c)
		}
		if p, _ := tm.Product(c.Code); p.Kind != "VMP" {
			t.Errorf("not a VMP: %+v", p)
		}
	}
	if err := tm.RemoveCodelist("amox"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tm.Codelist("amox"); !errors.Is(err, terminology.ErrNotFound) {
		t.Errorf("removed list: %v", err)
	}
	if _, err := tm.ECL("^amox"); !errors.Is(err, terminology.ErrNotFound) {
		t.Errorf("^ of a removed list: %v", err)
	}
	// a file with no code column fails with file:line
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("foo,bar\n1,2\n"), 0o644)
	_, err = tm.ImportCodelist("bad", bad)
	var ie *terminology.ImportError
	if !errors.As(err, &ie) || ie.Rows[0].Line != 1 {
		t.Errorf("bad header: %v", err)
	}
	if _, err := tm.ImportCodelist("bad name", bad); err == nil {
		t.Errorf("a name with a space must be refused")
	}
}

func TestECLParser(t *testing.T) {
	tm, _ := open(t)
	for _, c := range []struct {
		expr string
		want []string
		not  []string
	}{
		{"73211009", []string{"73211009"}, []string{"44054006"}},
		{"<< 73211009 |Diabetes mellitus|", []string{"73211009", "44054006"}, nil},
		{"< 73211009", []string{"44054006"}, []string{"73211009"}},
		{"<! 73211009", []string{"44054006", "74627003"}, []string{"420868002"}},
		{"> 44054006", []string{"73211009", "404684003", "138875005"}, []string{"44054006"}},
		{">> 44054006", []string{"44054006", "73211009"}, nil},
		{">! 44054006", []string{"73211009"}, []string{"362969004"}},
		{"<< 73211009 AND << 44054006", []string{"44054006", "237599002"}, []string{"73211009"}},
		{"<< 46635009 OR << 44054006", []string{"46635009", "44054006"}, []string{"73211009"}},
		{"<< 73211009 MINUS (<< 44054006 OR << 46635009)", []string{"73211009", "74627003"}, []string{"44054006", "46635009"}},
		{"(<< 73211009), << 74627003", []string{"420868002"}, []string{"73211009"}},
		{"< (44054006 OR 46635009)", []string{"237599002", "420868002"}, []string{"44054006"}},
	} {
		got, err := tm.ECL(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		m := conceptCodes(got)
		for _, w := range c.want {
			if !m[w] {
				t.Errorf("%s: missing %s", c.expr, w)
			}
		}
		for _, n := range c.not {
			if m[n] {
				t.Errorf("%s: must not contain %s", c.expr, n)
			}
		}
	}
	for _, bad := range []string{"", "<< 73211009 AND 44054006 OR 46635009", "<< 404684003 : 363698007 = << 39057004",
		"(<< 73211009", "<< 73211009 |unterminated", "AND 73211009", "<<< 73211009", "<< 73211009 MINUS 1 MINUS 2"} {
		if _, err := tm.ECL(bad); err == nil {
			t.Errorf("%q should be an error", bad)
		} else {
			var ve *terminology.ValueError
			if !errors.As(err, &ve) {
				t.Errorf("%q: want *ValueError, got %T %v", bad, err, err)
			}
		}
	}
	_, err := tm.ECL("<< 123456789012")
	mustNotFound(t, err)
	// membership test for pickers
	m, err := tm.CompileECL("<< 404684003")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Contains("sct", "44054006") || m.Contains("sct", "372687004") {
		t.Errorf("matcher")
	}
}

func TestSystemNames(t *testing.T) {
	for in, want := range map[string]string{"sct": terminology.SystemSNOMED, "DMD": terminology.SystemDMD, "ctv3": terminology.SystemCTV3,
		"read2": terminology.SystemRead2, "http://read.info/ctv3": terminology.SystemCTV3, "": ""} {
		got, err := terminology.SystemURI(in)
		if err != nil || got != want {
			t.Errorf("SystemURI(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := terminology.SystemURI("icd10"); err == nil {
		t.Errorf("unknown system accepted")
	}
}
