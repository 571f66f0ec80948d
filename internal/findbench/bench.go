// Package findbench is `gpsoc bench find`: it times the find index over a
// synthetic corpus or the open practice, with sahilm/fuzzy and fzf as anchors.
// It lives outside find so the shipped index carries no benchmark harness.
package findbench

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"time"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/internal/findcorpus"
	"github.com/sahilm/fuzzy"
)

// BenchOptions says what `gpsoc bench find` measures.
type BenchOptions struct {
	Corpus  string   // "patients" or "codes"
	Size    int      // synthetic corpus size; 0: use Patients or Terms
	Seed    int64    // synthetic corpus seed
	Queries []string // nil: StandardQueries(Corpus)
	Runs    int      // timed runs of each query (default 20)
	Anchors bool     // also time sahilm/fuzzy.Find and fzf --filter on the same strings

	// With Size 0: the open practice or terminology, and how long loading it took
	// (from process start until the index answered).
	Patients []find.Patient
	Terms    []find.Term
	LoadMs   float64

	// AnchorRuns is how many times each anchor runs a query (default 3; they take
	// about a second each at a million).
	AnchorRuns int
}

// BenchReport is what `gpsoc bench find -o json` prints.
type BenchReport struct {
	P50Ms         float64       `json:"p50Ms"`
	P95Ms         float64       `json:"p95Ms"`
	P99Ms         float64       `json:"p99Ms"`
	BytesPerEntry float64       `json:"bytesPerEntry"`
	BuildMs       float64       `json:"buildMs"`
	LoadMs        float64       `json:"loadMs"`
	Queries       []BenchQuery  `json:"queries"`
	Anchors       *BenchAnchors `json:"anchors,omitempty"`
}

// BenchQuery is one query's timing and its top 10 results.
type BenchQuery struct {
	Query    string        `json:"query"`
	P95Ms    float64       `json:"p95Ms"`
	Results  []BenchResult `json:"results"`
	SahilmMs float64       `json:"sahilmMs,omitempty"` // anchors: p95 of this query
	FzfMs    float64       `json:"fzfMs,omitempty"`
}

// BenchResult is one result: a patient id or a code, and what a picker shows.
type BenchResult struct {
	ID      string `json:"id"`
	Display string `json:"display"`
}

