package clinical

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Warning is advice that does not stop an action (e.g. a close match).
type Warning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// AddPatient registers a patient. A second patient with the same NHS number
// is a ConflictError naming the existing one; a close match on name, date of
// birth and postcode is returned as a warning.
func (s *Service) AddPatient(ctx context.Context, p *record.Patient) ([]Warning, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	p.ID, p.Version = "", 0
	s.stamp(&p.Meta)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Registration.RegisteredOn == "" {
		p.Registration.RegisteredOn = s.p.now().Format(record.DateLayout)
	}
	if p.UsualGP != "" {
		if err := s.checkUser(ctx, "usualGp", p.UsualGP); err != nil {
			return nil, err
		}
	}
	var warns []Warning
	if ix, err := s.p.indexIn(ctx, s.store()); err == nil {
		for _, id := range ix.CloseMatches(p.Family, p.Given, p.BirthDate, p.Postcode) {
			warns = append(warns, Warning{Field: "patient", Message: "close match on name, date of birth and postcode: patient " + id})
		}
	}
	if err := s.write(ctx, "create", p); err != nil {
		var ce *record.ConflictError
		if errors.As(err, &ce) {
			ev := s.event("create", record.KindPatient, "", "", 0)
			ev.Outcome, ev.Reason = "failed", ce.Error()
			_ = s.audit(ctx, ev)
		}
		return nil, err
	}
	return warns, nil
}

func (s *Service) checkUser(ctx context.Context, field, name string) error {
	return s.store().View(ctx, func(tx store.Tx) error {
		if _, err := tx.User(name); err != nil {
			return record.Invalid(field, name, "no such user")
		}
		return nil
	})
}

// resolvePatient finds a patient by id or NHS number (with or without spaces).
func resolvePatient(tx store.Tx, ref string) (*record.Patient, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, record.Invalid("patient", ref, "give a patient id or NHS number")
	}
	digits := strings.ReplaceAll(ref, " ", "")
	if len(digits) == 10 && isDigits(digits) {
		n, err := record.NormaliseNHS(ref)
		if err != nil {
			return nil, err
		}
		return tx.PatientByNHS(n)
	}
	e, err := tx.Get(record.KindPatient, ref)
	if err != nil {
		return nil, err
	}
	return e.(*record.Patient), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ReadOptions say why a record is opened.
type ReadOptions struct {
	Reason string // needed for sensitive records
}

// Patient opens a patient's demographics (audited). A sensitive record needs a reason.
func (s *Service) Patient(ctx context.Context, ref string, ro ReadOptions) (*record.Patient, error) {
	if err := s.require(ctx, ActReadDemographics, ""); err != nil {
		return nil, err
	}
	if err := record.CheckLine("reason", ro.Reason); err != nil { // it goes into the audit trail as given
		return nil, err
	}
	ctx = store.WithAccessReason(ctx, ro.Reason)
	var p *record.Patient
	err := store.ViewOne(ctx, s.store(), func(tx store.Tx) error { // resolvePatient reads once
		var err error
		p, err = resolvePatient(tx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.opened(ctx, p, ro, "read"); err != nil {
		return nil, err
	}
	return p, nil
}

// opened enforces the sensitive-record rule and audits the opening.
func (s *Service) opened(ctx context.Context, p *record.Patient, ro ReadOptions, action string) error {
	if p.Sensitive && strings.TrimSpace(ro.Reason) == "" {
		ev := s.event("denied", record.KindPatient, p.ID, p.ID, p.Version)
		ev.Outcome = "denied"
		ev.Reason = "sensitive record opened without a reason"
		_ = s.audit(ctx, ev)
		return &record.PermissionError{User: s.user.Name, Role: s.user.Role, Action: "open sensitive record " + p.ID + " without a reason (give --reason)"}
	}
	ev := s.event(action, record.KindPatient, p.ID, p.ID, p.Version)
	ev.Reason = ro.Reason
	if err := s.audit(ctx, ev); err != nil {
		return err
	}
	s.afterCommit(func() { s.p.indexOpened(p.ID, s.p.now()) })
	return nil
}

// PatientFilter narrows a patient list.
type PatientFilter struct {
	Status string // active | left | deceased | "" (all)
	Limit  int
	// IDs restricts to these patients (e.g. from a population search).
	IDs map[string]bool
}

// Patients lists patients (audited as one list event).
func (s *Service) Patients(ctx context.Context, f PatientFilter) ([]*record.Patient, error) {
	if err := s.require(ctx, ActReadDemographics, ""); err != nil {
		return nil, err
	}
	if f.Status != "" {
		if f.Status != record.PatientActive && f.Status != record.PatientLeft && f.Status != record.PatientDeceased {
			return nil, record.Invalid("status", f.Status, "must be active, left or deceased")
		}
	}
	var out []*record.Patient
	err := s.store().View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error {
			p := e.(*record.Patient)
			if f.Status != "" && p.Status != f.Status {
				return nil
			}
			if f.IDs != nil && !f.IDs[p.ID] {
				return nil
			}
			out = append(out, p)
			if f.Limit > 0 && len(out) >= f.Limit {
				return errStop
			}
			return nil
		})
	})
	if err != nil && err != errStop {
		return nil, err
	}
	ev := s.event("list", record.KindPatient, "", "", 0)
	ev.Query = "status=" + f.Status
	return out, s.audit(ctx, ev)
}

