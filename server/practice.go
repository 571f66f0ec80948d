package server

// The practice beyond its patients' records, as standard FHIR: the patient
// change feed remote workstations follow (Patient/$changes), and the audit
// trail (AuditEvent).

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// maxWait is the longest a Patient/$changes long poll waits, in seconds
// (well inside the server's write timeout and common proxies' idle ones).
const maxWait = 25

// changes is GET Patient/$changes?after=N&_count=M: the patients changed
// after change sequence N, as a Parameters resource: "last" (the sequence to
// ask from next time, a decimal string: it is 64-bit), "more" (the list
// stopped at _count), and one "change" per patient (its "seq" and "patient"
// reference). _count=0 answers the latest sequence only. Sequences are the
// practice file's own, so a client following them loses no change, which a
// clock (_lastUpdated) cannot promise when writes commit out of order.
// _wait=S makes it a long poll: with nothing after N yet, the answer waits
// up to S seconds (at most maxWait) for a change, through any replica,
// and is sent as soon as one commits.
func (s *Server) changes(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "value", "after %q: not a change sequence", v)
		}
		after = n
	}
	count := maxCount
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "value", "_count %q: not a number", v)
		}
		count = min(n, maxCount)
	}
	if v := q.Get("_wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxWait {
			return errorf(http.StatusBadRequest, "value", "_wait %q: a number of seconds from 0 to %d", v, maxWait)
		}
		if n > 0 && count > 0 {
			if _, err := svc.WaitPatientChanges(r.Context(), after, time.Duration(n)*time.Second); err != nil {
				return err
			}
		}
	}
	chs, last, more, err := svc.PatientChanges(r.Context(), after, count)
	if err != nil {
		return err
	}
	type part struct {
		Name           string            `json:"name"`
		ValueString    string            `json:"valueString,omitempty"`
		ValueBoolean   *bool             `json:"valueBoolean,omitempty"`
		ValueReference map[string]string `json:"valueReference,omitempty"`
		Part           []part            `json:"part,omitempty"`
	}
	ps := []part{{Name: "last", ValueString: strconv.FormatUint(last, 10)}, {Name: "more", ValueBoolean: &more}}
	for _, c := range chs {
		ps = append(ps, part{Name: "change", Part: []part{{Name: "seq", ValueString: strconv.FormatUint(c.Seq, 10)},
			{Name: "patient", ValueReference: map[string]string{"reference": "Patient/" + c.PatientID}}}})
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", fhirJSON)
	_, _ = w.Write(b)
	return nil
}

// ---- the audit trail: AuditEvent ----

// auditSearch is GET AuditEvent: the practice's hash-chained audit trail,
// oldest first, for admins only (the services refuse anyone else, and audit
// the refusal and every listing). seq=gtN starts after event N (a custom
// number parameter: the trail's own sequence), _count is the page size, and
// _sort=-seq with _count=N gives the last N (N=1: the chain's head). Each
// event carries its place in the chain (seq, prevHash, hash) in the
// record-extra extension, so a client can check the chain.
func (s *Server) auditSearch(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "seq", "_count", "_sort", "_format", "_pretty":
		default:
			return errorf(http.StatusBadRequest, "not-supported", "search parameter %q is not supported for AuditEvent (seq, _count, _sort)", k)
		}
	}
	count, _, err := paging(q)
	if err != nil {
		return err
	}
	f := clinical.AuditFilter{First: count}
	if v := q.Get("seq"); v != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "gt"), 10, 64)
		if err != nil || !strings.HasPrefix(v, "gt") {
			return errorf(http.StatusBadRequest, "value", "seq %q: only seq=gtN (events after N) is supported", v)
		}
		f.After = n
	}
	switch q.Get("_sort") {
	case "", "seq":
	case "-seq":
		f.First, f.Limit = 0, count
	default:
		return errorf(http.StatusBadRequest, "not-supported", "_sort %q: AuditEvent sorts by seq or -seq", q.Get("_sort"))
	}
	evs, err := svc.AuditEvents(ctx, f)
	if err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	base := baseURL(r)
	n := len(evs)
	b := &fhir.Bundle{ResourceType: "Bundle", Type: "searchset",
		Link: []fhir.BundleLink{{Relation: "self", URL: base + strings.TrimPrefix(r.URL.RequestURI(), "/")}}}
	if f.Limit > 0 { // newest first
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	} else if count > 0 && n == count {
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next",
			URL: base + "AuditEvent?" + url.Values{"seq": {"gt" + strconv.FormatUint(evs[n-1].Seq, 10)}, "_count": {strconv.Itoa(count)}}.Encode()})
	}
	all := func(record.Kind) bool { return true }
	for _, ev := range evs {
		res := c.AuditEventResource(ev, all)
		raw, err := fhir.Marshal(res)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + "AuditEvent/" + res.ID, Resource: raw, Search: &fhir.BundleSearch{Mode: "match"}})
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// ---- the practice (Organization) and its users (Practitioner) ----

