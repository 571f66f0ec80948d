package commands

import (
	"os"
	"path/filepath"
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
