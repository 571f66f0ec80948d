package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// Mapping one unit (a Bundle, or a patient's part of a bulk set) to records
// and writing them through the import's transaction.

var errUnitRejected = errors.New("unit rejected")

// run writes one unit in one transaction, all or nothing.
// batchItems is how many resources are written per transaction: several
// bundles go in one transaction (fewer fsyncs); when one of them is
// rejected the transaction is rolled back and its bundles are written one
// transaction each, so each bundle is still all or nothing.
const batchItems = 4000

// runBatch writes units in one transaction.
func (im *importer) runBatch(ctx context.Context, units []*funit) error {
	var live []*funit
	for _, u := range units {
		if len(u.items) > 0 && !u.rejected {
			live = append(live, u)
		}
	}
	if len(live) == 0 {
		return nil
	}
	var failed *funit
	err := im.b.Batch(ctx, im.o.DryRun, func(tx *clinical.ImportTx) error {
		failed = nil
		for _, u := range live {
			if err := im.apply(tx, u); err != nil {
				if err == errUnitRejected {
					failed = u
				}
				return err
			}
		}
		return nil
	})
	if err == errUnitRejected || err == nil && im.o.DryRun {
		// The users may hold what was rolled back.
		if lerr := im.loadUsers(ctx); lerr != nil {
			return lerr
		}
	}
	if err == errUnitRejected {
		if len(live) > 1 {
			for _, u := range live {
				if err := im.runBatch(ctx, []*funit{u}); err != nil {
					return err
				}
			}
			return nil
		}
		for _, it := range failed.items {
			it.out, it.why = outRejected, ""
		}
		for _, r := range failed.rejs {
			im.reject(r)
		}
		im.sum.RejectedBundles++
		return nil
	}
	return err
}

