// Package remote is a store.Store over a FHIR R4 REST server: ours (`gpsoc
// serve`) or another vendor's. View reads with GETs; Update buffers its writes
// and sends them when fn returns (one request for one write, so ids, versions
// and If-Match conflicts are exact; a transaction Bundle for several), so a
// failed fn sends nothing.
//
// The server owns what only it can: the audit trail (it audits every call
// under the token's user, so Append sends nothing to gpsoc serve; the reason
// a sensitive record is opened goes as X-Access-Reason on its read, a find
// as Patient/$find and a search as Group/$search, so `gpsoc serve` audits
// them; a search run here over another vendor's server is recorded there as
// an AuditEvent), users and tokens, the practice settings, and the role
// rules (a 403 comes back as a PermissionError). Standard FHIR is enough:
// gpsoc serve's own operations are used only against it (its population
// searches only where its CapabilityStatement declares them, search.go),
// and without them the workstation does the work itself over standard
// search.
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Options configure a remote store.
type Options struct {
	URL   string // the FHIR base, e.g. https://gp.example/fhir/
	Token string // bearer token
	// User and Role are the acting user as the local services see it; the
	// server applies its own rules to the token's holder regardless.
	User string
	Role record.Role
	// Practice names the practice the server holds (ODS code and name), for
	// the mappings' identifiers.
	Practice record.Practice
	// SearchRow encodes a patient's compact find row, so the local find index
	// can load from the server through standard search (nil: no rows).
	SearchRow func(p *record.Patient) []byte
	// PollEvery is how often the find index asks the server for changed
	// patients (default 2s; negative: every time).
	PollEvery time.Duration
	// PageSize is the _count a scan asks for (default 1000; servers cap it
	// at their own maximum and page on with next links).
	PageSize int
	Client   *http.Client
}

// Store is a FHIR server as a store.
type Store struct {
	o    Options
	base string
	hc   *http.Client
	// opaque is set once the server is seen to use non-numeric version ids
	// (Medplum uses UUIDs): record versions are then counted in _history.
	opaque atomic.Bool
	// changes is the last polls of the change feed (changes.go).
	changes changeCache
	// gpsoc is set when the server is `gpsoc serve` (its CapabilityStatement
	// names the software): the practice, users, audit trail and change feed
	// are then the server's, read and written through it.
	gpsoc bool
	// tokenUser is whose the token is, as the server said (whoami.go).
	tokenUser string
	// searchOp is set when the server's CapabilityStatement declares gpsoc's
	// population search on Group (fhir.OpGroupSearch): searches then run
	// there, where the data is; otherwise here, over standard search (search.go).
	searchOp bool
	// explainOp: it declares the explanation (fhir.OpGroupExplain) too.
	explainOp bool
	// types are the resource types its CapabilityStatement lists (none
	// listed: any may be asked for).
	types map[string]bool
}

// offers reports whether the server says it holds resources of a type.
func (s *Store) offers(typ string) bool { return len(s.types) == 0 || s.types[typ] }

