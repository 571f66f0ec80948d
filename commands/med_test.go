package commands

import (
	"encoding/json"
	"github.com/opengpsoc/gpsoc/clinical"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

const (
	rxAmoxicillin = "39732411000001106" // Amoxicillin 500mg capsules (dm+d VMP)
	rxRamipril    = "318902004"         // Ramipril 5mg capsules
)

func medEnv(t *testing.T) *practiceEnv {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John",
		"--dob", "1961-03-12", "--sex", "male")
	return e
}

func TestMedPrescribeAlertsCLI(t *testing.T) {
	e := medEnv(t)
	e.ok("--as", "dr.patel", "allergy", "add", "9434765919", "--code", "91936005", "--reaction", "rash")
	// refused: exit 6, the alerts as JSON on stdout, one line on stderr
	r := e.run("", "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin,
		"--dose", "1 tds", "--quantity", "21", "-o", "json")
	if r.code != ExitAlert {
		t.Fatalf("exit %d, want 6\n%s%s", r.code, r.out, r.err)
	}
	var got struct {
		Alerts []struct{ ID, Severity, Message string } `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got.Alerts) != 1 {
		t.Fatalf("stdout %q: %v", r.out, err)
	}
	a := got.Alerts[0]
	if !strings.HasPrefix(a.ID, "allergy:") || !strings.HasSuffix(clinical.BaseAlertID(a.ID), ":"+rxAmoxicillin) || a.Severity != "high" || a.Message == "" {
		t.Fatalf("alert %+v", a)
	}
	if lines := strings.Count(strings.TrimSpace(r.err), "\n"); lines != 0 {
		t.Errorf("stderr is not one line: %q", r.err)
	}
	// --check lists without prescribing; an ack cannot answer a high alert (exit 2)
	e.want(ExitAlert, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin, "--check")
	e.want(ExitUsage, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin,
		"--dose", "1 tds", "--quantity", "21", "--ack", a.ID)
	var meds []record.Medication
	e.jsonOf(&meds, "--as", "dr.patel", "med", "list", "9434765919")
	if len(meds) != 0 {
		t.Fatalf("prescribed while refused: %d", len(meds))
	}
	// overridden with a reason: written, the answer recorded with its author
	var m record.Medication
	e.jsonOf(&m, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin,
		"--dose", "1 tds", "--quantity", "21", "--override", a.ID+"=tolerated amoxicillin in 2025")
	if len(m.Answers) != 1 || m.Answers[0].Reason != "tolerated amoxicillin in 2025" || m.Answers[0].By != "dr.patel" || m.Unit != "capsule" {
		t.Fatalf("medication %+v", m)
	}
	// no alerts: --check exits 0
	e.ok("--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxRamipril, "--check")
}

func TestMedRolesAndStaleReauthCLI(t *testing.T) {
	e := medEnv(t)
	e.ok("--as", "dr.patel", "allergy", "add", "9434765919", "--nkda")
	e.want(ExitForbidden, "--as", "reception", "med", "prescribe", "9434765919", "--code", rxRamipril, "--dose", "1 od", "--quantity", "28")
	e.want(ExitForbidden, "--as", "nurse.jones", "med", "prescribe", "9434765919", "--code", rxRamipril, "--dose", "1 od", "--quantity", "28")
	var m record.Medication
	e.jsonOf(&m, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxRamipril, "--dose", "1 od",
		"--quantity", "28", "--repeat", "--issues", "2", "--review", "2027-05-24")
	var issued []record.Medication
	e.jsonOf(&issued, "--as", "dr.patel", "med", "issue", "9434765919", "--all-due")
	if len(issued) != 1 || issued[0].Version != 2 {
		t.Fatalf("issued %+v", issued)
	}
	e.ok("--as", "dr.patel", "med", "reauth", "9434765919", m.ID, "--issues", "6", "--if-version", "2")
	msg := e.want(ExitConflict, "--as", "dr.patel", "med", "reauth", "9434765919", m.ID, "--issues", "6", "--if-version", "2")
	if !strings.Contains(msg, "changed by dr.patel") {
		t.Errorf("conflict does not say who: %q", msg)
	}
	e.want(ExitForbidden, "--as", "reception", "med", "issue", "9434765919", "--all-due")
	out := e.ok("--as", "dr.patel", "med", "print", "9434765919")
	for _, want := range []string{"Ramipril 5mg capsules", "Take ONE capsule once a day", "dr.patel, registration number 7012345"} {
		if !strings.Contains(out, want) {
			t.Errorf("med print lacks %q:\n%s", want, out)
		}
	}
}

func TestRulesImportCLI(t *testing.T) {
	e := medEnv(t)
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte("version: 1\nrules:\n  - id: x\n    severity: severe\n    drug: {names: [x]}\n    message: m\n    source: s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := e.want(ExitUsage, "--as", "admin", "rules", "import", file); !strings.Contains(msg, "rules[0].severity") {
		t.Errorf("error does not name the field: %q", msg)
	}
	e.want(ExitForbidden, "--as", "dr.patel", "rules", "import", file)
	defaults := e.ok("rules", "defaults", "interactions")
	if err := os.WriteFile(file, []byte(defaults), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("--as", "admin", "rules", "import", file)
	out := e.ok("--as", "dr.patel", "rules", "list")
	if !strings.Contains(out, "methotrexate-trimethoprim") || !strings.Contains(out, "\tpractice\t") || !strings.Contains(out, "valproate-female-12-55") {
		t.Errorf("rules list:\n%s", out)
	}
}

// rules list shows every interaction and allergy cross-sensitivity with its
// source and "not reviewed" until a named clinician signs it off; --classes
// lists the curated classes.
func TestRulesListShowsReviewAndClasses(t *testing.T) {
	e := medEnv(t)
	out := e.ok("--as", "dr.patel", "rules", "list")
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "interaction\t") {
			n++
			if !strings.Contains(l, "\tnot reviewed\t") {
				t.Errorf("interaction without its review state: %s", l)
			}
		}
	}
	if n < 80 {
		t.Errorf("%d interactions listed, want at least 80", n)
	}
	if !strings.Contains(out, "cross-sensitivity\tpenicillins>cephalosporins\tmoderate (high after a severe reaction)") {
		t.Errorf("no penicillin/cephalosporin cross-sensitivity in:\n%s", out)
	}
	cls := e.ok("--as", "dr.patel", "rules", "list", "--classes")
	if !strings.Contains(cls, "statins\tStatins\t") || strings.Contains(cls, "0212000L0") { // ezetimibe is no statin
		t.Errorf("classes:\n%s", cls)
	}
}

// TestMedIssueCLIPrintsWhatItIssued: med issue says what it issued; issuing
// again a minute later is a duplicate issue (exit 6, the alert on stdout)
// until --reason gives why; the workstation-less flow of the bug report
// (three issues of apixaban in a minute, exit 0 each) cannot happen.
func TestMedIssueCLIPrintsWhatItIssued(t *testing.T) {
	e := medEnv(t)
	e.ok("--as", "dr.patel", "allergy", "add", "9434765919", "--nkda")
	var m record.Medication
	e.jsonOf(&m, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxRamipril, "--dose", "1 od",
		"--quantity", "28", "--repeat", "--issues", "6")
	e.tty = true
	out := e.ok("--as", "dr.patel", "med", "issue", "9434765919", m.ID)
	if !strings.Contains(out, "issued Ramipril 5mg capsules: 28 capsule, issue 1 of 6") || !strings.Contains(out, "Take ONE capsule once a day") {
		t.Fatalf("what was issued: %q", out)
	}
	r := e.run("", "--as", "dr.patel", "med", "issue", "9434765919", m.ID)
	if r.code != ExitAlert || !strings.Contains(r.out, "early-issue:"+m.ID) || !strings.Contains(r.out, "Duplicate issue") {
		t.Fatalf("a second issue a minute later: exit %d\n%s%s", r.code, r.out, r.err)
	}
	e.want(ExitUsage, "--as", "dr.patel", "med", "issue", "9434765919", m.ID, "--reason", " ")
	out = e.ok("--as", "dr.patel", "med", "issue", "9434765919", m.ID, "--reason", "lost the first one")
	if !strings.Contains(out, "issue 2 of 6") {
		t.Fatalf("issue with a reason: %q", out)
	}
	// as a pipe: the issued medication in the -o format
	e.tty = false
	var got []record.Medication
	r = e.run("", "--as", "dr.patel", "med", "issue", "9434765919", m.ID, "--reason", "again", "-o", "json")
	if r.code != 0 || json.Unmarshal([]byte(r.out), &got) != nil || len(got) != 1 || len(got[0].Issues) != 3 {
		t.Fatalf("json: exit %d %q %q", r.code, r.out, r.err)
	}
}

// TestRecordingAnAllergyWarnsAboutCurrentMedicines: the bug report's
// "recording the allergy warns about nothing": recording a penicillin
// allergy for a patient on amoxicillin says so on stderr.
func TestRecordingAnAllergyWarnsAboutCurrentMedicines(t *testing.T) {
	e := medEnv(t)
	e.ok("--as", "dr.patel", "allergy", "add", "9434765919", "--nkda")
	e.ok("--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxAmoxicillin, "--dose", "1 tds",
		"--quantity", "21", "--repeat", "--issues", "2")
	r := e.run("", "--as", "dr.patel", "allergy", "add", "9434765919", "--code", "91936005", "--reaction", "anaphylaxis")
	if r.code != 0 || !strings.Contains(r.err, "alert: Amoxicillin 500mg capsules") || !strings.Contains(r.err, "next issue") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
}
