package server

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// GroupCommit wraps a store so that Updates arriving while one is committing
// are committed together, with one fsync: every API call writes an audit
// event, and one fsync per read would cap the server at the disk's sync rate.
// Each Update still returns only once its writes are durable.
//
// A failed Update must not take others down with it, and an Update must not be
// run twice when it changed records (Put assigns ids and versions to the
// caller's entity). So a batch runs Updates in order in one transaction and
// closes after the first one that wrote anything other than audit events; if
// an Update fails, the transaction is rolled back, that Update gets its error,
// and the Updates before it — audit appends only, safe to run again — are
// retried with the rest.
//
// On a store whose transactions have savepoints (PostgreSQL) each Update
// runs from one, and writes do not close the batch: a failed Update is
// undone to its savepoint alone, and the others commit together with one
// flush to disk (a practice's commits queue for its lock one flush at a
// time, so a write each would cap its writes at the disk's sync rate).
// Audit events appended on their own (AppendAudit) go, on a store that
// makes them durable before placing them (store.DurableAuditor), to that
// store in batches of their own, under no lock.
func GroupCommit(st store.Store) store.Store {
	g := &groupStore{Store: st}
	if d, ok := st.(store.DurableAuditor); ok {
		g.durable = d
		return &durableGroup{g}
	}
	return g
}

// durableGroup is a group commit on a store that makes audit events
// durable before placing them: it takes events appended on their own
// (store.AuditAppender) apart from the writes' transactions.
type durableGroup struct{ *groupStore }

type groupStore struct {
	store.Store
	commits, calls atomic.Int64
	mu             sync.Mutex
	queue          []*groupCall
	running        bool
	// durable is the store beneath when it makes audit events durable
	// before their place in the chain (PostgreSQL): events appended on
	// their own go there in batches (audits), not into the writes' group.
	// Writes stay one at a time per process even there: many writers of
	// one practice at once only queue for its lock, and PostgreSQL spent
	// more CPU on the queue (4.6 ms a consultation at 16) than on the
	// writes (about 1 ms at 2).
	durable  store.DurableAuditor
	audits   []*auditCall
	auditing bool
	// full, while a batch of audit events waits for more, is closed when
	// gatherEnough have come.
	full chan struct{}
}

type auditCall struct {
	ctx  context.Context
	ev   *record.AuditEvent
	done chan error
}

var (
	_ store.AuditAppender = (*durableGroup)(nil)
	_ store.OneReader     = (*groupStore)(nil)
)

// ViewOne passes a one-read View through to the store beneath.
func (g *groupStore) ViewOne(ctx context.Context, fn func(store.Tx) error) error {
	return store.ViewOne(ctx, g.Store, fn)
}

// AppendAudit commits an audit event together with those of other
// requests, in the store's next batch of durable events. It returns once
// the event is durable.
func (d *durableGroup) AppendAudit(ctx context.Context, ev *record.AuditEvent) error {
	g := d.groupStore
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &auditCall{ctx: ctx, ev: ev, done: make(chan error, 1)}
	g.mu.Lock()
	g.audits = append(g.audits, c)
	if g.full != nil && len(g.audits) >= gatherEnough {
		close(g.full) // the batch waits no more
		g.full = nil
	}
	if !g.auditing {
		g.auditing = true
		go g.auditLoop()
	}
	g.mu.Unlock()
	return <-c.done
}