// apply maps and writes one unit within a transaction; errUnitRejected (with
// u.rejs) when any of its resources cannot be taken.
func (im *importer) apply(tx *clinical.ImportTx, u *funit) error {
	// Reset what a retried transaction may have set.
	u.rejs = nil
	audits := map[string][]*record.AuditEvent{} // by the system the trail came from
	for _, it := range u.items {
		if !it.fixed && it.res != nil {
			it.out, it.why, it.target, it.recID = outNone, "", nil, ""
		}
	}
	rs := &resolver{im: im, tx: tx}
	unitSource := "" // the practice this unit came from, when it names one
	patientFailed := false
	fail := func(it *fitem, err error) {
		if it.typ == "Patient" {
			patientFailed = true
		} else if patientFailed && strings.Contains(err.Error(), "resolve") {
			return // follows from the patient's own rejection
		}
		rj := FHIRRejection{File: it.file, Entry: it.entry, Path: it.typ, Reason: err.Error()}
		var pe *fhir.PathError
		var ve *record.ValidationError
		switch {
		case errors.As(err, &pe):
			rj.Path, rj.Reason = pe.Path, pe.Msg
		case errors.As(err, &ve):
			rj.Path = it.typ + "(" + ve.Field + ")"
			rj.Reason = fmt.Sprintf("%q: %s", ve.Value, ve.Reason)
		}
		u.rejs = append(u.rejs, rj)
	}
	items := append([]*fitem(nil), u.items...)
	sort.SliceStable(items, func(i, j int) bool { return phase(items[i]) < phase(items[j]) })
	var targets []*ftarget
	newTarget := func(it *fitem, e record.Entity) *ftarget {
		t := &ftarget{e: e, first: it}
		if e != nil && fhir.Sensitive(it.res) {
			e.Head().Sensitive = true
		}
		it.target = t
		targets = append(targets, t)
		return t
	}
	consults := map[string]*ftarget{} // record id -> consultation target
	meds := map[string]*ftarget{}
	byItem := map[*fitem]*ftarget{}
	// Pre-assign record ids so references resolve whatever the order.
	for _, it := range items {
		if it.res == nil || it.out == outSkipped {
			continue
		}
		switch it.typ {
		case "Encounter", "Condition", "Observation", "Procedure", "MedicationRequest", "MedicationStatement",
			"AllergyIntolerance", "Immunization", "Appointment", "Task", "Schedule":
			salt := ""
			if pr := patientRef(it.res); pr != nil {
				salt = pr.Reference
			}
			it.recID = recordID(it, salt)
		}
	}
	for _, it := range items {
		if it.res == nil || it.out == outSkipped {
			continue
		}
		rs.from = it
		var e record.Entity
		var n []fhir.Note
		var err error
		switch x := it.res.(type) {
		case *fhir.Organization:
			it.out, it.why = outSkipped, "reference data: an organisation is not written (its name is used by the records that refer to it)"
			for _, id := range x.Identifier {
				switch {
				case id.System == record.SystemODS && id.Value == im.practice.ODS:
					it.out, it.why = outSkipped, "this practice"
				case id.System == record.SystemODS && id.Value != "":
					// The practice this unit's history (and an audit trail) came from.
					src := strings.TrimSpace(x.Name + " (ODS " + id.Value + ")")
					if unitSource == "" {
						unitSource = src
					}
					if im.source == "" {
						im.source = src
					}
				}
			}
			continue
		case *fhir.Practitioner:
			usr, ok := fhir.UserFrom(x)
			switch {
			case !ok:
				it.out, it.why = outSkipped, "reference data: not a user of this practice (its name is kept on the records that refer to it)"
			case im.users[usr.Name].Name != "":
				it.out, it.why = outSkipped, "unchanged: user already exists"
			case !im.b.IsAdmin():
				it.out, it.why = outSkipped, "a new user is created only when an admin imports"
			case record.ValidUserName(usr.Name) != nil:
				err = record.Invalid("name", usr.Name, "not a valid user name")
			default:
				t := newTarget(it, nil)
				t.user = &usr
			}
			if err != nil {
				fail(it, err)
			}
			continue
		case *fhir.Patient:
			if err = im.patient(tx, rs, it); err != nil {
				fail(it, err)
			}
			continue
		case *fhir.Encounter:
			var c *record.Consultation
			if c, n, err = fhir.ConsultationFrom(x, rs); err == nil {
				e = c
				c.ID = it.recID
				consults[c.ID] = newTarget(it, c)
				byItem[it] = it.target
				e = nil
			}
		case *fhir.Condition, *fhir.AllergyIntolerance, *fhir.Immunization, *fhir.Appointment, *fhir.Schedule, *fhir.Task:
			e, n, err = fhir.RecordFrom(x, rs)
		case *fhir.Observation:
			if fhir.IsCodedEntry(x) {
				var ce record.CodedEntry
				if ce, n, err = fhir.EntryFromObservation(x); err == nil {
					t, err2 := im.entryTarget(tx, rs, it, x.Encounter, x.Subject, x.EffectiveDateTime, consults, newTarget)
					if err = err2; err == nil {
						addEntry(t, ce, it)
					}
				}
				e = nil
			} else {
				e, n, err = fhir.ObservationFrom(x, rs)
			}
		case *fhir.Procedure:
			var ce record.CodedEntry
			if ce, n, err = fhir.EntryFromProcedure(x); err == nil {
				when := x.PerformedDateTime
				if when == "" && x.PerformedPeriod != nil {
					when = x.PerformedPeriod.Start
				}
				t, err2 := im.entryTarget(tx, rs, it, x.Encounter, &x.Subject, when, consults, newTarget)
				if err = err2; err == nil {
					addEntry(t, ce, it)
				}
			}
		case *fhir.MedicationRequest:
			if plan := im.planOf(it, x); plan != nil {
				var is record.Issue
				if is, err = fhir.IssueFrom(x, rs); err == nil {
					t := byItem[plan]
					if t == nil {
						t, err = im.storedMed(tx, plan.recID, meds, newTarget, it)
					}
					if err == nil && t != nil {
						m := t.e.(*record.Medication)
						if !hasIssue(m, is) {
							m.Issues = append(m.Issues, is)
						}
						it.target = t
					} else if err == nil {
						it.out, it.why = outSkipped, "an issue whose authorisation is not in the import or the record"
					}
				}
			} else {
				var m *record.Medication
				if m, n, err = fhir.MedicationFrom(x, im.medCode(it, x.MedicationReference), rs); err == nil {
					m.ID = it.recID
					e = m
					t := newTarget(it, m)
					meds[m.ID], byItem[it] = t, t
					e = nil
				}
			}
		case *fhir.MedicationStatement:
			rep := false
			for i := range x.BasedOn {
				if t := im.lookup(it, &x.BasedOn[i], "MedicationRequest"); t != nil {
					rep = true
				}
			}
			if rep {
				it.out, it.why = outSkipped, "represented by the MedicationRequest it is based on"
				continue
			}
			e, n, err = fhir.MedicationFromStatement(x, im.medCode(it, x.MedicationReference), rs)
		case *fhir.Provenance:
			rt, ok := fhir.RetractionFrom(x, rs)
			if !ok {
				it.out, it.why = outSkipped, "provenance from the source system is not kept"
				continue
			}
			var tt *fitem
			if len(x.Target) > 0 {
				tt = im.lookup(it, &x.Target[0], "")
			}
			if tt == nil || tt.target == nil || tt.target.e == nil || fhir.KindType(tt.target.e.Kind()) != tt.typ {
				it.out, it.why = outSkipped, "its target is not a record in this import"
				continue
			}
			tt.target.e.Head().Retraction = rt
			it.target = tt.target
			continue
		case *fhir.AuditEvent:
			ev, ok := fhir.AuditEventFrom(x)
			if !ok {
				it.out, it.why = outSkipped, "an audit event from another system is not kept"
				continue
			}
			if !tx.KeepsImportedTrail() {
				it.out, it.why = outSkipped, "this store does not keep another system's audit trail (the server keeps its own)"
				continue
			}
			if !tx.NewAuditEvent(ev) {
				it.out, it.why = outSkipped, "unchanged: already in the audit trail"
				continue
			}
			src := fhir.ImportedFrom(x) // a trail this one had imported keeps its own source
			if src == "" {
				src = im.source
			}
			if src == "" {
				src = "another system (" + u.file + ")"
			}
			audits[src] = append(audits[src], ev)
			it.out = outImported
			continue
		case *fhir.Raw:
			switch it.typ {
			case "Medication":
				it.out, it.why = outSkipped, "reference data: its code is kept on the medication that refers to it"
			case "Location", "PractitionerRole":
				it.out, it.why = outSkipped, "reference data: its name is kept on the records that refer to it"
			default:
				it.out, it.why = outSkipped, "unsupported resource type: not part of the GP record"
			}
			continue
		case *fhir.Bundle:
			it.out, it.why = outSkipped, "a bundle inside a bundle is not read"
			continue
		case *fhir.OperationOutcome:
			it.out, it.why = outSkipped, "an OperationOutcome carries no record"
			continue
		default:
			it.out, it.why = outSkipped, "unsupported resource type"
			continue
		}
		im.flag(n)
		if err != nil {
			fail(it, err)
			continue
		}
		if e != nil {
			e.Head().ID = it.recID
			newTarget(it, e)
		}
	}
	if len(u.rejs) > 0 {
		return errUnitRejected
	}
	// Link consultations to what was written in them.
	for _, t := range targets {
		if t.e == nil {
			continue
		}
		var cid string
		switch x := t.e.(type) {
		case *record.Problem:
			cid = x.ConsultationID
		case *record.Observation:
			cid = x.ConsultationID
		case *record.Allergy:
			cid = x.ConsultationID
		}
		if c := consults[cid]; c != nil {
			cn := c.e.(*record.Consultation)
			cn.Linked = record.MergeLinks(cn.Linked, []record.LinkedEntry{{Kind: t.e.Kind(), ID: t.e.Head().ID}})
		}
	}
	// Write.
	reason := "import fhir " + u.file
	for _, t := range targets {
		it := t.first
		if t.user != nil {
			if err := tx.CreateUser(t.user, reason); err != nil {
				fail(it, err)
				return errUnitRejected
			}
			im.users[t.user.Name] = *t.user
			t.written = true
			continue
		}
		if t.e == nil || t.same {
			continue
		}
		if m := t.e.Head(); m.Version == 0 && m.Imported == nil {
			// History from another system: marked imported, its author kept as data.
			rs.from = it
			m.Imported = im.importedFrom(it, rs, unitSource)
		}
		if err := im.write(tx, t, reason); err != nil {
			fail(it, err)
			return errUnitRejected
		}
	}
	// Kept as imported history, apart from this practice's chain.
	for _, source := range slices.Sorted(maps.Keys(audits)) {
		kept, err := tx.ImportAuditTrail(audits[source], source, reason)
		if err != nil {
			return err
		}
		if kept.Unverified > 0 {
			if im.sum.Flagged == nil {
				im.sum.Flagged = map[string]int{}
			}
			im.sum.Flagged["audit events kept as imported history whose own chain does not verify (labelled so)"] += kept.Unverified
		}
	}
	return nil
}

