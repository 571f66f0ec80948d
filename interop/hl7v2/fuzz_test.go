package hl7v2

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzORU: no input panics the parser, and what it accepts is consistent:
// every report names a patient identifier, a filler order number and a
// status, and every NM value is a number.
func FuzzORU(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hl7")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("MSH|^~\\&|"))
	f.Add([]byte("MSH|^~\\&|L|F|||2026||ORU^R01|1|P|2.4\rPID|1||1\rOBR|1||2|X|||||||||||||||||||||F\rOBX|1|SN|A||<^\\X41\\|||||F"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := Parse(data)
		if err != nil {
			if ms != nil {
				t.Fatal("a refused text returned messages")
			}
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		for _, m := range ms {
			if len(m.Reports) == 0 {
				t.Fatal("a message accepted without a report")
			}
			for _, r := range m.Reports {
				if len(r.Patient.Identifiers) == 0 || r.FillerOrder == "" || r.Status == "" {
					t.Fatalf("an accepted report lacks identity: %+v", r)
				}
				for _, x := range r.Results {
					if x.ValueType == "NM" && x.Text != "" && x.Number == nil {
						t.Fatalf("an NM value without its number: %+v", x)
					}
				}
			}
		}
	})
}
