package commands

import (
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// The commands the surgery day does not use, pinned on a terminal and in a
// pipe, plus the other output formats.
func TestMoreCommandsGolden(t *testing.T) {
	for _, mode := range []struct {
		name string
		tty  bool
	}{{"terminal", true}, {"pipe", false}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newPracticeEnv(t, mode.tty)
			e.terms = testTerms
			e.setUp()
			tr := &transcript{e: e}
			gp := func(args ...string) []string { return append([]string{"--as", "dr.patel"}, args...) }
			rec := func(args ...string) []string { return append([]string{"--as", "reception"}, args...) }
			tr.step(0, rec("patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male", "--postcode", "LS6 2QT")...)
			tr.step(0, rec("patient", "add", "--nhs", "401 023 2137", "--family", "Khan", "--given", "Amira", "--dob", "1984-07-30", "--sex", "female")...)
			tr.step(0, rec("patient", "update", smithNHS, "--phone", "0113 496 0000", "--usual-gp", "dr.patel", "--if-version", "1")...)
			tr.step(5, rec("patient", "update", smithNHS, "--phone", "0113 496 0001", "--if-version", "1")...)
			tr.step(0, rec("patient", "flag", "add", smithNHS, "interpreter-needed")...)
			tr.step(0, rec("patient", "flag", "remove", smithNHS, "interpreter-needed")...)
			tr.step(0, gp("problem", "add", smithNHS, "--code", "44054006", "--onset", "2020-02-01", "--significance", "major")...)
			var probs []record.Problem
			e.jsonOf(&probs, gp("problem", "list", smithNHS)...)
			tr.step(0, gp("problem", "resolve", smithNHS, probs[0].ID, "--date", "2026-11-20")...)
			tr.step(0, gp("problem", "list", smithNHS, "-o", "csv")...)
			tr.step(0, gp("obs", "add", smithNHS, "--bp", "132/84", "--date", "2026-11-23 10:00")...)
			tr.step(0, gp("obs", "add", smithNHS, "--code", "27113001", "--value", "80.1", "--unit", "kg", "--date", "2026-11-23")...)
			tr.step(0, gp("obs", "list", smithNHS, "-o", "ndjson")...)
			tr.step(0, gp("allergy", "add", "4010232137", "--nkda")...)
			tr.step(0, gp("allergy", "add", "4010232137", "--code", "764146007", "--reaction", "anaphylaxis", "--severity", "severe")...)
			tr.step(0, gp("allergy", "list", "4010232137", "--all")...)
			tr.step(0, gp("imm", "add", smithNHS, "--code", "1181000221105", "--batch", "FLU-1")...)
			var imms []record.Immunisation
			e.jsonOf(&imms, gp("imm", "list", smithNHS)...)
			tr.step(0, gp("entry", "show", imms[0].ID, "-o", "json")...)
			tr.step(0, gp("task", "add", smithNHS, "--text", "Call about results")...)
			var tasks []record.Task
			e.jsonOf(&tasks, gp("task", "list")...)
			tr.step(0, gp("task", "done", tasks[0].ID)...)
			tr.step(5, gp("task", "done", tasks[0].ID)...)
			tr.step(0, gp("task", "list", "--all")...)
			tr.step(0, gp("recall", "add", smithNHS, "--code", "182836005", "--due", "2026-11-01")...)
			tr.step(0, rec("recall", "list", "--overdue")...)
			var recalls []record.Recall
			e.jsonOf(&recalls, rec("recall", "list")...)
			tr.step(4, rec("recall", "done", recalls[0].ID)...) // a recall is clinical work (design.md's role table)
			tr.step(0, gp("recall", "done", recalls[0].ID)...)
			tr.step(0, rec("appt", "session", "add", "--clinician", "nurse.jones", "--date", "2026-11-25", "--start", "14:00", "--end", "14:30", "--slot", "10m")...)
			tr.step(0, rec("appt", "session", "list", "--date", "2026-11-25")...)
			tr.step(5, rec("appt", "session", "add", "--clinician", "nurse.jones", "--date", "2026-11-25", "--start", "14:20", "--end", "15:00", "--slot", "10m")...)
			tr.step(0, rec("appt", "book", smithNHS, "--clinician", "nurse.jones", "--at", "2026-11-25T14:00:00Z")...)
			tr.step(0, rec("appt", "book", "4010232137", "--clinician", "nurse.jones", "--at", "2026-11-25 14:10", "--mode", "video")...)
			var appts []record.Appointment
			e.jsonOf(&appts, rec("appt", "list", "--date", "2026-11-25")...)
			tr.step(0, rec("appt", "cancel", appts[0].ID)...)
			e.now = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)
			tr.step(0, rec("appt", "dna", appts[1].ID)...)
			tr.step(5, rec("appt", "arrive", appts[1].ID)...)
			tr.step(0, rec("appt", "slots", "--date", "2026-11-25", "--clinician", "nurse.jones")...)
			tr.step(0, rec("appt", "list", "--date", "2026-11-25", "--all", "-o", "csv")...)
			tr.step(0, rec("patient", "leave", "4010232137", "--date", "2026-11-25", "--reason", "moved away")...)
			tr.step(0, rec("patient", "deceased", smithNHS, "--date", "2026-11-25")...)
			tr.step(0, rec("patient", "list")...)
			tr.step(0, gp("record", "4010232137")...)
			tr.step(0, "--as", "admin", "patient", "export", "4010232137")
			tr.step(0, "--as", "admin", "patient", "export", "4010232137", "--records")
			tr.step(0, "--as", "admin", "user", "list", "-o", "json")
			tr.step(0, gp("record", "4010232137", "-o", "csv")...)
			tr.step(0, rec("record", "4010232137", "-o", "ndjson")...)
			tr.step(0, gp("history", "4010232137", "-o", "csv")...)
			tr.step(0, "--as", "dr.patel", "config", "show")
			checkGolden(t, "more-commands-"+mode.name+".golden", stableIDs(tr.b.String()))
		})
	}
}
