package commands

import (
	"context"
	"slices"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/opengpsoc/gpsoc/terminology"
)

// A practice in PostgreSQL: --store URL (config store.url, env
// GPSOC_STORE_URL) names the database, and --practice ODS (config
// store.practice, env GPSOC_STORE_PRACTICE) the practice in it, since one
// database holds many.

// StoreURL is --store, else config store.url ("" for a data dir).
func (f *Factory) StoreURL() string {
	if f.StoreFlag != "" {
		return f.StoreFlag
	}
	if f.Config == nil {
		return ""
	}
	return strings.TrimSpace(f.Config.GetString("store.url"))
}

// PracticeODS is --practice, else config store.practice ("" when neither).
func (f *Factory) PracticeODS() string {
	if f.PracticeFlag != "" {
		return f.PracticeFlag
	}
	if f.Config == nil {
		return ""
	}
	return strings.TrimSpace(f.Config.GetString("store.practice"))
}

// postgresConfigured reports whether the practice is in PostgreSQL.
func postgresConfigured(f *Factory) bool { return f.StoreURL() != "" }

// pgDB opens the database named by --store once per run (migrating it).
func (f *Factory) pgDB(ctx context.Context) (*postgres.DB, error) {
	if f.pg != nil {
		return f.pg, nil
	}
	u := f.StoreURL()
	if !postgres.IsURL(u) {
		return nil, usagef("--store %q: give a postgres:// URL (a data dir is --data-dir)", postgres.Redact(u))
	}
	if remoteConfigured(f) {
		return nil, usagef("both a PostgreSQL store (--store / store.url) and remote mode (remote.url) are set: unset one")
	}
	db, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		return nil, err
	}
	f.pg = db
	f.closers = append(f.closers, func() error { db.Close(); return nil })
	return db, nil
}

// openPostgres opens the practice named by --practice in the database;
// create (init) makes it when absent, anything else needs it to exist.
func openPostgres(f *Factory, create bool) (store.Store, error) {
	ods := f.PracticeODS()
	if create && f.createODS != "" {
		ods = f.createODS
	}
	if ods == "" {
		return nil, usagef("a PostgreSQL store (%s) holds many practices: name one with --practice ODS (or config store.practice)", postgres.Redact(f.StoreURL()))
	}
	ctx := context.Background()
	db, err := f.pgDB(ctx)
	if err != nil {
		return nil, err
	}
	st, err := db.Practice(ods)
	if err != nil {
		return nil, &UsageError{err.Error()}
	}
	if create {
		return st, nil
	}
	err = st.View(ctx, func(tx store.Tx) error { _, err := tx.Practice(); return err })
	if record.IsNotFound(err) {
		return nil, usagef("no practice %s in %s: create it with `gpsoc init --store URL --practice NAME --ods %s`", st.ODS(), db.URL(), st.ODS())
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// terminologyRelease names what the local terminology holds, source by
// source (each replica of a practice must hold the same).
func terminologyRelease(tm *terminology.Terminology) string {
	var parts []string
	for _, a := range tm.About() {
		parts = append(parts, a.Name+"="+a.Release)
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}

// pgLocalOnly are the commands that act on a practice file, with what to
// use on PostgreSQL instead.
var pgLocalOnly = map[string]string{
	"backup":  "back the database up with pg_dump or WAL archiving (docs/deploy.md)",
	"restore": "restore the database with pg_restore or point-in-time recovery (docs/deploy.md)",
	"check":   "the database checks its own structure (pg_amcheck); `gpsoc audit verify` checks the trail and the records it wrote",
	"demo":    "make a demo practice in a data dir",
}

// checkPostgresMode refuses a command that only makes sense on a file.
func checkPostgresMode(f *Factory, path string) error {
	if !postgresConfigured(f) {
		return nil
	}
	if why, ok := pgLocalOnly[path]; ok {
		return usagef("gpsoc %s works on a practice file; this practice is in PostgreSQL (%s): %s", path, postgres.Redact(f.StoreURL()), why)
	}
	return nil
}
