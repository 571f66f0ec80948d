package terminology_test

import (
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

// FuzzECL evaluates any expression against the embedded terminology (the
// importers' parsers are fuzzed in fuzz_internal_test.go).

func FuzzECL(f *testing.F) {
	for _, s := range []string{"<< 73211009 |Diabetes mellitus|", "< 404684003 AND << 73211009", "<<73211009 MINUS <<46635009", "^ 999", "(<< 1 OR << 2", "<<", "<< 73211009 |unclosed", "((((((((((1"} {
		f.Add(s)
	}
	tm, _ := open(f)
	f.Fuzz(func(t *testing.T, expr string) {
		_, _ = tm.ECL(expr)
		_, _ = tm.CompileECL(expr)
	})
}

var _ = terminology.SourceDMD
