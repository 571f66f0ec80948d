package clinical

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ---- reading the inbox ----

// InboxFilter narrows the inbox.
type InboxFilter struct {
	// To lists one clinician's reports ("" for everyone's).
	To string
	// Unmatched lists the unmatched queue only.
	Unmatched bool
}

// InboxPatient is who a matched report was filed to.
type InboxPatient struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	NHSNumber string `json:"nhsNumber,omitempty"`
	BirthDate string `json:"birthDate"`
	// Sensitive: the record needs a reason to open, so the list holds the
	// values back (headers only) until the report is opened with one.
	Sensitive bool `json:"sensitive,omitempty"`
}

// InboxItem is one report as the inbox shows it. HeadersOnly is set for a
// user who may see the unmatched queue but not results (an admin, a
// manager): the report then has the sender, the identifiers as sent and
// the test names, and no values, ranges, flags or comments.
type InboxItem struct {
	Report      *record.Report `json:"report"`
	Patient     *InboxPatient  `json:"patient,omitempty"`
	Abnormal    bool           `json:"abnormal"`
	HeadersOnly bool           `json:"headersOnly,omitempty"`
}

// Inbox lists the reports waiting: abnormal first, then oldest first.
// Clinicians see unfiled and unmatched reports with their values; admins
// and managers see the unmatched queue, headers only. Audited. The reports
// are shared with the inbox's cache (so 10,000 list in a few ms): treat
// them as read-only (record.Report.Clone for a copy to change).
func (s *Service) Inbox(ctx context.Context, f InboxFilter) ([]InboxItem, error) {
	if ops := s.inboxOps(); ops != nil {
		out := []InboxItem{}
		return out, callInbox(ctx, ops, "list", f, &out)
	}
	clin := s.Can(ActInbox)
	if !clin {
		if err := s.require(ctx, ActUnmatched, ""); err != nil {
			return nil, err
		}
	}
	if f.To != "" {
		if err := s.checkUser(ctx, "to", f.To); err != nil {
			return nil, err
		}
	}
	var cached []*inboxEntry
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		cached, err = s.p.inbox.entries(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]InboxItem, 0, len(cached))
	for _, c := range cached {
		r := c.report
		if f.Unmatched || !clin {
			if r.Status != record.ReportUnmatched {
				continue
			}
		}
		if f.To != "" && r.To != f.To && r.To != "" && r.Status != record.ReportUnmatched {
			continue
		}
		it := InboxItem{Report: r, Patient: c.patient, Abnormal: c.abnormal}
		if !clin {
			it = headersOnly(it)
		} else if c.patient != nil && c.patient.Sensitive {
			abn := it.Abnormal // the order the clinician needs; the values wait for a reason
			it = headersOnly(it)
			it.Abnormal = abn
		}
		out = append(out, it)
	}
	ev := s.event("list", record.KindReport, "", "", 0)
	ev.Query = strings.TrimSpace(fmt.Sprintf("inbox to=%s unmatched=%v", f.To, f.Unmatched))
	return out, s.audit(ctx, ev)
}

// inboxOrder is the inbox's order: abnormal first, then oldest, then by id.
func inboxOrder(a, b *inboxEntry) int {
	if a.abnormal != b.abnormal {
		if a.abnormal {
			return -1
		}
		return 1
	}
	if c := a.report.ReceivedAt.Compare(b.report.ReceivedAt); c != 0 {
		return c
	}
	return strings.Compare(a.report.ID, b.report.ID)
}

// headersOnly strips a report of its values: what an admin or a manager may see.
func headersOnly(it InboxItem) InboxItem {
	r := *it.Report
	r.Tests = make([]record.ReportTest, len(it.Report.Tests))
	for i, t := range it.Report.Tests {
		r.Tests[i] = record.ReportTest{Name: t.Name, Codes: t.Codes}
	}
	r.Comments = nil
	r.FHIRExtra = nil
	it.Report, it.Abnormal, it.HeadersOnly = &r, false, true
	return it
}

// ReportView is one report opened: the report, its patient, and the
// patient's earlier values of the same tests (newest first), for the
// clinician reading it.
type ReportView struct {
	InboxItem
	// Versions of the same laboratory report held before this one, oldest first.
	Earlier []*record.Report `json:"earlier,omitempty"`
	// Previous[i] are the patient's earlier values of test i.
	Previous [][]*record.Observation `json:"previous,omitempty"`
}