// onlyParams refuses search parameters other than those named.
func onlyParams(q url.Values, t string, names ...string) error {
	for k := range q {
		ok := commonParams[k]
		for _, n := range names {
			ok = ok || k == n
		}
		if !ok {
			return errorf(http.StatusBadRequest, "not-supported", "search parameter %q is not supported for %s (%s)", k, t, strings.Join(names, ", "))
		}
	}
	return nil
}

// tokenMatch reports whether a token search value (system|value or value) names value in system.
func tokenMatch(v, system, value string) bool {
	sys, val, ok := strings.Cut(v, "|")
	if !ok {
		return v == value
	}
	return (sys == "" || sys == system) && val == value
}

// writeBundle sends resources as a searchset.
func writeBundle(w http.ResponseWriter, r *http.Request, rs []fhir.Resource) error {
	base := baseURL(r)
	n := len(rs)
	b := &fhir.Bundle{ResourceType: "Bundle", Type: "searchset", Total: &n,
		Link: []fhir.BundleLink{{Relation: "self", URL: base + strings.TrimPrefix(r.URL.RequestURI(), "/")}}}
	for _, res := range rs {
		raw, err := fhir.Marshal(res)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + res.FHIRType() + "/" + *res.Head().ID, Resource: raw,
			Search: &fhir.BundleSearch{Mode: "match"}})
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// practiceResource is the practice as served.
func practiceResource(pr *record.Practice) *fhir.Organization {
	return (&fhir.Context{Practice: *pr}).PracticeResource()
}

// organizationSearch is GET Organization: the practice (identifier, _id).
func (s *Server) organizationSearch(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	q := r.URL.Query()
	if err := onlyParams(q, "Organization", "identifier", "_id"); err != nil {
		return err
	}
	pr, err := svc.ReadPractice(r.Context())
	if err != nil {
		return err
	}
	var rs []fhir.Resource
	if (q.Get("identifier") == "" || tokenMatch(q.Get("identifier"), record.SystemODS, pr.ODS)) && (q.Get("_id") == "" || q.Get("_id") == pr.ODS) {
		rs = append(rs, practiceResource(pr))
	}
	return writeBundle(w, r, rs)
}

// organizationRead is GET Organization/{ods}.
func (s *Server) organizationRead(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	pr, err := svc.ReadPractice(r.Context())
	if err != nil {
		return err
	}
	if r.PathValue("id") != pr.ODS {
		return &record.NotFoundError{Kind: "Organization", ID: r.PathValue("id")}
	}
	writeResource(w, r, http.StatusOK, practiceResource(pr))
	return nil
}

