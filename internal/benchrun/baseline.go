package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The budget "within 10% of the previous main's figures, measured in the same
// run" (design.md §7) needs the previous main beside this tree. baseline.ref
// names that commit; it is extracted once (git archive) into .cache/bench and
// its benchmarks run interleaved with ours, so both see the same machine.

// runBench runs `go test -bench` for pkg inside dir ("" = this tree).
func runBench(dir, pkg, pattern, benchtime string, env []string) ([]byte, error) {
	// A safety net, not a budget: the full tier's first run builds a
	// million-patient practice with histories (half an hour on its own).
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-timeout", "180m", pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// baseTree returns the directory holding the baseline commit's source.
func baseTree() (dir, ref string, err error) {
	b, err := os.ReadFile("internal/benchrun/baseline.ref")
	if err != nil {
		return "", "", err
	}
	ref = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	dir, err = filepath.Abs(filepath.Join(".cache", "bench", "base-"+ref))
	if err != nil {
		return "", ref, err
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, ref, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", ref, err
	}
	archive := exec.Command("git", "archive", "--format=tar", ref)
	untar := exec.Command("tar", "-x", "-C", tmp)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", ref, err
	}
	untar.Stdin = pipe
	var errb bytes.Buffer
	archive.Stderr = &errb
	if err := untar.Start(); err != nil {
		return "", ref, err
	}
	if err := archive.Run(); err != nil {
		return "", ref, fmt.Errorf("git archive %s: %v %s", ref, err, strings.TrimSpace(errb.String()))
	}
	if err := untar.Wait(); err != nil {
		return "", ref, err
	}
	return dir, ref, os.Rename(tmp, dir)
}

// benchPkg finds the package (relative to root) that declares func name: a
// benchmark may have moved between packages since the baseline.
func benchPkg(root, name string) string {
	found := ""
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return nil
		}
		if d.IsDir() {
			if n := d.Name(); n == ".cache" || n == "node_modules" || n == "testdata" || (strings.HasPrefix(n, ".") && p != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("func "+name+"(b *testing.B)")) {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			found = "./" + filepath.ToSlash(rel)
		}
		return nil
	})
	return found
}

// metricOf returns the value of unit in a benchmark's output.
func metricOf(out []byte, bench, unit string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil || strings.TrimPrefix(m[1], "Benchmark") != bench {
			continue
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			if f[i+1] == unit {
				v, err := strconv.ParseFloat(f[i], 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}

type comparison struct {
	bench, benchtime, unit, what string
	higherIsBetter               bool
}

// baselineCompare runs the import, FHIR and serve benchmarks on the baseline
// commit and on this tree, alternately (base, ours, five times), and prints
// the median of each side's five runs with their ratio: on a shared machine
// single runs swing by ±20%, and the best of a few follows the outliers.
func baselineCompare() {
	dir, ref, err := baseTree()
	fmt.Printf("\nagainst the previous main (%s), same run, interleaved\n", short(ref))
	if err != nil {
		add("previous main", "-", "", "no baseline: "+err.Error())
		return
	}
	for _, c := range []comparison{
		{"ImportPatients", "5x", "patients/s", "import 100,000 patients from NDJSON (/s)", true},
		{"FHIRImport", "3x", "resources/s", "FHIR import (resources/s)", true},
		{"FHIRExport", "3x", "resources/s", "FHIR export (resources/s)", true},
		{"PatientRead", "1x", "req/s", "gpsoc serve patient reads, 16 clients (/s)", true},
		{"PatientRead", "1x", "p99-ms", "gpsoc serve patient read p99 (ms)", false},
		// CPU time per request moves far less than requests/s on a shared machine.
		{"PatientRead", "1x", "cpu-us/req", "gpsoc serve CPU per request (µs)", false},
	} {
		name := "Benchmark" + c.bench
		bp, cp := benchPkg(dir, name), benchPkg(".", name)
		if bp == "" || cp == "" {
			add(c.what+" vs previous main", "-", "", "benchmark not found")
			continue
		}
		var base, ours []float64
		for round := 0; round < 5; round++ {
			for side, d := range []string{dir, ""} {
				pkg := cp
				if side == 0 {
					pkg = bp
				}
				out, _ := runBench(d, pkg, "^"+name+"$", c.benchtime, nil)
				if v, ok := metricOf(out, c.bench, c.unit); ok {
					if side == 0 {
						base = append(base, v)
					} else {
						ours = append(ours, v)
					}
				}
			}
		}
		if len(base) == 0 || len(ours) == 0 {
			add(c.what+" vs previous main", "-", "", "no figures")
			continue
		}
		b, o := median(base), median(ours)
		ratio := o / b
		ok := ratio >= 0.9
		if !c.higherIsBetter {
			ok = ratio <= 1.1
		}
		add("  "+c.what+", previous main (median of 5)", strconv.FormatFloat(b, 'f', precision(b), 64), "", "")
		add("  "+c.what+", this tree (median of 5)", strconv.FormatFloat(o, 'f', precision(o), 64), "within 10%", fmt.Sprintf("%s (%.2fx)", verdict(ok), ratio))
	}
}

func median(vs []float64) float64 {
	sort.Float64s(vs)
	return vs[len(vs)/2]
}

func short(ref string) string {
	if len(ref) > 10 {
		return ref[:10]
	}
	return ref
}