func (im *importer) loadUsers(ctx context.Context) error {
	pr, us, err := im.b.Directory(ctx)
	if err != nil {
		return err
	}
	im.practice = pr
	im.users = make(map[string]record.User, len(us))
	for _, u := range us {
		im.users[u.Name] = u
	}
	return nil
}

// patient matches a Patient against the practice (NHS number, id, other
// identifiers): an existing patient is never changed by an import.
func (im *importer) patient(tx *clinical.ImportTx, rs *resolver, it *fitem) error {
	p, n, err := fhir.PatientFrom(it.res.(*fhir.Patient), rs)
	im.flag(n)
	if err != nil {
		return err
	}
	if err := tx.Prepare(p); err != nil {
		return err
	}
	var existing *record.Patient
	how := ""
	if p.NHSNumber != "" {
		if e, err := tx.PatientByNHS(p.NHSNumber); err == nil {
			existing, how = e, "NHS number"
		}
	}
	recID := recordID(it, "")
	if existing == nil {
		if e, err := tx.Get(record.KindPatient, recID); err == nil {
			existing, how = e.(*record.Patient), "id"
		}
	}
	if existing == nil {
		for _, x := range p.Identifiers {
			if id := tx.PatientByIdentifier(x.System, x.Value); id != "" {
				if e, err := tx.Get(record.KindPatient, id); err == nil {
					existing, how = e.(*record.Patient), "identifier "+x.System
					break
				}
			}
		}
	}
	if existing != nil {
		it.recID = existing.ID
		t := &ftarget{e: existing, first: it}
		it.target = t
		if clinical.SamePatient(existing, p) {
			t.same = true
		} else {
			it.out, it.why = outSkipped, "matched an existing patient by "+how+": demographics are not changed by an import (use patient update)"
		}
		return nil
	}
	p.ID = recID
	it.recID = recID
	t := &ftarget{e: p, first: it}
	it.target = t
	return im.write(tx, t, "import fhir "+it.file)
}

