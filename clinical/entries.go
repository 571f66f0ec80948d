package clinical

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// readActionFor is the role-table row that reading a kind needs.
// Recalls, tasks and appointments are practice work that reception runs
// (recall invitations, the appointment book), so everyone may read them.
func readActionFor(k record.Kind) Action {
	if k == record.KindReport { // values: the inbox's clinicians only
		return ActInbox
	}
	if record.ClinicalKinds[k] {
		return ActReadClinical
	}
	return ActRegister
}

// writeActionFor is the role-table row that writing a kind needs. A recall is
// coded clinical work: clinicians and the practice manager, who runs recalls.
func writeActionFor(k record.Kind) Action {
	if k == record.KindReport {
		return ActInbox
	}
	if k == record.KindRecall {
		return ActRecall
	}
	if record.ClinicalKinds[k] {
		return ActWriteClinical
	}
	return ActRegister
}

// EntryKinds are the kinds `entry retract` and `history` deal with (everything but the patient).
var EntryKinds = []record.Kind{record.KindConsultation, record.KindProblem, record.KindObservation,
	record.KindMedication, record.KindAllergy, record.KindImmunisation, record.KindAppointment,
	record.KindTask, record.KindRecall, record.KindSession}

// ListOptions control a per-patient list.
type ListOptions struct {
	ReadOptions
	// All includes entries entered in error (and, where a list hides them, past ones).
	All bool
}

// Listed is what a list returned, with how many sensitive entries it held back.
type Listed[T any] struct {
	Items   []T
	Hidden  int             // sensitive entries left out because no reason was given
	Patient *record.Patient // whose records these are (to flag a patient who has left or died)
}

// lookupPatient resolves a patient reference without auditing it.
func (s *Service) lookupPatient(ctx context.Context, ref string) (*record.Patient, error) {
	if err := s.require(ctx, ActReadDemographics, ""); err != nil {
		return nil, err
	}
	var p *record.Patient
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		p, err = resolvePatient(tx, ref)
		return err
	})
	return p, err
}

// denySensitive refuses (and audits) opening a sensitive record without a reason.
func (s *Service) denySensitive(ctx context.Context, p *record.Patient, ro ReadOptions) error {
	if !p.Sensitive || strings.TrimSpace(ro.Reason) != "" {
		return nil
	}
	ev := s.event("denied", record.KindPatient, p.ID, p.ID, p.Version)
	ev.Outcome = "denied"
	ev.Reason = "sensitive record opened without a reason"
	_ = s.audit(ctx, ev)
	return &record.PermissionError{User: s.user.Name, Role: s.user.Role,
		Action: "open sensitive record " + p.ID + " without a reason (give --reason)"}
}

