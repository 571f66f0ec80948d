// Command gpsoc is openGPSoC: a clinical system for UK general practice.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/opengpsoc/gpsoc/commands"
)

func main() { os.Exit(run()) }

// run runs the command line. GPSOC_CPUPROFILE=FILE writes a CPU profile of
// the run for `go tool pprof` (for developers measuring a command).
func run() int {
	if path := os.Getenv("GPSOC_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "GPSOC_CPUPROFILE %q: %v\n", path, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "GPSOC_CPUPROFILE %q: %v\n", path, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	return commands.Main()
}