// write writes one record through the import's transaction (the services'
// checks, one audit event).
func (im *importer) write(tx *clinical.ImportTx, t *ftarget, reason string) error {
	same, err := tx.Write(t.e, reason)
	if err != nil {
		return err
	}
	t.same, t.written = same, !same
	return nil
}

func addEntry(t *ftarget, ce record.CodedEntry, it *fitem) {
	c := t.e.(*record.Consultation)
	for _, x := range c.Entries {
		if x.Code == ce.Code && x.Text == ce.Text {
			it.target = t
			return
		}
	}
	c.Entries = append(c.Entries, ce)
	it.target = t
}

// entryTarget is the consultation a coded entry (Procedure, value-less
// Observation) goes into: its Encounter's, else one of its own.
func (im *importer) entryTarget(tx *clinical.ImportTx, rs *resolver, it *fitem, enc, subj *fhir.Reference, when string,
	consults map[string]*ftarget, newTarget func(*fitem, record.Entity) *ftarget) (*ftarget, error) {
	if enc != nil {
		if id := rs.ID(enc, "Encounter"); id != "" {
			if t := consults[id]; t != nil {
				return t, nil
			}
			if e, err := tx.Get(record.KindConsultation, id); err == nil {
				t := newTarget(it, e)
				consults[id] = t
				return t, nil
			}
		}
	}
	pid := ""
	if subj != nil {
		pid = rs.ID(subj, "Patient")
	}
	if pid == "" {
		return nil, &fhir.PathError{Path: it.typ + ".subject", Msg: "reference does not resolve to a patient in this import or the practice"}
	}
	start, err := fhir.Time(when, it.typ+".performed[x]")
	if err != nil {
		return nil, err
	}
	if start.IsZero() {
		return nil, &fhir.PathError{Path: it.typ, Msg: "outside a consultation, a coded entry needs its date"}
	}
	c := &record.Consultation{Type: "surgery", Start: start, Clinician: fhir.ClinicianNotRecorded}
	c.ID, c.PatientID = it.recID, pid
	if t := consults[c.ID]; t != nil {
		return t, nil
	}
	t := newTarget(it, c)
	consults[c.ID] = t
	return t, nil
}

