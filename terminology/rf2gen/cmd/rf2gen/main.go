// Command rf2gen writes a synthetic SNOMED CT RF2 Snapshot of full UK shape.
//
//	go run ./terminology/rf2gen/cmd/rf2gen -out /tmp/rf2 [-concepts 1100000]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/opengpsoc/gpsoc/terminology/rf2gen"
)

func main() {
	out := flag.String("out", "", "output folder (required)")
	n := flag.Int("concepts", rf2gen.FullUK().Concepts, "number of concepts")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "rf2gen: -out is required")
		os.Exit(2)
	}
	start := time.Now()
	st, err := rf2gen.Write(*out, rf2gen.Scaled(*n))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rf2gen:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(st)
	fmt.Fprintf(os.Stderr, "written in %v\n", time.Since(start).Round(time.Millisecond))
}
