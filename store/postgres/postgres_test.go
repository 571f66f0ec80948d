package postgres_test

import (
	"context"
	"testing"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openDB makes a fresh database on the shared cluster and opens it.
func openDB(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	url := pgtest.Shared(t).NewDatabase(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, url
}

func practice(t *testing.T, db *postgres.DB, ods string) *postgres.Store {
	t.Helper()
	s, err := db.Practice(ods)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The conformance suite every backend passes, each subtest on a practice
// of its own in one database (so the suite also runs beside other
// practices' rows).
func TestConformance(t *testing.T) {
	db, _ := openDB(t)
	n := 0
	storetest.Conformance(t, func(t *testing.T, role record.Role) store.Store {
		n++
		return practice(t, db, "P"+string(rune('A'+n%26))+string(rune('A'+n/26))+"001")
	})
}
