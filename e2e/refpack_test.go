package e2e

import (
	"strings"
	"testing"
)

// codes about names the UK reference pack once, with its UK licence and SNOMED CT attribution,
// and says its clusters are code lists that the pickers do not offer.
func TestCodesAboutNamesTheReferencePack(t *testing.T) {
	dir := newPractice(t)
	r := run(t, dir, "", "codes", "about")
	if r.code != 0 {
		t.Fatalf("codes about: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{"UK reference pack: 32 QOF clusters, as code lists (not in the pickers)",
		"DM_COD", "DMRES_COD", "used under the UK SNOMED CT affiliate licence", "used by permission of SNOMED International"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("codes about lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "codelist:DM_COD"); n != 0 {
		t.Errorf("the pack's clusters are listed one by one (%d)", n)
	}
	// the pack stays a code list: a cluster-only code is not a concept a picker offers
	if r := run(t, dir, "", "codes", "search", "diabetes mellitus without complication"); strings.Contains(r.stdout, "111552007") {
		t.Errorf("the picker offers the cluster-only code 111552007:\n%s", r.stdout)
	}
}
