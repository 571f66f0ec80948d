package tui

import (
	"strings"
	"testing"
)

func TestKeyStrings(t *testing.T) {
	for _, k := range []string{"enter", "esc", "tab", "shift+tab", "ctrl+k", "ctrl+s", "/", "?", "j"} {
		if got := key(k).String(); got != k {
			t.Errorf("key(%q).String() = %q", k, got)
		}
	}
}

func TestFindOpenConsultSave(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.contains("No recent patients yet")
	d.typeText("howa")
	s := d.screen()
	if !strings.Contains(s, "found for \"howa\"") {
		t.Fatalf("no results for howa:\n%s", s)
	}
	d.keys("enter")
	d.contains("Record · Summary")
	d.contains("NHS ")
	d.keys("c")
	d.contains("History:")
	d.typeText("Cough for a week")
	d.keys("tab")
	d.typeText("Chest clear")
	d.keys("tab")
	d.typeText("Safety net")
	d.keys("tab")
	d.typeText("150/95")
	d.keys("ctrl+o")
	d.typeText("cou")
	d.contains("49727002")
	d.keys("enter")
	d.contains("• Cough (sct 49727002)")
	d.keys("ctrl+s")
	d.contains("Consultation saved")
	d.contains("Record · Journal")
	d.contains("Cough for a week")
	d.contains("Blood pressure 150/95 mmHg")
	if d.m.Page() != "record" {
		t.Fatalf("page %s after save", d.m.Page())
	}
}