func (im *importer) planOf(it *fitem, x *fhir.MedicationRequest) *fitem {
	if x.Intent != "order" {
		return nil
	}
	for i := range x.BasedOn {
		if t := im.lookup(it, &x.BasedOn[i], "MedicationRequest"); t != nil {
			if p, ok := t.res.(*fhir.MedicationRequest); ok && p != x {
				return t
			}
		}
	}
	return nil
}

func (im *importer) storedMed(tx *clinical.ImportTx, id string, meds map[string]*ftarget, newTarget func(*fitem, record.Entity) *ftarget, it *fitem) (*ftarget, error) {
	if t := meds[id]; t != nil {
		return t, nil
	}
	e, err := tx.Get(record.KindMedication, id)
	if err != nil {
		return nil, nil
	}
	t := newTarget(it, e)
	meds[id] = t
	return t, nil
}

func hasIssue(m *record.Medication, is record.Issue) bool {
	for _, x := range m.Issues {
		if x.At.Equal(is.At) && x.Quantity == is.Quantity {
			return true
		}
	}
	return false
}

// medCode reads the code of a Medication resource a request refers to.
func (im *importer) medCode(it *fitem, r *fhir.Reference) *fhir.CodeableConcept {
	if r == nil {
		return nil
	}
	t := im.lookup(it, r, "Medication")
	if t == nil {
		return nil
	}
	raw, ok := t.res.(*fhir.Raw)
	if !ok {
		return nil
	}
	var v struct {
		Code *fhir.CodeableConcept `json:"code"`
	}
	_ = json.Unmarshal(raw.JSON, &v)
	return v.Code
}

// importedFrom is the import mark of the record an item maps to: the mark
// it already carries (a record imported before keeps its first source),
// else this import's source and the author and time the resource gives.
func (im *importer) importedFrom(it *fitem, rs *resolver, unitSource string) *record.ImportedFrom {
	if it.res == nil {
		return &record.ImportedFrom{Source: "another system (FHIR import)"}
	}
	if f := fhir.ImportedOf(it.res); f != nil {
		return f
	}
	src := unitSource
	if src == "" {
		src = im.source
	}
	if src == "" {
		src = "another system (FHIR import)"
	}
	author, at := fhir.AuthorOf(it.res, rs)
	f := &record.ImportedFrom{Source: src, Author: author}
	if at != "" {
		if t, err := fhir.Time(at, ""); err == nil {
			f.At = t.UTC()
		}
	}
	return f
}
