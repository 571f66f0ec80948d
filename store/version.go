package store

import (
	"fmt"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// StaleVersion is the conflict of a write that sent version sent of what,
// now at version cur, last written by by at at.
func StaleVersion(what string, sent, cur int, by string, at time.Time) error {
	return &record.ConflictError{What: what, Msg: fmt.Sprintf("stale version %d (current %d)", sent, cur), By: by, At: at}
}

// NextVersion is the version a write of what takes: 1 when nothing is
// there yet; the current version plus one when the writer sent the current
// one; otherwise a StaleVersion conflict. Every backend versions practice
// settings and users this way.
func NextVersion(what string, sent int, exists bool, cur int, by string, at time.Time) (int, error) {
	if !exists {
		return 1, nil
	}
	if sent != cur {
		return 0, StaleVersion(what, sent, cur, by, at)
	}
	return cur + 1, nil
}
