package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

// The workstation's pickers lift what this user picked: a code chosen once rises to the
// first of its match class in the next search, and a term the embedded default lacks
// comes back as the note to import the UK release.
func TestPickerAdapterLiftsRecentPicks(t *testing.T) {
	dir := t.TempDir()
	a := &termsAdapter{open: func() (*terminology.Terminology, error) { return terminology.Open(dir) }}
	t.Cleanup(func() {
		if a.tm != nil {
			a.tm.Close()
		}
	})
	ctx := context.Background()
	cs, err := a.Search(ctx, "otitis", "problem", "sct", "", 10)
	if err != nil || len(cs) < 5 {
		t.Fatalf("otitis: %v %v", cs, err)
	}
	last := cs[len(cs)-1].Code
	a.Picked(last)
	cs2, err := a.Search(ctx, "otitis", "problem", "sct", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	pos := -1
	for i, c := range cs2 {
		if c.Code == last {
			pos = i
		}
	}
	if pos < 0 || pos >= len(cs)-1 {
		t.Errorf("picked %s: at %d after picking, was last of %d: %v", last, pos, len(cs), cs2)
	}
	if _, err := a.Search(ctx, "fbc", "consultation", "sct", "", 10); err == nil || err.Error() != terminology.NotInEmbedded {
		t.Errorf("fbc: %v, want the import note", err)
	}
}

// A product the embedded dictionary lacks but the BNF names (Paracetamol
// 500mg tablets) is offered by nothing else in its place: the drug picker
// gets no results and the note saying to import the dm+d release.
func TestDrugPickerNeverOffersAnotherProductForAMissingOne(t *testing.T) {
	dir := t.TempDir()
	a := &termsAdapter{open: func() (*terminology.Terminology, error) { return terminology.Open(dir) }}
	t.Cleanup(func() {
		if a.tm != nil {
			a.tm.Close()
		}
	})
	ctx := context.Background()
	cs, err := a.Search(ctx, "Paracetamol 500mg tablets", "drug", "dmd", "", 10)
	if err != nil || len(cs) != 0 {
		t.Fatalf("Paracetamol 500mg tablets: %v %v; want nothing offered in its place", cs, err)
	}
	if gap := a.DMDGap("Paracetamol 500mg tablets", cs); !strings.Contains(gap, "import the dm+d release") {
		t.Errorf("gap note %q", gap)
	}
	if cs, err := a.Search(ctx, "amoxicillin 500mg caps", "drug", "dmd", "", 10); err != nil || len(cs) == 0 {
		t.Errorf("a product the dictionary holds: %v %v", cs, err)
	}
}