func (g *groupStore) auditLoop() {
	for {
		g.gatherWhile(func() int { return len(g.audits) })
		// Under no lock a batch commits as soon as it is taken, so it waits
		// a moment for more: each commit costs a WAL flush (about 0.25 ms
		// of CPU here) however many events it carries. One timer, woken
		// early once gatherEnough have come (sleeping in steps woke this
		// goroutine five times a batch).
		g.mu.Lock()
		if n := len(g.audits); n > 0 && n < gatherEnough {
			full := make(chan struct{})
			g.full = full
			g.mu.Unlock()
			t := time.NewTimer(auditWait)
			select {
			case <-full:
			case <-t.C:
			}
			t.Stop()
			g.mu.Lock()
			g.full = nil
		}
		g.mu.Unlock()
		g.mu.Lock()
		batch := g.audits
		g.audits = nil
		if len(batch) == 0 {
			g.auditing = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		evs := make([]*record.AuditEvent, 0, len(batch))
		live := batch[:0]
		for _, c := range batch {
			if err := c.ctx.Err(); err != nil {
				c.done <- err
				continue
			}
			evs = append(evs, c.ev)
			live = append(live, c)
		}
		err := g.durable.AppendDurable(context.Background(), evs)
		g.commits.Add(1)
		g.calls.Add(int64(len(live)))
		for _, c := range live {
			c.done <- err
		}
	}
}

// WaitChanges waits on the wrapped store's change feed (store.WaitChanges).
func (g *groupStore) WaitChanges(ctx context.Context, after uint64, max time.Duration) (uint64, error) {
	return store.WaitChanges(ctx, g.Store, after, max)
}

type groupCall struct {
	ctx  context.Context
	fn   func(store.WTx) error
	done chan error
}

var errGroupAbort = errors.New("group commit: batch aborted")

func (g *groupStore) Update(ctx context.Context, fn func(store.WTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &groupCall{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	return <-c.done
}

func (g *groupStore) loop() {
	for {
		g.gather()
		g.mu.Lock()
		batch := g.queue
		g.queue = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.run(batch)
	}
}

func (g *groupStore) run(batch []*groupCall) {
	for len(batch) > 0 {
		var ran, rest []*groupCall
		var failed *groupCall
		var ferr error
		var alone map[*groupCall]error // refused alone, undone to their savepoint
		wrote := map[*groupCall]bool{}
		err := g.Store.Update(context.Background(), func(tx store.WTx) error {
			ran, rest, failed, ferr, alone = ran[:0], nil, nil, nil, map[*groupCall]error{}
			clear(wrote)
			sp, _ := tx.(store.Savepoints)
			for i, c := range batch {
				if err := c.ctx.Err(); err != nil {
					if sp != nil {
						alone[c] = err
						continue
					}
					failed, ferr, rest = c, err, batch[i+1:]
					return errGroupAbort
				}
				rt := &recordingTx{WTx: tx}
				if sp != nil {
					// Each call from a savepoint: one refused is undone
					// alone, and writes need not close the batch.
					keep, undo := sp.Savepoint()
					err := safely(c.fn, rt)
					if err == nil {
						err = keep()
					}
					if err != nil {
						if uerr := undo(); uerr != nil {
							failed, ferr, rest = c, err, batch[i+1:]
							return errGroupAbort
						}
						alone[c] = err
						continue
					}
					ran = append(ran, c)
					wrote[c] = rt.wrote
					continue
				}
				if err := safely(c.fn, rt); err != nil {
					failed, ferr, rest = c, err, batch[i+1:]
					return errGroupAbort
				}
				ran = append(ran, c)
				if rt.wrote {
					rest = batch[i+1:]
					return nil
				}
			}
			return nil
		})
		g.commits.Add(1)
		g.calls.Add(int64(len(ran)))
		for c, cerr := range alone {
			c.done <- cerr
		}
		switch {
		case failed != nil:
			// What ran before it and only appended audit events is run
			// again; what wrote (from a savepoint) was rolled back with
			// the transaction, and is told so rather than run twice.
			failed.done <- ferr
			var again []*groupCall
			for _, c := range ran {
				if wrote[c] {
					c.done <- fmt.Errorf("not written: the transaction it shared with other requests failed (%v)", ferr)
					continue
				}
				again = append(again, c)
			}
			batch = append(again, rest...)
		case err != nil:
			for _, c := range ran {
				c.done <- err
			}
			batch = rest
		default:
			for _, c := range ran {
				c.done <- nil
			}
			batch = rest
		}
	}
}

// safely runs fn, turning a panic into its error: the batch runs on one
// goroutine for all callers, so one bad call must not stop the server.
func safely(fn func(store.WTx) error, tx store.WTx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in a write: %v", r)
		}
	}()
	return fn(tx)
}

// recordingTx notes whether an Update wrote anything but audit events.
type recordingTx struct {
	store.WTx
	wrote bool
}

func (t *recordingTx) PutPractice(p *record.Practice) error {
	t.wrote = true
	return t.WTx.PutPractice(p)
}
func (t *recordingTx) PutUser(u *record.User) error { t.wrote = true; return t.WTx.PutUser(u) }
func (t *recordingTx) Put(e record.Entity) error    { t.wrote = true; return t.WTx.Put(e) }
func (t *recordingTx) SetSearchRow(id string, row []byte) error {
	t.wrote = true
	return t.WTx.SetSearchRow(id, row)
}

// AppendImportedAudit passes an imported audit event through to a store
// that keeps imported trails.
func (t *recordingTx) AppendImportedAudit(ie *record.ImportedAuditEvent) error {
	w, ok := t.WTx.(store.ImportedTrail)
	if !ok {
		return store.ErrNoImportedTrail
	}
	t.wrote = true
	return w.AppendImportedAudit(ie)
}

// ImportedAudit passes the reading of imported trails through (an import
// skips the events a trail it imported before already holds).
func (t *recordingTx) ImportedAudit(fn func(*record.ImportedAuditEvent) error) error {
	r, ok := t.WTx.(store.ImportedTrailReader)
	if !ok {
		return nil
	}
	return r.ImportedAudit(fn)
}

// GroupStats is how many transactions a GroupCommit store committed and how
// many Updates they carried (for benchmarks: the mean batch size).
func GroupStats(st store.Store) (commits, updates int64) {
	if d, ok := st.(*durableGroup); ok {
		st = d.groupStore
	}
	if g, ok := st.(*groupStore); ok {
		return g.commits.Load(), g.calls.Load()
	}
	return 0, 0
}

// gather gives callers that are about to queue a moment to do so before a
// batch is taken: each commit costs two fsyncs however many Updates it
// carries, and a commit's callers wake the moment it ends. Up to three
// yields to the scheduler (microseconds, no timer), stopping early once
// gatherEnough wait. Measured with make bench's 16 readers (interleaved
// runs): 4,600-5,350 reads/s without it, 5,400-6,200/s with it, p99 lower.
func (g *groupStore) gather() { g.gatherWhile(func() int { return len(g.queue) }) }

// gatherWhile is gather for the queue whose length queued reads (under mu).
func (g *groupStore) gatherWhile(queued func() int) {
	for i := 0; i < gatherYields; i++ {
		g.mu.Lock()
		n := queued()
		g.mu.Unlock()
		if n >= gatherEnough {
			return
		}
		runtime.Gosched()
	}
}

const gatherYields, gatherEnough = 3, 8

// auditWait is how long a batch of durable audit events waits for more.
const auditWait = time.Millisecond
