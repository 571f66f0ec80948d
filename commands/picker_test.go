package commands

import (
	"context"
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
