package terminology_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/terminology"
)

// BenchmarkTermIndexLoad: the first code search of a new process (open the terminology
// file, then search text), once the first search ever has built the term index and left
// its snapshot beside the file. Metric first-search-ms: the median over the iterations;
// build-ms: the build that wrote the snapshot (or its load, when an earlier run left one).
func BenchmarkTermIndexLoad(b *testing.B) {
	for _, tr := range tiers(b) {
		b.Run(tr.name, func(b *testing.B) {
			tm, _ := loaded(b, tr.n)
			ctx := context.Background()
			opt := terminology.SearchOptions{System: "sct", Limit: 20}
			t0 := time.Now()
			want, err := tm.Search(ctx, "car", opt)
			if err != nil || len(want) == 0 {
				b.Fatalf("first search: %v %v", want, err)
			}
			build := time.Since(t0)
			dir := filepath.Dir(tm.Path())
			importedMu.Lock()
			defer importedMu.Unlock()
			tm.Close() // one writer at a time: the benchmark opens its own, as a new process would
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				tm2, err := terminology.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				got, err := tm2.Search(ctx, "car", opt)
				lat = append(lat, time.Since(t0))
				tm2.Close()
				if err != nil || len(got) != len(want) {
					b.Fatalf("search in a new process: %d results, want %d (%v)", len(got), len(want), err)
				}
			}
			reopened, err := terminology.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			imported[tr.n] = reopened
			slices.Sort(lat)
			med := lat[len(lat)/2]
			fmt.Printf("term index %s: first search built it in %v; first search in a new process %v (median of %d)\n",
				tr.name, build.Round(time.Millisecond), med.Round(time.Millisecond), len(lat))
			b.ReportMetric(float64(med.Microseconds())/1000, "first-search-ms")
			b.ReportMetric(float64(build.Microseconds())/1000, "build-ms")
		})
	}
}
