package commands

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
)

// A population list (patient list --problem-ecl) is a service action: the
// search right (a receptionist and an admin are refused, exit 4, and the
// refusal is audited), and the search audited with its query.
func TestProblemECLListIsAuditedAndRoleChecked(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	for _, who := range []string{"reception", "admin"} {
		e.want(4, "--as", who, "patient", "list", "--problem-ecl", "<< 73211009")
	}
	e.ok("--as", "dr.patel", "patient", "list", "--problem-ecl", "<< 73211009")
	denied, searched := 0, 0
	for _, ev := range e.auditEvents() {
		if ev.Outcome == "denied" && ev.Reason == string(clinical.ActSearch) {
			denied++
		}
		if ev.User == "dr.patel" && ev.Action == "search" && ev.Query == "problem-ecl << 73211009" {
			searched++
		}
	}
	if denied != 2 || searched != 1 {
		t.Errorf("audited: %d refused searches (want 2), %d searches with their query (want 1)", denied, searched)
	}
}

// Backup and restore are service actions: a refused backup or restore leaves
// a trail (exit 4, the denial audited, no file written), a backup is audited
// with its file, and a forced restore is audited in the practice it replaces.
func TestBackupAndRestoreAreAudited(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	bk := filepath.Join(t.TempDir(), "backup.db")
	e.want(4, "--as", "nurse.jones", "backup", bk)
	e.want(4, "--as", "reception", "restore", "--force", bk)
	if _, err := os.Stat(bk); err == nil {
		t.Fatal("a refused backup wrote the file")
	}
	e.ok("--as", "dr.patel", "backup", bk)
	denied, backedUp := map[string]bool{}, false
	for _, ev := range e.auditEvents() {
		if ev.Outcome == "denied" && ev.Reason == string(clinical.ActBulk) {
			denied[ev.User] = true
		}
		backedUp = backedUp || (ev.User == "dr.patel" && ev.Action == "backup" && ev.Reason == bk)
	}
	if !denied["nurse.jones"] || !denied["reception"] || !backedUp {
		t.Errorf("audited: refused %v (want nurse.jones and reception), backup %v", denied, backedUp)
	}
	e.ok("--as", "admin", "restore", "--force", bk)
	restored := false
	for _, ev := range e.auditEvents() { // the restored file is the backup: it holds the backup's event, not the restore's
		restored = restored || ev.Action == "restore"
	}
	if restored {
		t.Error("the restore's event is in the restored practice; it belongs to the practice it replaced (kept in its backup)")
	}
}

// Against another vendor's server, which knows nothing of what only a gpsoc
// workstation says (the access reason, its finds), remote mode says once,
// per run, that the server keeps its own audit trail; and the workstation
// sends it no AuditEvent.
func TestRemoteOtherVendorSaysItKeepsItsOwnAudit(t *testing.T) {
	var auditPosts atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/metadata":
			fmt.Fprint(w, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","software":{"name":"other"}}`)
		case r.URL.Path == "/introspect": // no token introspection here
			w.WriteHeader(http.StatusNotFound)
		case strings.HasPrefix(r.URL.Path, "/AuditEvent") || r.Method == "POST":
			auditPosts.Add(1)
			w.WriteHeader(http.StatusNotFound)
		default:
			fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}`)
		}
	}))
	defer hs.Close()
	e := newPracticeEnv(t, false)
	now := &atomic.Int64{}
	e.remote = &remoteSide{url: hs.URL + "/", tokens: map[string]string{"dr.patel": "a-token"}, dir: t.TempDir(), now: now}
	r := e.run("", "--as", "dr.patel", "patient", "list")
	if r.code != 0 {
		t.Fatalf("patient list against another vendor's server: exit %d\n%s", r.code, r.err)
	}
	if n := strings.Count(r.err, "keeps its own audit trail"); n != 1 {
		t.Errorf("the note that the server keeps its own audit said %d times, want once:\n%s", n, r.err)
	}
	if n := auditPosts.Load(); n != 0 {
		t.Errorf("%d writes sent for a list (an AuditEvent?), want none", n)
	}
}
