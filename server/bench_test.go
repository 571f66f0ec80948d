package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// seedPatients imports n patients (NDJSON, in bulk; no NHS numbers: temporary residents).
func seedPatients(b *testing.B, f *fixture, n int) []string {
	b.Helper()
	svc, err := f.p.As(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	given := []string{"John", "Ann", "Carol", "Ravi", "Mei", "Olu"}
	family := []string{"Smith", "Brown", "Patel", "Jones", "Khan", "Wilson", "Taylor", "Nowak"}
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		p := record.Patient{Family: fmt.Sprintf("%s%d", family[i%len(family)], i/len(family)), Given: []string{given[i%len(given)]},
			BirthDate: fmt.Sprintf("19%02d-%02d-%02d", 30+i%70, 1+i%12, 1+i%28), Sex: "female", NoNHSReason: "temporary-resident"}
		line, _ := json.Marshal(map[string]any{"family": p.Family, "given": p.Given, "birthDate": p.BirthDate, "sex": p.Sex, "noNhsReason": p.NoNHSReason})
		buf.Write(append(line, '\n'))
	}
	sum, err := svc.ImportPatients(ctx, &buf, clinical.ImportOptions{Format: "ndjson"})
	if err != nil || sum.Rejected > 0 {
		b.Fatalf("seed: %+v %v", sum, err)
	}
	var ids []string
	_ = f.st.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error { ids = append(ids, e.Head().ID); return nil })
	})
	if len(ids) != n {
		b.Fatalf("seeded %d patients, want %d", len(ids), n)
	}
	return ids
}

type loadStats struct {
	rate          float64 // requests per second
	p50, p95, p99 time.Duration
	cpu           time.Duration // CPU per request, clients and server together (one process)
}

// loopbackLoad sends n requests from `clients` concurrent clients over loopback.
func loopbackLoad(b *testing.B, n, clients int, req func(i int) *http.Request) loadStats {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	cl := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				res, err := cl.Do(req(i))
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if k := failed.Load(); k > 0 {
		b.Fatalf("%d of %d requests failed", k, n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(f float64) time.Duration { return lat[min(len(lat)-1, int(f*float64(len(lat))))] }
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	return loadStats{rate: float64(n) / el.Seconds(), p50: q(0.50), p95: q(0.95), p99: q(0.99), cpu: cpu / time.Duration(n)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// servePractice is a served practice of 10,000 patients.
func servePractice(b *testing.B, o bolt.Options) (*fixture, []string) {
	f := startWith(b, o)
	return f, seedPatients(b, f, 10000)
}

func readLoad(b *testing.B, f *fixture, ids []string, n int) loadStats {
	auth := "Bearer " + f.tokens["recep"]
	return loopbackLoad(b, n, 16, func(i int) *http.Request {
		r, _ := http.NewRequest("GET", f.url+"/Patient/"+ids[i%len(ids)], nil)
		r.Header.Set("Authorization", auth)
		return r
	})
}

// BenchmarkPatientRead is `make bench`'s API figure (design.md §7: ≥ 5,000
// req/s, p99 ≤ 10 ms): GET /Patient/{id} over loopback from 16 concurrent
// clients on a 10,000-patient practice, every read audited and durable
// (fsync) before its answer; and the latency of GET /Patient/$find. Each
// iteration is a whole run (use -benchtime 1x).
func BenchmarkPatientRead(b *testing.B) {
	f, ids := servePractice(b, bolt.Options{Hold: true})
	b.ResetTimer()
	var rd, fd loadStats
	c0, u0 := server.GroupStats(f.st)
	for it := 0; it < b.N; it++ {
		rd = readLoad(b, f, ids, 20000)
	}
	c1, u1 := server.GroupStats(f.st)
	auth := "Bearer " + f.tokens["recep"]
	qs := []string{"s", "smi", "smith1 j", "brwn", "pat", "12/3/61", "jon", "k", "taylor2", "nowak10"}
	for it := 0; it < b.N; it++ {
		fd = loopbackLoad(b, 2000, 16, func(i int) *http.Request {
			r, _ := http.NewRequest("GET", f.url+"/Patient/$find?_count=20&q="+url.QueryEscape(qs[i%len(qs)]), nil)
			r.Header.Set("Authorization", auth)
			return r
		})
	}
	b.StopTimer()
	b.ReportMetric(rd.rate, "req/s")
	b.ReportMetric(ms(rd.p50), "p50-ms")
	b.ReportMetric(ms(rd.p99), "p99-ms")
	b.ReportMetric(float64(rd.cpu.Microseconds()), "cpu-us/req")
	if c1 > c0 {
		b.ReportMetric(float64(u1-u0)/float64(c1-c0), "audits/commit")
	}
	b.ReportMetric(fd.rate, "find-req/s")
	b.ReportMetric(ms(fd.p50), "find-p50-ms")
	b.ReportMetric(ms(fd.p95), "find-p95-ms")
	b.ReportMetric(ms(fd.p99), "find-p99-ms")
}

// BenchmarkNoSyncPatientRead is the same read load with fsync off (NOT
// durable, never for a real practice): what the server costs once the disk's
// sync latency is taken away, to tell the two apart.
func BenchmarkNoSyncPatientRead(b *testing.B) {
	f, ids := servePractice(b, bolt.Options{Hold: true, NoSync: true})
	b.ResetTimer()
	var rd loadStats
	for it := 0; it < b.N; it++ {
		rd = readLoad(b, f, ids, 20000)
	}
	b.StopTimer()
	b.ReportMetric(rd.rate, "nosync-req/s")
	b.ReportMetric(ms(rd.p99), "nosync-p99-ms")
	b.ReportMetric(float64(rd.cpu.Microseconds()), "cpu-us/req")
}
