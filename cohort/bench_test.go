package cohort_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/internal/benchpractice"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/terminology"
)

// benchHistoryYears: "full histories" for the register budget: ten years of
// consultations and observations per patient (the generator's default is 4).
const benchHistoryYears = 10

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("GPSOC_BENCH_PATIENTS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// historyPractice is a practice of n generated patients with full histories,
// built once into ../.cache/bench/cohort-practice-N (ignored by git) and
// opened read-only in place: the benchmarks only read it.
func historyPractice(b *testing.B, n int) (*clinical.Service, *terminology.Terminology) {
	b.Helper()
	root := filepath.Join("..", ".cache", "bench")
	dir := filepath.Join(root, fmt.Sprintf("cohort-practice-%d-h%d", n, benchHistoryYears))
	if !bolt.Exists(dir) {
		buildHistoryPractice(b, root, dir, n)
	}
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st})
	gp, err := p.As(context.Background(), "dr.patel")
	if err != nil {
		b.Fatal(err)
	}
	tm, err := terminology.Open(filepath.Join(root, "cohort-terminology"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tm.Close() })
	return gp, tm
}

func buildHistoryPractice(b *testing.B, root, dir string, n int) {
	opt := fixtures.Options{Patients: n, Seed: 1, Today: benchpractice.Today, HistoryYears: benchHistoryYears}
	corpus, _, err := fixtures.Cached(filepath.Join(root, "corpus"), opt)
	if err != nil {
		b.Fatal(err)
	}
	tmp := dir + ".building"
	os.RemoveAll(tmp)
	st, err := bolt.Open(filepath.Join(tmp, bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		b.Fatal(err)
	}
	p := clinical.New(clinical.Options{Store: st})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Bench Surgery", "B86001", "admin", "", false); err != nil {
		b.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range fixtures.Users(opt) {
		if u.Name == "admin" {
			continue
		}
		if _, err := admin.AddUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	imp := func(kind record.Kind) {
		f, err := os.Open(filepath.Join(corpus, string(kind)+".ndjson"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var sum *clinical.ImportSummary
		if kind == record.KindPatient {
			sum, err = admin.ImportPatients(ctx, f, clinical.ImportOptions{Chunk: 20000})
		} else {
			sum, err = admin.ImportEntries(ctx, kind, f, clinical.ImportOptions{Chunk: 20000})
		}
		if err != nil {
			b.Fatalf("import %s: %v", kind, err)
		}
		if sum.Rejected > 0 {
			b.Logf("import %s: %d rejected, e.g. %+v", kind, sum.Rejected, sum.Rejections[0])
		}
	}
	for _, k := range []record.Kind{record.KindPatient, record.KindConsultation, record.KindProblem, record.KindObservation,
		record.KindMedication, record.KindAllergy, record.KindImmunisation} {
		imp(k)
	}
	st.Close()
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// BenchmarkRegisters: every shipped register and indicator over a practice
// of GPSOC_BENCH_PATIENTS (default 100,000) with full histories, on an index
// built once (as the TUI and gpsoc serve keep it). Budget (design.md §7):
// ≤ 1 s at 100,000 patients, ≤ 10 s at 1,000,000. The anchor is a plain scan
// of every record the searches read, through the same service; the index
// build (the scan plus sorting) is reported too.
func BenchmarkRegisters(b *testing.B) {
	n := benchN()
	gp, tm := historyPractice(b, n)
	ctx := context.Background()
	defs, err := cohort.LoadDefs("")
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	records := 0
	if err := gp.ScanForSearch(ctx, func(record.Entity) { records++ }); err != nil {
		b.Fatal(err)
	}
	scan := time.Since(t0)
	t0 = time.Now()
	ix, err := cohort.Build(ctx, gp)
	if err != nil {
		b.Fatal(err)
	}
	build := time.Since(t0)
	R := cohort.Day(benchpractice.Today)
	var evals, cpus []float64
	members := 0
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		// a fresh engine each time: code sets are expanded as a first run would
		e := cohort.NewEngine(ix, cohort.NewTermResolver(tm), defs)
		run := e.NewRun(R)
		members = 0
		for _, d := range defs {
			res, err := run.Evaluate(d)
			if err != nil {
				b.Fatal(err)
			}
			members += res.Count()
		}
		evals = append(evals, time.Since(t0).Seconds())
		cpus = append(cpus, (cpuTime() - c0).Seconds())
	}
	ev := median(evals)
	b.ReportMetric(ev, "s-median")
	// CPU seconds of the process: the work itself, whatever else the machine runs
	b.ReportMetric(median(cpus), "cpu-s-median")
	b.ReportMetric(scan.Seconds(), "scan-s")
	b.ReportMetric(build.Seconds(), "index-s")
	b.ReportMetric(scan.Seconds()/ev, "scan-ratio")
	b.ReportMetric(float64(len(defs)), "definitions")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(n), "patients")
	if members == 0 {
		b.Fatal("no register has any member: the practice or the definitions are wrong")
	}
}

// BenchmarkExplain: one register explanation as `gpsoc register explain DM
// PATIENT` makes it: the patient's records read through the service into an
// index of one, then every rule evaluated with its entries. Budget ≤ 10 ms.
func BenchmarkExplain(b *testing.B) {
	n := benchN()
	gp, tm := historyPractice(b, n)
	ctx := context.Background()
	defs, err := cohort.LoadDefs("")
	if err != nil {
		b.Fatal(err)
	}
	d, err := cohort.Find(defs, "DM006")
	if err != nil {
		b.Fatal(err)
	}
	res := cohort.NewTermResolver(tm)
	if err := cohort.NewEngine(cohort.NewBuilder(false).Build(), res, defs).Check(d); err != nil {
		b.Fatal(err)
	}
	var nhs []string
	for q := range fixtures.Patients(min(n, 2000), 1, fixtures.Options{Today: benchpractice.Today}) {
		if q.NHSNumber != "" {
			nhs = append(nhs, q.NHSNumber)
		}
	}
	R := cohort.Day(benchpractice.Today)
	var ms []float64
	i := 0
	for b.Loop() {
		t0 := time.Now()
		ix, err := cohort.BuildPatient(ctx, gp, nhs[i%len(nhs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cohort.NewEngine(ix, res, defs).NewRun(R).Explain(d, 0); err != nil {
			b.Fatal(err)
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		i++
	}
	b.ReportMetric(median(ms), "ms-median")
}
