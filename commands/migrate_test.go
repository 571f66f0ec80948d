package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// in runs a command line on another data dir than the env's own.
func (e *practiceEnv) in(dir string, args ...string) result {
	e.t.Helper()
	return e.run("", append([]string{"--data-dir", dir}, args...)...)
}

func (e *practiceEnv) okIn(dir string, args ...string) string {
	e.t.Helper()
	r := e.in(dir, args...)
	if r.code != 0 {
		e.t.Fatalf("gpsoc --data-dir %s %s: exit %d\n%s%s", dir, strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// What a practice looks like to its users: every view the copy must give
// exactly as the original does. The reads are audited, so the trail's own
// views (verify, check) come first.
func (e *practiceEnv) views(dir string) map[string]string {
	e.t.Helper()
	v := map[string]string{}
	for _, args := range [][]string{
		{"audit", "verify"},
		{"check"},
		{"--as", "admin", "practice", "show", "-o", "json"},
		{"--as", "admin", "user", "list", "-o", "json"},
		{"--as", "admin", "user", "tokens", "dr.patel", "-o", "json"},
		{"--as", "dr.patel", "patient", "list", "-o", "json"},
		{"--as", "dr.patel", "consult", "list", "9434765919", "-o", "json"},
		{"--as", "dr.patel", "med", "list", "9434765919", "-o", "json"},
		{"--as", "dr.patel", "history", "9434765919", "-o", "json"},
	} {
		v[strings.Join(args, " ")] = e.okIn(dir, args...)
	}
	return v
}

func sameViews(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s differs from the original:\n want %s\n  got %s", what, k, w, got[k])
		}
	}
}

// gpsoc migrate copies a practice whole into an empty data dir, refuses a
// non-admin, leaves an identical copy alone, replaces an earlier copy, and
// never overwrites another practice or a copy written to since.
func TestMigrateDataDirToDataDir(t *testing.T) {
	e, _, _ := tamperEnv(t)
	e.ok("--as", "dr.patel", "patient", "update", "9434765919", "--phone", "01632 960111") // a second version
	e.ok("--as", "admin", "user", "token", "dr.patel")
	dst := filepath.Join(t.TempDir(), "copy")

	msg := e.want(ExitForbidden, "--as", "dr.patel", "migrate", "--to", dst)
	if !strings.Contains(msg, "administer") {
		t.Errorf("a GP's migrate: %q", msg)
	}
	if bolt.Exists(dst) {
		t.Fatal("a refused migrate left a practice file in the destination")
	}
	if r := e.run("", "--as", "admin", "migrate"); r.code != ExitUsage || !strings.Contains(r.err, "--to") {
		t.Errorf("migrate without --to: exit %d %q", r.code, r.err)
	}

	out := e.ok("--as", "admin", "migrate", "--to", dst)
	if !strings.HasPrefix(out, "Copied the practice to "+dst+": 4 users, 1 patient, 1 consultation, 1 medication, 1 allergy") {
		t.Errorf("migrate says %q", out)
	}
	// Run again: nothing new, nothing copied, nothing written on either side.
	headSrc, headDst := e.okIn(e.dir, "audit", "verify"), e.okIn(dst, "audit", "verify")
	out = e.ok("--as", "admin", "migrate", "--to", dst)
	if !strings.Contains(out, "already holds this practice") || !strings.Contains(out, "nothing copied") {
		t.Errorf("a second migrate says %q", out)
	}
	if e.okIn(e.dir, "audit", "verify") != headSrc || e.okIn(dst, "audit", "verify") != headDst || headSrc != headDst {
		t.Errorf("a migrate with nothing to copy changed a trail, or the copy's differs: %q %q", headSrc, headDst)
	}

	// The source moves on: a re-run replaces the earlier copy (backed up).
	e.ok("--as", "dr.patel", "consult", "add", "9434765919", "--text", "Review: throat better")
	out = e.ok("--as", "admin", "migrate", "--to", dst)
	if !strings.HasPrefix(out, "Replaced an earlier copy") {
		t.Errorf("migrate after a change in the source says %q", out)
	}
	if got := e.okIn(dst, "--as", "dr.patel", "consult", "list", "9434765919"); !strings.Contains(got, "throat better") {
		t.Errorf("the refreshed copy lacks the new consultation:\n%s", got)
	}
	if baks, _ := filepath.Glob(filepath.Join(dst, bolt.FileName+".before-migrate-*.bak")); len(baks) != 1 {
		t.Errorf("the replaced copy was not backed up: %v", baks)
	}

	var audited bool
	for _, ev := range e.auditEvents() {
		audited = audited || (ev.Action == "migrate" && ev.User == "admin" && ev.Reason == "to "+dst && ev.Outcome == "ok")
	}
	if !audited {
		t.Error("the migration is not audited in the source")
	}
	// Everything a user sees is the same in the copy (each read is audited
	// on its own side, so from here the copy has a history of its own).
	want := e.views(e.dir)
	sameViews(t, "the copy", want, e.views(dst))
	if !strings.Contains(want["audit verify"], "ok: ") {
		t.Fatalf("audit verify of the original: %q", want["audit verify"])
	}

	// The copy is written to (it became live somewhere): a migrate would
	// lose that, so it is refused and nothing changes.
	e.okIn(dst, "--as", "dr.patel", "consult", "add", "9434765919", "--text", "Written in the copy")
	e.ok("--as", "dr.patel", "consult", "add", "9434765919", "--text", "Written in the source")
	before := e.okIn(dst, "--as", "dr.patel", "consult", "list", "9434765919", "-o", "json")
	msg = e.want(ExitConflict, "--as", "admin", "migrate", "--to", dst)
	if !strings.Contains(msg, "audit trail of its own") {
		t.Errorf("migrate over a diverged copy: %q", msg)
	}
	if after := e.okIn(dst, "--as", "dr.patel", "consult", "list", "9434765919", "-o", "json"); after != before {
		t.Error("a refused migrate changed the destination")
	}

	// Another practice is never overwritten.
	other := filepath.Join(t.TempDir(), "other")
	e.okIn(other, "init", "--practice", "Other Surgery", "--ods", "Y12345", "--admin", "admin")
	msg = e.want(ExitConflict, "--as", "admin", "migrate", "--to", other)
	if !strings.Contains(msg, "Y12345") || !strings.Contains(msg, "never overwrites another practice") {
		t.Errorf("migrate over another practice: %q", msg)
	}

	// And back, from a data dir named by --from, into a new one.
	back := filepath.Join(t.TempDir(), "back")
	e.ok("--as", "admin", "migrate", "--from", dst, "--to", back)
	sameViews(t, "the copy of the copy", e.views(dst), e.views(back))
	if _, err := os.Stat(filepath.Join(back, bolt.FileName)); err != nil {
		t.Fatal(err)
	}
	if r := e.run("", "--as", "admin", "migrate", "--to", e.dir); r.code != ExitUsage {
		t.Errorf("migrate onto itself: exit %d %q", r.code, r.err)
	}
}

// pgCluster starts a throwaway PostgreSQL cluster for one test (this
// package has no TestMain of its own to share one), skipping only where
// no server is installed and CI is not set.
func pgCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c, err := pgtest.Start(pgtest.Options{})
	if errors.Is(err, pgtest.ErrNoServer) && os.Getenv("CI") == "" {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatalf("start the test PostgreSQL cluster: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// A practice moves from a data dir into a PostgreSQL database holding
// another practice, and back into a data dir, through the command: what
// every user sees, and audit verify, are the same at each step.
func TestMigrateDataDirToPostgresAndBack(t *testing.T) {
	url := pgCluster(t).NewDatabase(t)
	e, _, _ := tamperEnv(t)
	e.ok("--as", "admin", "user", "token", "dr.patel")

	// Another practice already in the database: left alone.
	other := filepath.Join(t.TempDir(), "other")
	e.okIn(other, "init", "--practice", "Other Surgery", "--ods", "Y12345", "--admin", "admin")
	if out := e.okIn(other, "--as", "admin", "migrate", "--to", url); !strings.Contains(out, "practice Y12345") {
		t.Fatalf("migrate of the other practice says %q", out)
	}

	out := e.ok("--as", "admin", "migrate", "--to", url)
	if !strings.Contains(out, "Copied the practice to postgres://") || !strings.Contains(out, "practice B86001: 4 users, 1 patient") {
		t.Errorf("migrate to PostgreSQL says %q", out)
	}
	if out := e.ok("--as", "admin", "migrate", "--to", url); !strings.Contains(out, "nothing copied") {
		t.Errorf("a second migrate to PostgreSQL says %q", out)
	}
	back := filepath.Join(t.TempDir(), "back")
	want := e.views(e.dir)
	// The data dir moves on after the copy: the database's practice, an
	// earlier copy, is not replaced (the database's role may not delete).
	e.ok("--as", "dr.patel", "consult", "add", "9434765919", "--text", "After the copy")
	if msg := e.want(ExitConflict, "--as", "admin", "migrate", "--to", url); !strings.Contains(msg, "already holds data") {
		t.Errorf("migrate over an earlier copy in PostgreSQL: %q", msg)
	}
	// Back out of the database into a new data dir, from the copy there.
	if msg := e.want(ExitUsage, "--as", "admin", "migrate", "--from", url, "--to", back); !strings.Contains(msg, "--practice ODS") {
		t.Errorf("migrate --from a database without --practice: %q", msg)
	}
	out = e.ok("--as", "admin", "migrate", "--from", url, "--practice", "B86001", "--to", back)
	if !strings.HasPrefix(out, "Copied the practice to "+back) {
		t.Errorf("migrate out of PostgreSQL says %q", out)
	}
	got := e.views(back)
	// The copy out of PostgreSQL was audited there first: one event more.
	var n int
	if _, err := fmt.Sscanf(want["audit verify"], "ok: %d events", &n); err != nil {
		t.Fatalf("audit verify: %q", want["audit verify"])
	}
	want["audit verify"] = strings.Replace(want["audit verify"], fmt.Sprintf("%d events", n), fmt.Sprintf("%d events", n+1), 1)
	sameViews(t, "the practice after PostgreSQL and back", want, got)
}
