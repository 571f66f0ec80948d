package clinical_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/terminology"
)

// doseTableSubstances are the substances the dose checks (issue 17) cover:
// each must have products in the embedded dictionary or be listed below.
var doseTableSubstances = []string{"methotrexate", "paracetamol", "codeine", "tramadol", "aspirin", "ibuprofen", "naproxen",
	"diclofenac", "morphine", "oxycodone", "warfarin", "apixaban", "rivaroxaban", "edoxaban", "dabigatran", "metformin",
	"gliclazide", "insulin", "digoxin", "lithium", "levothyroxine", "prednisolone", "amoxicillin", "flucloxacillin",
	"clarithromycin", "doxycycline", "nitrofurantoin", "trimethoprim", "gabapentin", "pregabalin", "amitriptyline",
	"sertraline", "citalopram", "fluoxetine", "diazepam", "zopiclone", "allopurinol", "colchicine", "spironolactone",
	"ramipril", "lisinopril", "amlodipine", "bisoprolol", "atorvastatin", "simvastatin", "omeprazole", "lansoprazole",
	"salbutamol", "valproate", "isotretinoin", "topiramate", "carbamazepine"}

// Every BNF chemical substance named by the allergy classes, the interaction
// table (its classes and BNF codes) and the dose table has products in the
// embedded dictionary, or is in testdata/substances-without-product.txt: the
// list a GP (and the dm+d import) must know about. The test fails when the
// list changes either way, so it is kept true.
func TestTableSubstancesWithoutProduct(t *testing.T) {
	tm := rxTerminology(t)
	classes, err := terminology.EmbeddedDrugClasses()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]terminology.DrugClass{}
	for _, c := range classes {
		byID[c.ID] = c
	}
	rs, err := clinical.DefaultAllergyRules()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	addClass := func(id string) {
		c, ok := byID[id]
		if !ok {
			t.Fatalf("class %s: not a curated class", id)
		}
		for _, b := range c.BNF {
			want[b] = true
		}
	}
	for _, c := range rs.AllergyClasses {
		addClass(c)
	}
	rf, err := clinical.ParseRuleFile(clinical.DefaultRuleText("interactions"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rf.Interactions) < 80 {
		t.Errorf("%d interactions, want at least 80", len(rf.Interactions))
	}
	for _, x := range rf.Interactions {
		sels := []clinical.DrugSelector{x.A, x.B}
		if x.C != nil {
			sels = append(sels, *x.C)
		}
		for _, s := range sels {
			if s.Class != "" {
				addClass(s.Class)
			}
			for _, b := range s.BNF {
				want[b] = true
			}
		}
		if x.Effect == "" || x.Source == "" || x.Section == "" || x.Date == "" || x.ReviewedBy != "" {
			t.Errorf("interaction %s: needs effect, source, section and date, and reviewedBy empty until signed off", x.ID)
		}
	}
	var missing []string
	for b := range want {
		if len(terminology.ProductsFiledUnder(b)) == 0 {
			name, _, _ := tm.BNFSubstance(b)
			missing = append(missing, b+" "+name)
		}
	}
	for _, n := range doseTableSubstances {
		rs, err := tm.Search(context.Background(), n, terminology.SearchOptions{System: "dmd", Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range rs {
			if strings.Contains(strings.ToLower(r.Term), n) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, "dose table: "+n)
		}
	}
	sort.Strings(missing)
	got := strings.Join(missing, "\n") + "\n"
	golden := filepath.Join("testdata", "substances-without-product.txt")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(exp) != got {
		t.Errorf("table substances without a product changed (UPDATE_GOLDEN=1 to accept):\n got:\n%s\nwant:\n%s", got, exp)
	}
	t.Logf("%d table substances, %d without a product in the embedded dictionary", len(want)+len(doseTableSubstances), len(missing))
}
