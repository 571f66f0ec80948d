package findbench

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/internal/findcorpus"
)

func benchSize(def int) int {
	if s := os.Getenv("FIND_BENCH_SIZE"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return def
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func TestRunBenchReport(t *testing.T) {
	for _, corpus := range []string{"patients", "codes"} {
		rep, err := RunBench(context.Background(), BenchOptions{Corpus: corpus, Size: 3000, Seed: 2, Runs: 2, Anchors: true, AnchorRuns: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Queries) != len(findcorpus.StandardQueries(corpus)) || rep.P95Ms <= 0 || rep.BytesPerEntry <= 0 || rep.BuildMs <= 0 {
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
//	FIND_BENCH_FULL=1 go test ./internal/findbench -run BenchFull -v -timeout 30m
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
