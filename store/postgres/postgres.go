// Package postgres is the PostgreSQL backend: many practices in one
// database, for any number of `gpsoc serve` replicas.
//
// Isolation between practices is the database's own, by row-level
// security: every table has a practice column and a policy that shows and
// accepts only the rows of the practice named by the transaction's
// app.practice setting. The store's connections act as the role gpsoc_app
// (SET ROLE on connect), which is neither a superuser nor BYPASSRLS, and
// the policies are FORCEd so that they hold for the tables' owner too; a
// query that forgets its practice, or asks for another's, gets nothing.
// (Row-level security rather than a schema per practice: one schema
// migrates once for every practice, a pool's connections serve any
// practice, and isolation does not rest on each query naming the right
// schema — with schemas, a connection that can read one can read all.)
//
// A practice's writes are serialised by a lock on its row in practices,
// taken when a transaction first needs a sequence (its first audit event,
// else at commit) and held until commit: the change and audit sequences are
// assigned under it, so they are committed in order and a reader's snapshot
// holds every sequence up to the head it reads — the change feed loses
// nothing. Version checks lock the record's row (SELECT … FOR UPDATE), so a
// stale write conflicts whichever replica made the newer one.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// AppRole is the role the store's connections act as.
const AppRole = "gpsoc_app"

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://) rather than a data dir.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact is a URL without its password, for messages and logs.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Options tune a database.
type Options struct {
	// MaxConns is the pool's size (default 4 per CPU, at least 8: a
	// server's requests wait on the database, not on the CPU).
	MaxConns int32
	// ChangePoll is how often a waiter on the change feed reads it without
	// a wake-up (default one second): the bound on how late a change whose
	// notification was lost is seen (notify.go).
	ChangePoll time.Duration
}

// DB is one PostgreSQL database holding any number of practices.
type DB struct {
	pool *pgxpool.Pool
	url  string
	feed *feedHub // change-feed wake-ups (notify.go)
	// done is closed by Close: each practice's placer of pending audit
	// events places what is left, and stops (placers).
	done      chan struct{}
	closeOnce sync.Once
	placers   sync.WaitGroup
}

// Open connects to the database at url and migrates its schema forward
// (the URL's user must own the schema, or be allowed to create it, the
// first time). Every pooled connection then acts as AppRole.
func Open(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, record.Invalid("store", Redact(rawURL), "not a PostgreSQL URL: "+err.Error())
	}
	if err := migrate(ctx, cfg.ConnConfig, Redact(rawURL)); err != nil {
		return nil, err
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else if _, set := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; !set && !strings.Contains(rawURL, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.NumCPU()))
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// Act as the role that cannot bypass row-level security, and check
		// it took: a connection that could read every practice is refused.
		var super string
		if _, err := c.Exec(ctx, "SET ROLE "+AppRole); err != nil {
			return fmt.Errorf("act as %s (the URL's user must be a member of it): %w", AppRole, err)
		}
		if err := c.QueryRow(ctx, "SELECT current_setting('is_superuser')").Scan(&super); err != nil {
			return fmt.Errorf("act as %s (the URL's user must be a member of it): %w", AppRole, err)
		}
		var bypass bool
		if err := c.QueryRow(ctx, "SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&bypass); err != nil {
			return err
		}
		if super != "off" || bypass {
			return fmt.Errorf("role %s can bypass row-level security: it must be NOSUPERUSER NOBYPASSRLS", AppRole)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", Redact(rawURL), err)
	}
	db := &DB{pool: pool, url: rawURL, done: make(chan struct{})}
	db.feed = newFeedHub(db, opt.ChangePoll)
	// A first connection now, so a bad URL or role fails at open, not at
	// the first request.
	c, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(rawURL), err)
	}
	c.Release()
	return db, nil
}

// Close places the audit events this process left pending, stops the
// change listener, announces this replica's last changes to the others,
// and closes the pool.
func (db *DB) Close() {
	db.closeOnce.Do(func() { close(db.done) })
	db.placers.Wait()
	db.feed.stop()
	db.pool.Close()
}

// URL is the database's URL without its password.
func (db *DB) URL() string { return Redact(db.url) }

// Practice is the store of the practice with ODS code ods (whether or not
// it has been created: Practice() is a NotFoundError until init).
func (db *DB) Practice(ods string) (*Store, error) {
	code, err := record.NormaliseODS(ods)
	if err != nil {
		return nil, record.Invalid("practice", ods, "not an ODS code")
	}
	return &Store{db: db, ods: code}, nil
}

// TokenPractice finds which practice an API token or session belongs to,
// by the SHA-256 of its secret (a NotFoundError when none does). A server
// asks it before it acts for any practice: the token decides.
func (db *DB) TokenPractice(ctx context.Context, hash string) (string, error) {
	var ods string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.token', $1, true)", hash); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT practice FROM tokens WHERE hash = $1", hash).Scan(&ods)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", &record.NotFoundError{Kind: "token", ID: "…"}
	}
	return ods, err
}

