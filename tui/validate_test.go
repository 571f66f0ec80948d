package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
)

// An implausible value typed in a consultation asks for confirmation (the
// one difference between paths); confirmed, it is saved with a flag. An
// impossible value and a decimal comma are refused outright.
func TestConsultImplausibleValueAsksForConfirmation(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("howa")
	d.keys("enter")
	d.contains("Record · Summary")
	d.keys("c")
	d.contains("History:")
	d.typeText("Weighed")
	d.keys("tab", "tab", "tab", "tab")
	d.typeText("82,5")
	d.keys("ctrl+s")
	d.contains("use a decimal point")
	for range 4 {
		d.keys("backspace")
	}
	d.typeText("-5")
	d.keys("ctrl+s")
	d.contains("impossible for Body weight")
	if strings.Contains(d.screen(), "again to keep it") {
		t.Fatalf("an impossible value was offered for confirmation:\n%s", d.screen())
	}
	d.keys("backspace", "backspace")
	d.typeText("310")
	d.keys("ctrl+s")
	d.contains("implausible for Body weight")
	d.contains("again to keep it")
	if d.m.Page() != "consult" {
		t.Fatalf("page %s: the implausible value was saved without confirmation", d.m.Page())
	}
	d.keys("ctrl+s")
	d.contains("Consultation saved")
	d.contains("310 kg [implausible]")
	l, err := svc.Observations(context.Background(), d.m.currentPatient(), clinical.ObsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || *l.Items[0].Value != 310 || len(l.Items[0].Flags) != 1 || l.Items[0].Flags[0].Kind != clinical.FlagImplausible {
		t.Fatalf("saved %+v", l.Items)
	}
}

// A value holding terminal sequences (stored before the record refused
// them) is shown on screen, not obeyed; the styles' colours are kept.
func TestScreenLinesShowControls(t *testing.T) {
	in := "\x1b[1;31mSMITH\x1b[0m, \x1b[2J\x1b]0;pwned\x07Jo\nhn\u009b"
	got := safeLine(in)
	want := "\x1b[1;31mSMITH\x1b[0m, \\x1b[2J\\x1b]0;pwned\\x07Jo\\nhn\\x9b"
	if got != want {
		t.Fatalf("safeLine = %q, want %q", got, want)
	}
	if safeLine("plain") != "plain" {
		t.Fatal("plain text changed")
	}
}
