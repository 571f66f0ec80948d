package remote_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/internal/benchpractice"
	"github.com/opengpsoc/gpsoc/internal/medplumtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/store/remote"
	"github.com/opengpsoc/gpsoc/terminology"
)

// BenchmarkSearchOverFHIR is the price of a search against another vendor's
// server (docs/search.md): every shipped register and indicator over a small
// practice (GPSOC_BENCH_PATIENTS, default 200, with 4 years of history) on a
// local practice file, and the same records on Medplum's FHIR router read
// over standard FHIR search and evaluated in the workstation. Each side's
// time is its whole run: the read of the records, the index, every
// definition. Run it by hand (it starts node):
//
//	go test -run '^$' -bench SearchOverFHIR -benchtime 3x ./store/remote/
func BenchmarkSearchOverFHIR(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("GPSOC_BENCH_PATIENTS")); err == nil && v > 0 {
		n = v
	}
	local, rp, records := twoPractices(b, n, 0)
	tm, err := terminology.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tm.Close() })
	defs, err := cohort.LoadDefs("")
	if err != nil {
		b.Fatal(err)
	}
	run := func(s *clinical.Service) (time.Duration, []int) {
		t0 := time.Now()
		res := everyDefinition(b, s, tm, defs)
		counts := make([]int, len(res))
		for i, rows := range res {
			counts[i] = len(rows)
		}
		return time.Since(t0), counts
	}
	var tl, tr, cpu time.Duration
	for b.Loop() {
		dl, cl := run(local)
		c0 := benchpractice.CPUTime()
		dr, cr := run(rp)
		cpu += benchpractice.CPUTime() - c0
		if !slices.Equal(cl, cr) {
			b.Fatalf("counts differ: local %v, over FHIR %v", cl, cr)
		}
		tl, tr = tl+dl, tr+dr
	}
	runs := float64(b.N)
	b.ReportMetric(float64(n), "patients")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(tl.Seconds()*1000/runs, "local-ms")
	b.ReportMetric(tr.Seconds()*1000/runs, "overFHIR-ms")
	b.ReportMetric(cpu.Seconds()*1000/runs, "overFHIR-client-cpu-ms") // the rest is the server's and the wire's
	b.ReportMetric(float64(tr)/float64(tl), "x-slower")
}

// twoPractices writes the same generated practice of n patients (their
// records a search reads) to a local practice file and to Medplum, read
// pageSize resources a page, and returns a GP's services over each.
func twoPractices(tb testing.TB, n, pageSize int) (local, overFHIR *clinical.Service, records int) {
	ctx := context.Background()
	b := tb
	b.Helper()
	g := fixtures.Practice(fixtures.Options{Patients: n, Seed: 1, Today: benchpractice.Today, HistoryYears: 4})
	kinds := clinical.SearchKinds()
	// The local practice file.
	st, err := bolt.Open(filepath.Join(b.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	lp := clinical.New(clinical.Options{Store: st})
	if _, err := lp.Init(ctx, "Bench Surgery", "B86001", "admin", "", false); err != nil {
		b.Fatal(err)
	}
	admin, err := lp.As(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := admin.AddUser(ctx, record.User{Name: "dr.patel", Role: record.RoleGP, Prescriber: true, RegNumber: "7012345"}); err != nil {
		b.Fatal(err)
	}
	if local, err = lp.As(ctx, "dr.patel"); err != nil {
		b.Fatal(err)
	}
	// The same records on Medplum, one transaction a patient. (Both sides
	// are written below the services: a benchmark's fixture, not an action.)
	rs, err := remote.Open(ctx, remote.Options{URL: medplumtest.Start(b), Token: medplumtest.Token, User: "dr.patel",
		Role: record.RoleGP, Practice: record.Practice{Name: "Bench Surgery", ODS: "B86001"}, PageSize: pageSize})
	if err != nil {
		b.Fatal(err)
	}
	for _, pb := range g.Patients {
		var recs []record.Entity
		for _, e := range pb.Records() {
			if slices.Contains(kinds, e.Kind()) {
				recs = append(recs, e)
			}
		}
		records += len(recs)
		for _, s := range []store.Store{st, rs} {
			if err := s.Update(ctx, func(w store.WTx) error {
				for _, e := range recs {
					if err := w.Put(e); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			for _, e := range recs { // the next store creates them afresh
				e.Head().Version = 0
			}
		}
	}
	if overFHIR, err = clinical.New(clinical.Options{Store: rs, Source: "cli"}).As(ctx, "dr.patel"); err != nil {
		b.Fatal(err)
	}
	return local, overFHIR, records
}

// everyDefinition runs every definition over the practice, each one's rows
// (patient ids blanked: each server gives its own) with the values matched.
func everyDefinition(tb testing.TB, s *clinical.Service, tm *terminology.Terminology, defs []*cohort.Def) [][]cohort.Row {
	tb.Helper()
	ix, err := cohort.Build(context.Background(), s)
	if err != nil {
		tb.Fatal(err)
	}
	r := cohort.NewEngine(ix, cohort.NewTermResolver(tm), defs).NewRun(cohort.Day(benchpractice.Today))
	var out [][]cohort.Row
	for _, d := range defs {
		res, err := r.Evaluate(d)
		if err != nil {
			tb.Fatal(err)
		}
		rows := r.Rows(res, true)
		for i := range rows {
			rows[i].PatientID = ""
		}
		out = append(out, rows)
	}
	return out
}

// Every shipped register and indicator over a generated practice with
// histories gives the same patients and the same values matched whether it
// runs over the practice file or over Medplum read by standard FHIR search,
// a few resources a page (so every type spans pages): consultations' coded
// entries, prescriptions' issues, resolved codes, patients who left or died.
func TestMedplumSearchesAsLocal(t *testing.T) {
	local, overFHIR, _ := twoPractices(t, 60, 25)
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	defs, err := cohort.LoadDefs("")
	if err != nil {
		t.Fatal(err)
	}
	want, got := everyDefinition(t, local, tm, defs), everyDefinition(t, overFHIR, tm, defs)
	members := 0
	for i, d := range defs {
		a, _ := json.Marshal(got[i])
		b, _ := json.Marshal(want[i])
		if string(a) != string(b) {
			t.Errorf("%s over Medplum:\n%s\nlocally:\n%s", d.ID, a, b)
		}
		members += len(want[i])
	}
	if members < 40 {
		t.Fatalf("only %d members across every definition: the practice tests too little", members)
	}
}
