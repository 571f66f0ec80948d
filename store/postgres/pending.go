package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Audit events made durable before their place in the chain (migrations
// 0003 and 0005): a server's read-audit events are committed to
// audit_pending as one row (the batch's events in order), under no lock,
// so two replicas' commits share the disk's flushes instead of queueing
// behind the practice's lock one flush at a time; gpsoc_place moves them into the chain, first, the next time it
// runs for the practice.

var _ store.DurableAuditor = (*Store)(nil)

// placeDelay is how long pending events wait for a write to place them
// before this process places them itself: short beside the one second in
// which a change reaches every replica, long enough that a busy server
// places many at once.
const placeDelay = 100 * time.Millisecond

// AppendDurable commits evs to the practice's pending events, as one row,
// in one round trip: the practice setting and the insert go in one
// pipeline, which PostgreSQL runs as one implicit transaction, committed (and flushed,
// synchronous_commit being on) before it answers. evs are not given a
// place (Seq, Hash) here.
func (s *Store) AppendDurable(ctx context.Context, evs []*record.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if s.closed.Load() {
		return errClosed
	}
	for _, ev := range evs {
		ev.RecordHash = "" // a record hash is the store's own, of what a transaction wrote
		defaults(ev)
	}
	mids := auditMids(evs)
	c, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return busy(s.db, err)
	}
	defer c.Release()
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.practice', $1, true)", s.ods)
	b.Queue("INSERT INTO audit_pending (practice, mids) VALUES ($1, $2::text[])", s.ods, mids)
	if err := c.Conn().SendBatch(ctx, b).Close(); err != nil {
		return mapErr(err)
	}
	s.kick()
	return nil
}

// kick makes sure this process places the practice's pending events soon.
func (s *Store) kick() {
	s.placerOnce.Do(func() {
		s.pending = make(chan struct{}, 1)
		s.db.placers.Add(1)
		go s.placer()
	})
	select {
	case s.pending <- struct{}{}:
	default:
	}
}

func (s *Store) placer() {
	defer s.db.placers.Done()
	for {
		select {
		case <-s.db.done:
			s.placeNow()
			return
		case <-s.pending:
		}
		select {
		case <-s.db.done:
			s.placeNow()
			return
		case <-time.After(placeDelay):
		}
		s.placeNow()
	}
}

// placeNow places pending events; a failure leaves them pending, durable,
// for the next placing (this one's, or any write's for the practice).
func (s *Store) placeNow() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.PlacePending(ctx)
}

// PlacePending places the practice's pending events in its chain now (a
// practice with no row has none), in one round trip: one implicit
// transaction, as AppendDurable's.
func (s *Store) PlacePending(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	c, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return busy(s.db, err)
	}
	defer c.Release()
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.practice', $1, true)", s.ods)
	b.Queue(`SELECT 1 FROM practices pr, LATERAL gpsoc_place(pr.practice, '{}'::text[], '{}'::text[]) g WHERE pr.practice = $1`, s.ods)
	return mapErr(c.Conn().SendBatch(ctx, b).Close())
}
