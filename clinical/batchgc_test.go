package clinical

import (
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// Overlapping bulk runs raise the collection target once and put it back
// when the last one ends; GOGC, when set, is left alone.
func TestBatchGCNestsAndRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	a := BatchGC()
	b := BatchGC()
	if got := gcPercent(); got != batchGCPercent {
		t.Fatalf("during two runs: GC percent %d, want %d", got, batchGCPercent)
	}
	a()
	a() // a second call changes nothing
	if got := gcPercent(); got != batchGCPercent {
		t.Fatalf("one run still going: GC percent %d, want %d", got, batchGCPercent)
	}
	b()
	if got := gcPercent(); got != 100 {
		t.Fatalf("after both: GC percent %d, want 100", got)
	}
	t.Setenv("GOGC", "50")
	BatchGC()()
	if got := gcPercent(); got != 100 {
		t.Fatalf("with GOGC set: GC percent %d, want it untouched (100)", got)
	}
}
