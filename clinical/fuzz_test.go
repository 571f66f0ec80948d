package clinical

import (
	"testing"
)

// Fuzz targets for dose and blood-pressure parsing, and rules YAML (the bulk
// imports' readers are fuzzed in interop, through the import services).
// `make fuzz` runs each for a while; plain `go test` runs the seeds (and the
// failing inputs kept under testdata/fuzz) as regression tests.

func FuzzDoseInWords(f *testing.F) {
	for _, d := range []string{"1 od", "2 tds prn", "5ml bd", "1-2 qds max 8 in 24 hours", "apply bd", "2 puffs prn", "½ nocte", ""} {
		f.Add(d, "tablet")
	}
	f.Fuzz(func(t *testing.T, dose, unit string) {
		_ = DoseInWords(dose, unit)
	})
}

func FuzzParseBP(f *testing.F) {
	for _, s := range []string{"140/90", "120 / 80", "90/140", "1e308/1e308", "NaN/NaN", "-1/-1", "140/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sys, dia, err := ParseBP(s)
		if err == nil && (sys != sys || dia != dia || sys <= 0 || dia <= 0) {
			t.Fatalf("ParseBP(%q) = %v/%v accepted", s, sys, dia)
		}
	})
}

func FuzzParseRuleFile(f *testing.F) {
	f.Add(DefaultRuleText("interactions"))
	f.Add(DefaultRuleText("contraindications"))
	f.Add([]byte("version: 1\nrules: &a [*a]\n"))
	f.Add([]byte("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseRuleFile(b)
	})
}
