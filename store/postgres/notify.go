package postgres

// LISTEN/NOTIFY as a wake-up for the change feed, never as its truth.
//
// A replica whose transaction added to a practice's change feed tells the
// others (NOTIFY gpsoc_changes, the practice's ODS code as payload) just
// after its COMMIT, from a goroutine of its own, in a transaction of its
// own with synchronous_commit off, several practices at once when writes
// come faster than it sends. Why not NOTIFY inside the writing
// transaction: PostgreSQL serialises the commits of every transaction that
// notifies with one cluster-wide exclusive lock, held through each one's
// WAL flush, so writes to different practices (which otherwise never wait
// for each other) would queue behind one another. Sent after the commit,
// the lock is held only for a commit that does not wait for its flush.
//
// Each replica listens on one connection of its own and wakes the waiters
// of the practice named (Store.WaitChanges); they then read the feed by
// sequence, as every reader does. So a notification lost (a replica that
// stopped between its commit and its notify, a listener connection that
// dropped) loses no change: it only delays the wake-up until the waiter's
// next poll (Options.ChangePoll, one second by default), and a listener
// that reconnects wakes every waiter, since it may have missed some.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/store"
)

// changeChannel is the channel replicas notify and listen on.
const changeChannel = "gpsoc_changes"

// announceGap is the least time between two announces of a replica (the
// first change after a quiet spell is announced at once).
const announceGap = 10 * time.Millisecond

// listenerName is the listener connection's application_name (what an
// operator sees in pg_stat_activity).
const listenerName = "gpsoc change listener"

var _ store.ChangeWaiter = (*Store)(nil)

// feedHub is a replica's side of the wake-ups: its waiters per practice,
// the practices whose changes it has still to announce, and its listener.
type feedHub struct {
	db   *DB
	poll time.Duration

	mu      sync.Mutex
	waiters map[string]chan struct{} // closed (and replaced) when the practice changes
	pending map[string]bool          // practices changed here and not yet announced

	kick      chan struct{} // wakes the sender
	listening atomic.Bool   // the listener's connection is up and listening
	startL    sync.Once
	startS    sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func newFeedHub(db *DB, poll time.Duration) *feedHub {
	if poll <= 0 {
		poll = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &feedHub{db: db, poll: poll, waiters: map[string]chan struct{}{}, pending: map[string]bool{},
		kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// waitCh is the channel closed at the practice's next wake-up. Take it
// before reading the feed: a change committed after the read closes it.
func (h *feedHub) waitCh(ods string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waiters[ods]
	if !ok {
		ch = make(chan struct{})
		h.waiters[ods] = ch
	}
	return ch
}

// wake wakes the practice's waiters (every practice's when ods is "").
func (h *feedHub) wake(ods string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p, ch := range h.waiters {
		if ods == "" || p == ods {
			close(ch)
			delete(h.waiters, p)
		}
	}
}

// committed is told of each commit that added to a practice's change feed:
// this replica's waiters wake at once, the other replicas' by the notify.
func (h *feedHub) committed(ods string) {
	h.wake(ods)
	if h.ctx.Err() != nil {
		return // closed: the others' waiters will see it at their next poll
	}
	h.mu.Lock()
	h.pending[ods] = true
	h.mu.Unlock()
	h.startS.Do(func() { h.wg.Add(1); go h.send() })
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// send announces the pending practices, all that gathered while it sent
// the last, until the hub stops (then once more, so a command's last write
// is announced before it exits).
func (h *feedHub) send() {
	defer h.wg.Done()
	for {
		select {
		case <-h.kick:
			if h.ctx.Err() == nil {
				h.announce(h.ctx)
				// Gather what commits meanwhile into the next announce: a
				// replica writing hundreds of times a second sends a
				// notify at most every announceGap, not one a write.
				select {
				case <-time.After(announceGap):
				case <-h.ctx.Done():
				}
				continue
			}
		case <-h.ctx.Done():
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h.announce(ctx)
		cancel()
		return
	}
}

func (h *feedHub) announce(ctx context.Context) {
	h.mu.Lock()
	ps := make([]string, 0, len(h.pending))
	for p := range h.pending {
		ps = append(ps, p)
	}
	clear(h.pending)
	h.mu.Unlock()
	if len(ps) == 0 {
		return
	}
	// Best effort: a notify that fails is a wake-up lost, which the
	// waiters' poll makes up for.
	_ = pgx.BeginFunc(ctx, h.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit TO off"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", changeChannel, ps)
		return err
	})
}

// listen keeps one connection listening, reconnecting after a failure
// (waking every waiter each time: what was notified meanwhile is lost).
func (h *feedHub) listen() {
	defer h.wg.Done()
	const first = 50 * time.Millisecond
	backoff := first
	for h.ctx.Err() == nil {
		// An error only ends this connection: the waiters poll meanwhile,
		// and the next attempt says whether the database is there.
		if h.listenOnce() {
			backoff = first // it had connected: try again at once-ish
		}
		h.listening.Store(false)
		h.wake("")
		select {
		case <-time.After(backoff):
		case <-h.ctx.Done():
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listenOnce listens on one connection until it fails; connected says
// whether it got as far as listening.
func (h *feedHub) listenOnce() (connected bool) {
	cfg := h.db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(h.ctx, cfg)
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(h.ctx, "SET ROLE "+AppRole+"; LISTEN "+changeChannel); err != nil {
		return false
	}
	h.listening.Store(true)
	h.wake("") // anything committed before LISTEN took was not heard
	for {
		n, err := conn.WaitForNotification(h.ctx)
		if err != nil {
			return true
		}
		h.wake(n.Payload)
	}
}

// stop ends the listener and sends what is pending.
func (h *feedHub) stop() {
	h.cancel()
	h.wg.Wait()
}

// WaitChanges implements store.ChangeWaiter: it returns as soon as the
// practice's change feed is past after (its head), or when max has passed
// or ctx ends (the head then, possibly still after). It wakes on another
// replica's notification, on this replica's own commits, and at the
// latest every Options.ChangePoll (a notification is only a wake-up: the
// head is read from the feed each time).
func (s *Store) WaitChanges(ctx context.Context, after uint64, max time.Duration) (uint64, error) {
	h := s.db.feed
	if h.ctx.Err() == nil {
		h.startL.Do(func() { h.wg.Add(1); go h.listen() })
	}
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	poll := time.NewTimer(h.every())
	defer poll.Stop()
	for {
		ch := h.waitCh(s.ods)
		head, err := s.changeHead(ctx)
		if err != nil || head > after {
			return head, err
		}
		select {
		case <-ch:
		case <-poll.C:
			poll.Reset(h.every())
		case <-deadline.C:
			return head, nil
		case <-ctx.Done():
			return head, ctx.Err()
		}
	}
}

// every is how often a waiter reads the feed without a wake-up: the
// configured poll, and more often while the listener is down.
func (h *feedHub) every() time.Duration {
	if h.listening.Load() {
		return h.poll
	}
	return min(h.poll, 250*time.Millisecond)
}

// changeHead is the practice's change feed head, read on its own (one
// read: one round trip).
func (s *Store) changeHead(ctx context.Context) (uint64, error) {
	var head uint64
	err := s.ViewOne(ctx, func(tx store.Tx) error {
		var err error
		head, err = tx.(*rtx).changeHead()
		return err
	})
	return head, err
}

// Listening reports whether the replica's listener is connected (for
// health checks and tests: while it is not, waiters wake by polling).
func (db *DB) Listening() bool { return db.feed.listening.Load() }
