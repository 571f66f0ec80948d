package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ---- writes ----
//
// A write transaction collects the records an action writes and sends them
// when it commits: one request, or one transaction Bundle for several.

type wtx struct {
	tx
	practice *record.Practice
	userPuts []*record.User
	puts     []record.Entity
	audits   []*record.AuditEvent
}

// PutPractice buffers a change of the server's practice, sent first at
// commit (PUT Organization with If-Match; the server lets admins only).
func (w *wtx) PutPractice(p *record.Practice) error {
	if !w.s.gpsoc {
		return &record.PermissionError{Action: "change the practice settings on this server (it is not gpsoc serve)"}
	}
	w.practice = p
	return nil
}

func (w *wtx) sendPractice(p *record.Practice) error {
	if p.Version == 0 { // a server always holds its practice: creating one is stale
		cur, err := w.Practice()
		if err != nil {
			return err
		}
		return &record.ConflictError{What: "practice settings", Msg: fmt.Sprintf("stale version 0 (current %d)", cur.Version), By: cur.RecordedBy, At: cur.RecordedAt}
	}
	c := &fhir.Context{Practice: *p}
	body, err := fhir.Marshal(c.PracticeResource())
	if err != nil {
		return err
	}
	var raw []byte
	if err := w.s.do(w.ctx, "PUT", "Organization/"+url.PathEscape(p.ODS), body, map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, p.Version)}, &raw); err != nil {
		return typed(err, "practice settings")
	}
	var o fhir.Organization
	if err := fhir.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("remote: the updated practice: %w", err)
	}
	got, _ := fhir.PracticeFrom(&o)
	*p = got
	return nil
}

// PutUser buffers a user to create (POST Practitioner) or update (PUT with
// If-Match) on the server at commit, after the practice; admins only, as the
// server says. A token is never sent: tokens are made on the server
// (`gpsoc user token`).
func (w *wtx) PutUser(u *record.User) error {
	if !w.s.gpsoc {
		return &record.PermissionError{Action: "change users on this server (it is not gpsoc serve)"}
	}
	if u.PassHash != "" {
		return &record.PermissionError{Action: "set a passphrase in remote mode (passphrases are kept where the practice file is)"}
	}
	w.userPuts = append(w.userPuts, u)
	return nil
}

func (w *wtx) sendUser(u *record.User) error {
	body, err := fhir.Marshal((&fhir.Context{}).UserResource(*u))
	if err != nil {
		return err
	}
	method, path, hdr := "POST", "Practitioner", map[string]string(nil)
	if u.Version > 0 {
		method, path = "PUT", "Practitioner/"+url.PathEscape(fhir.PractitionerID(u.Name))
		hdr = map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, u.Version)}
	}
	var raw []byte
	if err := w.s.do(w.ctx, method, path, body, hdr, &raw); err != nil {
		return typed(err, "user "+u.Name)
	}
	var p fhir.Practitioner
	if err := fhir.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("remote: the user written: %w", err)
	}
	if got, ok := fhir.UserFromResource(&p); ok {
		*u = got
	}
	return nil
}

// Put buffers a write. A record for a patient that does not exist is refused now.
func (w *wtx) Put(e record.Entity) error {
	e, _ = store.Unprepared(e) // a server encodes FHIR, not our JSON
	if pid := e.Head().PatientID; e.Kind() != record.KindPatient && pid != "" && e.Head().Version == 0 {
		created := false
		for _, x := range w.puts {
			created = created || (x.Kind() == record.KindPatient && x.Head().ID == pid)
		}
		if !created {
			if _, err := w.Get(record.KindPatient, pid); err != nil {
				return err
			}
		}
	}
	w.puts = append(w.puts, e)
	return nil
}

func (w *wtx) SetSearchRow(id string, row []byte) error { return nil }

// Append sends nothing to gpsoc serve: it keeps its own audit trail,
// writing each request it answers under the token's user and its own clock,
// and what only the workstation knows travels with the request it belongs to
// (the reason a sensitive record is opened as X-Access-Reason on its read, a
// find as Patient/$find, a search as Group/$search). Another vendor's
// server records the standard requests it is sent, but a population search
// run here over them (searchAudited) would leave no trace of itself: its
// event, with the search and the count, is sent there as an AuditEvent
// (POST, standard FHIR) when the transaction commits.
func (w *wtx) Append(ev *record.AuditEvent) error {
	if !w.s.gpsoc && searchAudited[ev.Action] {
		w.audits = append(w.audits, ev)
	}
	return nil
}

// searchAudited are the audit actions of a search or explanation run in the
// workstation (clinical.AuditSearches).
var searchAudited = map[string]bool{"search": true, "explain": true}

