package rf2gen_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology/rf2gen"
)

func TestSmallReleaseHasTheShape(t *testing.T) {
	dir := t.TempDir()
	st, err := rf2gen.Write(dir, rf2gen.Scaled(20_000))
	if err != nil {
		t.Fatal(err)
	}
	perConcept := float64(st.ActiveIsA) / float64(st.Concepts)
	if perConcept < 1.3 || perConcept > 1.6 {
		t.Errorf("active is-a per concept %.2f, want about 1.45", perConcept)
	}
	if d := float64(st.Descriptions) / float64(st.Concepts); d < 2.5 || d > 3 {
		t.Errorf("descriptions per concept %.2f, want about 2.7", d)
	}
	if r := float64(st.RelationshipRows) / float64(st.Concepts); r < 6.5 || r > 8 {
		t.Errorf("relationship rows per concept %.2f, want about 7.3", r)
	}
	m, _ := filepath.Glob(filepath.Join(st.Dir, "Snapshot", "*", "*Snapshot*.txt"))
	if len(m) != 6 {
		t.Errorf("files: %v", m)
	}
	if _, err := os.Stat(st.Dir); err != nil {
		t.Fatal(err)
	}
}
