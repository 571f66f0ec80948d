package hl7v2

import (
	"os"
	"testing"
)

// BenchmarkReadReports: parsing and mapping one ORU^R01 (a U&E of seven
// results); the inbox import budget is 5,000 reports a second in all.
func BenchmarkReadReports(b *testing.B) {
	msg, err := os.ReadFile("testdata/ue_v251.hl7")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := ReadReports(msg); err != nil {
			b.Fatal(err)
		}
	}
}
