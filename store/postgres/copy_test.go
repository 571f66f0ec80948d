package postgres_test

import (
	"path/filepath"
	"testing"

	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

// A practice moves from a data dir into PostgreSQL and back, and from one
// database to another, losing nothing: every version, users and tokens,
// find rows, the feed's position and the audit chain byte for byte
// (storetest.Copy).
func TestCopyBoltAndPostgres(t *testing.T) {
	openBolt := func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	db, _ := openDB(t)
	n := 0
	openPG := func(t *testing.T) store.Store {
		// storetest.Fill's practice; a database of its own each time.
		n++
		if n > 1 {
			db, _ = openDB(t)
		}
		return practice(t, db, "B86002")
	}
	t.Run("bolt to postgres and back", func(t *testing.T) { storetest.Copy(t, openBolt, openPG) })
	t.Run("postgres to bolt and back", func(t *testing.T) { storetest.Copy(t, openPG, openBolt) })
}