// sendAudits creates the buffered events on the server. A refusal fails the
// transaction: the caller shows a search only once its event is recorded.
func (w *wtx) sendAudits() error {
	c := w.fctx()
	for _, ev := range w.audits {
		r := c.AuditEventResource(ev, func(k record.Kind) bool { return k == record.KindPatient })
		r.ID = ""
		body, err := fhir.Marshal(r)
		if err != nil {
			return err
		}
		if err := w.s.do(w.ctx, "POST", "AuditEvent", body, nil, nil); err != nil {
			return fmt.Errorf("record the %s's audit event on %s (POST AuditEvent): %w; nothing is shown until it is recorded: let this token create AuditEvent resources there",
				ev.Action, w.s.base, typed(err, "AuditEvent"))
		}
	}
	return nil
}

func (w *wtx) fctx() *fhir.Context {
	u := w.user()
	return &fhir.Context{Practice: w.s.o.Practice, Users: map[string]record.User{u.Name: u}}
}

// resourceOf maps a record to the resource that carries it.
func resourceOf(c *fhir.Context, e record.Entity) (fhir.Resource, error) {
	if r := c.Resource(e, fhir.KindType(e.Kind())); r != nil { // the one mapping
		return r, nil
	}
	return nil, fmt.Errorf("remote: a %s has no FHIR resource", e.Kind())
}

// commit sends the buffered writes: the practice and users first, each on
// its own (version-checked); then the records, one write as a plain create or a
// version-checked update (If-Match), several creates as one transaction
// Bundle. A transaction Bundle is imported under the import rules, which
// keep a record that already exists as it is, so an update never goes in
// one: updates are sent first, each version-checked on its own (a conflict
// stops the commit before anything else is sent), then the creates. The
// server audits each write it makes.
func (w *wtx) commit() error {
	if w.practice != nil {
		if err := w.sendPractice(w.practice); err != nil {
			return err
		}
	}
	for _, u := range w.userPuts {
		if err := w.sendUser(u); err != nil {
			return err
		}
	}
	if err := w.commitPuts(); err != nil {
		return err
	}
	return w.sendAudits()
}

