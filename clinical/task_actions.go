package clinical

import (
	"context"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// A task inbox works a task three ways besides done: pass it to someone else
// (or back to anyone), or cancel it with a reason. Each is one new version of
// the task with its audit event; only an open task can change.

// ReassignTask gives an open task to another user, or to anyone ("").
func (s *Service) ReassignTask(ctx context.Context, id, to string, ifVersion int) (*record.Task, error) {
	to = strings.TrimSpace(to)
	if to != "" {
		if err := s.checkUser(ctx, "to", to); err != nil {
			return nil, err
		}
	}
	why := "reassigned to " + to
	if to == "" {
		why = "reassigned to anyone"
	}
	e, err := s.changeEntryWhy(ctx, []record.Kind{record.KindTask}, id, ifVersion, writeActionFor, "update", why,
		func(_ store.Tx, e record.Entity) error {
			t := e.(*record.Task)
			if err := openTask(t); err != nil {
				return err
			}
			if t.To == to {
				return record.Invalid("to", to, "the task is already %s", forWhom(to))
			}
			t.To = to
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Task), nil
}

// CancelTask closes an open task that will not be done, with the reason
// (kept on the task and in its audit event).
func (s *Service) CancelTask(ctx context.Context, id, reason string, ifVersion int) (*record.Task, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, record.Invalid("reason", reason, "say why the task is cancelled")
	}
	if err := record.CheckLine("reason", reason); err != nil {
		return nil, err
	}
	e, err := s.changeEntryWhy(ctx, []record.Kind{record.KindTask}, id, ifVersion, writeActionFor, "update", "cancelled: "+reason,
		func(_ store.Tx, e record.Entity) error {
			t := e.(*record.Task)
			if err := openTask(t); err != nil {
				return err
			}
			t.Status, t.CancelReason = "cancelled", reason
			t.DoneAt, t.DoneBy = s.p.now().UTC().Truncate(time.Millisecond), s.user.Name
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Task), nil
}

func openTask(t *record.Task) error {
	if t.Status != "open" {
		return &record.ConflictError{What: "task " + t.ID, Msg: "is " + t.Status + ", not open", By: t.RecordedBy, At: t.RecordedAt}
	}
	return nil
}

func forWhom(to string) string {
	if to == "" {
		return "for anyone"
	}
	return "for " + to
}
