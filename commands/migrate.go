package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/store/postgres"
)

// MigrateOptions are gpsoc migrate's flags.
type MigrateOptions struct {
	From, To string
}

func newMigrateCmd(f *Factory, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate [--from SRC] --to DST",
		Short: "Copy the whole practice to another data dir or a PostgreSQL database (admin)",
		Long: `Copy the whole practice, as it is stored, from SRC to DST: every version of
every record, the users with their passphrases, tokens and sessions, the find rows,
the change feed, the audit trail byte for byte and any audit trail imported from
another system (kept apart, as it was kept), so that
` + "`gpsoc audit verify`" + ` gives the same result on the copy. SRC and DST are each a data
dir or a postgres:// URL; --from defaults to the practice in use (the data dir, or
--store with --practice). A practice in PostgreSQL is named by --practice ODS, since
a database holds many; copied into PostgreSQL, a practice keeps its ODS code there.

Admin only. The migration is audited in the source before it is copied, so the copy
holds its own migration event. The copy is all or nothing: a failure leaves DST as it
was. DST must be empty, or hold an earlier copy of this practice (whose audit trail is
a beginning of the source's: it is replaced, after a backup where DST is a data dir).
A DST holding another practice, or this practice written to since it was copied, is
refused (exit 5) and nothing is written. Run again with nothing new in SRC, it copies
nothing and says so.

This is the one write that does not go through a service action per record: what it
copies was written, checked and audited by them. Stop gpsoc serve on SRC first, or
re-run migrate after the last write: the copy is a snapshot of the moment it starts.`,
		Example: `  gpsoc migrate --to /srv/gpsoc/copy
  gpsoc migrate --to 'postgres://gpsoc@db1/gpsoc?sslmode=verify-full'
  gpsoc migrate --from 'postgres://gpsoc@db1/gpsoc' --practice B86001 --to /srv/gpsoc/b86001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return migrateRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the practice to copy: a data dir or a postgres:// URL (default: the data dir in use)")
	cmd.Flags().StringVar(&opts.To, "to", "", "where to copy it: a data dir or a postgres:// URL (required)")
	return cmd
}

func migrateRun(ctx context.Context, f *Factory, opts *MigrateOptions) error {
	if opts.To == "" {
		return usagef("--to is required: a data dir or a postgres:// URL to copy the practice to")
	}
	switch {
	case isStoreURL(opts.From):
		f.StoreFlag = opts.From // with --practice: the factory opens it, and checks the acting user's credential there
	case opts.From != "":
		f.DataDirFlag = opts.From
		f.StoreFlag = ""
		f.Config.Set("store.url", "") // a data dir named by --from wins over a configured database
	}
	if src := f.StoreURL(); src != "" {
		if opts.To == src {
			return usagef("--to is the database being copied from: a practice keeps its ODS code, so it would be copied onto itself")
		}
	} else if !isStoreURL(opts.To) && samePath(opts.To, f.DataDir()) {
		return usagef("--to %q is the practice being copied", opts.To)
	}
	s, err := f.Service(ctx)
	if err != nil {
		return err
	}
	pr := s.Practice().PracticeRecord(ctx)
	if pr == nil {
		return fmt.Errorf("the practice to copy has no practice record")
	}
	ods := pr.ODS
	dst, to, cleanup, err := openMigrateTarget(ctx, f, opts.To, ods)
	if err != nil {
		return err
	}
	rep, err := s.Migrate(ctx, dst, to)
	if cerr := cleanup(err == nil && !rep.UpToDate); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if f.Output == "json" {
		return writeJSON(f.IO.Out, map[string]any{"to": to, "upToDate": rep.UpToDate, "replaced": rep.Replaced,
			"events": rep.Events, "head": rep.Head, "counts": rep.Counts, "users": rep.Users})
	}
	if rep.UpToDate {
		fmt.Fprintf(f.IO.Out, "%s already holds this practice as it is here (audit event %d): nothing copied\n", to, rep.Events)
		return nil
	}
	var parts []string
	for _, k := range record.Kinds {
		if n := rep.Counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(string(k), n)))
		}
	}
	verb := "Copied"
	if rep.Replaced {
		verb = "Replaced an earlier copy: copied"
	}
	fmt.Fprintf(f.IO.Out, "%s the practice to %s: %d users, %s; audit trail %d events, head %s\n",
		verb, to, rep.Users, strings.Join(parts, ", "), rep.Events, shortHash(rep.Head))
	return nil
}

// plural is a record kind's name for n of them (allergy: allergies).
func plural(kind string, n int) string {
	switch {
	case n == 1:
		return kind
	case strings.HasSuffix(kind, "y"):
		return strings.TrimSuffix(kind, "y") + "ies"
	}
	return kind + "s"
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// isStoreURL reports whether s names a PostgreSQL database rather than a data dir.
func isStoreURL(s string) bool { return postgres.IsURL(s) }

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(aa) == filepath.Clean(bb)
}

// openMigrateTarget opens the destination of a migration; name is how it
// is shown and audited (never with a password). cleanup(kept) closes it,
// and removes a practice file this run created when nothing was copied
// into it.
func openMigrateTarget(ctx context.Context, f *Factory, spec, ods string) (st store.Store, name string, cleanup func(kept bool) error, err error) {
	if isStoreURL(spec) {
		// The practice of the same ODS code in that database: one database
		// holds many practices.
		db, err := postgres.Open(ctx, spec, postgres.Options{MaxConns: 4})
		if err != nil {
			return nil, "", nil, err
		}
		p, err := db.Practice(ods)
		if err != nil {
			db.Close()
			return nil, "", nil, err
		}
		return p, db.URL() + " practice " + ods, func(bool) error { db.Close(); return nil }, nil
	}
	dir, err := filepath.Abs(spec)
	if err != nil {
		return nil, "", nil, usagef("--to %q: %v", spec, err)
	}
	if err := checkServeLock(dir); err != nil {
		return nil, "", nil, err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, "", nil, usagef("--to %q is a file, not a data dir", spec)
	}
	path := filepath.Join(dir, bolt.FileName)
	created := !bolt.Exists(dir)
	b, err := bolt.Open(path, bolt.Options{BusyTimeout: f.busyTimeout()})
	if err != nil {
		return nil, "", nil, err
	}
	return b, dir, func(kept bool) error {
		err := b.Close()
		if created && !kept {
			_ = os.Remove(path)
		}
		if kept {
			// The find index snapshot there (if any) followed the practice
			// file that was replaced: as after a restore, it is rebuilt
			// from the copy's find rows rather than trusted to catch up.
			_ = os.Remove(filepath.Join(dir, "find-index.snap"))
		}
		return err
	}, nil
}
