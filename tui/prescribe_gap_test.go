package tui

import (
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/terminology"
)

// gapTerms is termsOf with the embedded dictionary's gap note, as the
// commands adapter gives it.
type gapTerms struct{ termsOf }

func (a gapTerms) DMDGap(query string, results []Code) string {
	rs := make([]terminology.Result, len(results))
	for i, c := range results {
		rs[i] = terminology.Result{System: c.System, Code: c.Code, Term: c.Term}
	}
	return a.tm.DMDGap(query, rs)
}

// TestFlowPrescribeSaysWhenTheProductIsMissing: the prescribe picker searched
// for "Paracetamol 500mg tablets", which the embedded dictionary lacks, says so
// above its near matches instead of letting one pass for it.
func TestFlowPrescribeSaysWhenTheProductIsMissing(t *testing.T) {
	dir, svc := practice(t, 50)
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmn.Close()
	svc.Practice().SetDrugs(tmn)
	draftDebounce = time.Millisecond
	m := New(Options{Svc: svc, Terms: gapTerms{termsOf{tmn}}, Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	waitFor(t, tm, m, "No recent patients yet")
	tm.Type("9993652814")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "O'CONNOR, Siobhan Mary")
	typeKeys(tm, "x")
	waitFor(t, tm, m, "Drug:")
	tm.Type("Paracetamol 500mg tablets")
	waitFor(t, tm, m, "not in the embedded dictionary", "Paracetamol 500mg soluble tablets")
	typeKeys(tm, "esc", "esc")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
}