// listEntries lists a patient's records of one kind: role checked, sensitive
// records need a reason, one audit event for the list with its query.
func listEntries[T record.Entity](ctx context.Context, s *Service, ref string, kind record.Kind, lo ListOptions,
	query string, keep func(T) bool) (*Listed[T], error) {
	if err := record.CheckLine("reason", lo.Reason); err != nil { // it goes into the audit trail as given
		return nil, err
	}
	ctx = store.WithAccessReason(ctx, lo.Reason)
	if err := s.require(ctx, readActionFor(kind), ""); err != nil {
		return nil, err
	}
	p, err := s.lookupPatient(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.denySensitive(ctx, p, lo.ReadOptions); err != nil {
		return nil, err
	}
	out := &Listed[T]{Items: []T{}, Patient: p}
	err = s.store().View(ctx, func(tx store.Tx) error {
		es, err := tx.List(p.ID, kind)
		if err != nil {
			return err
		}
		for _, e := range es {
			x := e.(T)
			m := x.Head()
			if m.Status == record.StatusEnteredInError && !lo.All {
				continue
			}
			if keep != nil && !keep(x) {
				continue
			}
			if m.Sensitive && strings.TrimSpace(lo.Reason) == "" {
				out.Hidden++
				continue
			}
			out.Items = append(out.Items, x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", kind, "", p.ID, 0)
	ev.Query = query
	ev.Reason = lo.Reason
	return out, s.audit(ctx, ev)
}

// EntryAllowed says whether a new record of a kind, dated on (zero: now), may be
// added for a patient who has left or died. The rule, as a GP would expect:
//   - appointments and recalls look forward, so they are refused once a
//     patient has left or died;
//   - tasks are practice work (letters, returning notes) and are always allowed;
//   - clinical entries are allowed when dated on or before the leaving date or
//     the date of death (late results, retrospective notes), refused after.
func (s *Service) EntryAllowed(ctx context.Context, ref string, kind record.Kind, on time.Time) error {
	p, err := s.lookupPatient(ctx, ref)
	if err != nil {
		return err
	}
	return entryAllowed(p, kind, on, s.p.now())
}

func entryAllowed(p *record.Patient, kind record.Kind, on, now time.Time) error {
	if p.Status == record.PatientActive || p.Status == "" {
		return nil
	}
	end, what := p.Registration.LeftOn, "left the practice on "+p.Registration.LeftOn
	if p.Status == record.PatientDeceased {
		end, what = p.Registration.DeceasedOn, "died on "+p.Registration.DeceasedOn
	}
	switch kind {
	case record.KindTask:
		return nil
	case record.KindAppointment, record.KindRecall:
		return record.Invalid("patient", p.ID, "%s: no new %ss", what, kind)
	}
	if on.IsZero() {
		on = now
	}
	if d := on.In(ukZone).Format(record.DateLayout); d > end {
		return record.Invalid("patient", p.ID, "%s: only entries dated on or before then can be added (this one is dated %s)", what, d)
	}
	return nil
}

var ukZone = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

// findEntry finds a record by id among kinds.
func findEntry(tx store.Tx, id string, kinds []record.Kind) (record.Entity, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, record.Invalid("id", id, "an id is required")
	}
	for _, k := range kinds {
		if e, err := tx.Get(k, id); err == nil {
			return e, nil
		} else if !record.IsNotFound(err) {
			return nil, err
		}
	}
	name := "entry"
	if len(kinds) == 1 {
		name = string(kinds[0])
	}
	return nil, &record.NotFoundError{Kind: name, ID: id}
}

// staleConflict is the error of a change based on an old version.
func staleConflict(e record.Entity, asked int) error {
	m := e.Head()
	return &record.ConflictError{What: string(e.Kind()) + " " + m.ID, Msg: staleMsg(asked, m.Version), By: m.RecordedBy, At: m.RecordedAt}
}

// changeEntry writes a new version of one record: role checked for its kind,
// --if-version honoured, validated, one audit event, one transaction.
func (s *Service) changeEntry(ctx context.Context, kinds []record.Kind, id string, ifVersion int,
	action func(record.Kind) Action, verb string, mutate func(tx store.Tx, e record.Entity) error) (record.Entity, error) {
	return s.changeEntryWhy(ctx, kinds, id, ifVersion, action, verb, "", mutate)
}

// changeEntryWhy is changeEntry with the reason the change was made, kept in
// its audit event.
func (s *Service) changeEntryWhy(ctx context.Context, kinds []record.Kind, id string, ifVersion int,
	action func(record.Kind) Action, verb, reason string, mutate func(tx store.Tx, e record.Entity) error) (record.Entity, error) {
	var cur record.Entity
	if err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		cur, err = findEntry(tx, id, kinds)
		return err
	}); err != nil {
		return nil, err
	}
	if err := s.require(ctx, action(cur.Kind()), cur.Head().PatientID); err != nil {
		return nil, err
	}
	var out record.Entity
	err := s.store().Update(ctx, func(tx store.WTx) error {
		e, err := tx.Get(cur.Kind(), cur.Head().ID)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != e.Head().Version {
			return staleConflict(e, ifVersion)
		}
		if err := mutate(tx, e); err != nil {
			return err
		}
		s.stamp(e.Head())
		if err := e.Validate(); err != nil {
			return err
		}
		if err := tx.Put(e); err != nil {
			return err
		}
		m := e.Head()
		out = e
		ev := s.event(verb, e.Kind(), m.ID, m.PatientID, m.Version)
		ev.Reason = reason
		return tx.Append(ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RetractResult is what a retraction wrote: the record and what was written with it.
type RetractResult struct {
	Entry  record.Entity
	Linked []record.Entity
}

// Retract marks a record entered in error, with a reason. Nothing is deleted:
// the old versions stay readable in the history. Retracting a consultation
// retracts what was written with it (its observations and the problem it started).
func (s *Service) Retract(ctx context.Context, id, reason string, ifVersion int) (*RetractResult, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, record.Invalid("reason", reason, "say why the entry was entered in error")
	}
	var cur record.Entity
	if err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		cur, err = findEntry(tx, id, EntryKinds)
		return err
	}); err != nil {
		return nil, err
	}
	if err := s.require(ctx, writeActionFor(cur.Kind()), cur.Head().PatientID); err != nil {
		return nil, err
	}
	now := s.p.now().UTC().Truncate(time.Millisecond)
	res := &RetractResult{}
	retract := func(tx store.WTx, e record.Entity) error {
		m := e.Head()
		m.Status = record.StatusEnteredInError
		m.Retraction = &record.Retraction{Reason: reason, By: s.user.Name, At: now}
		s.stamp(m)
		if err := e.Validate(); err != nil {
			return err
		}
		if err := tx.Put(e); err != nil {
			return err
		}
		ev := s.event("retract", e.Kind(), m.ID, m.PatientID, m.Version)
		ev.Reason = reason
		return tx.Append(ev)
	}
	err := s.store().Update(ctx, func(tx store.WTx) error {
		res.Linked = nil
		e, err := tx.Get(cur.Kind(), cur.Head().ID)
		if err != nil {
			return err
		}
		if e.Head().Status == record.StatusEnteredInError {
			return &record.ConflictError{What: string(e.Kind()) + " " + e.Head().ID, Msg: "already entered in error",
				By: e.Head().RecordedBy, At: e.Head().RecordedAt}
		}
		if ifVersion != 0 && ifVersion != e.Head().Version {
			return staleConflict(e, ifVersion)
		}
		if se, ok := e.(*record.Session); ok {
			n := 0
			day, err := dayAppointments(tx, se.Date)
			if err != nil {
				return err
			}
			for _, a := range day {
				if a.SessionID == se.ID && activeAppt(a) {
					n++
				}
			}
			if n > 0 {
				return record.Invalid("id", se.ID, "the session has %d appointment(s) booked: cancel them first", n)
			}
		}
		if err := retract(tx, e); err != nil {
			return err
		}
		res.Entry = e
		if c, ok := e.(*record.Consultation); ok {
			for _, l := range c.Linked {
				le, err := tx.Get(l.Kind, l.ID)
				if err != nil || le.Head().Status == record.StatusEnteredInError {
					continue
				}
				if err := retract(tx, le); err != nil {
					return err
				}
				res.Linked = append(res.Linked, le)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// HistoryRow is one version of one record.
type HistoryRow struct {
	Kind       record.Kind   `json:"kind"`
	ID         string        `json:"id"`
	Version    int           `json:"version"`
	Status     string        `json:"status"`
	RecordedAt time.Time     `json:"recordedAt"`
	RecordedBy string        `json:"recordedBy"`
	Record     record.Entity `json:"record"`
}

// History lists every version of every record of a patient, oldest first,
// with who wrote it and when. Users who may not read the clinical record see
// the history of the patient's demographics, appointments, tasks and recalls.
func (s *Service) History(ctx context.Context, ref string, ro ReadOptions) ([]HistoryRow, error) {
	if err := record.CheckLine("reason", ro.Reason); err != nil { // it goes into the audit trail as given
		return nil, err
	}
	ctx = store.WithAccessReason(ctx, ro.Reason)
	p, err := s.lookupPatient(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.denySensitive(ctx, p, ro); err != nil {
		return nil, err
	}
	clin := s.Can(ActReadClinical)
	var rows []HistoryRow
	add := func(vs []record.Entity) {
		for _, v := range vs {
			m := v.Head()
			if m.Sensitive && ro.Reason == "" && v.Kind() != record.KindPatient {
				continue
			}
			rows = append(rows, HistoryRow{Kind: v.Kind(), ID: m.ID, Version: m.Version, Status: m.Status,
				RecordedAt: m.RecordedAt, RecordedBy: m.RecordedBy, Record: v})
		}
	}
	err = s.store().View(ctx, func(tx store.Tx) error {
		vs, err := tx.Versions(record.KindPatient, p.ID)
		if err != nil {
			return err
		}
		add(vs)
		for _, k := range EntryKinds {
			if k == record.KindSession || (record.ClinicalKinds[k] && !clin) {
				continue
			}
			es, err := tx.List(p.ID, k)
			if err != nil {
				return err
			}
			for _, e := range es {
				vs, err := tx.Versions(k, e.Head().ID)
				if err != nil {
					return err
				}
				add(vs)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].RecordedAt.Equal(rows[j].RecordedAt) {
			return rows[i].RecordedAt.Before(rows[j].RecordedAt)
		}
		return rows[i].Version < rows[j].Version
	})
	ev := s.event("list", "history", "", p.ID, 0)
	ev.Query = "history"
	if !clin {
		ev.Query = "history (non-clinical kinds only)"
	}
	ev.Reason = ro.Reason
	return rows, s.audit(ctx, ev)
}

// Entry opens one record by id (audited). Clinical records need a clinician.
func (s *Service) Entry(ctx context.Context, id string, ro ReadOptions) (record.Entity, error) {
	return s.EntryOf(ctx, EntryKinds, id, ro)
}

// EntryOf is Entry for a record of one of kinds (the API reads by resource
// type: a record of another kind is not found, and its read is not audited).
func (s *Service) EntryOf(ctx context.Context, kinds []record.Kind, id string, ro ReadOptions) (record.Entity, error) {
	if err := record.CheckLine("reason", ro.Reason); err != nil { // it goes into the audit trail as given
		return nil, err
	}
	ctx = store.WithAccessReason(ctx, ro.Reason)
	var e record.Entity
	var p *record.Patient
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		if e, err = findEntry(tx, id, kinds); err != nil {
			return err
		}
		if pid := e.Head().PatientID; pid != "" {
			pe, err := tx.Get(record.KindPatient, pid)
			if err != nil {
				return err
			}
			p = pe.(*record.Patient)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := e.Head()
	if err := s.require(ctx, readActionFor(e.Kind()), m.PatientID); err != nil {
		return nil, err
	}
	if p != nil {
		if err := s.denySensitive(ctx, p, ro); err != nil {
			return nil, err
		}
	}
	if m.Sensitive && strings.TrimSpace(ro.Reason) == "" {
		ev := s.event("denied", e.Kind(), m.ID, m.PatientID, m.Version)
		ev.Outcome = "denied"
		ev.Reason = "sensitive entry opened without a reason"
		_ = s.audit(ctx, ev)
		return nil, &record.PermissionError{User: s.user.Name, Role: s.user.Role, Action: "open sensitive entry " + m.ID + " without a reason (give --reason)"}
	}
	ev := s.event("read", e.Kind(), m.ID, m.PatientID, m.Version)
	ev.Reason = ro.Reason
	return e, s.audit(ctx, ev)
}

// EntryVersions is every version of one record, oldest first, with the
// rights its read needs (audited as one read of the record). For
// a patient's records History is the whole story; this serves the records
// about no patient (sessions, practice tasks) and the API's _history.
func (s *Service) EntryVersions(ctx context.Context, kinds []record.Kind, id string, ro ReadOptions) ([]record.Entity, error) {
	if err := record.CheckLine("reason", ro.Reason); err != nil { // it goes into the audit trail as given
		return nil, err
	}
	ctx = store.WithAccessReason(ctx, ro.Reason)
	e, err := s.EntryOf(ctx, kinds, id, ro)
	if err != nil {
		return nil, err
	}
	var vs []record.Entity
	err = s.store().View(ctx, func(tx store.Tx) error {
		var err error
		vs, err = tx.Versions(e.Kind(), e.Head().ID)
		return err
	})
	return vs, err
}

// newEntry writes new records for a patient: validated first, one audit
// event each, one transaction.
func (s *Service) newEntry(ctx context.Context, es ...record.Entity) error {
	for _, e := range es {
		e.Head().ID, e.Head().Version = "", 0
	}
	return s.write(ctx, "create", es...)
}

// parseDay validates an optional YYYY-MM-DD, defaulting to today (UK).
func (s *Service) parseDay(field, d string) (string, error) {
	if strings.TrimSpace(d) == "" {
		return s.p.now().In(ukZone).Format(record.DateLayout), nil
	}
	return record.ParseDate(field, d)
}

// pastDay reads a day that has happened: default today, never after it.
func (s *Service) pastDay(field, d string) (string, error) {
	day, err := s.parseDay(field, d)
	if err != nil {
		return "", err
	}
	return day, s.notFuture(field, day)
}

// notFuture refuses a date after today.
func (s *Service) notFuture(field, d string) error {
	if today := s.p.now().In(ukZone).Format(record.DateLayout); d > today {
		return record.Invalid(field, d, "is in the future (today is %s)", today)
	}
	return nil
}

// dayStart is the start of a UK day, as a time.
func dayStart(d string) time.Time {
	t, _ := time.ParseInLocation(record.DateLayout, d, ukZone)
	return t
}
