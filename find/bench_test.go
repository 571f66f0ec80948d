package find

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Benchmarks run at 100k patients and 150k terms by default; set FIND_BENCH_SIZE (for
// example 1000000) for the million tier:
//
//	FIND_BENCH_SIZE=1000000 go test ./find -run '^$' -bench . -benchmem
//
// Each reports p95-ms over its searches beside ns/op. `gpsoc bench find` (RunBench)
// is the full report with the anchors.

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
				benchSink = len(fuzzySearch(q, strs))
				ds = append(ds, time.Since(t0))
			}
			reportP95(b, ds)
		})
	}
}

var benchSink int

func TestRunBenchReport(t *testing.T) {
	for _, corpus := range []string{"patients", "codes"} {
		rep, err := RunBench(context.Background(), BenchOptions{Corpus: corpus, Size: 3000, Seed: 2, Runs: 2, Anchors: true, AnchorRuns: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Queries) != len(StandardQueries(corpus)) || rep.P95Ms <= 0 || rep.BytesPerEntry <= 0 || rep.BuildMs <= 0 {
			t.Errorf("%s: %+v", corpus, rep)
		}
		for _, q := range rep.Queries {
			if strings.Contains(q.Query, "{") {
				t.Errorf("%s: placeholder left in %q", corpus, q.Query)
			}
			if len(q.Results) > 10 {
				t.Errorf("%s: %q: %d results", corpus, q.Query, len(q.Results))
			}
		}
		// the whole-NHS-number and code queries find their record
		for _, q := range rep.Queries {
			if corpus == "patients" && len(q.Query) == 10 && allDigits(q.Query) && len(q.Results) == 0 {
				t.Errorf("NHS query %q found nothing", q.Query)
			}
		}
		js, _ := json.Marshal(rep)
		var m map[string]any
		json.Unmarshal(js, &m)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"anchors", "buildMs", "bytesPerEntry", "loadMs", "p50Ms", "p95Ms", "p99Ms", "queries"}
		if !slices.Equal(keys, want) {
			t.Errorf("report keys %v, want %v", keys, want)
		}
		if rep.Anchors.SahilmP95Ms <= 0 {
			t.Errorf("anchors: %+v", rep.Anchors)
		}
	}
	if _, err := RunBench(context.Background(), BenchOptions{Corpus: "nope", Size: 10}); err == nil {
		t.Error("unknown corpus accepted")
	}
}

// TestBenchFull runs RunBench at the million tier with the anchors, as `make bench-full`
// does through the CLI. It only runs when asked:
//
//	FIND_BENCH_FULL=1 go test ./find -run BenchFull -v -timeout 30m
//
// FIND_BENCH_OUT=DIR writes the two JSON reports there.
func TestBenchFull(t *testing.T) {
	if os.Getenv("FIND_BENCH_FULL") == "" {
		t.Skip("set FIND_BENCH_FULL=1 to run the million-scale bench")
	}
	for _, c := range []struct {
		corpus string
		size   int
	}{{"patients", benchSize(1_000_000)}, {"codes", benchSize(1_000_000) * 3 / 2}} {
		rep, err := RunBench(context.Background(), BenchOptions{Corpus: c.corpus, Size: c.size, Seed: 1, Runs: 20, Anchors: os.Getenv("FIND_BENCH_ANCHORS") != "0", AnchorRuns: 2})
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.MarshalIndent(rep, "", "  ")
		if dir := os.Getenv("FIND_BENCH_OUT"); dir != "" {
			os.WriteFile(dir+"/bench-"+c.corpus+".json", js, 0o644)
		}
		t.Logf("%s %d: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, %.1f bytes/entry, build %.0f ms, load %.0f ms",
			c.corpus, c.size, rep.P50Ms, rep.P95Ms, rep.P99Ms, rep.BytesPerEntry, rep.BuildMs, rep.LoadMs)
		for _, q := range rep.Queries {
			t.Logf("  %-28q p95 %7.3f ms  sahilm %8.1f ms  fzf %8.1f ms  hits %d", q.Query, q.P95Ms, q.SahilmMs, q.FzfMs, len(q.Results))
		}
		if a := rep.Anchors; a != nil {
			t.Logf("  anchors: sahilm p95 %.1f ms (x%.0f), fzf p95 %.1f ms (x%.0f) %s", a.SahilmP95Ms, a.RatioSahilm, a.FzfP95Ms, a.RatioFzf, a.FzfSkipped)
		}
	}
}

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
