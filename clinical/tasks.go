package clinical

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// TaskInput is work for someone in the practice.
type TaskInput struct {
	PatientRef string // "" for a task about no patient
	Text       string
	Due        string
	To         string // a user; "" for anyone
}

// AddTask adds a task (anyone may).
func (s *Service) AddTask(ctx context.Context, in TaskInput) (*record.Task, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	t := &record.Task{Text: strings.TrimSpace(in.Text), Due: in.Due, To: in.To}
	if in.PatientRef != "" {
		p, err := s.lookupPatient(ctx, in.PatientRef)
		if err != nil {
			return nil, err
		}
		t.PatientID = p.ID
	}
	if in.To != "" {
		if err := s.checkUser(ctx, "to", in.To); err != nil {
			return nil, err
		}
	}
	if err := s.newEntry(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	To         string
	PatientRef string
	All        bool // include done and cancelled
}

// Tasks lists tasks, by due date (undated last), audited.
func (s *Service) Tasks(ctx context.Context, f TaskFilter) ([]*record.Task, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	var pid string
	if f.PatientRef != "" {
		p, err := s.lookupPatient(ctx, f.PatientRef)
		if err != nil {
			return nil, err
		}
		pid = p.ID
	}
	if f.To != "" {
		if err := s.checkUser(ctx, "to", f.To); err != nil {
			return nil, err
		}
	}
	out := []*record.Task{}
	err := s.store().View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindTask, func(e record.Entity) error {
			t := e.(*record.Task)
			switch {
			case pid != "" && t.PatientID != pid, f.To != "" && t.To != f.To,
				!f.All && t.Status != "open":
				return nil
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Due, out[j].Due
		if a == "" {
			a = "9999"
		}
		if b == "" {
			b = "9999"
		}
		return a < b
	})
	ev := s.event("list", record.KindTask, "", pid, 0)
	ev.Query = strings.TrimSpace(fmt.Sprintf("tasks to=%s all=%v", f.To, f.All))
	return out, s.audit(ctx, ev)
}

// DoneTask marks a task done.
func (s *Service) DoneTask(ctx context.Context, id string, ifVersion int) (*record.Task, error) {
	e, err := s.changeEntry(ctx, []record.Kind{record.KindTask}, id, ifVersion, writeActionFor, "update",
		func(_ store.Tx, e record.Entity) error {
			t := e.(*record.Task)
			if t.Status != "open" {
				return &record.ConflictError{What: "task " + t.ID, Msg: "is " + t.Status + ", not open", By: t.RecordedBy, At: t.RecordedAt}
			}
			t.Status, t.DoneAt, t.DoneBy = "done", s.p.now().UTC().Truncate(time.Millisecond), s.user.Name
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Task), nil
}

// RecallInput is a reminder that a patient is due something.
type RecallInput struct {
	PatientRef string
	System     string
	Code       string
	Due        string
}

// AddRecall sets up a recall (clinicians and the manager; not for a patient who has left or died).
func (s *Service) AddRecall(ctx context.Context, in RecallInput) (*record.Recall, error) {
	p, err := s.patientForWrite(ctx, in.PatientRef, ActRecall)
	if err != nil {
		return nil, err
	}
	if err := entryAllowed(p, record.KindRecall, s.p.now(), s.p.now()); err != nil {
		return nil, err
	}
	c, err := s.Code("code", in.System, in.Code)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Due) == "" {
		return nil, record.Invalid("due", "", "a due date is required")
	}
	r := &record.Recall{Meta: record.Meta{PatientID: p.ID}, Code: c, Due: in.Due}
	if err := s.newEntry(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// RecallFilter narrows a recall list.
type RecallFilter struct {
	PatientRef string
	Overdue    bool // open and due before today
	All        bool // include done and cancelled
}

// Recalls lists recalls by due date (audited). Everyone may: reception runs
// the recall invitations.
func (s *Service) Recalls(ctx context.Context, f RecallFilter) ([]*record.Recall, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	var pid string
	if f.PatientRef != "" {
		p, err := s.lookupPatient(ctx, f.PatientRef)
		if err != nil {
			return nil, err
		}
		pid = p.ID
	}
	today := s.p.now().In(ukZone).Format(record.DateLayout)
	out := []*record.Recall{}
	keep := func(r *record.Recall) {
		switch {
		case !f.All && r.Status != "open",
			f.Overdue && (r.Status != "open" || r.Due >= today):
			return
		}
		out = append(out, r)
	}
	err := s.store().View(ctx, func(tx store.Tx) error {
		if pid != "" {
			es, err := tx.List(pid, record.KindRecall)
			for _, e := range es {
				keep(e.(*record.Recall))
			}
			return err
		}
		return tx.ForEach(record.KindRecall, func(e record.Entity) error { keep(e.(*record.Recall)); return nil })
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Due < out[j].Due })
	ev := s.event("list", record.KindRecall, "", pid, 0)
	ev.Query = fmt.Sprintf("recalls overdue=%v all=%v", f.Overdue, f.All)
	return out, s.audit(ctx, ev)
}

// DoneRecall marks a recall done.
func (s *Service) DoneRecall(ctx context.Context, id string, ifVersion int) (*record.Recall, error) {
	e, err := s.changeEntry(ctx, []record.Kind{record.KindRecall}, id, ifVersion,
		func(record.Kind) Action { return ActRecall }, "update",
		func(_ store.Tx, e record.Entity) error {
			r := e.(*record.Recall)
			if r.Status != "open" {
				return &record.ConflictError{What: "recall " + r.ID, Msg: "is " + r.Status + ", not open", By: r.RecordedBy, At: r.RecordedAt}
			}
			r.Status, r.DoneAt, r.DoneBy = "done", s.p.now().UTC().Truncate(time.Millisecond), s.user.Name
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Recall), nil
}
