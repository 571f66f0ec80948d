package find

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sahilm/fuzzy"
)

// Benchmarks run at 100k patients and 150k terms by default; set FIND_BENCH_SIZE (for
// example 1000000) for the million tier:
//
//	FIND_BENCH_SIZE=1000000 go test ./find -run '^$' -bench . -benchmem
//
// Each reports p95-ms over its searches beside ns/op. `gpsoc bench find`
// (internal/findbench) is the full report with the anchors.

func benchSize(def int) int {
	if s := os.Getenv("FIND_BENCH_SIZE"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return def
}

var (
	benchPatientsOnce sync.Once
	benchPatients     []Patient
	benchPatientIx    *Patients
	benchTermsOnce    sync.Once
	benchTerms        []Term
	benchTermIx       *Terms
)

func patientsForBench() ([]Patient, *Patients) {
	benchPatientsOnce.Do(func() {
		benchPatients = SyntheticPatients(benchSize(100_000), 1)
		benchPatientIx = BuildPatients(benchPatients)
	})
	return benchPatients, benchPatientIx
}

func termsForBench() ([]Term, *Terms) {
	benchTermsOnce.Do(func() {
		benchTerms = SyntheticTerms(benchSize(100_000)*3/2, 1)
		benchTermIx = BuildTerms(benchTerms)
	})
	return benchTerms, benchTermIx
}

func reportP95(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(percentile(ds, 0.95).Microseconds())/1000, "p95-ms")
}

func BenchmarkPatientSearch(b *testing.B) {
	ps, ix := patientsForBench()
	sample := ps[len(ps)/2]
	for _, q := range StandardQueries("patients") {
		q = fillPatientQuery(q, sample)
		b.Run(strings.ReplaceAll(q, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				ix.Search(context.Background(), q, 10)
				ds = append(ds, time.Since(t0))
			}
			reportP95(b, ds)
		})
	}
}

func BenchmarkTermSearch(b *testing.B) {
	ts, ix := termsForBench()
	sample := ts[len(ts)/2]
	for _, q := range StandardQueries("codes") {
		q = fillCodeQuery(q, sample)
		b.Run(strings.ReplaceAll(q, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				ix.Search(context.Background(), q, 10, nil)
				ds = append(ds, time.Since(t0))
			}
			reportP95(b, ds)
		})
	}
}

func BenchmarkBuildPatients(b *testing.B) {
	ps, _ := patientsForBench()
	b.ReportAllocs()
	for b.Loop() {
		BuildPatients(ps)
	}
}

func BenchmarkBuildTerms(b *testing.B) {
	ts, _ := termsForBench()
	b.ReportAllocs()
	for b.Loop() {
		BuildTerms(ts)
	}
}

// The anchor, on the same corpus: plain sahilm/fuzzy.Find over the display strings.
func BenchmarkPatientSearchSahilmAnchor(b *testing.B) {
	ps, _ := patientsForBench()
	strs := make([]string, len(ps))
	for i, p := range ps {
		strs[i] = PatientDisplay(p)
	}
	for _, q := range []string{"s", "jo smi", "brwn"} {
		b.Run(strings.ReplaceAll(q, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				benchSink = len(fuzzy.Find(q, strs))
				ds = append(ds, time.Since(t0))
			}
			reportP95(b, ds)
		})
	}
}

var benchSink int

func BenchmarkPatientLoader(b *testing.B) {
	ps, _ := patientsForBench()
	keys := make([][]byte, len(ps))
	rows := make([][]byte, len(ps))
	for i, p := range ps {
		keys[i], rows[i] = []byte(p.ID), EncodePatientRow(p)
	}
	b.ReportAllocs()
	for b.Loop() {
		l := NewPatientLoader(len(rows))
		for i := range rows {
			l.Add(keys[i], rows[i])
		}
		l.Build()
	}
}

func BenchmarkReadSnapshot(b *testing.B) {
	_, ix := patientsForBench()
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadSnapshot(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
