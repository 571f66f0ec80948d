package clinical_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// benchPatients is the practice size of the benchmark tier:
// GPSOC_BENCH_PATIENTS, else 10,000 (make bench-full sets 1,000,000).
func benchPatients() int {
	if n, err := strconv.Atoi(os.Getenv("GPSOC_BENCH_PATIENTS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

func patientsNDJSON(n int, seed int64) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for p := range fixtures.Patients(n, seed, fixtures.Options{Today: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}) {
		_ = enc.Encode(p)
	}
	return b.Bytes()
}

func newPractice(tb testing.TB, dir string, hold bool) (*clinical.Practice, *clinical.Service) {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{Hold: hold})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Bench Surgery", "B86001", "admin", false); err != nil && !isConflict(err) {
		tb.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		tb.Fatal(err)
	}
	return p, admin
}

func isConflict(err error) bool { _, ok := err.(*record.ConflictError); return ok }

// cachedPractice returns a data dir holding a practice of n patients, built
// once and cached in .cache/ (ignored by git), copied for each run.
func cachedPractice(b *testing.B, n int) string {
	cache := filepath.Join("..", ".cache", "bench", fmt.Sprintf("practice-%d", n))
	if !bolt.Exists(cache) {
		// Built in a temporary dir and renamed, so an interrupted build is never cached.
		tmp := cache + ".building"
		os.RemoveAll(tmp)
		_, admin := newPractice(b, tmp, true)
		sum, err := admin.ImportPatients(context.Background(), bytes.NewReader(patientsNDJSON(n, 1)), clinical.ImportOptions{Chunk: 20000})
		if err != nil || sum.Rejected > 0 {
			b.Fatalf("build cached practice: %v %+v", err, sum.Rejections[:min(3, len(sum.Rejections))])
		}
		if _, err := admin.AddUser(context.Background(), record.User{Name: "dr.bench", Role: record.RoleGP, Prescriber: true}); err != nil {
			b.Fatal(err)
		}
		admin.Practice().Store().Close()
		if err := os.Rename(tmp, cache); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	data, err := os.ReadFile(filepath.Join(cache, bolt.FileName))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), data, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkConsultationWrite: one consultation with 5 entries (3 coded
// entries, a blood pressure and a weight) and its audit events, fsync
// included, in the short-lived-open mode the CLI and workstation use.
// Budget: median ≤ 5 ms on a 1M-patient practice.
func BenchmarkConsultationWrite(b *testing.B) {
	n := benchPatients()
	dir := cachedPractice(b, n)
	p, _ := newPractice(b, dir, false)
	ctx := context.Background()
	gp, err := p.As(ctx, "dr.bench")
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for q := range fixtures.Patients(200, 1, fixtures.Options{Today: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}) {
		if q.NHSNumber != "" {
			ids = append(ids, q.NHSNumber)
		}
	}
	sys, dia, w := 142.0, 88.0, 81.5
	sct := func(c string) record.CodedEntry {
		return record.CodedEntry{Code: record.Code{System: record.SystemSNOMED, Code: c}}
	}
	var durs []time.Duration
	b.ResetTimer()
	i := 0
	for b.Loop() {
		t0 := time.Now()
		_, err := gp.AddConsultation(ctx, clinical.ConsultInput{
			PatientRef: ids[i%len(ids)], Type: "surgery", History: "BP review", Plan: "continue",
			Codes: []record.CodedEntry{sct("38341003"), sct("271649006"), sct("182836005")},
			Obs: []clinical.ObsInput{
				{Code: record.Code{System: record.SystemSNOMED, Code: "75367002"}, Systolic: &sys, Diastolic: &dia},
				{Code: record.Code{System: record.SystemSNOMED, Code: "27113001"}, Value: &w, Unit: "kg"},
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
		i++
	}
	b.StopTimer()
	sort.Slice(durs, func(a, c int) bool { return durs[a] < durs[c] })
	med := durs[len(durs)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(n), "patients")
}

// BenchmarkImportPatients: 100,000 patients from NDJSON into an empty
// practice, one audit event per patient. Budget ≥ 50,000 patients/s.
func BenchmarkImportPatients(b *testing.B) {
	const n = 100000
	data := patientsNDJSON(n, 7)
	ctx := context.Background()
	var total time.Duration
	runs := 0
	for b.Loop() {
		b.StopTimer()
		_, admin := newPractice(b, b.TempDir(), false)
		b.StartTimer()
		t0 := time.Now()
		sum, err := admin.ImportPatients(ctx, bytes.NewReader(data), clinical.ImportOptions{})
		if err != nil || sum.Written != n {
			b.Fatalf("import: %v written %d rejected %d", err, sum.Written, sum.Rejected)
		}
		total += time.Since(t0)
		runs++
	}
	b.ReportMetric(float64(n*runs)/total.Seconds(), "patients/s")
}

// BenchmarkOpenReadClose measures the cost of the short-lived-open design:
// open the practice file, one read transaction, close.
func BenchmarkOpenReadClose(b *testing.B) {
	dir := cachedPractice(b, benchPatients())
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := clinical.New(clinical.Options{Store: st})
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.As(ctx, "dr.bench"); err != nil {
			b.Fatal(err)
		}
	}
}
