// Package server is `gpsoc serve`: the practice as a FHIR R4 REST API.
// Every request is authenticated by a bearer token, mapped to the token's
// user, and served through the clinical services acting as that user, so the
// role rules and the audit trail are the services' own, identical to local use.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"golang.org/x/time/rate"
)

// Options configure a Server.
type Options struct {
	Practice *clinical.Practice
	// MaxBody is the largest request body accepted (default 8 MiB).
	MaxBody int64
	Logger  *slog.Logger
	// Version is the software version in the CapabilityStatement.
	Version string
	// BaseURL is the base of every link the API writes (Bundle.link,
	// fullUrl, Location); empty: the address the connection came in on.
	BaseURL string
	// Limits bound failed and unauthenticated requests (server/abuse.go).
	Limits Limits
	// Codes answers ValueSet/$expand (valueset.go); nil: not offered.
	Codes CodeSearch
	// Cohort runs population searches and registers (POST /Group/$search,
	// GET /Group/{id}; cohort.go); nil: not offered.
	Cohort *Cohort
}

// Server is the FHIR API over one practice.
type Server struct {
	p   *clinical.Practice
	o   Options
	mux *http.ServeMux
	h   http.Handler
	ab  abuse

	// Short-lived caches of what every request needs and rarely changes:
	// who holds a token (with their role) and the practice's users for the
	// mappings. cacheTTL bounds how long a revoked token or a role change
	// takes to apply.
	mu       sync.Mutex
	sessions map[string]session
	fctx     *fhir.Context
	fctxAt   time.Time
}

// New makes a Server.
func New(o Options) *Server {
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Limits.defaults()
	s := &Server{p: o.Practice, o: o, mux: http.NewServeMux(), sessions: map[string]session{},
		ab: abuse{limiters: map[string]*rate.Limiter{}, floods: map[string]*flood{}}}
	s.routes()
	s.h = s.guard(s.mux)
	return s
}

// Handler is the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.h }

// handlerFunc is an authenticated handler: the services act as the caller.
type handlerFunc func(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error

func (s *Server) routes() {
	s.mux.HandleFunc("GET /metadata", s.metadata)
	s.mux.Handle("POST /introspect", s.auth(s.introspect))
	s.mux.Handle("POST /revoke", s.auth(s.revoke))
	s.mux.Handle("POST /$passphrase", s.auth(s.passphrase))
	s.mux.Handle("POST /$process-message", s.auth(s.processMessage))
	s.mux.Handle("POST /$inbox", s.auth(s.inbox))
	s.mux.Handle("GET /Patient/$find", s.auth(s.find))
	s.mux.Handle("GET /ValueSet/$expand", s.auth(s.valueSetExpand))
	s.mux.Handle("GET /Patient/$changes", s.auth(s.changes))
	s.mux.Handle("GET /AuditEvent", s.auth(s.auditSearch))
	s.mux.Handle("GET /Organization", s.auth(s.organizationSearch))
	s.mux.Handle("GET /Organization/{id}", s.auth(s.organizationRead))
	s.mux.Handle("PUT /Organization/{id}", s.auth(s.organizationUpdate))
	s.mux.Handle("GET /Practitioner", s.auth(s.practitionerSearch))
	s.mux.Handle("GET /Practitioner/{id}", s.auth(s.practitionerRead))
	s.mux.Handle("POST /Practitioner", s.auth(s.practitionerCreate))
	s.mux.Handle("PUT /Practitioner/{id}", s.auth(s.practitionerUpdate))
	s.mux.Handle("GET /Patient/{id}/$everything", s.auth(s.everything))
	s.mux.Handle("POST /Group/$search", s.auth(s.searchRun))
	s.mux.Handle("POST /Group/$explain", s.auth(s.explainRun))
	s.mux.Handle("GET /Group/{id}", s.auth(s.registerRun))
	s.mux.Handle("GET /{type}/{id}/_history/{vid}", s.auth(s.vread))
	s.mux.Handle("GET /{type}/{id}/_history", s.auth(s.history))
	s.mux.Handle("GET /{type}/{id}", s.auth(s.read))
	s.mux.Handle("GET /{type}", s.auth(s.search))
	s.mux.Handle("POST /{type}", s.auth(s.create))
	s.mux.Handle("PUT /{type}/{id}", s.auth(s.update))
	s.mux.Handle("POST /{$}", s.auth(s.transaction))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeOutcome(w, http.StatusNotFound, "not-supported", fmt.Sprintf("%s %s is not part of this API (see /metadata)", r.Method, r.URL.Path))
	})
}

// auth authenticates a request by its bearer token and runs h as its user.
// Refusals are audited here: the services never see an unknown caller.
func (s *Server) auth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		tok, ok := bearer(r)
		if !ok {
			s.unauthenticated(w, r, "no bearer token", `Bearer realm="gpsoc"`, "a bearer token is required (make one with `gpsoc user token NAME`)")
			return
		}
		hash := clinical.TokenHash(tok)
		if s.throttledAnon(w, r, hash) {
			return
		}
		svc, err := s.session(ctx, hash)
		if err != nil {
			if record.IsNotFound(err) || isCredential(err) {
				s.unauthenticated(w, r, tokenRefusal(err), `Bearer realm="gpsoc", error="invalid_token"`, "the bearer token is not valid")
				return
			}
			writeError(w, err)
			return
		}
		if s.throttledUser(w, r, svc.User()) {
			return
		}
		name := svc.User().Name
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBody)
		if err := h(w, r, svc); err != nil {
			s.o.Logger.Debug("request failed", "method", r.Method, "path", r.URL.Path, "user", name, "err", err)
			writeError(w, err)
			s.auditFailed(ctx, r, svc, err)
		}
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// auditFailed records a request that failed (a malformed search, a stale
// version, a record that is not there) under its user: every request is in
// the trail. Refusals are left to the services, which audit them as denied,
// as they do a prescription blocked by its safety alerts.
func (s *Server) auditFailed(ctx context.Context, r *http.Request, svc *clinical.Service, err error) {
	var pe *record.PermissionError
	var ae *clinical.AlertsError
	if errors.As(err, &pe) {
		s.failed(svc.User().Name)
	}
	if errors.As(err, &pe) || errors.As(err, &ae) {
		return
	}
	u := svc.User()
	s.failed(u.Name)
	ev := &record.AuditEvent{At: s.p.Now().UTC(), User: u.Name, Role: u.Role, Action: "request", Outcome: "failed",
		Reason: cut(err.Error(), maxAuditReason), Query: summary(r), Source: "api"}
	s.auditRefusal(ctx, "failed:"+u.Name, ev, maxFailedEvents)
}

