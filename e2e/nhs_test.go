package e2e

import (
	"strings"
	"testing"
)

// Every invalid NHS number is refused with exit 2 and nothing is written;
// every valid one is accepted with or without spaces; a second patient with
// the same NHS number gets exit 5.
func TestNHSNumbers(t *testing.T) {
	dir := newPractice(t)
	add := func(nhs string) result {
		return run(t, dir, "", "patient", "add", "--nhs", nhs, "--family", "Test", "--given", "Pat", "--dob", "1970-01-01", "--sex", "female")
	}
	for _, bad := range []string{
		"9434765918",    // wrong check digit
		"1000000010",    // 9 digits whose check digit would be 10
		"943476591",     // too short
		"94347659190",   // too long
		"943476591A",    // a letter
		"94 3476 5919",  // misplaced spaces
		"943 4765 919",  // misplaced spaces
		"943  476 5919", // double space
		"",
	} {
		r := add(bad)
		if bad == "" {
			// no NHS number and no reason: also a validation error
			if r.code != 2 || !strings.Contains(r.stderr, "noNhsReason") {
				t.Errorf("no NHS and no reason: exit %d %q", r.code, r.stderr)
			}
			continue
		}
		if r.code != 2 {
			t.Errorf("NHS %q: exit %d, want 2 (%s)", bad, r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "nhsNumber") || !strings.Contains(r.stderr, bad) {
			t.Errorf("NHS %q: message does not name the field and value: %q", bad, r.stderr)
		}
	}
	if n := countPatients(t, dir); n != 0 {
		t.Fatalf("refused numbers wrote %d patients", n)
	}
	if r := add("943 476 5919"); r.code != 0 {
		t.Fatalf("valid spaced number: %d %s", r.code, r.stderr)
	}
	if r := add("4010232137"); r.code != 0 {
		t.Fatalf("valid number: %d %s", r.code, r.stderr)
	}
	r := add("9434765919")
	if r.code != 5 || !strings.Contains(r.stderr, "already registered") {
		t.Fatalf("duplicate: exit %d %q", r.code, r.stderr)
	}
	if n := countPatients(t, dir); n != 2 {
		t.Fatalf("patients = %d, want 2", n)
	}
}
