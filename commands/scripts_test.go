package commands

import (
	"os"
	"strings"
	"testing"
	"time"

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

// A practice's patients go out as CSV and come back unchanged; the CSV a
// spreadsheet writes (dd/mm/yyyy dates) and the no-fixed-abode postcode are
// taken; an address is given with flags.
func TestPatientCSVRoundTripAndAddress(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "admin", "patient", "add", "--nhs", "401 023 2137", "--family", "O'Brien, Jr", "--given", "Mary Ann",
		"--dob", "1950-12-01", "--sex", "female", "--address-line", "12 Leeds Road", "--address-line", "Headingley",
		"--town", "Leeds", "--postcode", "LS6 2QT", "--flag", "carer", "--flag", "interpreter-needed")
	e.ok("--as", "admin", "patient", "add", "--no-nhs-reason", "temporary-resident", "--family", "Nowak",
		"--given", "Anna", "--given", "Maria", "--dob", "1990-01-02", "--sex", "female", "--postcode", "zz99 3vz", "--temporary")
	var p record.Patient
	e.jsonOf(&p, "--as", "admin", "patient", "update", "4010232137", "--town", "Bradford", "--county", "West Yorkshire")
	if p.Address == nil || p.Address.Town != "Bradford" || p.Address.County != "West Yorkshire" || len(p.Address.Lines) != 2 || p.Address.Lines[1] != "Headingley" {
		t.Fatalf("after --town and --county the address is %+v; want the lines kept and the town and county changed", p.Address)
	}
	csvOut := e.ok("--as", "admin", "patient", "export", "-o", "csv")
	if n := strings.Count(csvOut, "\n"); n != 3 {
		t.Fatalf("CSV export has %d lines, want a header and 2 patients:\n%s", n, csvOut)
	}
	file := e.dir + "/patients.csv"
	if err := os.WriteFile(file, []byte(csvOut), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("--as", "admin", "patient", "import", file); !strings.Contains(out, "written 0, unchanged 2, rejected 0") {
		t.Errorf("re-import of the CSV export: %q; want every patient unchanged", out)
	}
	var again record.Patient
	e.jsonOf(&again, "--as", "admin", "patient", "show", "4010232137")
	if again.Version != p.Version || again.Family != "O'Brien, Jr" || len(again.Given) != 1 || again.Given[0] != "Mary Ann" || len(again.Flags) != 2 {
		t.Errorf("after the round trip: %+v", again)
	}

	sheet := "nhsNumber,family,given,birthDate,sex,postcode\n" +
		"9434765919,Smith,John Paul,12/03/1961,male,LS6 2QT\n" +
		"9990000026,Bad,Date,31/02/1961,male,LS6 2QT\n"
	if err := os.WriteFile(file, []byte(sheet), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "--as", "admin", "patient", "import", file)
	if r.code != ExitFailure || !strings.Contains(r.out, "written 1") || !strings.Contains(r.err, "31/02/1961") {
		t.Errorf("spreadsheet CSV: exit %d, out %q, err %q; want 12/03/1961 taken and 31/02/1961 refused by name", r.code, r.out, r.err)
	}
	e.jsonOf(&p, "--as", "admin", "patient", "show", "9434765919")
	if p.BirthDate != "1961-03-12" || len(p.Given) != 2 {
		t.Errorf("dd/mm/yyyy import: %+v", p)
	}
}

// An allergy is de-labelled with a reason: it stays on the record as
// resolved, stops alerting, and the reason is audited. Without a reason, or
// for NKDA, it is refused.
func TestAllergyResolve(t *testing.T) {
	e := medEnv(t)
	var a record.Allergy
	e.jsonOf(&a, "--as", "dr.patel", "allergy", "add", "9434765919", "--code", "91936005", "--reaction", "rash")
	e.want(ExitAlert, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin, "--check")
	if stderr := e.want(ExitUsage, "--as", "dr.patel", "allergy", "resolve", "9434765919", a.ID); !strings.Contains(stderr, "reason") {
		t.Errorf("resolve without a reason: %q", stderr)
	}
	e.want(ExitForbidden, "--as", "reception", "allergy", "resolve", "9434765919", a.ID, "--reason", "x")
	const why = "negative oral amoxicillin challenge, allergy clinic"
	var res record.Allergy
	e.jsonOf(&res, "--as", "dr.patel", "allergy", "resolve", "9434765919", a.ID, "--reason", why, "--date", "2026-11-20")
	if res.Status != "resolved" || res.ResolvedReason != why || res.ResolvedOn != "2026-11-20" || res.Version != a.Version+1 {
		t.Fatalf("resolved allergy %+v", res)
	}
	e.want(ExitConflict, "--as", "dr.patel", "allergy", "resolve", "9434765919", a.ID, "--reason", why)
	var active, all []record.Allergy
	e.jsonOf(&active, "--as", "dr.patel", "allergy", "list", "9434765919")
	e.jsonOf(&all, "--as", "dr.patel", "allergy", "list", "9434765919", "--all")
	if len(active) != 0 || len(all) != 1 || all[0].Status != "resolved" {
		t.Errorf("after resolving: %d active, all %+v", len(active), all)
	}
	// No longer an allergy alert (allergy status is now "not recorded": a
	// moderate alert that asks for NKDA or an allergy, not the penicillin one).
	r := e.run("", "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin, "--check", "-o", "json")
	if strings.Contains(r.out, "allergy:") {
		t.Errorf("a resolved allergy still alerts: %s", r.out)
	}
	found := false
	for _, ev := range e.auditEvents() {
		if ev.EntityID == a.ID && ev.Action == "update" && strings.Contains(ev.Reason, why) && ev.User == "dr.patel" {
			found = true
		}
	}
	if !found {
		t.Error("no audit event with the reason for the resolution")
	}
	var nkda record.Allergy
	e.jsonOf(&nkda, "--as", "dr.patel", "allergy", "add", "9434765919", "--nkda")
	e.want(ExitUsage, "--as", "dr.patel", "allergy", "resolve", "9434765919", nkda.ID, "--reason", "x")
}

// The book follows the clock: DNA only once the slot has started, arrived
// and seen only on the day; a status change made by mistake is undone with
// a reason, unless its freed slot has been booked since.
func TestBookStatusFollowsTheClock(t *testing.T) {
	e := medEnv(t) // 08:30 on 24 Nov 2026, a minute a command
	e.ok("--as", "reception", "patient", "add", "--nhs", "4010232137", "--family", "Khan", "--given", "Amira", "--dob", "1980-05-06", "--sex", "female")
	e.ok("--as", "reception", "appt", "session", "add", "--clinician", "dr.patel", "--date", "2026-11-24", "--start", "09:00", "--end", "12:00", "--slot", "10m")
	var today, tomorrow record.Appointment
	e.jsonOf(&today, "--as", "reception", "appt", "book", "9434765919", "--clinician", "dr.patel", "--at", "2026-11-24 09:10")
	e.jsonOf(&tomorrow, "--as", "reception", "appt", "book", "9434765919", "--clinician", "dr.patel", "--at", "2026-11-25 09:10")
	if stderr := e.want(ExitUsage, "--as", "reception", "appt", "dna", today.ID); !strings.Contains(stderr, "09:10") {
		t.Errorf("DNA before the slot starts: %q; want a refusal naming the start", stderr)
	}
	e.want(ExitUsage, "--as", "reception", "appt", "arrive", tomorrow.ID)
	e.want(ExitUsage, "--as", "reception", "appt", "seen", tomorrow.ID)
	e.now = time.Date(2026, 11, 24, 9, 20, 0, 0, time.UTC)
	var a record.Appointment
	e.jsonOf(&a, "--as", "reception", "appt", "dna", today.ID)
	if a.Status != "did-not-attend" {
		t.Fatalf("DNA after the start: %+v", a)
	}
	e.want(ExitUsage, "--as", "reception", "appt", "undo", today.ID)
	e.jsonOf(&a, "--as", "reception", "appt", "undo", today.ID, "--reason", "he was in the waiting room")
	if a.Status != "booked" || a.Version != today.Version+2 {
		t.Fatalf("undo of a DNA: %+v; want booked again as a new version", a)
	}
	e.jsonOf(&a, "--as", "reception", "appt", "arrive", today.ID)
	e.jsonOf(&a, "--as", "reception", "appt", "undo", today.ID, "--reason", "arrived the wrong patient")
	if a.Status != "booked" {
		t.Errorf("undo of an arrival: %+v", a)
	}
	// Cancelled by mistake, and the slot given away since: the undo is a conflict.
	e.jsonOf(&a, "--as", "reception", "appt", "cancel", tomorrow.ID)
	e.ok("--as", "reception", "appt", "book", "4010232137", "--clinician", "dr.patel", "--at", "2026-11-25 09:10")
	if stderr := e.want(ExitConflict, "--as", "reception", "appt", "undo", tomorrow.ID, "--reason", "cancelled the wrong one"); !strings.Contains(stderr, "book again") {
		t.Errorf("undo into a rebooked slot: %q", stderr)
	}
	n := 0
	for _, ev := range e.auditEvents() {
		if ev.EntityID == today.ID && strings.Contains(ev.Reason, "waiting room") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audit events carry the undo's reason, want 1", n)
	}
}

// problem significance PATIENT ID major|minor: a new version, version-checked.
func TestProblemSignificance(t *testing.T) {
	e := medEnv(t)
	var p record.Problem
	e.jsonOf(&p, "--as", "dr.patel", "problem", "add", "9434765919", "--code", "38341003")
	if p.Significance != "minor" {
		t.Fatalf("a new problem is %q", p.Significance)
	}
	var q record.Problem
	e.jsonOf(&q, "--as", "dr.patel", "problem", "significance", "9434765919", p.ID, "major", "--if-version", "1")
	if q.Significance != "major" || q.Version != 2 {
		t.Fatalf("after significance major: %+v", q)
	}
	e.want(ExitConflict, "--as", "dr.patel", "problem", "significance", "9434765919", p.ID, "minor", "--if-version", "1")
	e.want(ExitUsage, "--as", "dr.patel", "problem", "significance", "9434765919", p.ID, "huge")
	e.want(ExitForbidden, "--as", "reception", "problem", "significance", "9434765919", p.ID, "minor")
}
