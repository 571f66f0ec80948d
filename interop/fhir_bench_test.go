package interop_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/internal/benchpractice"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// benchPracticeFHIR is an empty practice with fsync on (as in production).
func benchPracticeFHIR(b *testing.B) *clinical.Service {
	st, err := bolt.Open(filepath.Join(b.TempDir(), bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return fhirToday }})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Bench Surgery", "B86099", "admin", "", false); err != nil {
		b.Fatal(err)
	}
	s, err := p.As(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkFHIRImport imports the 100 Synthea bundles (about 31,000
// resources, 22,000 of them written) into an empty practice: resources/s
// counts every resource read, written/s the ones written. Budget ≥ 20,000/s.
func BenchmarkFHIRImport(b *testing.B) {
	in := fxLoadInputs(b, fxSyntheaDir)
	var total, written int
	cpu0 := benchpractice.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchPracticeFHIR(b)
		b.StartTimer()
		sum := importFHIR(b, s, in, false)
		if sum.RejectedBundles != 0 {
			b.Fatalf("rejected: %+v", sum.Rejections)
		}
		total += sum.Imported + sum.Skipped
		written += sum.Imported
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "written/s")
	b.ReportMetric(float64(total)/(benchpractice.CPUTime()-cpu0).Seconds(), "resources/cpu-s")
}

// BenchmarkFHIRExport exports that practice as Bulk NDJSON content (marshalled, not written to disk).
func BenchmarkFHIRExport(b *testing.B) {
	s := benchPracticeFHIR(b)
	importFHIR(b, s, fxLoadInputs(b, fxSyntheaDir), false)
	cpu0 := benchpractice.CPUTime()
	b.ResetTimer()
	n, bytes := 0, 0
	for i := 0; i < b.N; i++ {
		_, err := interop.ExportFHIRAll(context.Background(), s, func(r fhir.Resource) error {
			raw, err := fhir.Marshal(r)
			n++
			bytes += len(raw)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(bytes)/float64(n), "bytes/resource")
	b.ReportMetric(float64(n)/(benchpractice.CPUTime()-cpu0).Seconds(), "resources/cpu-s")
}
