package clinical

// The services a whole-record exchange (interop/: FHIR and bulk imports and
// exports) acts through. interop parses and maps outside formats; what it
// reads and writes goes through these methods, with their roles, read rules,
// validation and audit: it never holds the store.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// PatientRecord is one patient's whole record as read for an export or
// $everything, with the practice and its users that its records name.
type PatientRecord struct {
	Practice record.Practice
	Users    []record.User
	Patient  *record.Patient
	// Records are the patient's records of the kinds asked for, kind by kind.
	Records []record.Entity
}

// ExportPatient is a patient's whole record for a bulk export (the
// bulk-export right): a sensitive record needs a reason (else a
// PermissionError, audited); the export is audited as the record opened for
// export. kinds are the record kinds the export carries.
func (s *Service) ExportPatient(ctx context.Context, ref string, ro ReadOptions, kinds []record.Kind) (*PatientRecord, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	return s.patientRecord(ctx, ref, ro, kinds, "export")
}

// Everything is the API's Patient/$everything: the whole record read through
// the Patient read's rules. It needs the right to read the clinical record
// (an admin or a receptionist is refused, as on the journal), a sensitive
// record needs a reason, a sensitive entry is left out without one, and the
// read is audited with the reason.
func (s *Service) Everything(ctx context.Context, ref string, ro ReadOptions, kinds []record.Kind) (*PatientRecord, error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	p, err := s.lookupPatient(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.require(ctx, ActReadClinical, p.ID); err != nil {
		return nil, err
	}
	return s.patientRecord(ctx, ref, ro, kinds, "read")
}

func (s *Service) patientRecord(ctx context.Context, ref string, ro ReadOptions, kinds []record.Kind, action string) (*PatientRecord, error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	out := &PatientRecord{}
	withheld := strings.TrimSpace(ro.Reason) == ""
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		if out.Patient, err = resolvePatient(tx, ref); err != nil {
			return err
		}
		if out.Practice, out.Users, err = directory(tx); err != nil {
			return err
		}
		for _, k := range kinds {
			if k == record.KindPatient || k == record.KindSession { // the patient itself; sessions are the practice's
				continue
			}
			es, err := tx.List(out.Patient.ID, k)
			if err != nil {
				return err
			}
			for _, e := range es {
				if action == "read" && withheld && e.Head().Sensitive {
					continue // as a list leaves it out without a reason
				}
				out.Records = append(out.Records, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.opened(ctx, out.Patient, ro, action); err != nil {
		return nil, err
	}
	return out, nil
}

func directory(tx store.Tx) (record.Practice, []record.User, error) {
	pr, err := tx.Practice()
	if err != nil {
		return record.Practice{}, nil, err
	}
	users, err := tx.Users()
	return *pr, users, err
}

// ExportAllOptions say what a whole-practice export carries.
type ExportAllOptions struct {
	Kinds []record.Kind // the record kinds, in this order
	Query string        // what the audit event says was exported
	// Start is called first, with the practice and its users.
	Start func(record.Practice, []record.User) error
	// Record is called for every record of Kinds; Audit for every audit event.
	Record func(record.Entity) error
	Audit  func(*record.AuditEvent) error
	// Imported is called for every event of the audit trails imported from
	// other systems (kept apart from the practice's own), after Audit.
	Imported func(*record.ImportedAuditEvent) error
}

// ExportAll reads the whole practice for a bulk export (the bulk-export
// right), in one read transaction, and audits it: a complete exit.
func (s *Service) ExportAll(ctx context.Context, o ExportAllOptions) error {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return err
	}
	err := s.store().View(ctx, func(tx store.Tx) error {
		pr, users, err := directory(tx)
		if err != nil {
			return err
		}
		if err := o.Start(pr, users); err != nil {
			return err
		}
		for _, k := range o.Kinds {
			if err := tx.ForEach(k, o.Record); err != nil {
				return err
			}
		}
		if err := tx.Audit(0, o.Audit); err != nil {
			return err
		}
		if r, ok := tx.(store.ImportedTrailReader); ok && o.Imported != nil {
			return r.ImportedAudit(o.Imported)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ev := s.event("export", "", "", "", 0)
	ev.Query = o.Query
	return s.audit(ctx, ev)
}

// BulkImport is one bulk import of history from another system (the
// bulk-import right), written batch by batch: each batch is one store
// transaction, all or nothing. It keeps what it has read of the practice
// between batches.
type BulkImport struct {
	s         *Service
	patIdent  map[string]string          // system|value -> patient id
	pats      map[string]*record.Patient // patients read for the date checks (never changed by an import)
	auditSeen map[string]bool
}

// StartBulkImport begins a bulk import of history as the acting user.
func (s *Service) StartBulkImport(ctx context.Context) (*BulkImport, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	return &BulkImport{s: s}, nil
}

// Directory is the practice and its users (passphrase hashes cleared), as the
// import's mapping names them.
func (b *BulkImport) Directory(ctx context.Context) (record.Practice, []record.User, error) {
	return b.s.p.Directory(ctx)
}

// IsAdmin reports whether the import acts as an admin (who alone creates users).
func (b *BulkImport) IsAdmin() bool { return b.s.user.Role == record.RoleAdmin }

// Batch runs fn in one store transaction: what fn writes through tx commits
// when fn returns nil (and dry is false), and none of it otherwise. The
// patients written are in the find index once committed.
func (b *BulkImport) Batch(ctx context.Context, dry bool, fn func(tx *ImportTx) error) error {
	var it *ImportTx
	err := b.s.store().Update(ctx, func(wtx store.WTx) error {
		it = &ImportTx{b: b, tx: wtx} // afresh: a group commit may run this again
		if err := fn(it); err != nil {
			return err
		}
		if dry {
			return errDryRun
		}
		return nil
	})
	if err != nil {
		// The caches may hold what was rolled back.
		b.patIdent, b.auditSeen = nil, nil
		if errors.Is(err, errDryRun) {
			return nil
		}
		return err
	}
	for _, p := range it.written {
		b.s.p.indexPut(p)
	}
	return nil
}

// ImportTx is a bulk import's access to the practice within one batch.
type ImportTx struct {
	b       *BulkImport
	tx      store.WTx
	written []*record.Patient
}

// Get is the stored record of a kind with an id (store.ErrNotFound when none).
func (t *ImportTx) Get(kind record.Kind, id string) (record.Entity, error) { return t.tx.Get(kind, id) }

// PatientByNHS is the patient with an NHS number (store.ErrNotFound when none).
func (t *ImportTx) PatientByNHS(nhs string) (*record.Patient, error) { return t.tx.PatientByNHS(nhs) }

// PatientByIdentifier is the id of the patient with an identifier ("" when none).
func (t *ImportTx) PatientByIdentifier(system, value string) string {
	b := t.b
	if b.patIdent == nil {
		b.patIdent = map[string]string{}
		_ = t.tx.ForEach(record.KindPatient, func(e record.Entity) error {
			p := e.(*record.Patient)
			for _, x := range p.Identifiers {
				b.patIdent[x.System+"|"+x.Value] = p.ID
			}
			return nil
		})
	}
	return b.patIdent[system+"|"+value]
}

// Prepare stamps a record as the acting user's and validates it on its own
// (as Write will), for an import that must know whether it is valid before
// matching it.
func (t *ImportTx) Prepare(e record.Entity) error {
	t.b.s.stamp(e.Head())
	return e.Validate()
}

// SamePatient reports whether two patients say the same (who recorded them,
// when and the registration date aside).
func SamePatient(a, b *record.Patient) bool { return samePatient(a, b) }

// Write validates and writes one imported record (new, or a new version when
// the import says something else about a record it wrote before) with its
// audit event, by the checks every path takes. same reports a record already
// stored as given (nothing written).
func (t *ImportTx) Write(e record.Entity, reason string) (same bool, err error) {
	s, tx := t.b.s, t.tx
	m := e.Head()
	s.stamp(m)
	if err := e.Validate(); err != nil {
		return false, err
	}
	if err := s.checkImported(e); err != nil {
		return false, err
	}
	if t.b.pats == nil {
		t.b.pats = map[string]*record.Patient{}
	}
	if err := s.checkWriteIn(tx, e, t.b.pats); err != nil {
		return false, err
	}
	action := "create"
	if old, err := tx.Get(e.Kind(), m.ID); err == nil {
		if len(m.FHIRExtra) == 0 {
			// A record written again (a consultation gaining entries from
			// another file) keeps what its first resource had unmapped.
			m.FHIRExtra = old.Head().FHIRExtra
		}
		// Whether a record is imported history is decided when it is first
		// written: a record of this practice stays its own.
		m.Imported = old.Head().Imported
		if oc, ok := old.(*record.Consultation); ok {
			// What was written in it stays linked; a re-run links nothing new.
			nc := e.(*record.Consultation)
			nc.Linked = record.MergeLinks(oc.Linked, nc.Linked)
		}
		if sameRecord(old, e) {
			return true, nil
		}
		m.Version = old.Head().Version
		action = "update"
	} else {
		m.Version = 0
	}
	if err := tx.Put(e); err != nil {
		return false, err
	}
	pid := m.PatientID
	if p, ok := e.(*record.Patient); ok {
		pid = p.ID
		if err := tx.SetSearchRow(p.ID, find.EncodePatientRow(findDoc(p))); err != nil {
			return false, err
		}
		if t.b.patIdent != nil {
			for _, x := range p.Identifiers {
				t.b.patIdent[x.System+"|"+x.Value] = p.ID
			}
		}
		t.written = append(t.written, p)
	}
	ev := s.event(action, e.Kind(), m.ID, pid, m.Version)
	ev.Reason = reason
	return false, tx.Append(ev)
}

// CreateUser writes a user an import of a practice brings (an admin's import only).
func (t *ImportTx) CreateUser(u *record.User, reason string) error {
	s := t.b.s
	if s.user.Role != record.RoleAdmin {
		return &record.PermissionError{User: s.user.Name, Role: s.user.Role, Action: "create a user by an import"}
	}
	u.RecordedAt, u.RecordedBy = s.p.now().UTC(), s.user.Name
	if err := t.tx.PutUser(u); err != nil {
		return err
	}
	ev := s.event("create", "user", u.Name, "", u.Version)
	ev.Reason = reason
	return t.tx.Append(ev)
}

// sameRecord compares what an import says with what is stored, ignoring who wrote it and when.
func sameRecord(a, b record.Entity) bool {
	norm := func(e record.Entity) []byte {
		h := e.Head()
		saved := *h
		h.Version, h.RecordedAt, h.RecordedBy = 0, time.Time{}, ""
		if c, ok := e.(*record.Consultation); ok {
			links := c.Linked
			c.Linked = nil
			defer func() { c.Linked = links }()
		}
		b, _ := json.Marshal(e)
		*h = saved
		return b
	}
	return bytes.Equal(norm(a), norm(b))
}

// auditKey is what makes two audit events the same event: its chain hash
// when it has one (unique within the trail it was chained in), else its content.
func auditKey(ev *record.AuditEvent) string {
	if ev.Hash != "" {
		return "h:" + ev.Hash
	}
	return ev.At.UTC().Format(time.RFC3339Nano) + "|" + ev.User + "|" + ev.Action + "|" + string(ev.Kind) + "|" + ev.EntityID + "|" +
		strconv.Itoa(ev.Version) + "|" + ev.Outcome + "|" + ev.Query + "|" + ev.Reason
}

// NewAuditEvent reports whether neither the practice's trail, nor a trail
// it imported before, nor this import holds an event yet, and counts it as
// held from now on.
func (t *ImportTx) NewAuditEvent(ev *record.AuditEvent) bool {
	b := t.b
	if b.auditSeen == nil {
		b.auditSeen = map[string]bool{}
		_ = t.tx.Audit(0, func(ev *record.AuditEvent) error {
			b.auditSeen[auditKey(ev)] = true
			return nil
		})
		if r, ok := t.tx.(store.ImportedTrailReader); ok {
			_ = r.ImportedAudit(func(ie *record.ImportedAuditEvent) error {
				b.auditSeen[auditKey(&ie.Event)] = true
				return nil
			})
		}
	}
	k := auditKey(ev)
	if b.auditSeen[k] {
		return false
	}
	b.auditSeen[k] = true
	return true
}

// KeepsImportedTrail reports whether the store can keep an audit trail
// imported from another system.
func (t *ImportTx) KeepsImportedTrail() bool {
	_, ok := t.tx.(store.ImportedTrail)
	return ok
}

// ImportedTrail is what keeping an imported audit trail did.
type ImportedTrail struct {
	Events int
	// Unverified are the events whose own chain did not verify (each kept,
	// labelled with what failed).
	Unverified int
}

// ImportAuditTrail keeps the audit events of another system's trail (source
// names it) as imported history: apart from the practice's own chain, never
// chained as its events, each labelled with its source and with whether its
// own chain verified. One event of the practice's own records the import,
// with the number of events and their digest, so removing or altering one
// later is found by audit verify. Events go in the order of their trail.
func (t *ImportTx) ImportAuditTrail(evs []*record.AuditEvent, source, reason string) (ImportedTrail, error) {
	var res ImportedTrail
	w, ok := t.tx.(store.ImportedTrail)
	if !ok || len(evs) == 0 {
		if !ok {
			return res, store.ErrNoImportedTrail
		}
		return res, nil
	}
	s := t.b.s
	sorted := make([]record.AuditEvent, len(evs))
	for i, ev := range evs {
		sorted[i] = *ev
	}
	slices.SortStableFunc(sorted, func(a, b record.AuditEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	local := s.event("import", "audit", source, "", 0)
	local.Query = fmt.Sprintf("audit trail of %s: %d events kept as imported history (sha256 %s)", source, len(sorted), record.TrailDigest(sorted))
	local.Reason = reason
	if err := t.tx.Append(local); err != nil {
		return res, err
	}
	if local.Seq == 0 {
		// A backend that numbers events at commit (PostgreSQL) numbers
		// them when the transaction reads its own trail: the kept events
		// name the one that records their import.
		if _, _, err := t.tx.AuditHead(); err != nil {
			return res, err
		}
		if local.Seq == 0 {
			return res, fmt.Errorf("the event recording the import of %s's audit trail has no place in the trail", source)
		}
	}
	at := s.p.now().UTC()
	for _, ev := range sorted {
		ie := &record.ImportedAuditEvent{Event: ev, Source: source, ImportedAt: at, ImportedBy: s.user.Name, Batch: local.Seq}
		if err := w.AppendImportedAudit(ie); err != nil {
			return res, err
		}
		res.Events++
		if ie.Problem != "" {
			res.Unverified++
		}
	}
	return res, nil
}

// ImportedAuditEvents lists the audit trails imported from other systems
// (admins only, as the practice's own trail; the listing is audited).
func (s *Service) ImportedAuditEvents(ctx context.Context) ([]*record.ImportedAuditEvent, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	var out []*record.ImportedAuditEvent
	err := s.store().View(ctx, func(tx store.Tx) error {
		r, ok := tx.(store.ImportedTrailReader)
		if !ok {
			return nil
		}
		return r.ImportedAudit(func(ie *record.ImportedAuditEvent) error {
			out = append(out, ie)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", "audit", "", "", 0)
	ev.Query = "imported audit trails"
	return out, s.audit(ctx, ev)
}
