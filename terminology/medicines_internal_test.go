package terminology

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every product the embedded code lists file under a BNF code resolves to
// ingredients from the BNF (or dm+d): none is left "unverified" (known only
// by its name), except under a BNF grouping code ("Other ... preparations",
// substance characters 00) or a substance the 2019 dm+d ingredient table
// lacks, which are listed here by name so a change is seen.
func TestNoBNFCodedProductIsUnverified(t *testing.T) {
	tm, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	kb := medicinesOnce()
	if kb.err != nil {
		t.Fatal(kb.err)
	}
	checked, partial := 0, 0
	subs := map[string]bool{}
	for code, bnf := range kb.byDMD {
		p, err := tm.Product(code)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			continue // an old VPID kept as an inactive code, not a product
		}
		if err != nil {
			t.Fatal(err)
		}
		checked++
		if p.Partial {
			partial++
		}
		if p.IngredientsFrom != FromName {
			if p.BNF == nil {
				t.Errorf("%s %s: resolved without a BNF link", code, p.Name)
			}
			if len(p.Ingredients) > 0 {
				subs[p.BNF.Substance.Code] = true
			}
			continue
		}
		t.Errorf("%s %s (BNF %s): unverified (%s)", code, p.Name, bnf, p.Note)
	}
	t.Logf("%d products checked, %d partial; resolved to %d BNF chemical substances", checked, partial, len(subs))
	if checked < 20000 {
		t.Errorf("only %d products with a BNF code", checked)
	}
	// Coverage: at least 300 BNF chemical substances have products with known ingredients.
	if len(subs) < 300 {
		t.Errorf("%d BNF chemical substances with resolved products, want >= 300", len(subs))
	}
}

// A dm+d search for the most prescribed medicine in England, which no open
// code list at hand carries, says so rather than letting a near match pass
// for it; a search that finds what it asked for says nothing.
func TestDMDGapNamesTheMissingProduct(t *testing.T) {
	tm, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	rs, err := tm.Search(t.Context(), "Paracetamol 500mg tablets", SearchOptions{System: "dmd", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if strings.EqualFold(r.Term, "Paracetamol 500mg tablets") {
			t.Fatal("the embedded dictionary now has Paracetamol 500mg tablets: test the gap note with another missing product (and update H32)")
		}
	}
	gap := tm.DMDGap("Paracetamol 500mg tablets", rs)
	if !strings.Contains(gap, "not in the embedded dictionary — import the dm+d release") || !strings.Contains(gap, "0407010H0AAAMAM") {
		t.Fatalf("gap note: %q", gap)
	}
	rs, _ = tm.Search(t.Context(), "Amoxicillin 500mg capsules", SearchOptions{System: "dmd", Limit: 20})
	if g := tm.DMDGap("Amoxicillin 500mg capsules", rs); g != "" {
		t.Errorf("a found product gets a gap note: %q", g)
	}
}

// `codes import dmd` reads the dm+d BNF supplementary file (f_bnf1) when it is
// given: a real release's product gets its BNF link (and so its classes and
// route) while keeping dm+d's own ingredients.
func TestImportDMDReadsTheBNFFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "dmd", "set1")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bnf := `<?xml version="1.0" encoding="utf-8"?>
<BNF_DETAILS>
<VMPS>
<VMP><VPID>22480211000001104</VPID><BNF>1003020AFAAABAB</BNF><ATC>M02AA15</ATC></VMP>
</VMPS>
<AMPS>
</AMPS>
</BNF_DETAILS>
`
	if err := os.WriteFile(filepath.Join(dir, "f_bnf1_0000001.xml"), []byte(bnf), 0o600); err != nil {
		t.Fatal(err)
	}
	tm, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	info, err := tm.ImportDMD(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts["bnfLinks"] != 1 || info.Counts["vmp"] != 7 {
		t.Errorf("counts: %v", info.Counts)
	}
	p, err := tm.Product("22480211000001104")
	if err != nil {
		t.Fatal(err)
	}
	if p.BNF == nil || p.BNF.Substance.Code != "1003020AF" || p.BNF.Via != "dm+d BNF file" || p.IngredientsFrom != FromDMD ||
		len(p.Ingredients) != 1 || p.Ingredients[0].Code != "426714006" || !p.Local() || len(p.Classes) != 0 {
		t.Fatalf("product with a BNF link from the dm+d BNF file: %+v %+v", p, p.BNF)
	}
}

// The BNF part is its own source: a real dm+d release replacing the embedded
// rows keeps its dm+d ingredients and still gets the BNF link and classes.
func TestBNFLinkSurvivesARealDMDRelease(t *testing.T) {
	tm, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if _, err := tm.ImportDMD(filepath.Join("testdata", "dmd", "set1")); err != nil {
		t.Fatal(err)
	}
	p, err := tm.Product("35894711000001106") // Adenosine 6mg/2ml solution for injection vials
	if err != nil {
		t.Fatal(err)
	}
	if p.IngredientsFrom != FromDMD || p.BNF == nil || p.BNF.Substance.Code != "0203020C0" || p.BNF.Via == "" {
		t.Fatalf("after a real dm+d import: %+v %+v", p, p.BNF)
	}
}

// A brand's name gives no strength; its generic BNF presentation does
// (the dose checks need it): Brufen 400mg tablets is ibuprofen 400 mg, Nurofen
// Plus ibuprofen 200 mg and codeine 12.8 mg.
func TestBrandStrengthFromTheGenericPresentation(t *testing.T) {
	tm, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	p, err := tm.Product("263211000001109") // Brufen 400mg tablets
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ingredients) != 1 || p.Ingredients[0].NumeratorValue != 400 || p.Ingredients[0].NumeratorUnit != "mg" {
		t.Errorf("Brufen 400mg: %+v", p.Ingredients)
	}
	p, err = tm.Product("3915411000001104") // Nurofen Plus tablets
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ingredients) != 2 || p.Ingredients[0].Strength != "200 mg" || p.Ingredients[1].Strength != "12.8 mg" {
		t.Errorf("Nurofen Plus: %+v", p.Ingredients)
	}
}
