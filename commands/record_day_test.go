package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

const smithNHS = "943 476 5919"

// transcript records commands and what they printed, for golden files.
type transcript struct {
	e *practiceEnv
	b strings.Builder
}

// step runs a command, checks its exit code and records it.
func (tr *transcript) step(code int, args ...string) result {
	tr.e.t.Helper()
	r := tr.e.run("", args...)
	if r.code != code {
		tr.e.t.Fatalf("gpsoc %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ") || a == "" {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	fmt.Fprintf(&tr.b, "$ gpsoc %s\n%s", strings.Join(q, " "), strings.ReplaceAll(r.out, tr.e.dir, "$DATA"))
	for _, l := range strings.Split(strings.TrimRight(strings.ReplaceAll(r.err, tr.e.dir, "$DATA"), "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(&tr.b, "stderr: %s\n", l)
		}
	}
	fmt.Fprintf(&tr.b, "exit %d\n\n", r.code)
	return r
}

// surgeryDay is the scripted day of issue 5: set up a session, register
// patients (one refused as a duplicate), book, arrive, consult with coded
// entries and a blood pressure, record an allergy, add a task and a recall,
// retract an entry in error, and read it all back.
func surgeryDay(t *testing.T, tty bool) (*practiceEnv, *transcript) {
	return surgeryDayServed(t, tty, nil)
}

// surgeryDayServed is the day with serve called once the practice and its
// users are set up: the rest of the day runs as serve leaves the env (in
// remote mode, commands/remote_day_test.go).
func surgeryDayServed(t *testing.T, tty bool, serve func(*practiceEnv)) (*practiceEnv, *transcript) {
	return surgeryDayIn(t, tty, nil, serve)
}

// surgeryDayIn is the day with in called on the new env first (to keep the
// practice elsewhere: commands/pg_test.go).
func surgeryDayIn(t *testing.T, tty bool, in, serve func(*practiceEnv)) (*practiceEnv, *transcript) {
	e := newPracticeEnv(t, tty)
	if in != nil {
		in(e)
	}
	e.terms = testTerms
	tr := &transcript{e: e}
	tr.step(0, "init", "--practice", "Leeds Road Surgery", "--ods", "B86001", "--admin", "admin")
	tr.step(0, "--as", "admin", "user", "add", "dr.patel", "--role", "gp", "--reg-number", "7012345")
	tr.step(0, "--as", "admin", "user", "add", "nurse.jones", "--role", "nurse", "--reg-number", "12A3456E")
	tr.step(0, "--as", "admin", "user", "add", "reception", "--role", "receptionist")
	for _, u := range []string{"dr.patel", "nurse.jones", "reception"} {
		tr.step(0, "--as", "admin", "user", "bind", u, "--login", testLogin)
	}
	tr.step(0, "--as", "admin", "user", "list")
	tr.step(0, "--as", "admin", "practice", "set", "idle-lock", "5m")
	tr.step(0, "--as", "admin", "practice", "show")
	if serve != nil {
		serve(e)
	}

	// Reception: the session, the patients, the bookings.
	tr.step(0, "--as", "reception", "appt", "session", "add", "--clinician", "dr.patel", "--date", "2026-11-24", "--start", "09:00", "--end", "10:00", "--slot", "15m")
	tr.step(0, "--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male", "--postcode", "LS6 2QT")
	tr.step(0, "--as", "reception", "patient", "add", "--nhs", "401 023 2137", "--family", "Khan", "--given", "Amira", "--dob", "1984-07-30", "--sex", "female", "--postcode", "LS7 3PD")
	tr.step(5, "--as", "reception", "patient", "add", "--nhs", "9434765919", "--family", "Smyth", "--given", "Jon", "--dob", "1961-03-12", "--sex", "male")
	tr.step(0, "--as", "reception", "appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-24 09:15", "--reason", "BP check")
	tr.step(0, "--as", "reception", "appt", "book", "4010232137", "--clinician", "dr.patel", "--at", "2026-11-24 09:30", "--mode", "telephone")
	tr.step(5, "--as", "reception", "appt", "book", "4010232137", "--clinician", "dr.patel", "--at", "2026-11-24 09:15")
	tr.step(0, "--as", "reception", "appt", "book", "4010232137", "--clinician", "dr.patel", "--at", "2026-11-24 17:30", "--length", "20m", "--mode", "telephone", "--reason", "results")
	tr.step(0, "--as", "reception", "appt", "slots", "--date", "2026-11-24", "--free")
	tr.step(0, "--as", "reception", "appt", "list", "--date", "2026-11-24")
	var appts []record.Appointment
	e.jsonOf(&appts, "--as", "reception", "appt", "list", "--patient", smithNHS)
	smithAppt := appts[0].ID
	e.now = t0.Add(44 * time.Minute) // 09:14
	tr.step(0, "--as", "reception", "appt", "arrive", smithAppt)

	e.now = t0.Add(58 * time.Minute) // 09:28
	// The GP: consultation with coded entries, a blood pressure and a new problem.
	tr.step(0, "--as", "dr.patel", "consult", "add", smithNHS, "--text", "BP high on home readings. No symptoms.",
		"--code", "38341003", "--bp", "148/92", "--obs", "27113001=82.5kg", "--problem", "38341003", "--new",
		"--start", "2026-11-24 09:15", "--end", "2026-11-24 09:27")
	tr.step(0, "--as", "dr.patel", "allergy", "add", smithNHS, "--code", "91936005", "--reaction", "rash", "--severity", "moderate")
	tr.step(0, "--as", "dr.patel", "task", "add", smithNHS, "--text", "Send home BP monitor leaflet", "--due", "2026-11-26", "--to", "nurse.jones")
	tr.step(0, "--as", "dr.patel", "recall", "add", smithNHS, "--code", "182836005", "--due", "2026-11-24")
	tr.step(0, "--as", "dr.patel", "appt", "seen", smithAppt)
	var obs []record.Observation
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS, "--code", "27113001")
	tr.step(0, "--as", "dr.patel", "entry", "retract", obs[0].ID, "--reason", "weight belonged to another patient")
	tr.step(0, "--as", "nurse.jones", "imm", "add", "4010232137", "--code", "1181000221105", "--date", "2026-11-24", "--batch", "FLU-2611")

	// Read it all back.
	tr.step(0, "--as", "dr.patel", "record", smithNHS)
	tr.step(0, "--as", "reception", "record", smithNHS)
	tr.step(0, "--as", "dr.patel", "consult", "list", smithNHS)
	tr.step(0, "--as", "dr.patel", "problem", "list", smithNHS)
	tr.step(0, "--as", "dr.patel", "obs", "list", smithNHS, "--all")
	tr.step(0, "--as", "dr.patel", "allergy", "list", smithNHS)
	tr.step(0, "--as", "nurse.jones", "imm", "list", "4010232137")
	tr.step(0, "--as", "nurse.jones", "task", "list", "--to", "nurse.jones")
	tr.step(0, "--as", "reception", "recall", "list")
	tr.step(0, "--as", "dr.patel", "history", smithNHS)
	tr.step(4, "--as", "reception", "consult", "list", smithNHS)
	return e, tr
}

func TestSurgeryDayGolden(t *testing.T) {
	for _, mode := range []struct {
		name string
		tty  bool
	}{{"terminal", true}, {"pipe", false}} {
		t.Run(mode.name, func(t *testing.T) {
			_, tr := surgeryDay(t, mode.tty)
			checkGolden(t, "surgery-day-"+mode.name+".golden", stableIDs(tr.b.String()))
		})
	}
}
