package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// Cohort runs population searches on the server, where the data is: the
// shipped and practice register definitions and the resolver of their code
// sets (the terminology).
type Cohort struct {
	Resolver cohort.Resolver
	Defs     []*cohort.Def
	// Cache keeps the index between requests, built again when a patient changed.
	Cache cohort.Cache
}

// searchRun is the FHIR operation POST /Group/$search: the body is a search
// definition (text/plain, docs/search.md), ?on=DATE overrides its reference
// date, X-Access-Reason shows a sensitive record's values (audited). The
// answer is a Group of the patients found. GET /Group/{id} runs a shipped or
// practice register or indicator by its id the same way.
func (s *Server) searchRun(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	d, extra, err := requestDefs(r)
	if err != nil {
		return err
	}
	return s.runDef(w, r, svc, d, extra...)
}

// requestDefs reads a request's body: the definition, then (after lines of
// ---) the registers it names that the caller holds and this server may not
// (a practice's own).
func requestDefs(r *http.Request) (*cohort.Def, []*cohort.Def, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	parts := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n---\n")
	d, err := cohort.Parse("request", parts[0])
	if err != nil {
		return nil, nil, syntaxError(err)
	}
	var extra []*cohort.Def
	for i, p := range parts[1:] {
		x, err := cohort.Parse("request part "+strconv.Itoa(i+2), p)
		if err != nil {
			return nil, nil, syntaxError(err)
		}
		extra = append(extra, x)
	}
	return d, extra, nil
}

