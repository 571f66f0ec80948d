package clinical

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// In remote mode the inbox is carried by gpsoc serve's $inbox operation:
// the workstation's inbox methods post their input to the server, whose
// own services (the same methods, with the token's user) check the role,
// act and audit. A FHIR server keeps records, not gpsoc's inbox workflow,
// so against another vendor's server the inbox is a usage error saying so.

// InboxOperation is the name of the server's operation ($inbox).
const InboxOperation = "inbox"

// InboxCall is one call of the $inbox operation: the method and its input.
type InboxCall struct {
	Op string          `json:"op"`
	In json.RawMessage `json:"in,omitempty"`
}

// inboxOps is the backend's server operations, when the inbox is the
// server's (remote mode), else nil.
func (s *Service) inboxOps() store.Operations {
	if s.unit != nil {
		return nil
	}
	ops, _ := s.p.st.(store.Operations)
	return ops
}

func callInbox(ctx context.Context, ops store.Operations, op string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	err = ops.Operation(ctx, InboxOperation, InboxCall{Op: op, In: b}, out)
	if errors.Is(err, store.ErrNoOperation) {
		return record.Invalid("remote.url", "", "%v: the results inbox is carried by gpsoc serve only", err)
	}
	return err
}

// Inbox calls of the operation.
type (
	inboxMatchIn struct {
		Report, Patient, Reason string
		IfVersion               int
	}
	inboxDeliveries struct {
		Deliveries []*Delivery `json:"deliveries"`
		Errors     []string    `json:"errors"`
	}
	inboxCount  struct{ N, Abnormal int }
	inboxShowIn struct{ ID, Reason string }
)

// ServeInbox runs one $inbox call for the server, as the acting user:
// the same methods the local inbox uses, so roles and audit are theirs.
func (s *Service) ServeInbox(ctx context.Context, call InboxCall) (any, error) {
	dec := func(v any) error {
		if len(call.In) == 0 {
			return nil
		}
		if err := json.Unmarshal(call.In, v); err != nil {
			return record.Invalid("in", "", "$inbox %s: %v", call.Op, err)
		}
		return nil
	}
	switch call.Op {
	case "list":
		var f InboxFilter
		if err := dec(&f); err != nil {
			return nil, err
		}
		return s.Inbox(ctx, f)
	case "show":
		var in inboxShowIn
		if err := dec(&in); err != nil {
			return nil, err
		}
		return s.OpenReport(ctx, in.ID, ReadOptions{Reason: in.Reason})
	case "file":
		var in FilingInput
		if err := dec(&in); err != nil {
			return nil, err
		}
		return s.FileReport(ctx, in)
	case "match":
		var in inboxMatchIn
		if err := dec(&in); err != nil {
			return nil, err
		}
		return s.MatchReport(ctx, in.Report, in.Patient, in.Reason, in.IfVersion)
	case "unmatch":
		var in inboxMatchIn
		if err := dec(&in); err != nil {
			return nil, err
		}
		return s.UnmatchReport(ctx, in.Report, in.Reason, in.IfVersion)
	case "deliver":
		var rs []*record.Report
		if err := dec(&rs); err != nil {
			return nil, err
		}
		ds, errs, err := s.DeliverReports(ctx, rs)
		if err != nil {
			return nil, err
		}
		out := inboxDeliveries{Deliveries: ds, Errors: make([]string, len(errs))}
		for i, e := range errs {
			if e != nil {
				out.Errors[i] = e.Error()
			}
		}
		return out, nil
	case "rules-test":
		var text string
		if err := dec(&text); err != nil {
			return nil, err
		}
		return s.TestFilingRules(ctx, []byte(text))
	case "rules-enable":
		var text string
		if err := dec(&text); err != nil {
			return nil, err
		}
		return s.SetFilingRules(ctx, []byte(text))
	case "rules-show":
		return s.FilingRulesText(ctx)
	case "count":
		var to string
		if err := dec(&to); err != nil {
			return nil, err
		}
		n, a, err := s.UnfiledCount(ctx, to)
		return inboxCount{n, a}, err
	}
	return nil, record.Invalid("op", call.Op, "not an $inbox operation (list, show, file, match, unmatch, deliver, rules-test, rules-enable, rules-show, count)")
}
