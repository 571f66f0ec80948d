package commands

import (
	"os"
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
