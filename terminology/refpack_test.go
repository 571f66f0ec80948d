package terminology_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

// The QOF clusters are loaded as code lists named after their cluster, with their UK
// attribution, and never added to the embedded default (no picker offers their terms).
func TestReferencePackLoadedAsCodelists(t *testing.T) {
	dir := t.TempDir()
	tm, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := tm.Codelists()
	for _, want := range []string{"DM_COD", "DMRES_COD", "HYP_COD", "AFIB_COD", "IFCCHBAM_COD", "PALCARE_COD", "TIA_COD"} {
		if !slices.Contains(names, want) {
			t.Errorf("code list %s not loaded; have %v", want, names)
		}
	}
	if got := terminology.ReferenceCodelists(); len(got) != 32 || !slices.Equal(got, names) {
		t.Errorf("reference pack %v (%d lists, want 32), loaded %v", got, len(got), names)
	}
	sys, members, err := tm.Codelist("DM_COD")
	if err != nil || sys != terminology.SystemSNOMED || len(members) != 86 {
		t.Fatalf("DM_COD: %s, %d members, %v; want SNOMED CT, 86", sys, len(members), err)
	}
	info, ok := about(tm, "codelist:DM_COD")
	if !ok || !info.Embedded || !strings.Contains(info.Licence, "UK") || !strings.Contains(info.Attribution, "SNOMED International") {
		t.Errorf("DM_COD source info %+v: want embedded, UK licence note and SNOMED attribution", info)
	}
	// 111552007 |Diabetes mellitus without complication| is in DM_COD only: not a concept of
	// the embedded default, so no picker offers it and ECL over the cluster skips it.
	if _, err := tm.Concept(terminology.SystemSNOMED, "111552007"); !errors.As(err, new(*terminology.NotFoundError)) {
		t.Errorf("cluster-only code 111552007 is a concept of the default (err %v)", err)
	}
	rs, err := tm.Search(context.Background(), "diabetes mellitus without complication", terminology.SearchOptions{System: "sct"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Code == "111552007" {
			t.Errorf("the picker offers cluster-only code 111552007")
		}
	}
	cs, err := tm.ECL("^DM_COD")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, c := range cs {
		codes = append(codes, c.Code)
	}
	if !slices.Contains(codes, "44054006") || slices.Contains(codes, "111552007") {
		t.Errorf("^DM_COD = %v: want the default's members (44054006), not cluster-only codes", codes)
	}
	tm.Close()

	// A newer release imported under the cluster's name is the practice's: reopening (as a new
	// binary with another pack would) keeps it.
	f := filepath.Join(t.TempDir(), "dm_cod_new.csv")
	if err := os.WriteFile(f, []byte("code,term\n44054006,Type 2 diabetes mellitus\n46635009,Type 1 diabetes mellitus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm, err = terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ImportCodelist("DM_COD", f); err != nil {
		t.Fatal(err)
	}
	tm.Close()
	tm, err = terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if _, members, _ := tm.Codelist("DM_COD"); len(members) != 2 {
		t.Errorf("the imported DM_COD was replaced by the pack: %d members", len(members))
	}
}
