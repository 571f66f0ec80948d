package terminology_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/terminology"
	"github.com/opengpsoc/gpsoc/terminology/rf2gen"
)

// Benchmarks over synthetic releases from rf2gen (deterministic tiers). The default tier is
// 100k concepts so `go test -bench .` stays quick; GPSOC_BENCH_FULL=1 adds the full UK shape
// (1.1M concepts, 3M descriptions, 8M relationship rows), whose import budget is 3 minutes
// (design.md §7). Generated releases are cached in $GPSOC_BENCH_CACHE (default: the OS temp
// folder) and reused.

type tier struct {
	name string
	n    int
}

func tiers(b *testing.B) []tier {
	ts := []tier{{"100k", 100_000}}
	if os.Getenv("GPSOC_BENCH_FULL") == "1" {
		ts = append(ts, tier{"full-uk-1.1M", rf2gen.FullUK().Concepts})
	}
	return ts
}

var genMu sync.Mutex

// release returns the folder of a generated release of n concepts and its stats.
func release(b *testing.B, n int) rf2gen.Stats {
	b.Helper()
	genMu.Lock()
	defer genMu.Unlock()
	cache := os.Getenv("GPSOC_BENCH_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "gpsoc-bench-cache")
	}
	dir := filepath.Join(cache, "rf2gen-v2-"+strconv.Itoa(n))
	stamp := filepath.Join(dir, "stats.json")
	var st rf2gen.Stats
	if data, err := os.ReadFile(stamp); err == nil && json.Unmarshal(data, &st) == nil {
		return st
	}
	os.RemoveAll(dir)
	start := time.Now()
	st, err := rf2gen.Write(dir, rf2gen.Scaled(n))
	if err != nil {
		b.Fatal(err)
	}
	data, _ := json.Marshal(st)
	os.WriteFile(stamp, data, 0o644)
	b.Logf("generated %d concepts in %v", n, time.Since(start).Round(time.Millisecond))
	return st
}

var (
	importedMu sync.Mutex
	imported   = map[int]*terminology.Terminology{}
)

// loaded imports a tier once per benchmark binary and keeps it open.
func loaded(b *testing.B, n int) (*terminology.Terminology, rf2gen.Stats) {
	st := release(b, n)
	importedMu.Lock()
	defer importedMu.Unlock()
	if tm := imported[n]; tm != nil {
		return tm, st
	}
	dir, err := os.MkdirTemp("", "gpsoc-bench-term")
	if err != nil {
		b.Fatal(err)
	}
	tm, err := terminology.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := tm.ImportRF2(st.Dir); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("import %d concepts: %v\n", n, time.Since(start).Round(time.Millisecond))
	imported[n] = tm
	return tm, st
}

func BenchmarkImportRF2(b *testing.B) {
	for _, tr := range tiers(b) {
		b.Run(tr.name, func(b *testing.B) {
			st := release(b, tr.n)
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				tm, err := terminology.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				b.StartTimer()
				start := time.Now()
				info, err := tm.ImportRF2(st.Dir)
				if err != nil {
					b.Fatal(err)
				}
				d := time.Since(start)
				b.StopTimer()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				fmt.Printf("import %s: %v (budget 3m0s); concepts %d, description rows %d, relationship rows %d, active is-a %d; heap now %d MB\n",
					tr.name, d.Round(time.Millisecond), info.Counts["concepts"], info.Counts["descriptionRows"],
					info.Counts["relationshipRows"], info.Counts["isA"], ms.HeapAlloc>>20)
				tm.Close()
				start = time.Now()
				tm, err = terminology.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				fmt.Printf("open %s after import: %v\n", tr.name, time.Since(start).Round(time.Microsecond))
				tm.Close()
				b.StartTimer()
			}
		})
	}
}

