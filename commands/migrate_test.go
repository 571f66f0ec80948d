package commands

import (
	"errors"
	"fmt"
	"maps"
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
	return e.viewsAt([]string{"--data-dir", dir})
}

// viewsAt is views of the practice where names: --data-dir DIR, or
// --store URL --practice ODS (where check is not a command: the database
// checks itself).
func (e *practiceEnv) viewsAt(where []string) map[string]string {
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
		if args[0] == "check" && where[0] == "--store" {
			continue
		}
		r := e.run("", append(append([]string(nil), where...), args...)...)
		if r.code != 0 {
			e.t.Fatalf("gpsoc %s %s: exit %d\n%s%s", strings.Join(where, " "), strings.Join(args, " "), r.code, r.out, r.err)
		}
		v[strings.Join(args, " ")] = r.out
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
	snap := filepath.Join(dst, "find-index.snap") // a find index of the earlier copy
	if err := os.WriteFile(snap, []byte("GPSOCFIND2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = e.ok("--as", "admin", "migrate", "--to", dst)
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Error("the earlier copy's find index snapshot was left beside the new copy")
	}
	if !strings.HasPrefix(out, "Replaced an earlier copy") {
		t.Errorf("migrate after a change in the source says %q", out)
	}
	if got := e.okIn(dst, "--as", "dr.patel", "consult", "list", "9434765919"); !strings.Contains(got, "throat better") {
		t.Errorf("the refreshed copy lacks the new consultation:\n%s", got)
	}
	if baks, _ := filepath.Glob(filepath.Join(dst, bolt.FileName+".before-migrate-*.bak")); len(baks) != 1 {
		t.Errorf("the replaced copy was not backed up: %v", baks)
	}

	var audited, denied bool
	for _, ev := range e.auditEvents() {
		audited = audited || (ev.Action == "migrate" && ev.User == "admin" && ev.Reason == "to "+dst && ev.Outcome == "ok")
		denied = denied || (ev.User == "dr.patel" && ev.Outcome == "denied" && strings.Contains(ev.Reason, "administer"))
	}
	if !audited || !denied {
		t.Errorf("the migration audited in the source: %v; the GP's refused one: %v", audited, denied)
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
	// What every user sees, and audit verify, are the same in the database.
	inPG := []string{"--store", url, "--practice", "B86001"}
	want := e.views(e.dir)
	delete(want, "check")
	sameViews(t, "the practice in PostgreSQL", want, e.viewsAt(inPG))

	// Both move on after the copy (the reads above were audited on each
	// side): the database's practice is not overwritten.
	e.ok("--as", "dr.patel", "consult", "add", "9434765919", "--text", "After the copy")
	if msg := e.want(ExitConflict, "--as", "admin", "migrate", "--to", url); !strings.Contains(msg, "audit trail of its own") {
		t.Errorf("migrate over a copy in PostgreSQL written to since: %q", msg)
	}

	// Back out of the database into a new data dir: named by --from, or
	// the practice in use (--store, --practice).
	back, back2 := filepath.Join(t.TempDir(), "back"), filepath.Join(t.TempDir(), "back2")
	if msg := e.want(ExitUsage, "--as", "admin", "migrate", "--from", url, "--to", back); !strings.Contains(msg, "--practice ODS") {
		t.Errorf("migrate --from a database without --practice: %q", msg)
	}
	want = e.viewsAt(inPG)
	want["audit verify"] = e.ok(append(inPG, "audit", "verify")...) // after the reads of the views
	out = e.ok("--as", "admin", "migrate", "--from", url, "--practice", "B86001", "--to", back)
	if !strings.HasPrefix(out, "Copied the practice to "+back) {
		t.Errorf("migrate out of PostgreSQL says %q", out)
	}
	e.ok(append(inPG, "--as", "admin", "migrate", "--to", back2)...)
	// Each copy out was audited in the database first: one event more each.
	var n int
	if _, err := fmt.Sscanf(want["audit verify"], "ok: %d events", &n); err != nil {
		t.Fatalf("audit verify: %q", want["audit verify"])
	}
	for i, dir := range []string{back, back2} {
		w := maps.Clone(want)
		w["audit verify"] = strings.Replace(want["audit verify"], fmt.Sprintf("%d events", n), fmt.Sprintf("%d events", n+1+i), 1)
		got := e.views(dir)
		delete(got, "check")
		sameViews(t, "the practice after PostgreSQL and back", w, got)
	}
}

// Signed anchors are made on a practice file, on PostgreSQL after the move,
// and on a file again after the move back: every anchor verifies against
// the practice wherever it now is, because the chain is copied byte for
// byte (docs/deploy.md, backups and anchors).
func TestAnchorsVerifyAcrossMigrations(t *testing.T) {
	url := pgCluster(t).NewDatabase(t)
	e, _, _ := tamperEnv(t)
	key, pub, anchors := keyOutside(t, e)
	e.ok("--as", "admin", "audit", "anchor", "--key", key, "--dir", anchors)
	e.ok("--as", "dr.patel", "consult", "add", "9434765919", "--text", "Before the move")
	e.ok("--as", "admin", "migrate", "--to", url)

	inPG := []string{"--store", url, "--practice", "B86001"}
	out := e.ok(append(inPG, "audit", "verify", "--anchors", anchors, "--public-key", pub)...)
	if !strings.Contains(out, "anchors verified: 1,") {
		t.Fatalf("the file's anchor against the practice in PostgreSQL: %q", out)
	}
	e.ok(append(inPG, "--as", "dr.patel", "consult", "add", "9434765919", "--text", "In the database")...)
	e.ok(append(inPG, "--as", "admin", "audit", "anchor", "--key", key, "--dir", anchors)...)
	if out := e.ok(append(inPG, "audit", "verify", "--anchors", anchors, "--public-key", pub)...); !strings.Contains(out, "anchors verified: 2,") {
		t.Fatalf("both anchors against the practice in PostgreSQL: %q", out)
	}

	back := filepath.Join(t.TempDir(), "back")
	e.ok(append(inPG, "--as", "admin", "migrate", "--to", back)...)
	if out := e.okIn(back, "audit", "verify", "--anchors", anchors, "--public-key", pub); !strings.Contains(out, "anchors verified: 2,") {
		t.Fatalf("both anchors against the practice back in a file: %q", out)
	}
	// The file left behind stops before the database's anchor: truncation,
	// which is what an old copy (or a restored backup) looks like.
	if msg := e.want(ExitFailure, "audit", "verify", "--anchors", anchors, "--public-key", pub); !strings.Contains(msg, "truncated") {
		t.Errorf("the old file against the newer anchor: %q", msg)
	}
}

// A practice that keeps an audit trail imported from another system (its
// records and trail brought in from that system's export) moves into
// PostgreSQL and back with it: audit verify (which names the imported
// trail), the imported events as listed, and the practice's export are the
// same at each step.
func TestMigrateCarriesImportedTrail(t *testing.T) {
	url := pgCluster(t).NewDatabase(t)
	e, _, _ := tamperEnv(t)
	other := filepath.Join(t.TempDir(), "other")
	e.okIn(other, "init", "--practice", "Other Surgery", "--ods", "Y12345", "--admin", "admin")
	e.okIn(other, "--as", "admin", "patient", "add", "--nhs", "4010232137", "--family", "Okafor", "--given", "Ada", "--dob", "1980-02-03", "--sex", "female")
	exit := filepath.Join(t.TempDir(), "exit")
	e.okIn(other, "--as", "admin", "export", "fhir", "--all", "--out", exit)
	e.ok("--as", "admin", "import", "fhir", exit)

	inPG := []string{"--store", url, "--practice", "B86001"}
	// What is compared: the imported trail's own views first (each later
	// view is audited on its own side, in the same order on both).
	views := func(where []string) map[string]string {
		t.Helper()
		v := map[string]string{}
		for _, args := range [][]string{
			{"audit", "verify"},
			{"--as", "admin", "audit", "list", "--imported", "-o", "json"},
			{"--as", "dr.patel", "patient", "list", "-o", "json"},
		} {
			v[strings.Join(args, " ")] = e.ok(append(append([]string(nil), where...), args...)...)
		}
		return v
	}
	src := views([]string{"--data-dir", e.dir})
	if !strings.Contains(src["audit verify"], "imported from other systems and kept apart") {
		t.Fatalf("the practice keeps no imported trail: %q", src["audit verify"])
	}
	e.ok("--as", "admin", "migrate", "--to", url)
	if out := e.ok("--as", "admin", "migrate", "--to", url); !strings.Contains(out, "nothing copied") {
		t.Errorf("a second migrate to PostgreSQL says %q", out)
	}
	// The source audited its migration (and the reads above): so does the
	// copy, which was taken after them; from here each side audits its own.
	want := views([]string{"--data-dir", e.dir})
	sameViews(t, "the practice in PostgreSQL", want, views(inPG))

	back := filepath.Join(t.TempDir(), "back")
	e.ok(append(inPG, "--as", "admin", "migrate", "--to", back)...)
	// Each side's views in the same order from the moment of the copy:
	// the same answers, audit verify included.
	sameViews(t, "the practice back in a data dir", views(inPG), views([]string{"--data-dir", back}))

	// The exports of the practice in the database and back in a file are
	// the same, file for file, but for the audit events each side wrote
	// since the copy (the imported trail's are the same).
	exports := map[string]map[string]string{}
	for name, where := range map[string][]string{"database": inPG, "file": {"--data-dir", back}} {
		dir := filepath.Join(t.TempDir(), name)
		e.ok(append(where, "--as", "admin", "export", "fhir", "--all", "--out", dir)...)
		files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
		exports[name] = map[string]string{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			exports[name][filepath.Base(f)] = string(b)
		}
	}
	for f, w := range exports["database"] {
		g := exports["file"][f]
		if f == "AuditEvent.ndjson" {
			w, g = importedLines(w), importedLines(g)
			if w == "" {
				t.Errorf("the export carries no imported audit event")
			}
		}
		if g != w {
			t.Errorf("the export's %s differs between the database and the data dir:\n want %s\n  got %s", f, w, g)
		}
	}
	if len(exports["file"]) != len(exports["database"]) {
		t.Errorf("the exports hold %d and %d files", len(exports["database"]), len(exports["file"]))
	}

	// A trail imported straight into the practice in the database is kept
	// beside the copied one, each recorded by an event of its own trail.
	third := filepath.Join(t.TempDir(), "third")
	e.okIn(third, "init", "--practice", "Third Surgery", "--ods", "Y23456", "--admin", "admin")
	exit3 := filepath.Join(t.TempDir(), "exit3")
	e.okIn(third, "--as", "admin", "export", "fhir", "--all", "--out", exit3)
	e.ok(append(inPG, "--as", "admin", "import", "fhir", exit3)...)
	out := e.ok(append(inPG, "audit", "verify")...)
	if !strings.Contains(out, "Other Surgery (ODS Y12345), Third Surgery (ODS Y23456)), unchanged since import") {
		t.Errorf("audit verify after an import into the database: %q", out)
	}
}

// importedLines are an AuditEvent export's lines of imported events.
func importedLines(ndjson string) string {
	var out []string
	for _, l := range strings.Split(ndjson, "\n") {
		if strings.Contains(l, "StructureDefinition/imported-audit") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
