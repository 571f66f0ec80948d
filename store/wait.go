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
