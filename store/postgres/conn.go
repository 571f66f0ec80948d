package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A transaction's statements go out in as few round trips as they can:
// BEGIN and the practice setting wait for the first query, and writes
// wait for the next read (or the commit), each sent ahead of it in one
// pipelined batch. A View of one read is then two round trips (the read
// with its BEGIN, and COMMIT); a write transaction's writes, its sequences
// and its COMMIT go in two.

// queued is a statement sent with the next batch; want is the rows it must
// touch (-1: any), else the transaction fails with miss().
type queued struct {
	sql  string
	args []any
	want int64
	miss func() error
}

type rtx struct {
	ctx context.Context
	// c is the transaction's connection. Use queryRow, query and exec, or
	// send before c: BEGIN and app.practice are queued to go out with the
	// first statement, so a statement sent on c before them would run
	// outside the transaction, and see no practice's rows.
	c     *pgx.Conn
	ods   string
	queue []queued
	// begun: BEGIN has been sent (the transaction must end); done: it
	// ended (COMMIT went with the last batch). prelude is the number of
	// statements that start it (queued until the first batch).
	begun, done bool
	prelude     int
	// one: a View of one read (ViewOne), sent with the practice setting
	// and no BEGIN, so PostgreSQL runs the two as one implicit transaction
	// that ends with the answer; a second read is refused (errOneRead).
	one, used bool
	// sent is how many statements have been sent (a savepoint's undo
	// knows from it whether its mark reached the database).
	sent int
}

var errOneRead = errors.New("store/postgres: a second read in a ViewOne (its reads would not share a snapshot: use View)")

func (t *rtx) push(want int64, miss func() error, sql string, args ...any) {
	t.queue = append(t.queue, queued{sql: sql, args: args, want: want, miss: miss})
}

// batch sends the queue, then extra (when not ""), and returns the batch's
// results positioned at extra's; the caller reads it and closes br.
func (t *rtx) batch(extra string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, q := range t.queue {
		b.Queue(q.sql, q.args...)
	}
	if extra != "" {
		b.Queue(extra, args...)
	}
	return t.sendBatch(b)
}

// sendBatch sends b, whose first statements are the queue's, and checks
// the queue's results.
func (t *rtx) sendBatch(b *pgx.Batch) (pgx.BatchResults, error) {
	qs := t.queue
	t.queue = nil
	t.sent += len(b.QueuedQueries)
	if t.one {
		t.used = true
	} else {
		t.begun = true // BEGIN is first in the first batch
	}
	br := t.c.SendBatch(t.ctx, b)
	for _, q := range qs {
		tag, err := br.Exec()
		if err == nil && q.want >= 0 && tag.RowsAffected() != q.want {
			err = q.miss()
		}
		if err != nil {
			br.Close()
			return nil, mapErr(err)
		}
	}
	return br, nil
}

// batchThen sends the queue, then extra, then what more adds, and returns
// the results positioned at extra's.
func (t *rtx) batchThen(extra string, args []any, more func(*pgx.Batch)) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, q := range t.queue {
		b.Queue(q.sql, q.args...)
	}
	b.Queue(extra, args...)
	more(b)
	return t.sendBatch(b)
}

// send sends the queue on its own.
func (t *rtx) send() error {
	if len(t.queue) == 0 {
		return nil
	}
	br, err := t.batch("", nil)
	if err != nil {
		return err
	}
	return br.Close()
}

func (t *rtx) queryRow(sql string, args ...any) pgx.Row {
	if t.used {
		return errRow{errOneRead}
	}
	if len(t.queue) == 0 {
		return t.c.QueryRow(t.ctx, sql, args...)
	}
	br, err := t.batch(sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br.QueryRow(), br}
}

func (t *rtx) query(sql string, args ...any) (pgx.Rows, error) {
	if t.used {
		return nil, errOneRead
	}
	if len(t.queue) == 0 {
		return t.c.Query(t.ctx, sql, args...)
	}
	br, err := t.batch(sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *rtx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	if t.used {
		return pgconn.CommandTag{}, errOneRead
	}
	if len(t.queue) == 0 {
		return t.c.Exec(t.ctx, sql, args...)
	}
	br, err := t.batch(sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, mapErr(err)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dst ...any) error {
	err := r.row.Scan(dst...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r *batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

// end commits (ok) or rolls back the transaction, if it began and did not
// already end with its last batch.
func (t *rtx) end(commit bool) error {
	if !t.begun || t.done {
		return nil
	}
	t.done = true
	if commit {
		if _, err := t.c.Exec(t.ctx, "COMMIT"); err != nil {
			return mapErr(err)
		}
		return nil
	}
	// A rollback must happen even when ctx is done, or the connection goes
	// back to the pool inside a transaction.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	if _, err := t.c.Exec(rctx, "ROLLBACK"); err != nil {
		t.c.Close(rctx) // never reused half-way through a transaction
	}
	return nil
}
