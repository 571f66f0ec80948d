// Package benchpractice gives benchmarks a practice of N synthetic patients
// (demographics, and a GP prescriber "dr.bench"), built once into
// .cache/bench/practice-N (ignored by git) and copied for each run.
package benchpractice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// Size is GPSOC_BENCH_PATIENTS, else 10,000 (make bench-full sets 1,000,000).
func Size() int {
	if n, err := strconv.Atoi(os.Getenv("GPSOC_BENCH_PATIENTS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// Today is the generator's reference date for benchmark practices.
var Today = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// NDJSON is n generated patients as the import reads them.
func NDJSON(n int, seed int64) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for p := range fixtures.Patients(n, seed, fixtures.Options{Today: Today}) {
		_ = enc.Encode(p)
	}
	return b.Bytes()
}

// Copy returns a fresh data dir holding a copy of the cached practice of n
// patients, building the cache first when it is missing or cannot be read by
// this build (moved aside then).
func Copy(tb testing.TB, root string, n int) string {
	tb.Helper()
	cache := filepath.Join(root, ".cache", "bench", fmt.Sprintf("practice-%d", n))
	if bolt.Exists(cache) && !usable(cache) {
		stale := cache + ".stale-" + time.Now().UTC().Format("20060102T150405")
		tb.Logf("cached practice %s is stale (its find index does not load): moved to %s and rebuilt", cache, stale)
		if err := os.Rename(cache, stale); err != nil {
			tb.Fatal(err)
		}
	}
	if !bolt.Exists(cache) {
		build(tb, cache, n)
	}
	dir := tb.TempDir()
	data, err := os.ReadFile(filepath.Join(cache, bolt.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// build makes the cache in a temporary dir and renames it, so an interrupted
// build is never cached.
func build(tb testing.TB, cache string, n int) {
	tmp := cache + ".building"
	os.RemoveAll(tmp)
	st, err := bolt.Open(filepath.Join(tmp, bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		tb.Fatal(err)
	}
	p := clinical.New(clinical.Options{Store: st})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Bench Surgery", "B86001", "admin", "", false); err != nil {
		tb.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := interop.ImportPatients(ctx, admin, bytes.NewReader(NDJSON(n, 1)), clinical.ImportOptions{Chunk: 20000})
	if err != nil || sum.Rejected > 0 {
		tb.Fatalf("build cached practice: %v %+v", err, sum.Rejections[:min(3, len(sum.Rejections))])
	}
	if _, err := admin.AddUser(ctx, record.User{Name: "dr.bench", Role: record.RoleGP, Prescriber: true}); err != nil {
		tb.Fatal(err)
	}
	// The benchmarks that run gpsoc itself act as dr.bench: this login is bound.
	if _, err := admin.BindLogin(ctx, "dr.bench", benchLogin(), true); err != nil {
		tb.Fatal(err)
	}
	st.Close()
	if err := os.Rename(tmp, cache); err != nil {
		tb.Fatal(err)
	}
}

// usable reports whether a cached practice opens and its find index loads.
func usable(dir string) bool {
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		return false
	}
	defer st.Close()
	p := clinical.New(clinical.Options{Store: st})
	if _, err = p.Index(context.Background()); err != nil {
		return false
	}
	bound, err := p.BoundUsers(context.Background(), benchLogin())
	return err == nil && slices.Contains(bound, "dr.bench") // a cache from before logins were bound is rebuilt
}

// benchLogin is the OS login the benchmarks run under.
func benchLogin() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "bench"
}