// Store is one practice in the database.
type Store struct {
	db  *DB
	ods string
	// closed stops a store's use after Close (the pool is the DB's).
	closed atomic.Bool
	// ensured: the practice's row is known to exist.
	ensured atomic.Bool
	// pending wakes the placer of this process's pending audit events
	// (pending.go), started on the first.
	pending    chan struct{}
	placerOnce sync.Once
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.OneReader        = (*Store)(nil)
	_ store.FileKeeper       = (*Store)(nil)
	_ store.AppointmentIndex = (*rtx)(nil)
)

// ODS is the practice's ODS code.
func (s *Store) ODS() string { return s.ods }

// DB is the database the practice is in.
func (s *Store) DB() *DB { return s.db }

// Close ends this practice's use of the database (the pool stays the DB's).
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

var errClosed = errors.New("practice store closed")

// begin acquires a connection and queues the transaction's start: BEGIN
// and the practice setting, sent with its first statement.
func (s *Store) begin(ctx context.Context, readOnly bool) (*pgxpool.Conn, rtx, error) {
	if s.closed.Load() {
		return nil, rtx{}, errClosed
	}
	c, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return nil, rtx{}, busy(s.db, err)
	}
	t := rtx{ctx: ctx, c: c.Conn(), ods: s.ods}
	if readOnly {
		// One snapshot for the whole View: the search rows, the change
		// head and the audit head agree.
		t.push(-1, nil, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	} else {
		t.push(-1, nil, "BEGIN ISOLATION LEVEL READ COMMITTED")
	}
	t.push(-1, nil, "SELECT set_config('app.practice', $1, true)", s.ods)
	if !readOnly && !s.ensured.Load() {
		// The practice's row, which its other rows name and whose lock
		// orders its writes (once per store: rows are never removed).
		t.push(-1, nil, "INSERT INTO practices (practice) VALUES ($1) ON CONFLICT DO NOTHING", s.ods)
	}
	t.prelude = len(t.queue)
	return c, t, nil
}

// View runs fn in a read-only transaction (one snapshot).
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, r, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer c.Release()
	t := &r
	if err := fn(t); err != nil {
		t.end(false)
		return err
	}
	return t.end(true)
}

// ViewOne runs fn, which makes one read, in one round trip: the practice
// setting and the read go together with no BEGIN or COMMIT, and
// PostgreSQL runs them as one implicit transaction (a patient read is
// half the round trips, and a third of the database's work, of a View).
// A second read fails with an error that says to use View.
func (s *Store) ViewOne(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	c, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return busy(s.db, err)
	}
	defer c.Release()
	t := &rtx{ctx: ctx, c: c.Conn(), ods: s.ods, one: true}
	t.push(-1, nil, "SELECT set_config('app.practice', $1, true)", s.ods)
	t.prelude = 1
	return fn(t)
}

// Update runs fn in one read-write transaction: its writes, its change
// entries and its audit events commit together or not at all.
func (s *Store) Update(ctx context.Context, fn func(store.WTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, r, err := s.begin(ctx, false)
	if err != nil {
		return err
	}
	defer c.Release()
	t := &wtx{rtx: r}
	if err := fn(t); err != nil {
		t.end(false)
		return err
	}
	if err := t.commit(); err != nil {
		t.end(false)
		return mapErr(err)
	}
	s.ensured.Store(true) // the practice's row, if this made it, is committed
	if t.fed {
		s.db.feed.committed(s.ods)
	}
	return nil
}

// BackupFile refuses: a practice in PostgreSQL is backed up by the database.
func (s *Store) BackupFile(path string) (int64, error) {
	return 0, record.Invalid("backup", path, "this practice is in PostgreSQL ("+s.db.URL()+"), not a file: back the database up with pg_dump or WAL archiving (docs/deploy.md), or copy the practice to a data dir with gpsoc migrate --to DIR")
}

// RestoreFrom refuses, as BackupFile does.
func (s *Store) RestoreFrom(src string) (string, error) {
	return "", record.Invalid("restore", src, "this practice is in PostgreSQL ("+s.db.URL()+"), not a file: restore the database with pg_restore or point-in-time recovery (docs/deploy.md), or copy a practice in with gpsoc migrate --from DIR")
}

// busy maps a failure to get a connection: a pool that could not connect
// in time is the database being unavailable.
func busy(db *DB, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return &record.BusyError{Path: db.URL(), Msg: "cannot reach the database: " + err.Error()}
}

// mapErr turns the database's refusals into the store's errors: a unique
// index that refused a second holder of an NHS number (a race between two
// writers that both checked first) is a conflict, as is a serialisation
// failure.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505":
		if pe.ConstraintName == "records_nhs" {
			return &record.ConflictError{What: "NHS number", Msg: "already registered to another patient (registered at the same moment by another writer)"}
		}
		return &record.ConflictError{What: pe.TableName, Msg: "already exists (" + pe.Detail + ")"}
	case "40001", "40P01":
		return &record.ConflictError{What: "transaction", Msg: "another writer changed the same records at the same moment: try again"}
	}
	return err
}
