package cohort

import (
	"context"
	"sync"

	"github.com/opengpsoc/gpsoc/clinical"
)

// Cache keeps a built index for a long-running process (the workstation,
// gpsoc serve) and builds it again only when the store's change feed says a
// patient changed since: a search then costs its evaluation, not a scan of
// every record.
type Cache struct {
	mu  sync.Mutex
	ix  *Index
	seq uint64
	ok  bool
}

// Get returns an index as current as the change feed, for a user with the
// search right (a refusal is audited).
func (c *Cache) Get(ctx context.Context, s *clinical.Service) (*Index, error) {
	if err := s.RequireSearch(ctx); err != nil {
		return nil, err
	}
	// The head is read before the scan: a change made during the scan makes
	// the next Get build again, never leaves it unseen.
	_, head, _, err := s.PatientChanges(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.seq == head && c.ix != nil {
		return c.ix, nil
	}
	ix, err := Build(ctx, s)
	if err != nil {
		return nil, err
	}
	c.ix, c.seq, c.ok = ix, head, true
	return ix, nil
}