// FoundPatient is one find result.
type FoundPatient struct {
	Patient *record.Patient
	Score   int
}

// FindPatients searches the find index (audited with its query).
func (s *Service) FindPatients(ctx context.Context, q string, limit int) ([]FoundPatient, error) {
	if err := s.require(ctx, ActReadDemographics, ""); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 20
	}
	if pf, ok := s.p.st.(store.PatientFinder); ok {
		// A server that finds (gpsoc serve's Patient/$find) finds and
		// audits the query itself: the trail is the server's own.
		ps, ok, err := pf.FindPatients(ctx, q, limit)
		if ok {
			if err != nil {
				return nil, err
			}
			out := make([]FoundPatient, len(ps))
			for i, p := range ps {
				out[i] = FoundPatient{Patient: p, Score: len(ps) - i}
			}
			return out, nil
		}
	}
	ix, err := s.p.indexIn(ctx, s.store())
	if err != nil {
		return nil, err
	}
	hits := ix.Search(ctx, q, limit)
	out := make([]FoundPatient, 0, len(hits))
	err = s.store().View(ctx, func(tx store.Tx) error {
		for _, h := range hits {
			e, err := tx.Get(record.KindPatient, h.ID)
			if err != nil {
				continue // removed since the index was loaded
			}
			out = append(out, FoundPatient{Patient: e.(*record.Patient), Score: h.Score})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("find", record.KindPatient, "", "", 0)
	ev.Query = q
	return out, s.audit(ctx, ev)
}

// PatientUpdate changes demographics; nil fields are left as they are.
type PatientUpdate struct {
	IfVersion       int // 0: the current version (no check)
	Family          *string
	Given           *[]string
	BirthDate       *string
	Sex             *string
	Postcode        *string
	Phone           *string
	Email           *string
	UsualGP         *string
	NHSNumber       *string
	NHSNumberStatus *string
	Sensitive       *bool
	Address         *record.Address
	// Mutate, when set, makes further changes.
	Mutate func(p *record.Patient) error
}

// UpdatePatient writes a new version of a patient's demographics.
func (s *Service) UpdatePatient(ctx context.Context, ref string, u PatientUpdate) (*record.Patient, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	var p *record.Patient
	if err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		p, err = resolvePatient(tx, ref)
		return err
	}); err != nil {
		return nil, err
	}
	if u.IfVersion != 0 && u.IfVersion != p.Version {
		return nil, &record.ConflictError{What: "patient " + p.ID, Msg: staleMsg(u.IfVersion, p.Version), By: p.RecordedBy, At: p.RecordedAt}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Family, u.Family)
	set(&p.BirthDate, u.BirthDate)
	set(&p.Sex, u.Sex)
	set(&p.Postcode, u.Postcode)
	set(&p.Phone, u.Phone)
	set(&p.Email, u.Email)
	set(&p.UsualGP, u.UsualGP)
	set(&p.NHSNumber, u.NHSNumber)
	set(&p.NHSNumberStatus, u.NHSNumberStatus)
	if u.Given != nil {
		p.Given = *u.Given
	}
	if u.Sensitive != nil {
		p.Sensitive = *u.Sensitive
	}
	if u.Address != nil {
		p.Address = u.Address
	}
	if u.UsualGP != nil && *u.UsualGP != "" {
		if err := s.checkUser(ctx, "usualGp", *u.UsualGP); err != nil {
			return nil, err
		}
	}
	if u.Mutate != nil {
		if err := u.Mutate(p); err != nil {
			return nil, err
		}
	}
	if err := s.write(ctx, "update", p); err != nil {
		return nil, err
	}
	return p, nil
}

func staleMsg(asked, cur int) string {
	return "stale version " + itoa(asked) + ": the record is now at version " + itoa(cur)
}

// ---- the find index ----

// FindRow is a patient's compact find row, as the store keeps it: what a
// remote store gives the find index, so it loads from any FHIR server.
func FindRow(p *record.Patient) []byte { return find.EncodePatientRow(findDoc(p)) }

func findDoc(p *record.Patient) find.Patient {
	var st uint8
	switch p.Status {
	case record.PatientLeft:
		st = 1
	case record.PatientDeceased:
		st = 2
	}
	return find.Patient{ID: p.ID, Family: p.Family, Given: strings.Join(p.Given, " "), BirthDate: p.BirthDate,
		NHS: p.NHSNumber, Postcode: p.Postcode, Status: st}
}

// Index returns the patient find index, loading it from the compact rows on
// first use and bringing it up to date with changes other processes made.
func (p *Practice) Index(ctx context.Context) (*PatientIndex, error) {
	return p.indexIn(ctx, p.st)
}