// Open checks that the server speaks FHIR R4 (GET metadata) and returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.URL == "" {
		return nil, record.Invalid("remote.url", "", "a FHIR base URL is required")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Role == "" {
		o.Role = record.RoleGP
	}
	if o.PollEvery == 0 {
		o.PollEvery = 2 * time.Second
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if o.Practice.Name == "" {
		o.Practice.Name = "Remote practice"
	}
	if o.Practice.Settings == nil {
		o.Practice.Settings = map[string]string{}
	}
	s := &Store{o: o, base: strings.TrimSuffix(o.URL, "/") + "/", hc: sameOriginClient(o.Client)}
	var cs struct {
		ResourceType string `json:"resourceType"`
		FHIRVersion  string `json:"fhirVersion"`
		Software     struct {
			Name string `json:"name"`
		} `json:"software"`
		Rest []struct {
			Resource []struct {
				Type      string `json:"type"`
				Operation []struct {
					Name       string `json:"name"`
					Definition string `json:"definition"`
				} `json:"operation"`
			} `json:"resource"`
		} `json:"rest"`
	}
	if err := s.do(ctx, "GET", "metadata", nil, nil, &cs); err != nil {
		return nil, fmt.Errorf("remote %s: %w", s.base, err)
	}
	if cs.ResourceType != "CapabilityStatement" || !strings.HasPrefix(cs.FHIRVersion, "4.0") {
		return nil, fmt.Errorf("remote %s: not a FHIR R4 server (metadata: %s %s)", s.base, cs.ResourceType, cs.FHIRVersion)
	}
	s.gpsoc = cs.Software.Name == "gpsoc"
	// What the server declares, not what it is guessed to be: a gpsoc serve
	// without a terminology runs no searches and does not declare it.
	s.types = map[string]bool{}
	for _, rest := range cs.Rest {
		for _, r := range rest.Resource {
			s.types[r.Type] = true
			for _, op := range r.Operation {
				if r.Type == "Group" && op.Name == "search" && op.Definition == fhir.OpGroupSearch {
					s.searchOp = true
				}
				if r.Type == "Group" && op.Name == "explain" && op.Definition == fhir.OpGroupExplain {
					s.explainOp = true
				}
			}
		}
	}
	if err := s.identify(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Options are the options the store was opened with.
func (s *Store) Options() Options { return s.o }

// View runs fn with reads against the server.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(&tx{s: s, ctx: ctx})
}

// Update runs fn, then sends its writes. An error from fn sends nothing.
func (s *Store) Update(ctx context.Context, fn func(store.WTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &wtx{tx: tx{s: s, ctx: ctx}}
	if err := fn(w); err != nil {
		return err
	}
	return w.commit()
}

// Close releases nothing: every request stands alone.
func (s *Store) Close() error { return nil }

// ---- HTTP ----

// httpError is a non-2xx answer, with the OperationOutcome's diagnostics.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.msg) }

var changedBy = regexp.MustCompile(`\(changed by (\S+) at (\S+)\)`)

// typed maps an HTTP failure to the store's typed errors.
func typed(err error, what string) error {
	var he *httpError
	if !errors.As(err, &he) {
		return err
	}
	switch he.status {
	case http.StatusNotFound, http.StatusGone:
		return &record.NotFoundError{Kind: what, ID: he.msg}
	case http.StatusUnauthorized, http.StatusForbidden:
		return &record.PermissionError{Action: what + ": the server refused (" + he.msg + ")"}
	case http.StatusConflict, http.StatusPreconditionFailed:
		ce := &record.ConflictError{What: what, Msg: he.msg}
		if m := changedBy.FindStringSubmatch(he.msg); m != nil {
			ce.By = m[1]
			ce.At, _ = time.Parse(time.RFC3339, strings.TrimSuffix(m[2], ")"))
			ce.Msg = strings.TrimSpace(strings.Replace(he.msg, m[0], "", 1))
		}
		if w, msg, ok := strings.Cut(ce.Msg, ": "); ok { // the server's own "what: why" (its ConflictError), said once
			ce.What, ce.Msg = w, msg
		}
		return ce
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return &record.ValidationError{Field: what, Value: "", Reason: he.msg}
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return &record.BusyError{Path: what, Msg: he.msg}
	}
	return err
}

func (s *Store) url(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return s.base + strings.TrimPrefix(path, "/")
}

// do sends a request; out (when not nil) receives the JSON body; hdr receives the headers.
func (s *Store) do(ctx context.Context, method, path string, body []byte, hdr map[string]string, out any) error {
	_, err := s.doH(ctx, method, path, body, hdr, out)
	return err
}

func (s *Store) doH(ctx context.Context, method, path string, body []byte, hdr map[string]string, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	target := s.url(path)
	if err := s.checkOrigin(target); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if s.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.o.Token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if why := store.AccessReason(ctx); why != "" && s.gpsoc && method == http.MethodGet {
		// The reason belongs to the read it opens; another vendor's server
		// knows no such header, and is not sent the reason.
		req.Header.Set("X-Access-Reason", strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, why))
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		msg := strings.TrimSpace(string(b))
		var oo fhir.OperationOutcome
		if json.Unmarshal(b, &oo) == nil && len(oo.Issue) > 0 {
			var parts []string
			for _, is := range oo.Issue {
				d := is.Diagnostics
				if d == "" && is.Details != nil {
					d = is.Details.Text
				}
				parts = append(parts, d)
			}
			msg = strings.Join(parts, "; ")
		}
		return res.Header, &httpError{status: res.StatusCode, msg: msg}
	}
	if out != nil && len(b) > 0 {
		if raw, ok := out.(*[]byte); ok {
			*raw = b
		} else if err := json.Unmarshal(b, out); err != nil {
			return res.Header, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return res.Header, nil
}

// search runs a search and follows its next links, calling fn for each resource.
func (s *Store) search(ctx context.Context, t string, q url.Values, fn func(fhir.Resource) error) (int, error) {
	return s.searchRaw(ctx, t, q, func(_ json.RawMessage, r fhir.Resource) error { return fn(r) })
}

// searchRaw is search, each resource given as sent too.
func (s *Store) searchRaw(ctx context.Context, t string, q url.Values, fn func(json.RawMessage, fhir.Resource) error) (int, error) {
	if q.Get("_count") == "" {
		q.Set("_count", "500")
	}
	path := t + "?" + q.Encode()
	total := -1
	for path != "" {
		var b fhir.Bundle
		var raw []byte
		if err := s.do(ctx, "GET", path, nil, nil, &raw); err != nil {
			return 0, typed(err, t)
		}
		if err := fhir.Unmarshal(raw, &b); err != nil {
			return 0, fmt.Errorf("search %s: %w", t, err)
		}
		if b.Total != nil && total < 0 {
			total = *b.Total
		}
		for _, e := range b.Entry {
			if e.Search != nil && e.Search.Mode != "" && e.Search.Mode != "match" {
				continue
			}
			r, err := fhir.Parse(e.Resource)
			if err != nil {
				return 0, err
			}
			if r.FHIRType() != t {
				continue
			}
			if err := fn(e.Resource, r); err != nil {
				return 0, err
			}
		}
		path = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				path = l.URL
			}
		}
	}
	return total, nil
}

// versionID is a resource's meta.versionId ("" when the server keeps none).
func versionID(r fhir.Resource) string {
	if m := *r.Head().Meta; m != nil {
		return m.VersionID
	}
	return ""
}

// version is the record version of a resource: its numeric versionId, or,
// on a server with opaque version ids, its place in the resource's history.
func (s *Store) version(ctx context.Context, r fhir.Resource) (int, error) {
	vid := versionID(r)
	if vid == "" {
		return 1, nil
	}
	if v, err := strconv.Atoi(vid); err == nil {
		return v, nil
	}
	s.opaque.Store(true)
	// Only current versions are mapped here (reads, searches, write
	// answers): the current version's number is the length of its history.
	// (Counting, not matching ids: servers order same-millisecond versions
	// differently.)
	vids, err := s.historyIDs(ctx, r.FHIRType(), *r.Head().ID)
	if err != nil {
		return 0, err
	}
	return max(1, len(vids)), nil
}

// historyIDs are the version ids of a resource (newest first as FHIR says, reversed here).
func (s *Store) historyIDs(ctx context.Context, typ, id string) ([]string, error) {
	var raw []byte
	if err := s.do(ctx, "GET", typ+"/"+url.PathEscape(id)+"/_history", nil, nil, &raw); err != nil {
		return nil, typed(err, typ+" "+id)
	}
	var b fhir.Bundle
	if err := fhir.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	var out []string
	for i := len(b.Entry) - 1; i >= 0; i-- {
		var h struct {
			Meta struct {
				VersionID string `json:"versionId"`
			} `json:"meta"`
		}
		if len(b.Entry[i].Resource) > 0 && json.Unmarshal(b.Entry[i].Resource, &h) == nil {
			out = append(out, h.Meta.VersionID)
		}
	}
	return out, nil
}

// ifMatch is the If-Match naming record version n of a resource.
func (s *Store) ifMatch(ctx context.Context, typ, id string, n int) (string, error) {
	if !s.opaque.Load() {
		return fmt.Sprintf(`W/"%d"`, n), nil
	}
	vids, err := s.historyIDs(ctx, typ, id)
	if err != nil {
		return "", err
	}
	if n != len(vids) {
		return fmt.Sprintf(`W/"%d"`, n), nil // not the current version: matches nothing, the server answers 412
	}
	var cur struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if err := s.do(ctx, "GET", typ+"/"+url.PathEscape(id), nil, nil, &cur); err != nil {
		return "", typed(err, typ+" "+id)
	}
	return `W/"` + cur.Meta.VersionID + `"`, nil
}

func lastUpdated(r fhir.Resource) time.Time {
	if m := *r.Head().Meta; m != nil {
		t, _ := time.Parse(time.RFC3339Nano, m.LastUpdated)
		return t
	}
	return time.Time{}
}
