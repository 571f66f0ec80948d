package store

import (
	"context"
	"time"
)

// ChangeWaiter is implemented by a backend whose change feed can be waited
// on rather than polled (PostgreSQL: woken by other replicas'
// notifications). WaitChanges returns the feed's head as soon as it is past
// after, or when max has passed or ctx ends (the head then, which may not
// be past after). The feed stays the truth: read it with Changes from
// after, as a poller does; a wake-up only says when.
type ChangeWaiter interface {
	WaitChanges(ctx context.Context, after uint64, max time.Duration) (uint64, error)
}

// waitPoll is how often WaitChanges reads the feed of a backend that
// cannot be waited on.
const waitPoll = 100 * time.Millisecond

// WaitChanges waits on st's change feed as ChangeWaiter says: with the
// backend's own wake-ups where it has them, else by reading the feed's
// head every 100 ms (an embedded file in the same process is cheap to ask).
func WaitChanges(ctx context.Context, st Store, after uint64, max time.Duration) (uint64, error) {
	if w, ok := st.(ChangeWaiter); ok {
		return w.WaitChanges(ctx, after, max)
	}
	deadline := time.Now().Add(max)
	for {
		var head uint64
		err := ViewOne(ctx, st, func(tx Tx) error {
			var err error
			head, err = tx.Changes(ChangesHead, func(uint64, string) error { return nil })
			return err
		})
		if err != nil || head > after || !time.Now().Before(deadline) {
			return head, err
		}
		select {
		case <-time.After(min(waitPoll, time.Until(deadline))):
		case <-ctx.Done():
			return head, ctx.Err()
		}
	}
}