// Report opens one report with no access reason (see OpenReport).
func (s *Service) Report(ctx context.Context, id string) (*ReportView, error) {
	return s.OpenReport(ctx, id, ReadOptions{})
}

// OpenReport opens one report (filed or not), audited. An admin or a
// manager may open an unmatched report's headers only. A report filed to
// a sensitive record needs a reason, as the record does.
func (s *Service) OpenReport(ctx context.Context, id string, ro ReadOptions) (*ReportView, error) {
	if ops := s.inboxOps(); ops != nil {
		var out ReportView
		if err := callInbox(ctx, ops, "show", inboxShowIn{id, ro.Reason}, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	clin := s.Can(ActInbox)
	if !clin {
		if err := s.require(ctx, ActUnmatched, ""); err != nil {
			return nil, err
		}
	}
	var v ReportView
	var sensitive *record.Patient
	err := s.store().View(ctx, func(tx store.Tx) error {
		e, err := findEntry(tx, id, []record.Kind{record.KindReport})
		if err != nil {
			return err
		}
		r := e.(*record.Report)
		v.Report, v.Abnormal = r, r.Abnormal()
		if !clin {
			if r.Status != record.ReportUnmatched {
				return &record.PermissionError{User: s.user.Name, Role: s.user.Role, Action: string(ActInbox)}
			}
			v.InboxItem = headersOnly(v.InboxItem)
			return nil
		}
		for p := r.Supersedes; p != ""; {
			pe, err := tx.Get(record.KindReport, p)
			if err != nil {
				break
			}
			pr := pe.(*record.Report)
			v.Earlier = append([]*record.Report{pr}, v.Earlier...)
			p = pr.Supersedes
		}
		if r.MatchedPatient == "" {
			return nil
		}
		pe, err := tx.Get(record.KindPatient, r.MatchedPatient)
		if err != nil {
			return err
		}
		p := pe.(*record.Patient)
		v.Patient = inboxPatient(p)
		if p.Sensitive && strings.TrimSpace(ro.Reason) == "" {
			sensitive = p
			return nil
		}
		es, err := tx.List(p.ID, record.KindObservation)
		if err != nil {
			return err
		}
		v.Previous = make([][]*record.Observation, len(r.Tests))
		for i, t := range r.Tests {
			code := observationCode(&t)
			for _, oe := range es {
				o := oe.(*record.Observation)
				if o.Status == record.StatusEnteredInError || o.ReportID == r.ID || !o.Code.Is(code.System, code.Code) {
					continue
				}
				v.Previous[i] = append(v.Previous[i], o)
			}
			sort.SliceStable(v.Previous[i], func(a, b int) bool { return v.Previous[i][a].Effective.After(v.Previous[i][b].Effective) })
		}
		return nil
	})
	if err != nil {
		var pe *record.PermissionError
		if errors.As(err, &pe) {
			_ = s.require(ctx, ActInbox, "")
		}
		return nil, err
	}
	if sensitive != nil {
		return nil, s.denySensitive(ctx, sensitive, ro)
	}
	ev := s.event("read", record.KindReport, v.Report.ID, v.Report.MatchedPatient, v.Report.Version)
	ev.Reason = strings.TrimSpace(ro.Reason)
	return &v, s.audit(ctx, ev)
}

func inboxPatient(p *record.Patient) *InboxPatient {
	return &InboxPatient{ID: p.ID, Name: strings.ToUpper(p.Family) + ", " + strings.Join(p.Given, " "), NHSNumber: p.NHSNumber,
		BirthDate: p.BirthDate, Sensitive: p.Sensitive}
}

// UnfiledCount is how many reports wait in a clinician's inbox (the
// banner's count; "" for every clinician's) and how many of them are
// abnormal. Not audited: it reads no values.
func (s *Service) UnfiledCount(ctx context.Context, to string) (n, abnormal int, err error) {
	if ops := s.inboxOps(); ops != nil {
		var out inboxCount
		err := callInbox(ctx, ops, "count", to, &out)
		return out.N, out.Abnormal, err
	}
	if !s.Can(ActInbox) && !s.Can(ActUnmatched) {
		return 0, 0, nil
	}
	err = s.store().View(ctx, func(tx store.Tx) error {
		es, err := s.p.inbox.entries(tx)
		for _, c := range es {
			if c.report.Status == record.ReportUnfiled && (to == "" || c.report.To == to || c.report.To == "") {
				n++
				if c.abnormal {
					abnormal++
				}
			}
		}
		return err
	})
	return n, abnormal, err
}

// ---- the inbox cache ----

// inboxCache holds the reports waiting in the inbox, so that listing
// 10,000 of them does not decode 10,000 records. It follows the store
// through the audit trail, which names every record written: each list
// reads only the events since the last, and reloads the reports they
// name. A store whose trail it cannot read (a remote one) is scanned whole.
type inboxCache struct {
	mu      sync.Mutex
	valid   bool
	seq     uint64
	hash    string
	byID    map[string]*inboxEntry
	ordered []*inboxEntry
}

type inboxEntry struct {
	report   *record.Report
	patient  *InboxPatient
	abnormal bool
}

func (c *inboxCache) invalidate() {
	c.mu.Lock()
	c.ordered = nil // re-listed from byID on the next read
	c.mu.Unlock()
}

// entries returns the reports waiting (unmatched or unfiled), in inbox
// order (kept sorted between changes: a list does not sort). The reports
// are shared: callers must not change them.
func (c *inboxCache) entries(tx store.Tx) ([]*inboxEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seq, hash, err := tx.AuditHead()
	if err != nil || !c.valid || seq < c.seq || (seq == c.seq && hash != c.hash) {
		return c.rebuild(tx, seq, hash, err == nil)
	}
	if seq > c.seq {
		changed, pats := map[string]bool{}, map[string]bool{}
		aerr := tx.Audit(c.seq, func(ev *record.AuditEvent) error {
			switch {
			case ev.EntityID == "":
			case ev.Kind == record.KindReport:
				changed[ev.EntityID] = true
			case ev.Kind == record.KindPatient:
				pats[ev.EntityID] = true // a rename: the name shown changes
			}
			return nil
		})
		if aerr != nil {
			return c.rebuild(tx, seq, hash, false)
		}
		if len(pats) > 0 {
			for id, e := range c.byID {
				if pats[e.report.MatchedPatient] {
					changed[id] = true
				}
			}
		}
		for id := range changed {
			if err := c.load(tx, id); err != nil {
				return nil, err
			}
		}
		if len(changed) > 0 {
			c.ordered = nil
		}
		c.seq, c.hash = seq, hash
	}
	if c.ordered == nil {
		c.order()
	}
	return c.ordered, nil
}

func (c *inboxCache) order() {
	c.ordered = make([]*inboxEntry, 0, len(c.byID))
	for _, e := range c.byID {
		c.ordered = append(c.ordered, e)
	}
	slices.SortFunc(c.ordered, inboxOrder)
}

func (c *inboxCache) rebuild(tx store.Tx, seq uint64, hash string, keep bool) ([]*inboxEntry, error) {
	c.byID, c.ordered, c.valid = map[string]*inboxEntry{}, nil, false
	pats := map[string]*InboxPatient{}
	err := tx.ForEach(record.KindReport, func(e record.Entity) error {
		r := e.(*record.Report)
		if r.InInbox() {
			return c.put(tx, r, pats)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.valid, c.seq, c.hash = keep, seq, hash
	c.order()
	return c.ordered, nil
}

func (c *inboxCache) load(tx store.Tx, id string) error {
	e, err := tx.Get(record.KindReport, id)
	if record.IsNotFound(err) {
		delete(c.byID, id)
		return nil
	}
	if err != nil {
		return err
	}
	r := e.(*record.Report)
	if !r.InInbox() {
		delete(c.byID, id)
		return nil
	}
	return c.put(tx, r, nil)
}

func (c *inboxCache) put(tx store.Tx, r *record.Report, pats map[string]*InboxPatient) error {
	en := &inboxEntry{report: r, abnormal: r.Abnormal()}
	if pid := r.MatchedPatient; pid != "" {
		if ip, ok := pats[pid]; ok {
			en.patient = ip
		} else if pe, err := tx.Get(record.KindPatient, pid); err == nil {
			en.patient = inboxPatient(pe.(*record.Patient))
			if pats != nil {
				pats[pid] = en.patient
			}
		}
	}
	c.byID[r.ID] = en
	return nil
}