// explainRun is POST /Group/$explain?patient=REF: why one patient (NHS
// number or id) is in or out of the definition in the body, rule by rule,
// as JSON (cohort.Explanation). It reads that patient's records with the
// search right (a manager may see why a patient is on a register), withholds
// a sensitive record's entries unless X-Access-Reason gives a reason, and
// audits the explanation with the count and the reason.
func (s *Server) explainRun(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	d, extra, err := requestDefs(r)
	if err != nil {
		return err
	}
	defs, R, err := s.prepare(r, d, extra)
	if err != nil {
		return err
	}
	ref := strings.TrimSpace(r.URL.Query().Get("patient"))
	if ref == "" {
		return errorf(http.StatusBadRequest, "required", "patient: the patient to explain (NHS number or id) is required")
	}
	x, err := cohort.ExplainFor(r.Context(), svc, s.o.Cohort.Resolver, defs, d, R, ref, r.Header.Get("X-Access-Reason"))
	if err != nil {
		return syntaxError(err)
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

func (s *Server) registerRun(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	if s.o.Cohort == nil {
		return errorf(http.StatusNotFound, "not-found", "this server runs no registers")
	}
	d, err := cohort.Find(s.o.Cohort.Defs, r.PathValue("id"))
	if err != nil {
		return errorf(http.StatusNotFound, "not-found", "%s", err.Error())
	}
	return s.runDef(w, r, svc, d)
}

func syntaxError(err error) error {
	var se *cohort.SyntaxError
	if errors.As(err, &se) {
		return errorf(http.StatusBadRequest, "invalid", "%s", se.Error())
	}
	return err
}

// prepare checks d against this server's definitions with the caller's
// (which win: the server runs what would run locally) and reads its
// reference date.
func (s *Server) prepare(r *http.Request, d *cohort.Def, extra []*cohort.Def) ([]*cohort.Def, int32, error) {
	if s.o.Cohort == nil {
		return nil, 0, errorf(http.StatusNotImplemented, "not-supported", "this server runs no searches (no terminology)")
	}
	defs := s.o.Cohort.Defs
	if len(extra) > 0 {
		// the caller's registers win over this server's of the same id
		defs = append(append([]*cohort.Def{}, defs...), extra...)
		seen := map[string]int{}
		var out []*cohort.Def
		for _, x := range defs {
			if i, ok := seen[x.ID]; ok {
				out[i] = x
				continue
			}
			seen[x.ID] = len(out)
			out = append(out, x)
		}
		defs = out
	}
	eng0 := cohort.NewEngine(cohort.NewBuilder(false).Build(), s.o.Cohort.Resolver, defs)
	if err := eng0.Check(d); err != nil {
		return nil, 0, syntaxError(err)
	}
	R, err := cohort.ReferenceDate(d, s.p.Now(), r.URL.Query().Get("on"))
	if err != nil {
		return nil, 0, err
	}
	return defs, R, nil
}

func (s *Server) runDef(w http.ResponseWriter, r *http.Request, svc *clinical.Service, d *cohort.Def, extra ...*cohort.Def) error {
	ctx := r.Context()
	if p := r.URL.Query().Get("purpose"); p != "" && !slices.Contains(cohort.Purposes, p) {
		return errorf(http.StatusBadRequest, "value", "purpose %q: must be one of %s (or none: a search)", p, strings.Join(cohort.Purposes, ", "))
	}
	defs, R, err := s.prepare(r, d, extra)
	if err != nil {
		return err
	}
	ix, err := s.o.Cohort.Cache.Get(ctx, svc)
	if err != nil {
		return err
	}
	run := cohort.NewEngine(ix, s.o.Cohort.Resolver, defs).NewRun(R)
	res, err := run.Evaluate(d)
	if err != nil {
		return syntaxError(err)
	}
	reason := strings.TrimSpace(r.Header.Get("X-Access-Reason"))
	rows := run.Rows(res, reason != "")
	q := cohort.Query(d, R)
	if p := r.URL.Query().Get("purpose"); p != "" {
		q = p + " " + q
	}
	if err := svc.AuditSearch(ctx, clinical.SearchRun{Query: q, Count: len(rows), Reason: reason}); err != nil {
		return err
	}
	ref := res.Reference
	g := &fhir.Group{ResourceType: "Group", Type: "person", Actual: true, Name: d.Title, Quantity: len(rows),
		Extension: []fhir.Extension{{URL: fhir.ExtSearchReference, ValueString: &ref}, {URL: fhir.ExtSearchRegistered, ValueInteger: &res.Registered}}}
	if d.Kind != cohort.KindSearch {
		g.ID = d.ID
	}
	if a, ok := res.Achievement(); ok && d.Kind == cohort.KindIndicator {
		dec := json.Number(strconv.FormatFloat(a, 'f', 4, 64))
		g.Extension = append(g.Extension, fhir.Extension{URL: fhir.ExtSearchAchieved, ValueDecimal: dec})
	}
	for _, row := range rows {
		m := fhir.GroupMember{Entity: fhir.Reference{Reference: "Patient/" + row.PatientID, Display: row.Name}}
		if row.NHSNumber != "" {
			m.Entity.Identifier = &fhir.Identifier{System: record.SystemNHS, Value: row.NHSNumber}
		}
		if row.Status != "" {
			st := row.Status
			m.Extension = append(m.Extension, fhir.Extension{URL: fhir.ExtSearchStatus, ValueCode: &st})
		}
		if row.Sensitive {
			t := true
			m.Extension = append(m.Extension, fhir.Extension{URL: fhir.ExtSearchSensitive, ValueBoolean: &t})
		}
		for _, e := range row.Matched {
			v := e.Role + ": " + e.Code.Code
			if e.Code.Display != "" {
				v += " |" + e.Code.Display + "|"
			}
			if e.Value != "" {
				v += " " + e.Value
			}
			if e.Date != "" {
				v += " " + e.Date
			}
			m.Extension = append(m.Extension, fhir.Extension{URL: fhir.ExtSearchMatch, ValueString: &v})
			if b, err := json.Marshal(e); err == nil {
				js := string(b)
				m.Extension = append(m.Extension, fhir.Extension{URL: fhir.ExtSearchEvidence, ValueString: &js})
			}
		}
		g.Member = append(g.Member, m)
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}