// ---- responses ----

const fhirJSON = "application/fhir+json; charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := fhir.Marshal(v)
	if err != nil {
		writeOutcome(w, http.StatusInternalServerError, "exception", err.Error())
		return
	}
	w.Header().Set("Content-Type", fhirJSON)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func outcome(severity, code, msg string) *fhir.OperationOutcome {
	return &fhir.OperationOutcome{ResourceType: "OperationOutcome",
		Issue: []fhir.OutcomeIssue{{Severity: severity, Code: code, Diagnostics: msg}}}
}

func writeOutcome(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, outcome("error", code, msg))
}

// httpError is an error with its HTTP status and OperationOutcome issue code.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) error {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError maps the services' typed errors to HTTP statuses.
func writeError(w http.ResponseWriter, err error) {
	var ae *clinical.AlertsError
	if errors.As(err, &ae) {
		// an issue or re-authorisation the safety checks stopped: one issue per
		// alert, answered in the record-extra extension's alertAnswers
		writeJSON(w, http.StatusUnprocessableEntity, &fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: alertIssues(ae.Alerts, "", nil)})
		return
	}
	status, code, msg := classify(err)
	if status == http.StatusServiceUnavailable && code == "transient" {
		w.Header().Set("Retry-After", "1")
	}
	writeOutcome(w, status, code, msg)
}

// classify is the HTTP status and OperationOutcome issue code of an error:
// the one place it is decided.
func classify(err error) (int, string, string) {
	var he *httpError
	var ve *record.ValidationError
	var pe *fhir.PathError
	var ce *record.ConflictError
	var perm *record.PermissionError
	var be *record.BusyError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.code, he.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("request body over %d bytes", mbe.Limit)
	case errors.As(err, &perm):
		return http.StatusForbidden, "forbidden", err.Error()
	case record.IsNotFound(err):
		return http.StatusNotFound, "not-found", err.Error()
	case errors.As(err, &ce):
		return http.StatusConflict, "conflict", err.Error()
	case errors.As(err, &ve), errors.As(err, &pe):
		return http.StatusUnprocessableEntity, "invalid", err.Error()
	case errors.As(err, &be):
		return http.StatusServiceUnavailable, "transient", err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "timeout", err.Error()
	}
	return http.StatusInternalServerError, "exception", err.Error()
}

// staleOrConflict turns a version conflict on a conditional update into 412.
func staleOrConflict(err error) error {
	var ce *record.ConflictError
	if errors.As(err, &ce) && strings.Contains(ce.Msg, "stale version") {
		return errorf(http.StatusPreconditionFailed, "conflict", "%s", err.Error())
	}
	return err
}

// writeResource sends one resource with its version headers.
func writeResource(w http.ResponseWriter, r *http.Request, status int, res fhir.Resource) {
	if m := *res.Head().Meta; m != nil {
		if m.VersionID != "" {
			w.Header().Set("ETag", `W/"`+m.VersionID+`"`)
		}
		if t, err := time.Parse(time.RFC3339Nano, m.LastUpdated); err == nil {
			w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
		}
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", baseURL(r)+res.FHIRType()+"/"+*res.Head().ID+"/_history/"+versionOf(res))
	}
	if r.Header.Get("Prefer") == "return=minimal" && (status == http.StatusCreated || r.Method == http.MethodPut) {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, res)
}

func versionOf(res fhir.Resource) string {
	if m := *res.Head().Meta; m != nil {
		return m.VersionID
	}
	return ""
}

// readBody reads a resource from the request.
func readBody(r *http.Request) ([]byte, fhir.Resource, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	res, err := fhir.Parse(b)
	if err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "structure", "%s", err.Error())
	}
	return b, res, nil
}

// ifMatch is the version an If-Match header names (W/"3", "3" or 3); 0 when absent.
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	v := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errorf(http.StatusBadRequest, "value", "If-Match %q: not a version (want W/\"N\")", h)
	}
	return n, nil
}

func reason(r *http.Request) clinical.ReadOptions {
	return clinical.ReadOptions{Reason: r.Header.Get("X-Access-Reason")}
}

// alertIssues are the OperationOutcome issues of safety alerts: one per
// alert, its id and severity coded in details.
func alertIssues(alerts []clinical.SafetyAlert, prefix string, where []string) []fhir.OutcomeIssue {
	var out []fhir.OutcomeIssue
	for _, a := range alerts {
		out = append(out, fhir.OutcomeIssue{Severity: "error", Code: "business-rule",
			Details: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: fhir.CSSafetyAlert, Code: a.ID},
				{System: fhir.CSSafetyAlertSeverity, Code: a.Severity}}, Text: a.Message},
			Diagnostics: fmt.Sprintf("%ssafety alert %s (%s): %s", prefix, a.ID, a.Severity, a.Message),
			Expression:  where})
	}
	return out
}
