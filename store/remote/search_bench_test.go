package remote_test

import (
	"context"
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
	ctx := context.Background()
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
	local, err := lp.As(ctx, "dr.patel")
	if err != nil {
		b.Fatal(err)
	}
	// The same records on Medplum, one transaction a patient. (Both sides
	// are written below the services: a benchmark's fixture, not an action.)
	rs, err := remote.Open(ctx, remote.Options{URL: medplumtest.Start(b), Token: medplumtest.Token, User: "dr.patel",
		Role: record.RoleGP, Practice: record.Practice{Name: "Bench Surgery", ODS: "B86001"}})
	if err != nil {
		b.Fatal(err)
	}
	records := 0
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
	rp, err := clinical.New(clinical.Options{Store: rs, Source: "cli"}).As(ctx, "dr.patel")
	if err != nil {
		b.Fatal(err)
	}
	tm, err := terminology.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tm.Close() })
	defs, err := cohort.LoadDefs("")
	if err != nil {
		b.Fatal(err)
	}
	R := cohort.Day(benchpractice.Today)
	run := func(s *clinical.Service) (time.Duration, []int) {
		t0 := time.Now()
		ix, err := cohort.Build(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		r := cohort.NewEngine(ix, cohort.NewTermResolver(tm), defs).NewRun(R)
		var counts []int
		for _, d := range defs {
			res, err := r.Evaluate(d)
			if err != nil {
				b.Fatal(err)
			}
			counts = append(counts, res.Count())
		}
		return time.Since(t0), counts
	}
	var tl, tr time.Duration
	for b.Loop() {
		dl, cl := run(local)
		dr, cr := run(rp)
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
	b.ReportMetric(float64(tr)/float64(tl), "x-slower")
}
