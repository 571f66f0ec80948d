package clinical

import (
	"os"
	"runtime/debug"
	"sync"
)

// batchGCPercent is the garbage collection target of bulk runs. They make
// much short-lived garbage over a small live heap (a chunk of lines and the
// dirty pages of one transaction), so collecting a quarter as often as the
// default costs little memory and gives the single writer its CPU back.
const batchGCPercent = 400

var batchGC struct {
	sync.Mutex
	n   int
	old int
}

// BatchGC raises the garbage collection target for a bulk run, unless GOGC
// is set, and returns what puts it back. Runs may overlap (a server's
// imports): the first raises it and the last puts it back.
func BatchGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	batchGC.Lock()
	if batchGC.n == 0 {
		batchGC.old = debug.SetGCPercent(batchGCPercent)
	}
	batchGC.n++
	batchGC.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			batchGC.Lock()
			if batchGC.n--; batchGC.n == 0 {
				debug.SetGCPercent(batchGC.old)
			}
			batchGC.Unlock()
		})
	}
}
