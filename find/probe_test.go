package find

import (
	"context"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	if os.Getenv("PROBE") == "" {
		t.Skip()
	}
	t0 := time.Now()
	ps := SyntheticPatients(1000000, 1)
	t.Log("gen", time.Since(t0))
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 = time.Now()
	ix := BuildPatients(ps)
	t.Log("build", time.Since(t0))
	ps2 := ps[:10]
	ps = nil
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	t.Log("bytes/patient", float64(m1.HeapAlloc-m0.HeapAlloc)/1e6+float64(len(ps2))*0)
	for _, q := range []string{"s", "m", "j", "sm", "jo", "smith", "brwn", "smth", "jo smi", "smith john", "9434765919", "943 476", "4", "12/3/61", "12-Mar-1961", "1961-03-12", "120361", "ls6", "ls6 2qt", "m1", "smith 12/3/61", "jo smi ls6", "harry", "oliv", "tremorer", "zzzz", "ma jo"} {
		var ds []time.Duration
		var n int
		for i := 0; i < 20; i++ {
			t1 := time.Now()
			h := ix.Search(context.Background(), q, 10)
			ds = append(ds, time.Since(t1))
			n = len(h)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%-16q n=%d p50=%v p95=%v", q, n, ds[10], ds[19])
	}
}