// organizationUpdate is PUT Organization/{ods} with If-Match: the practice's
// name and settings (admins only; a stale version is 412). An Organization
// without this system's extension changes the name only.
func (s *Server) organizationUpdate(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	_, res, err := readBody(r)
	if err != nil {
		return err
	}
	o, ok := res.(*fhir.Organization)
	if !ok {
		return errorf(http.StatusBadRequest, "invalid", "resourceType %q put to /Organization", res.FHIRType())
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	if ver == 0 {
		return errorf(http.StatusPreconditionRequired, "required", "update Organization/%s: name the version it is based on (If-Match: W/\"N\")", r.PathValue("id"))
	}
	next, settings := fhir.PracticeFrom(o)
	if next.ODS == "" {
		next.ODS = r.PathValue("id")
	}
	if next.ODS != r.PathValue("id") || (o.ID != "" && o.ID != next.ODS) {
		return errorf(http.StatusBadRequest, "invalid", "the Organization's ODS code %q is not the id in the URL %q", next.ODS, r.PathValue("id"))
	}
	if !settings {
		cur := s.p.PracticeRecord(ctx)
		if cur != nil {
			next.Settings = cur.Settings
		}
	}
	next.Version = ver
	pr, err := svc.UpdatePractice(ctx, next)
	if err != nil {
		return staleOrConflict(err)
	}
	s.forgetContext()
	writeResource(w, r, http.StatusOK, practiceResource(pr))
	return nil
}

func userResource(u record.User) *fhir.Practitioner {
	return (&fhir.Context{}).UserResource(u)
}

// practitionerSearch is GET Practitioner: the practice's users (identifier
// with the user-name system, _id).
func (s *Server) practitionerSearch(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	q := r.URL.Query()
	if err := onlyParams(q, "Practitioner", "identifier", "_id"); err != nil {
		return err
	}
	us, err := svc.ReadUsers(r.Context(), "")
	if err != nil {
		return err
	}
	var rs []fhir.Resource
	for _, u := range us {
		if v := q.Get("identifier"); v != "" && !tokenMatch(v, fhir.SystemUserName, u.Name) {
			continue
		}
		if v := q.Get("_id"); v != "" && v != fhir.PractitionerID(u.Name) {
			continue
		}
		rs = append(rs, userResource(u))
	}
	return writeBundle(w, r, rs)
}

// userOf finds the user a Practitioner id names.
func (s *Server) userOf(r *http.Request, svc *clinical.Service) (record.User, error) {
	id := r.PathValue("id")
	us, err := svc.ReadUsers(r.Context(), "")
	if err != nil {
		return record.User{}, err
	}
	for _, u := range us {
		if fhir.PractitionerID(u.Name) == id {
			return u, nil
		}
	}
	return record.User{}, &record.NotFoundError{Kind: "Practitioner", ID: id}
}

// practitionerRead is GET Practitioner/{id}.
func (s *Server) practitionerRead(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	u, err := s.userOf(r, svc)
	if err != nil {
		return err
	}
	writeResource(w, r, http.StatusOK, userResource(u))
	return nil
}

// practitionerBody reads a Practitioner that names a user of this system.
func practitionerBody(r *http.Request) (record.User, error) {
	_, res, err := readBody(r)
	if err != nil {
		return record.User{}, err
	}
	p, ok := res.(*fhir.Practitioner)
	if !ok {
		return record.User{}, errorf(http.StatusBadRequest, "invalid", "resourceType %q sent to /Practitioner", res.FHIRType())
	}
	u, ok := fhir.UserFrom(p)
	if !ok {
		return record.User{}, errorf(http.StatusUnprocessableEntity, "required", "a user is a Practitioner with an identifier in %s (the user name)", fhir.SystemUserName)
	}
	return u, nil
}

// practitionerCreate is POST Practitioner: a new user (admins only).
func (s *Server) practitionerCreate(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	u, err := practitionerBody(r)
	if err != nil {
		return err
	}
	out, err := svc.AddUser(r.Context(), u)
	if err != nil {
		return err
	}
	s.forgetContext()
	writeResource(w, r, http.StatusCreated, userResource(*out))
	return nil
}

// practitionerUpdate is PUT Practitioner/{id} with If-Match: a user's role,
// registration number and prescriber flag (admins only; stale is 412).
func (s *Server) practitionerUpdate(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	u, err := practitionerBody(r)
	if err != nil {
		return err
	}
	if fhir.PractitionerID(u.Name) != r.PathValue("id") {
		return errorf(http.StatusBadRequest, "invalid", "the Practitioner's user name %q is not the id in the URL %q", u.Name, r.PathValue("id"))
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	if ver == 0 {
		return errorf(http.StatusPreconditionRequired, "required", "update Practitioner/%s: name the version it is based on (If-Match: W/\"N\")", r.PathValue("id"))
	}
	u.Version = ver
	out, err := svc.UpdateUser(r.Context(), u)
	if err != nil {
		return staleOrConflict(err)
	}
	s.forgetContext()
	writeResource(w, r, http.StatusOK, userResource(*out))
	return nil
}

// forgetContext drops the cached practice and users after a change to them.
func (s *Server) forgetContext() {
	s.mu.Lock()
	s.fctx = nil
	clear(s.sessions)
	s.mu.Unlock()
}