// commitPuts sends the creates (one transaction) before the updates (one
// request each, with If-Match), so that an action that does both and fails
// part way leaves too much rather than too little: a dose change whose new
// prescription is refused has not stopped the old one; a rebooking whose
// new appointment is refused has not cancelled the old.
func (w *wtx) commitPuts() error {
	var creates, updates []record.Entity
	for _, e := range w.puts {
		if e.Head().Version == 0 {
			creates = append(creates, e)
		} else {
			updates = append(updates, e)
		}
	}
	switch len(creates) {
	case 0:
	case 1:
		if err := w.oneCreate(creates); err != nil {
			return err
		}
	default:
		if err := w.bundle(creates); err != nil {
			return err
		}
	}
	for _, e := range updates {
		if err := w.one(e); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) one(e record.Entity) error {
	c := w.fctx()
	m := e.Head()
	typ := fhir.KindType(e.Kind())
	creating := m.Version == 0
	r, err := resourceOf(c, e)
	if err != nil {
		return err
	}
	withRetractionReason(r, m.Retraction)
	var hdr map[string]string
	method, path := "POST", typ
	if creating {
		*r.Head().ID = ""
		if mm := *r.Head().Meta; mm != nil {
			mm.VersionID = ""
		}
	} else {
		method, path = "PUT", typ+"/"+url.PathEscape(m.ID)
		im, err := w.s.ifMatch(w.ctx, typ, m.ID, m.Version)
		if err != nil {
			return typed(err, string(e.Kind())+" "+m.ID)
		}
		hdr = map[string]string{"If-Match": im}
	}
	body, err := fhir.Marshal(r)
	if err != nil {
		return err
	}
	var raw []byte
	rh, err := w.s.doH(w.ctx, method, path, body, hdr, &raw)
	if err != nil {
		err = typed(err, string(e.Kind())+" "+m.ID)
		if w.retractedAlready(e, err) {
			return nil
		}
		return err
	}
	if len(raw) > 0 {
		if got, err := fhir.Parse(raw); err == nil && *got.Head().ID != "" {
			m.ID = *got.Head().ID
			if m.Version, err = w.s.version(w.ctx, got); err != nil {
				return err
			}
			if at := lastUpdated(got); !at.IsZero() {
				m.RecordedAt = at
			}
			return nil
		}
	}
	// return=minimal servers: the Location header names id and version.
	if loc := rh.Get("Location"); loc != "" {
		if id, v, ok := locationID(loc, typ); ok {
			m.ID, m.Version = id, v
			return nil
		}
	}
	if creating {
		return fmt.Errorf("remote: the server did not say which id it gave the new %s", e.Kind())
	}
	m.Version++
	return nil
}

// retractedAlready reports whether a refused entered-in-error update was
// made moot by the server itself: entering a consultation in error there
// takes what was written in it along (as locally), so the workstation's own
// update of those records, sent next, finds them already entered in error
// by the same user for the same reason. The record takes the server's version.
func (w *wtx) retractedAlready(e record.Entity, err error) bool {
	var ce *record.ConflictError
	m := e.Head()
	if !errors.As(err, &ce) || m.Status != record.StatusEnteredInError || m.Retraction == nil {
		return false
	}
	cur, gerr := w.Get(e.Kind(), m.ID)
	if gerr != nil {
		return false
	}
	cm := cur.Head()
	if cm.Status != record.StatusEnteredInError || cm.Retraction == nil ||
		cm.Retraction.Reason != m.Retraction.Reason || cm.Retraction.By != m.Retraction.By {
		return false
	}
	m.Version, m.RecordedAt = cm.Version, cm.RecordedAt
	return true
}

// locationID reads Type/id/_history/v from a Location.
func locationID(loc, typ string) (string, int, bool) {
	i := strings.Index(loc, typ+"/")
	if i < 0 {
		return "", 0, false
	}
	parts := strings.Split(loc[i+len(typ)+1:], "/")
	v := 1
	if len(parts) >= 3 && parts[1] == "_history" {
		fmt.Sscan(parts[2], &v)
	}
	return parts[0], v, parts[0] != ""
}

// bundle sends several creates as one transaction: new records carry ids
// chosen here (and urn:uuid fullUrls), so they can refer to each other.
func (w *wtx) bundle(puts []record.Entity) error {
	c := w.fctx()
	b := &fhir.Bundle{ResourceType: "Bundle", Type: "transaction"}
	created := map[string]string{} // "Type/id" -> urn
	for _, e := range puts {
		m := e.Head()
		if m.Version == 0 {
			if m.ID == "" {
				m.ID = uuid.Must(uuid.NewV7()).String()
			}
			created[fhir.KindType(e.Kind())+"/"+m.ID] = "urn:uuid:" + m.ID
		}
	}
	for _, e := range puts {
		m := e.Head()
		r, err := resourceOf(c, e)
		if err != nil {
			return err
		}
		raw, err := fhir.Marshal(r)
		if err != nil {
			return err
		}
		s := string(raw)
		for ref, urn := range created {
			s = strings.ReplaceAll(s, `"reference":"`+ref+`"`, `"reference":"`+urn+`"`)
		}
		en := fhir.BundleEntry{Resource: json.RawMessage(s), FullURL: "urn:uuid:" + m.ID,
			Request: &fhir.BundleRequest{Method: "POST", URL: fhir.KindType(e.Kind())}}
		b.Entry = append(b.Entry, en)
	}
	if err := w.partsOf(c, b, puts, created); err != nil {
		return err
	}
	body, err := fhir.Marshal(b)
	if err != nil {
		return err
	}
	var raw []byte
	if err := w.s.do(w.ctx, "POST", "", body, nil, &raw); err != nil {
		return typed(err, "transaction")
	}
	var resp fhir.Bundle
	_ = fhir.Unmarshal(raw, &resp)
	given := map[string]string{} // the id chosen here -> the id the server gave
	for i, e := range puts {
		m := e.Head()
		if i < len(resp.Entry) && resp.Entry[i].Response != nil {
			if id, v, ok := locationID(resp.Entry[i].Response.Location, fhir.KindType(e.Kind())); ok {
				given[m.ID] = id
				m.ID, m.Version = id, v
				continue
			}
		}
		m.Version++
	}
	for _, e := range puts {
		relink(e, given)
	}
	return nil
}

// relink points the records written together at the ids the server gave
// them (the server's actions choose the ids of what they create).
func relink(e record.Entity, given map[string]string) {
	to := func(id *string) {
		if n, ok := given[*id]; ok {
			*id = n
		}
	}
	switch x := e.(type) {
	case *record.Consultation:
		to(&x.ProblemID)
		for i := range x.Linked {
			to(&x.Linked[i].ID)
		}
	case *record.Observation:
		to(&x.ConsultationID)
	case *record.Problem:
		to(&x.ConsultationID)
	case *record.Allergy:
		to(&x.ConsultationID)
	case *record.Medication:
		to(&x.Replaces)
	}
}
