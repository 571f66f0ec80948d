package commands

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

// A mistyped subcommand must fail a script, not print help and exit 0.
func TestUnknownSubcommandIsAUsageError(t *testing.T) {
	e := newPracticeEnv(t, false)
	for _, args := range [][]string{{"appt", "bogus"}, {"allergy", "nkda"}, {"patient", "lsit"}, {"audit", "nope", "x"}} {
		r := e.run("", args...)
		if r.code != ExitUsage || !strings.Contains(r.err, "unknown command") || !strings.Contains(r.err, args[1]) {
			t.Errorf("gpsoc %s: exit %d, stderr %q; want exit 2 naming the unknown command", strings.Join(args, " "), r.code, r.err)
		}
	}
	// A parent command alone still shows its help.
	if r := e.run("", "appt"); r.code != 0 || !strings.Contains(r.out, "Available Commands") {
		t.Errorf("gpsoc appt: exit %d, out %q; want its help", r.code, r.out)
	}
}

// `audit list --patient` takes the patient as every other command does: an
// NHS number (spaced or not) or an id; one that names nobody is an error.
func TestAuditListByNHSNumber(t *testing.T) {
	e, _ := surgeryDay(t, false)
	var byID, byNHS, bySpaced []record.AuditEvent
	var pat record.Patient
	e.jsonOf(&pat, "--as", "dr.patel", "patient", "show", smithNHS)
	e.jsonOf(&byID, "--as", "admin", "audit", "list", "--patient", pat.ID)
	e.jsonOf(&byNHS, "--as", "admin", "audit", "list", "--patient", smithNHS)
	e.jsonOf(&bySpaced, "--as", "admin", "audit", "list", "--patient", record.FormatNHS(smithNHS))
	if len(byID) == 0 || len(byNHS) < len(byID) || len(bySpaced) < len(byNHS) {
		t.Fatalf("audit list --patient: %d events by id, %d by NHS number, %d spaced; want the same events (each list adds its own), non-zero", len(byID), len(byNHS), len(bySpaced))
	}
	for _, ev := range byNHS {
		if ev.PatientID != pat.ID {
			t.Errorf("event %d is about %q, not the patient asked for", ev.Seq, ev.PatientID)
		}
	}
	if r := e.run("", "--as", "admin", "audit", "list", "--patient", "9990000026"); r.code == 0 {
		t.Errorf("audit list for an NHS number nobody holds: exit 0, out %q; want an error naming it", r.out)
	}
}
