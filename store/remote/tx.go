package remote

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

type tx struct {
	s   *Store
	ctx context.Context
}

// ---- practice and users ----
//
// Against `gpsoc serve` they are the server's: the practice is its
// Organization (id = ODS code) and the users its Practitioners, role and
// prescriber flag in the record-extra extension (fhir/practice.go), read by
// any user and changed by an admin with If-Match. Another vendor's server
// holds no such thing: the practice and acting user of the options stand in.

func (t *tx) Practice() (*record.Practice, error) {
	if !t.s.gpsoc {
		p := t.s.o.Practice
		p.Settings = map[string]string{}
		for k, v := range t.s.o.Practice.Settings {
			p.Settings[k] = v
		}
		return &p, nil
	}
	var found *record.Practice
	_, err := t.s.search(t.ctx, "Organization", url.Values{}, func(r fhir.Resource) error {
		if p, ok := fhir.PracticeFrom(r.(*fhir.Organization)); ok && found == nil && p.ODS != "" {
			found = &p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &record.NotFoundError{Kind: "practice", ID: t.s.base}
	}
	return found, nil
}

func (t *tx) user() record.User {
	return record.User{Name: t.s.o.User, Role: t.s.o.Role, Prescriber: t.s.o.Role == record.RoleGP}
}

// users reads the server's users (one when name is given).
func (t *tx) users(name string) ([]record.User, error) {
	q := url.Values{}
	if name != "" {
		q.Set("identifier", fhir.SystemUserName+"|"+name)
	}
	var out []record.User
	_, err := t.s.search(t.ctx, "Practitioner", q, func(r fhir.Resource) error {
		if u, ok := fhir.UserFromResource(r.(*fhir.Practitioner)); ok && (name == "" || u.Name == name) {
			out = append(out, u)
		}
		return nil
	})
	return out, err
}

func (t *tx) User(name string) (*record.User, error) {
	if !t.s.gpsoc {
		if u := t.user(); name == u.Name && name != "" {
			return &u, nil
		}
		return nil, &record.NotFoundError{Kind: "user", ID: name}
	}
	us, err := t.users(name)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 || name == "" {
		return nil, &record.NotFoundError{Kind: "user", ID: name}
	}
	return &us[0], nil
}

func (t *tx) Users() ([]record.User, error) {
	if !t.s.gpsoc {
		if t.s.o.User == "" {
			return nil, nil
		}
		return []record.User{t.user()}, nil
	}
	return t.users("")
}

// Token and Tokens: tokens are the server's secret, and no FHIR resource
// carries their hashes, so a client finds none.
func (t *tx) Token(hash string) (*record.Token, error) {
	return nil, &record.NotFoundError{Kind: "token", ID: "(hash)"}
}

func (t *tx) Tokens(user string) ([]record.Token, error) {
	return nil, &record.PermissionError{Action: "list tokens in remote mode (tokens are the server's: list them there)"}
}

// Remote marks a transaction over a server: user changes that revoke
// tokens there (disabling) are the server's to carry out.
func (w *wtx) Remote() bool { return true }

// PutToken and DeleteToken: tokens are made and revoked on the server
// (`gpsoc user token` there; POST /revoke, or disabling the user, over the API).
func (w *wtx) PutToken(tk *record.Token) error {
	return &record.PermissionError{Action: "make a token or session in remote mode (the server makes them: gpsoc user token " + tk.User + " there)"}
}

func (w *wtx) DeleteToken(hash string) error {
	return &record.PermissionError{Action: "revoke a token in remote mode by its id (disable the user, or POST /revoke with the token)"}
}

// ---- records ----

type resolver struct{ users map[string]bool }

func (resolver) ID(r *fhir.Reference, t string) string {
	if r == nil || r.Reference == "" {
		return ""
	}
	ref := strings.Split(r.Reference, "/_history/")[0]
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != t {
		return ""
	}
	return parts[len(parts)-1]
}

func (rs resolver) User(r *fhir.Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	if id, ok := strings.CutPrefix(r.Reference, "Practitioner/"); ok && rs.users[id] {
		return id, true
	}
	return "", false
}

func (rs resolver) Who(r *fhir.Reference) string {
	if n, ok := rs.User(r); ok {
		return n
	}
	if r == nil {
		return ""
	}
	return r.Display
}

func (t *tx) resolver() resolver {
	return resolver{users: map[string]bool{fhir.PractitionerID(t.s.o.User): true}}
}

// entity maps a resource to the record it holds, with the server's id and version.
func (t *tx) entity(r fhir.Resource) (record.Entity, error) { return t.mapped(r, true) }

// mapped maps a resource to its record; without version the record's
// Version is 0 (a server with opaque version ids would be asked for the
// resource's history).
func (t *tx) mapped(r fhir.Resource, version bool) (record.Entity, error) {
	if fhir.KindsOfType(r.FHIRType()) == nil {
		return nil, fmt.Errorf("remote: %s is not a record type", r.FHIRType())
	}
	e, _, err := fhir.RecordFrom(r, t.resolver()) // the one mapping
	if err != nil {
		return nil, fmt.Errorf("remote: %s/%s: %w", r.FHIRType(), *r.Head().ID, err)
	}
	fhir.ReadAPIRecord(r, e)
	m := e.Head()
	m.ID = *r.Head().ID
	m.Version = 0
	if version {
		if m.Version, err = t.s.version(t.ctx, r); err != nil {
			return nil, err
		}
	}
	if at := lastUpdated(r); !at.IsZero() {
		m.RecordedAt = at
	}
	if m.Status == "" {
		if p, ok := e.(*record.Patient); ok {
			p.Status = record.PatientActive
		}
	}
	return e, nil
}

func (t *tx) read(typ, id string) (fhir.Resource, error) {
	var raw []byte
	if err := t.s.do(t.ctx, "GET", typ+"/"+url.PathEscape(id), nil, nil, &raw); err != nil {
		return nil, typed(err, typ+" "+id)
	}
	return fhir.Parse(raw)
}

func (t *tx) Get(kind record.Kind, id string) (record.Entity, error) {
	if id == "" {
		return nil, &record.NotFoundError{Kind: string(kind), ID: id}
	}
	r, err := t.read(fhir.KindType(kind), id)
	if err != nil {
		if record.IsNotFound(err) {
			return nil, &record.NotFoundError{Kind: string(kind), ID: id}
		}
		return nil, err
	}
	e, err := t.entity(r)
	if err != nil {
		return nil, err
	}
	if e.Kind() != kind {
		return nil, &record.NotFoundError{Kind: string(kind), ID: id}
	}
	return e, nil
}

func (t *tx) Versions(kind record.Kind, id string) ([]record.Entity, error) {
	typ := fhir.KindType(kind)
	var raw []byte
	if err := t.s.do(t.ctx, "GET", typ+"/"+url.PathEscape(id)+"/_history", nil, nil, &raw); err != nil {
		return nil, typed(err, string(kind)+" "+id)
	}
	var b fhir.Bundle
	if err := fhir.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	var out []record.Entity
	for i := len(b.Entry) - 1; i >= 0; i-- { // history is newest first; Versions is oldest first
		if len(b.Entry[i].Resource) == 0 { // a deletion (other servers)
			continue
		}
		r, err := fhir.Parse(b.Entry[i].Resource)
		if err != nil {
			return nil, err
		}
		vid := versionID(r)
		if m := *r.Head().Meta; m != nil {
			m.VersionID = "" // numbered by place below, without asking the server again
		}
		e, err := t.entity(r)
		if err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(vid); err == nil {
			e.Head().Version = n
		} else {
			e.Head().Version = len(out) + 1
		}
		out = append(out, e)
	}
	return out, nil
}

func (t *tx) PatientByNHS(nhs string) (*record.Patient, error) {
	var found *record.Patient
	_, err := t.s.search(t.ctx, "Patient", url.Values{"identifier": {record.SystemNHS + "|" + nhs}}, func(r fhir.Resource) error {
		e, err := t.entity(r)
		if err == nil && found == nil {
			found = e.(*record.Patient)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &record.NotFoundError{Kind: "patient", ID: nhs}
	}
	return found, nil
}

func (t *tx) List(patientID string, kind record.Kind) ([]record.Entity, error) {
	if kind == record.KindPatient || kind == record.KindSession {
		return nil, nil
	}
	out := []record.Entity{}
	var meds []fhir.Resource
	_, err := t.s.search(t.ctx, fhir.KindType(kind), url.Values{"patient": {"Patient/" + patientID}}, func(r fhir.Resource) error {
		if kind == record.KindMedication { // issues fold into their plans
			meds = append(meds, r)
			return nil
		}
		e, err := t.entity(r)
		if err != nil {
			return err
		}
		if e.Kind() == kind {
			out = append(out, e)
		}
		return nil
	})
	if err == nil && len(meds) > 0 {
		es, err := t.medicines(meds, true)
		return append(out, es...), err
	}
	return out, err
}

// ForEach walks patients by standard search; other kinds patient by patient.
func (t *tx) ForEach(kind record.Kind, fn func(record.Entity) error) error {
	if kind == record.KindSession {
		return t.forEachSession(fn)
	}
	if kind == record.KindPatient {
		_, err := t.s.search(t.ctx, "Patient", url.Values{}, func(r fhir.Resource) error {
			e, err := t.entity(r)
			if err != nil {
				return err
			}
			return fn(e)
		})
		return err
	}
	var ids []string
	if err := t.ForEach(record.KindPatient, func(e record.Entity) error { ids = append(ids, e.Head().ID); return nil }); err != nil {
		return err
	}
	for _, id := range ids {
		es, err := t.List(id, kind)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tx) Count(kind record.Kind) int {
	if kind == record.KindPatient {
		if n, err := t.s.search(t.ctx, "Patient", url.Values{"_count": {"0"}}, func(fhir.Resource) error { return nil }); err == nil && n >= 0 {
			return n
		}
	}
	n := 0
	_ = t.ForEach(kind, func(record.Entity) error { n++; return nil })
	return n
}

// SearchRows derives each patient's find row from a standard search, so the
// local find index works against any server.
func (t *tx) SearchRows(fn func(id string, row []byte) error) error {
	if t.s.o.SearchRow == nil {
		return nil
	}
	return t.ForEach(record.KindPatient, func(e record.Entity) error {
		return fn(e.Head().ID, t.s.o.SearchRow(e.(*record.Patient)))
	})
}

// Changes follows every resource type a patient's record is made of by
// lastUpdated (standard search, type by type: _lastUpdated=gt…,
// _sort=_lastUpdated), naming the patient each changed resource belongs to;
// the sequence is the server's lastUpdated in Unix milliseconds, so the
// server's clock orders it. The server is asked at most every PollEvery;
// callers in between are answered from the last poll (changes.go), so a find
// typed live, the find list, an open record and the task inbox share one
// poll and none of them starves the others.
//
// Against `gpsoc serve` it follows the server's own change sequence through
// Patient/$changes instead: exact, where a clock can miss a write that
// commits after a later one was seen.
func (t *tx) Changes(after uint64, fn func(seq uint64, patientID string) error) (uint64, error) {
	s := t.s
	if after == store.ChangesHead {
		if s.gpsoc {
			last, _, err := t.feedPoll(after)
			return last, err
		}
		return t.typesHead()
	}
	return s.changes.answer(after, s.o.PollEvery, func(from uint64) (uint64, []change, error) {
		if s.gpsoc {
			return t.feedPoll(from)
		}
		return t.typesPoll(from)
	}, fn)
}

var errStopSearch = errors.New("stop search")

// lateCommit is how far back a change cursor on another vendor's server
// looks again for writes that committed after later-stamped ones.
const lateCommit = 2 * time.Second

// feedPoll reads Patient/$changes page by page (head: the latest sequence only).
func (t *tx) feedPoll(after uint64) (uint64, []change, error) {
	s := t.s
	head := after == store.ChangesHead
	type part struct {
		Name           string `json:"name"`
		ValueString    string `json:"valueString"`
		ValueBoolean   bool   `json:"valueBoolean"`
		ValueReference struct {
			Reference string `json:"reference"`
		} `json:"valueReference"`
		Part []part `json:"part"`
	}
	var out []change
	for {
		q := url.Values{"after": {strconv.FormatUint(after, 10)}}
		if head {
			q = url.Values{"_count": {"0"}}
		}
		var res struct {
			Parameter []part `json:"parameter"`
		}
		if err := s.do(t.ctx, "GET", "Patient/$changes?"+q.Encode(), nil, nil, &res); err != nil {
			return after, nil, typed(err, "patient changes")
		}
		last, more := after, false
		for _, p := range res.Parameter {
			switch p.Name {
			case "last":
				n, err := strconv.ParseUint(p.ValueString, 10, 64)
				if err != nil {
					return after, nil, fmt.Errorf("remote: Patient/$changes: last %q: %w", p.ValueString, err)
				}
				last = n
			case "more":
				more = p.ValueBoolean
			case "change":
				var seq uint64
				var id string
				for _, x := range p.Part {
					switch x.Name {
					case "seq":
						seq, _ = strconv.ParseUint(x.ValueString, 10, 64)
					case "patient":
						id = strings.TrimPrefix(x.ValueReference.Reference, "Patient/")
					}
				}
				if seq <= after || id == "" {
					return after, nil, fmt.Errorf("remote: Patient/$changes after %d: change %d %q out of order", after, seq, id)
				}
				out = append(out, change{seq, id})
				after = seq
			}
		}
		if head || !more {
			return last, out, nil
		}
		after = last
	}
}

// Audit reads `gpsoc serve`'s own hash-chained trail as AuditEvent
// resources (seq=gtN, page by page; admins only, the server answers 403 to
// anyone else). Another vendor's server keeps its trail its own way: none
// is read here.
func (t *tx) Audit(after uint64, fn func(*record.AuditEvent) error) error {
	if !t.s.gpsoc {
		return nil
	}
	if err := t.auditReader(); err != nil {
		return err
	}
	q := url.Values{"seq": {"gt" + strconv.FormatUint(after, 10)}, "_count": {"1000"}}
	_, err := t.s.search(t.ctx, "AuditEvent", q, func(r fhir.Resource) error {
		ev, ok := fhir.AuditEventFrom(r.(*fhir.AuditEvent))
		if !ok {
			return fmt.Errorf("remote: AuditEvent/%s: not an event of this system", *r.Head().ID)
		}
		return fn(ev)
	})
	return err
}

// auditReader refuses, without asking, a token holder the server said is
// not an admin (whoami.go), as the server would: the find index asks for
// the trail's first event to name the practice, and a clinician's every
// start would otherwise leave a refusal in the trail. (The services' own
// refusal of an audit listing is audited as ever: they append it.)
func (t *tx) auditReader() error {
	if t.s.tokenUser != "" && t.s.o.Role != record.RoleAdmin {
		return &record.PermissionError{User: t.s.tokenUser, Role: t.s.o.Role, Action: "read the audit trail (admins only)"}
	}
	return nil
}

// AuditHead is the last event of the server's trail (_sort=-seq, _count=1).
func (t *tx) AuditHead() (uint64, string, error) {
	if !t.s.gpsoc {
		return 0, "", nil
	}
	if err := t.auditReader(); err != nil {
		return 0, "", err
	}
	var seq uint64
	var hash string
	_, err := t.s.search(t.ctx, "AuditEvent", url.Values{"_sort": {"-seq"}, "_count": {"1"}}, func(r fhir.Resource) error {
		if ev, ok := fhir.AuditEventFrom(r.(*fhir.AuditEvent)); ok {
			seq, hash = ev.Seq, ev.Hash
		}
		return errStopSearch
	})
	if err != nil && !errors.Is(err, errStopSearch) {
		return 0, "", err
	}
	return seq, hash, nil
}

var _ store.WTx = (*wtx)(nil)
