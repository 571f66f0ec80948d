package e2e

import (
	"encoding/json"
	"testing"
)

// A legacy CTV3 code is recorded as given, with its mapped SNOMED CT concept alongside.
func TestLegacyCodeIsRecordedWithItsSNOMEDConcept(t *testing.T) {
	dir := newPractice(t)
	steps := [][]string{
		{"codes", "import", "ctv3", "../terminology/testdata/ctv3/nhs_readctv3_25.0.0_20180401000001.zip"},
		{"codes", "import", "read-map", "../terminology/testdata/readmap/ctv3sctmap2_uk_20200401000001.txt"},
		{"user", "add", "dr.x", "--role", "gp"},
		{"user", "bind", "dr.x", "--login", osLogin(t)},
		{"patient", "add", "--nhs", "9434765919", "--family", "Able", "--given", "Ben", "--dob", "1980-01-01", "--sex", "male"},
	}
	for _, s := range steps {
		if r := run(t, dir, "", s...); r.code != 0 {
			t.Fatalf("%v: %d %s", s, r.code, r.stderr)
		}
	}
	r := run(t, dir, "", "--as", "dr.x", "consult", "add", "9434765919", "--system", "ctv3", "--code", "H33..", "--text", "wheeze", "-o", "json")
	if r.code != 0 {
		t.Fatalf("consult add: %d %s", r.code, r.stderr)
	}
	var out struct {
		Consultation struct {
			Entries []struct {
				Code   struct{ System, Code string }
				Mapped *struct{ System, Code string }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	e := out.Consultation.Entries
	if len(e) != 1 || e[0].Code.Code != "H33.." || e[0].Mapped == nil || e[0].Mapped.Code != "195967001" {
		t.Fatalf("entries = %+v", e)
	}
	// An unknown legacy code is refused, naming it.
	r = run(t, dir, "", "--as", "dr.x", "consult", "add", "9434765919", "--system", "ctv3", "--code", "ZZZZZ")
	if r.code != 2 {
		t.Fatalf("unknown ctv3 code: exit %d %s", r.code, r.stderr)
	}
}