// indexIn is Index reading through st: a service inside a unit of work
// reads through the unit's open transaction (a second one could wait on it).
func (p *Practice) indexIn(ctx context.Context, st store.Store) (*PatientIndex, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idx == nil {
		ix, seq, err := p.loadIndex(ctx, st)
		if err != nil {
			return nil, err
		}
		p.idx, p.idxSeq = ix, seq
	}
	// Catch up with writes from other processes.
	var changed []find.Patient
	err := st.View(ctx, func(tx store.Tx) error {
		last, err := tx.Changes(p.idxSeq, func(_ uint64, id string) error {
			e, err := tx.Get(record.KindPatient, id)
			if err != nil {
				return nil
			}
			changed = append(changed, findDoc(e.(*record.Patient)))
			return nil
		})
		p.idxSeq = last
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range changed {
		p.idx.Put(d)
	}
	return &PatientIndex{p.idx}, nil
}

// loadIndex loads the find index: from the snapshot file when it is recent
// enough (the caller then applies the changes made since), else from the
// compact rows of the practice file, writing a new snapshot for next time.
func (p *Practice) loadIndex(ctx context.Context, st store.Store) (*find.Patients, uint64, error) {
	var cur uint64
	var n int
	var snap *find.Patients
	var snapSeq uint64
	var snapID string
	if p.snapPath != "" {
		snap, snapSeq, snapID, _ = readIndexSnapshot(p.snapPath)
	}
	var ix *find.Patients
	var id string
	err := st.View(ctx, func(tx store.Tx) error {
		// The first audit event's hash names this practice file: a snapshot
		// of another practice (a restore, a reset demo) is never used.
		_ = tx.Audit(0, func(ev *record.AuditEvent) error { id = ev.Hash; return errStop })
		var err error
		if cur, err = tx.Changes(^uint64(0)-1, func(uint64, string) error { return nil }); err != nil {
			return err
		}
		n = tx.Count(record.KindPatient)
		if snap != nil && snapID == id && snapSeq <= cur && cur-snapSeq <= uint64(max(2000, n/20)) {
			return nil
		}
		snap = nil
		l := find.NewPatientLoader(n)
		if err := tx.SearchRows(func(id string, row []byte) error { return l.Add([]byte(id), row) }); err != nil {
			return err
		}
		ix = l.Build()
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if snap != nil {
		return snap, snapSeq, nil
	}
	if p.snapPath != "" && n >= snapshotMin {
		_ = writeIndexSnapshot(p.snapPath, ix, cur, id) // a cache: failing to write it only costs the next start
	}
	return ix, cur, nil
}

// snapshotMin is the practice size from which the find index is snapshotted.
var snapshotMin = 20000

const snapMagic = "GPSOCFIND2\n"

// snapHeader is the length of the header before the index: magic, change sequence,
// practice id, padded so that the index's arrays are 8-aligned in the mapped file.
const snapHeader = 88

func readIndexSnapshot(path string) (*find.Patients, uint64, string, error) {
	data, err := find.MapFile(path)
	if err != nil {
		return nil, 0, "", err
	}
	if len(data) < snapHeader || string(data[:len(snapMagic)]) != snapMagic {
		return nil, 0, "", fmt.Errorf("%s: not a find snapshot", path)
	}
	seq := binary.BigEndian.Uint64(data[len(snapMagic):])
	id := string(data[len(snapMagic)+8 : len(snapMagic)+8+64])
	ix, err := find.LoadSnapshot(data[snapHeader:])
	return ix, seq, id, err
}

func writeIndexSnapshot(path string, ix *find.Patients, seq uint64, id string) error {
	if len(id) != 64 {
		return fmt.Errorf("practice has no audit trail to name it")
	}
	hdr := append([]byte(snapMagic), make([]byte, 8)...)
	binary.BigEndian.PutUint64(hdr[len(snapMagic):], seq)
	hdr = append(hdr, id...)
	return find.WriteSnapshotFile(path, append(hdr, make([]byte, snapHeader-len(hdr))...), ix.WriteSnapshot)
}

func (p *Practice) indexLoaded() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idx != nil
}

func (p *Practice) indexPut(pt *record.Patient) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idx != nil {
		p.idx.Put(findDoc(pt))
	}
}

func (p *Practice) indexOpened(id string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idx != nil {
		p.idx.Opened(id, at)
	}
}

// PatientIndex wraps the find index with what registration needs.
type PatientIndex struct{ *find.Patients }

// CloseMatches lists patients with the same family name, a given name, date of birth and postcode.
func (ix *PatientIndex) CloseMatches(family string, given []string, dob, postcode string) []string {
	if len(given) == 0 {
		return nil
	}
	q := family + " " + given[0] + " " + dob
	var out []string
	for _, h := range ix.Search(context.Background(), q, 10) {
		d, ok := ix.Get(h.ID)
		if !ok {
			continue
		}
		if strings.EqualFold(d.Family, family) && d.BirthDate == dob && strings.EqualFold(d.Postcode, postcode) {
			out = append(out, h.ID)
		}
	}
	return out
}
