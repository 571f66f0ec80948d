package bolt

import (
	"path/filepath"
	"testing"

	"github.com/opengpsoc/gpsoc/store"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	store.Conformance(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestConformanceHeld(t *testing.T) {
	store.Conformance(t, func(t *testing.T) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), FileName), Options{Hold: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