// Search: the first query builds the find index over every term of the release; later
// queries are what a picker sees per keystroke.
func BenchmarkSearch(b *testing.B) {
	for _, tr := range tiers(b) {
		b.Run(tr.name, func(b *testing.B) {
			tm, st := loaded(b, tr.n)
			ctx := context.Background()
			// before the index exists: a whole code, and a search narrowed by ECL (subset scan)
			start := time.Now()
			if rs, err := tm.Search(ctx, st.SampleChild, terminology.SearchOptions{System: "sct"}); err != nil || len(rs) != 1 {
				b.Fatalf("code search: %v %v", rs, err)
			}
			fmt.Printf("search %s: a code, before any index: %v\n", tr.name, time.Since(start).Round(time.Microsecond))
			start = time.Now()
			if _, err := tm.Search(ctx, "car", terminology.SearchOptions{System: "sct", ECL: "<< " + st.TargetConcept}); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("search %s: text limited by ECL to %d concepts, before any index: %v\n", tr.name, st.TargetDescendants+1, time.Since(start).Round(time.Millisecond))
			start = time.Now()
			if _, err := tm.Search(ctx, "car", terminology.SearchOptions{System: "sct"}); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("search %s: first query (builds the index): %v\n", tr.name, time.Since(start).Round(time.Millisecond))
			queries := []string{"c", "car", "cardio", "chronic neph", "left osteitis", "dio ro", "100000030", "htn", "af", "hypertension"}
			pickers := []string{"", terminology.PickerProblem, terminology.PickerConsultation}
			var lat []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				// with the pickers' ranking (rank.go) and the shorthand table
				tm.Search(ctx, queries[i%len(queries)], terminology.SearchOptions{System: "sct", Limit: 20, Picker: pickers[i%len(pickers)]})
				lat = append(lat, time.Since(t0))
				i++
			}
			slices.Sort(lat)
			fmt.Printf("search %s (%d descriptions): p50 %v, p95 %v over %d queries\n", tr.name, st.Descriptions, lat[len(lat)/2], lat[len(lat)*95/100], len(lat))
		})
	}
}

func BenchmarkSubsumes(b *testing.B) {
	for _, tr := range tiers(b) {
		b.Run(tr.name, func(b *testing.B) {
			tm, st := loaded(b, tr.n)
			// pairs: a deep concept against its top ancestor (true), and random pairs (mostly false)
			codes, err := tm.DescendantCodes("sct", st.TargetConcept)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			type pair struct{ a, b string }
			pairs := []pair{{st.SampleAncestor, st.SampleChild}}
			for range 1023 {
				pairs = append(pairs, pair{st.TargetConcept, codes[rng.IntN(len(codes))]}, pair{codes[rng.IntN(len(codes))], st.SampleChild})
			}
			if ok, err := tm.Subsumes(st.SampleAncestor, st.SampleChild); !ok || err != nil {
				b.Fatalf("sample pair: %v %v", ok, err)
			}
			b.ReportAllocs()
			i := 0
			start := time.Now()
			for b.Loop() {
				p := pairs[i%len(pairs)]
				if _, err := tm.Subsumes(p.a, p.b); err != nil {
					b.Fatal(err)
				}
				i++
			}
			per := time.Since(start) / time.Duration(max(i, 1))
			fmt.Printf("subsumes %s: %v per test (budget 50µs)\n", tr.name, per)
		})
	}
}

func BenchmarkDescendants10k(b *testing.B) {
	for _, tr := range tiers(b) {
		b.Run(tr.name, func(b *testing.B) {
			tm, st := loaded(b, tr.n)
			codes, err := tm.DescendantCodes("sct", st.TargetConcept)
			if err != nil || len(codes) != st.TargetDescendants {
				b.Fatalf("<< target: %d codes (want %d), %v", len(codes), st.TargetDescendants, err)
			}
			b.ReportAllocs()
			n := 0
			start := time.Now()
			for b.Loop() {
				codes, _ = tm.DescendantCodes("sct", st.TargetConcept)
				n++
			}
			per := time.Since(start) / time.Duration(max(n, 1))
			fmt.Printf("<< of a concept with %d descendants, %s: %v (budget 20ms)\n", len(codes), tr.name, per)
		})
	}
}

// ECL with terms (what `gpsoc codes ecl` prints) over the same 10,000 descendants.
func BenchmarkECL10kWithTerms(b *testing.B) {
	for _, tr := range tiers(b) {
		b.Run(tr.name, func(b *testing.B) {
			tm, st := loaded(b, tr.n)
			expr := "<< " + st.TargetConcept
			if got, err := tm.ECL(expr); err != nil || len(got) != st.TargetDescendants+1 {
				b.Fatalf("ECL: %d, %v", len(got), err)
			}
			n := 0
			start := time.Now()
			for b.Loop() {
				tm.ECL(expr)
				n++
			}
			fmt.Printf("ECL %s with terms, %s: %v\n", expr, tr.name, (time.Since(start) / time.Duration(max(n, 1))))
		})
	}
}

// First open on a fresh machine: builds the embedded default into terminology.db.
func BenchmarkOpenEmbeddedDefault(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		tm, err := terminology.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		tm.Close()
		b.StartTimer()
	}
}