// BenchAnchors are the speed anchors measured in the same run over the same strings.
type BenchAnchors struct {
	SahilmP95Ms float64 `json:"sahilmP95Ms"`
	FzfP95Ms    float64 `json:"fzfP95Ms,omitempty"`
	RatioSahilm float64 `json:"ratioSahilm"`        // anchor p95 / our p95
	RatioFzf    float64 `json:"ratioFzf,omitempty"` // anchor p95 / our p95
	FzfSkipped  string  `json:"fzfSkipped,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// RunBench builds (or loads) an index, times every query Runs times, and with Anchors
// times sahilm/fuzzy.Find and fzf --filter over the same strings. Each run of a query
// is cold: the index keeps no cache between searches.
func RunBench(ctx context.Context, opt BenchOptions) (BenchReport, error) {
	var rep BenchReport
	if opt.Runs <= 0 {
		opt.Runs = 20
	}
	if opt.AnchorRuns <= 0 {
		opt.AnchorRuns = 3
	}
	if opt.Queries == nil {
		opt.Queries = findcorpus.StandardQueries(opt.Corpus)
	}
	var (
		search  func(q string) []BenchResult
		strs    []string // what the anchors search
		queries []string
		n       int
	)
	switch opt.Corpus {
	case "patients":
		ps := opt.Patients
		if opt.Size > 0 {
			ps = synthPatients(opt.Size, opt.Seed)
		}
		if len(ps) == 0 {
			return rep, errors.New("bench find: no patients (give a size, or open a practice)")
		}
		n = len(ps)
		sample := ps[n/2]
		for _, q := range opt.Queries {
			queries = append(queries, findcorpus.FillPatientQuery(q, findcorpus.Patient(sample)))
		}
		if opt.Anchors {
			strs = make([]string, n)
			for i, p := range ps {
				strs[i] = findcorpus.PatientDisplay(findcorpus.Patient(p))
			}
		}
		var ix *find.Patients
		if opt.Size > 0 {
			// load as at start-up without a snapshot: from the compact rows of the search
			// bucket, through PatientLoader (loadMs: rows to index; buildMs: the build
			// after the rows are read)
			ids := make([][]byte, n)
			rows := make([][]byte, n)
			for i, p := range ps {
				ids[i], rows[i] = []byte(p.ID), find.EncodePatientRow(p)
			}
			ps = nil
			before := heapAfterGC()
			t0 := time.Now()
			l := find.NewPatientLoader(n)
			for i := range rows {
				if err := l.Add(ids[i], rows[i]); err != nil {
					return rep, err
				}
			}
			t1 := time.Now()
			ix = l.Build()
			t2 := time.Now()
			rep.BuildMs, rep.LoadMs = ms(t2.Sub(t1)), ms(t2.Sub(t0))
			rep.BytesPerEntry = float64(heapAfterGC()-before) / float64(n)
			runtime.KeepAlive(rows)
			runtime.KeepAlive(ids)
		} else {
			before := heapAfterGC()
			t0 := time.Now()
			ix = find.BuildPatients(ps)
			rep.BuildMs = ms(time.Since(t0))
			rep.LoadMs = opt.LoadMs
			rep.BytesPerEntry = float64(heapAfterGC()-before) / float64(n)
		}
		search = func(q string) []BenchResult {
			var out []BenchResult
			for _, h := range ix.Search(ctx, q, 10) {
				p, _ := ix.Get(h.ID)
				out = append(out, BenchResult{ID: h.ID, Display: findcorpus.PatientDisplay(findcorpus.Patient(p))})
			}
			return out
		}
		defer runtime.KeepAlive(ix)
	case "codes":
		ts := opt.Terms
		if opt.Size > 0 {
			ts = synthTerms(opt.Size, opt.Seed)
		}
		if len(ts) == 0 {
			return rep, errors.New("bench find: no terms (give a size, or import a terminology)")
		}
		n = len(ts)
		sample := ts[n/2]
		for _, q := range opt.Queries {
			queries = append(queries, findcorpus.FillCodeQuery(q, findcorpus.Term(sample)))
		}
		if opt.Anchors {
			strs = make([]string, n)
			for i, t := range ts {
				strs[i] = t.Term
			}
		}
		before := heapAfterGC()
		t0 := time.Now()
		ix := find.BuildTerms(ts)
		rep.BuildMs = ms(time.Since(t0))
		rep.LoadMs = rep.BuildMs
		if opt.Size == 0 && opt.LoadMs > 0 {
			rep.LoadMs = opt.LoadMs
		}
		rep.BytesPerEntry = float64(heapAfterGC()-before) / float64(n)
		search = func(q string) []BenchResult {
			var out []BenchResult
			for _, h := range ix.Search(ctx, q, 10, nil) {
				out = append(out, BenchResult{ID: ts[h.Index].Code, Display: ts[h.Index].Term})
			}
			return out
		}
		defer runtime.KeepAlive(ix)
	default:
		return rep, fmt.Errorf("bench find: corpus %q: want patients or codes", opt.Corpus)
	}

	var all []time.Duration
	for _, q := range queries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var ds []time.Duration
		var res []BenchResult
		for range opt.Runs {
			t0 := time.Now()
			res = search(q)
			ds = append(ds, time.Since(t0))
		}
		all = append(all, ds...)
		if res == nil {
			res = []BenchResult{}
		}
		rep.Queries = append(rep.Queries, BenchQuery{Query: q, P95Ms: ms(percentile(ds, 0.95)), Results: res})
	}
	rep.P50Ms = ms(percentile(all, 0.50))
	rep.P95Ms = ms(percentile(all, 0.95))
	rep.P99Ms = ms(percentile(all, 0.99))

	if opt.Anchors {
		a, err := runAnchors(ctx, strs, queries, opt.AnchorRuns, rep.Queries)
		if err != nil {
			return rep, err
		}
		if rep.P95Ms > 0 {
			a.RatioSahilm = a.SahilmP95Ms / rep.P95Ms
			if a.FzfP95Ms > 0 {
				a.RatioFzf = a.FzfP95Ms / rep.P95Ms
			}
		}
		rep.Anchors = a
	}
	return rep, nil
}

// runAnchors times sahilm/fuzzy.Find in process and fzf --filter as a whole process (as
// a user would run it), filling each query's anchor columns.
func runAnchors(ctx context.Context, strs, queries []string, runs int, per []BenchQuery) (*BenchAnchors, error) {
	a := &BenchAnchors{}
	var sahilm []time.Duration
	for i, q := range queries {
		var ds []time.Duration
		for range runs {
			t0 := time.Now()
			fuzzy.Find(q, strs)
			ds = append(ds, time.Since(t0))
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		per[i].SahilmMs = ms(percentile(ds, 0.95))
		sahilm = append(sahilm, ds...)
	}
	a.SahilmP95Ms = ms(percentile(sahilm, 0.95))

	fzf, err := exec.LookPath("fzf")
	if err != nil {
		a.FzfSkipped = "fzf not found: install with apt-get install fzf"
		return a, nil
	}
	f, err := os.CreateTemp("", "gpsoc-bench-*.txt")
	if err != nil {
		return nil, fmt.Errorf("bench find: fzf input: %w", err)
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	for _, s := range strs {
		w.WriteString(s)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("bench find: fzf input: %w", err)
	}
	f.Close()
	var fz []time.Duration
	for i, q := range queries {
		var ds []time.Duration
		for range runs {
			in, err := os.Open(f.Name())
			if err != nil {
				return nil, err
			}
			cmd := exec.CommandContext(ctx, fzf, "--filter", q)
			cmd.Stdin = in
			cmd.Stdout = io.Discard
			t0 := time.Now()
			err = cmd.Run()
			ds = append(ds, time.Since(t0))
			in.Close()
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: no match
				return nil, fmt.Errorf("bench find: fzf --filter %q: %w", q, err)
			}
		}
		per[i].FzfMs = ms(percentile(ds, 0.95))
		fz = append(fz, ds...)
	}
	a.FzfP95Ms = ms(percentile(fz, 0.95))
	return a, nil
}

func fuzzySearch(q string, strs []string) fuzzy.Matches { return fuzzy.Find(q, strs) }

// synthPatients is findcorpus's synthetic patients as the index takes them.
func synthPatients(n int, seed int64) []find.Patient {
	src := findcorpus.SyntheticPatients(n, seed)
	out := make([]find.Patient, len(src))
	for i, p := range src {
		out[i] = find.Patient(p)
	}
	return out
}

// synthTerms is findcorpus's synthetic terms as the index takes them.
func synthTerms(n int, seed int64) []find.Term {
	src := findcorpus.SyntheticTerms(n, seed)
	out := make([]find.Term, len(src))
	for i, t := range src {
		out[i] = find.Term(t)
	}
	return out
}
