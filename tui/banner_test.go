package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
)

// The banner with every safety item: at 80 and 120 columns each item is
// shown whole (wrapped, never cut), in order: allergies, sensitive, the
// safety flags, other flags, deceased; then the reminders.
func TestBannerEverySafetyItem(t *testing.T) {
	dir, svc := practice(t, 5)
	c := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true}).Common()
	p := &record.Patient{Family: "Testpatient", Given: []string{"Alexandra", "Catherine"}, BirthDate: "1948-02-29", Sex: "female",
		NHSNumber: "9990000026", UsualGP: "dr.patel", Registration: record.Registration{DeceasedOn: "2026-11-20"}}
	p.Status, p.Sensitive = record.PatientDeceased, true
	allergies := []*record.Allergy{
		{Agent: record.Code{Code: "764146007", Display: "Penicillin"}},
		{Agent: record.Code{Code: "387207008", Display: "Ibuprofen"}},
		{Agent: record.Code{Code: "111088007", Display: "Latex"}},
	}
	meds := []*record.Medication{{Type: "repeat", ReviewDate: "2026-01-01"}}
	recalls := []*record.Recall{{}, {}}
	sm := &clinical.Summary{Patient: p, Flags: []string{"carer", "safeguarding", "interpreter-needed", "violence-marker"},
		Allergies: &allergies, Medications: &meds, Recalls: &recalls}
	for _, w := range []int{80, 120} {
		lines := banner(c, sm, w)
		text := ansi.Strip(strings.Join(lines, "\n"))
		if strings.Contains(text, "…") {
			t.Errorf("%d columns: an item was cut:\n%s", w, text)
		}
		order := []string{"DEMO", "ALLERGY: Penicillin, Ibuprofen, Latex", "SENSITIVE", "SAFEGUARDING", "VIOLENCE-MARKER",
			"flag: carer", "flag: interpreter-needed", "DECEASED 20-Nov-2026"}
		if w >= 100 {
			order = append(order, "1 medication review(s) overdue", "2 overdue recall(s)")
		} else {
			order = append(order, "3 reminders")
		}
		at := 0
		for _, item := range order {
			i := strings.Index(text[at:], item)
			if i < 0 {
				t.Fatalf("%d columns: %q missing or out of order:\n%s", w, item, text)
			}
			at += i + len(item)
		}
		for _, l := range lines {
			if lw := ansi.StringWidth(l); lw > w {
				t.Errorf("%d columns: a banner line is %d wide", w, lw)
			}
		}
		golden(t, "banner-"+itoa(w), text)
	}
}
