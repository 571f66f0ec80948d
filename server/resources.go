package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
)

// types are the resource types served, and the record kinds behind them:
// every type of the one mapping (fhir.Mappings).
var types = func() map[string][]record.Kind {
	m := map[string][]record.Kind{}
	for _, t := range fhir.Types() {
		m[t] = fhir.KindsOfType(t)
	}
	return m
}()

// typeOrder is the order types are listed in /metadata: the mapping's.
var typeOrder = fhir.Types()

func kindsOf(r *http.Request) (string, []record.Kind, error) {
	t := r.PathValue("type")
	ks, ok := types[t]
	if !ok {
		return t, nil, errorf(http.StatusNotFound, "not-supported", "resource type %q is not served here (see /metadata)", t)
	}
	return t, ks, nil
}

func hasKind(ks []record.Kind, k record.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// fhirContext is what the mappings need: the practice and its users.
func (s *Server) fhirContext(ctx context.Context) (*fhir.Context, error) {
	s.mu.Lock()
	c, at := s.fctx, s.fctxAt
	s.mu.Unlock()
	if c != nil && time.Since(at) < cacheTTL {
		return c, nil
	}
	pr, us, err := s.p.Directory(ctx)
	if err != nil {
		return nil, err
	}
	c = &fhir.Context{Practice: pr, Users: map[string]record.User{}}
	for _, u := range us {
		c.Users[u.Name] = u
	}
	s.mu.Lock()
	s.fctx, s.fctxAt = c, time.Now()
	s.mu.Unlock()
	return c, nil
}

// resourceOf maps one record to the resource of type t that represents it.
// The api-record extension (fhir/api.go) lets a gpsoc workstation read back
// what the mapping alone does not carry.
func resourceOf(c *fhir.Context, t string, e record.Entity) fhir.Resource {
	r := c.Resource(e, t)
	if r != nil && r.FHIRType() == fhir.KindType(e.Kind()) && *r.Head().ID == e.Head().ID {
		fhir.WithAPIRecord(r, e)
	}
	return r
}

// get opens one record of the request's type (role-checked and audited by the services).
func (s *Server) get(ctx context.Context, r *http.Request, svc *clinical.Service) (string, record.Entity, error) {
	t, _, err := kindsOf(r)
	if err != nil {
		return t, nil, err
	}
	e, err := getAs(ctx, svc, t, r.PathValue("id"), reason(r))
	return t, e, err
}

// getAs opens record id of resource type t through the services.
func getAs(ctx context.Context, svc *clinical.Service, t, id string, ro clinical.ReadOptions) (record.Entity, error) {
	ks, ok := types[t]
	if !ok {
		return nil, errorf(http.StatusNotFound, "not-supported", "resource type %q is not served here (see /metadata)", t)
	}
	if t == "Patient" {
		if isNHS(id) { // a Patient id is never 10 digits; do not let the services read it as an NHS number
			return nil, &record.NotFoundError{Kind: "Patient", ID: id}
		}
		return svc.Patient(ctx, id, ro)
	}
	e, err := svc.EntryOf(ctx, ks, id, ro)
	if err != nil {
		return nil, err
	}
	if !hasKind(ks, e.Kind()) {
		return nil, &record.NotFoundError{Kind: t, ID: id}
	}
	return e, nil
}

func isNHS(s string) bool {
	d := strings.ReplaceAll(s, " ", "")
	if len(d) != 10 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	t, e, err := s.get(ctx, r, svc)
	if err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	res := resourceOf(c, t, e)
	if res == nil {
		return &record.NotFoundError{Kind: t, ID: r.PathValue("id")}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Trim(strings.TrimPrefix(inm, "W/"), `"`) == versionOf(res) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeResource(w, r, http.StatusOK, res)
	return nil
}

// versions is every version of one record, oldest first.
func (s *Server) versions(ctx context.Context, r *http.Request, svc *clinical.Service) (string, []record.Entity, error) {
	t, e, err := s.get(ctx, r, svc)
	if err != nil {
		return t, nil, err
	}
	pid := e.Head().PatientID
	if t == "Patient" {
		pid = e.Head().ID
	}
	var out []record.Entity
	if pid == "" { // a session, or a task about no patient
		vs, err := svc.EntryVersions(ctx, []record.Kind{e.Kind()}, e.Head().ID, reason(r))
		return t, vs, err
	}
	rows, err := svc.History(ctx, pid, reason(r))
	if err != nil {
		return t, nil, err
	}
	for _, row := range rows {
		if row.ID == e.Head().ID && row.Kind == e.Kind() {
			out = append(out, row.Record)
		}
	}
	return t, out, nil
}

func (s *Server) vread(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	t, vs, err := s.versions(ctx, r, svc)
	if err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	vid := r.PathValue("vid")
	for _, v := range vs {
		if fmt.Sprint(v.Head().Version) == vid {
			writeResource(w, r, http.StatusOK, resourceOf(c, t, v))
			return nil
		}
	}
	return &record.NotFoundError{Kind: t + " version", ID: r.PathValue("id") + "/_history/" + vid}
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	t, vs, err := s.versions(ctx, r, svc)
	if err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	base := baseURL(r)
	n := len(vs)
	b := &fhir.Bundle{ResourceType: "Bundle", Type: "history", Total: &n,
		Link: []fhir.BundleLink{{Relation: "self", URL: base + strings.TrimPrefix(r.URL.RequestURI(), "/")}}}
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		res := resourceOf(c, t, vs[i])
		raw, err := fhir.Marshal(res)
		if err != nil {
			return err
		}
		m := vs[i].Head()
		req := &fhir.BundleRequest{Method: "PUT", URL: t + "/" + m.ID}
		resp := &fhir.BundleResponse{Status: "200 OK"}
		if m.Version == 1 {
			req = &fhir.BundleRequest{Method: "POST", URL: t}
			resp.Status = "201 Created"
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + t + "/" + m.ID, Resource: raw, Request: req, Response: resp})
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) everything(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if isNHS(id) {
		return &record.NotFoundError{Kind: "Patient", ID: id}
	}
	b, err := interop.EverythingFHIR(ctx, svc, id, reason(r))
	if err != nil {
		return err
	}
	base := baseURL(r)
	b.Type = "searchset"
	b.Timestamp = ""
	n := len(b.Entry)
	b.Total = &n
	b.Link = []fhir.BundleLink{{Relation: "self", URL: base + strings.TrimPrefix(r.URL.RequestURI(), "/")}}
	for i := range b.Entry {
		e := &b.Entry[i]
		if _, rest, ok := strings.Cut(e.FullURL, "/fhir/"); ok { // the export's placeholder base -> ours
			if _, path, ok := strings.Cut(rest, "/"); ok {
				e.FullURL = base + path
			}
		}
		e.Search = &fhir.BundleSearch{Mode: "match"}
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) find(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	if text == "" {
		return errorf(http.StatusBadRequest, "required", "$find needs q (a name, NHS number, date of birth or postcode)")
	}
	limit, _, err := paging(q)
	if err != nil {
		return err
	}
	found, err := svc.FindPatients(ctx, text, limit)
	if err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	es := make([]record.Entity, len(found))
	for i, f := range found {
		es[i] = f.Patient
	}
	b, err := searchBundle(r, c, "Patient", es, len(es), 0, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// resolver answers the FHIR -> record mappings' reference questions against the practice.
type resolver struct {
	ctx   context.Context
	svc   *clinical.Service // the request's services (inside a transaction, its unit of work)
	users map[string]record.User
}

func (rs *resolver) ID(r *fhir.Reference, t string) string {
	if r == nil || r.Reference == "" {
		if r != nil && r.Identifier != nil && t == "Patient" && isNHS(r.Identifier.Value) {
			return rs.svc.PatientIDByNHS(rs.ctx, strings.ReplaceAll(r.Identifier.Value, " ", ""))
		}
		return ""
	}
	ref := r.Reference
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != t {
		return ""
	}
	id := parts[len(parts)-1]
	if !rs.svc.RecordExists(rs.ctx, types[t], id) {
		return ""
	}
	return id
}

func (rs *resolver) User(r *fhir.Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	if strings.HasPrefix(r.Reference, "Practitioner/") {
		id := strings.TrimPrefix(r.Reference, "Practitioner/")
		for name := range rs.users {
			if fhir.PractitionerID(name) == id {
				return name, true
			}
		}
	}
	if _, ok := rs.users[r.Display]; ok {
		return r.Display, true
	}
	return "", false
}

func (rs *resolver) Who(r *fhir.Reference) string {
	if n, ok := rs.User(r); ok {
		return n
	}
	if r == nil {
		return ""
	}
	return r.Display
}
