package server

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/opengpsoc/gpsoc/record"
)

// Abuse limits. Refused and failed requests cost the server an audit event
// each (design.md §3: denied attempts are audited), so without limits an
// anonymous client could fill the disk with them. Each client's failures
// are rate-limited (429 with Retry-After beyond the limit), each audit
// event of one is a short summary of the request, and a flood is
// coalesced: per client per FloodEvery, the first refusal is written whole
// and the rest as one event with their count.

// Limits bound what failed and unauthenticated requests may cost.
type Limits struct {
	// AnonRate and AnonBurst limit unauthenticated requests (no token, or
	// a token that is not valid) per client address, per second.
	AnonRate  float64
	AnonBurst int
	// FailRate and FailBurst limit failed requests per authenticated user.
	FailRate  float64
	FailBurst int
	// FloodEvery is how often a client's coalesced refusals are written.
	FloodEvery time.Duration
}

func (l *Limits) defaults() {
	if l.AnonRate <= 0 {
		l.AnonRate, l.AnonBurst = 2, 20
	}
	if l.FailRate <= 0 {
		l.FailRate, l.FailBurst = 20, 200
	}
	if l.FloodEvery <= 0 {
		l.FloodEvery = time.Minute
	}
}

// maxFailedEvents is how many failed requests of one user are written in
// full per FloodEvery; beyond it they are counted and written as one.
const maxFailedEvents = 60

// Lengths of the request summary an audit event keeps.
const maxAuditPath, maxAuditQuery, maxAuditReason = 200, 100, 300

// abuse holds the per-client limiters and flood windows.
type abuse struct {
	// n is the number of limiters: none (the usual case) costs a request
	// no lock and no allocation.
	n        atomic.Int64
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	floods   map[string]*flood
}

// flood is one client's refusals in the current window.
type flood struct {
	start   time.Time
	written int               // events written in full
	n       int               // events counted, not yet written
	first   record.AuditEvent // the window's first event
}

const maxClients = 10000

func (s *Server) limiter(key string, r rate.Limit, burst int) *rate.Limiter {
	s.ab.mu.Lock()
	defer s.ab.mu.Unlock()
	l, ok := s.ab.limiters[key]
	if !ok {
		if len(s.ab.limiters) >= maxClients {
			clear(s.ab.limiters) // forgetting clients is safe: it only lets them start afresh
		}
		l = rate.NewLimiter(r, burst)
		s.ab.limiters[key] = l
		s.ab.n.Store(int64(len(s.ab.limiters)))
	}
	return l
}

// over reports whether a client's failures are over its limit, without
// spending any (nil when it has none recorded).
func (s *Server) over(key string) bool {
	if s.ab.n.Load() == 0 {
		return false
	}
	s.ab.mu.Lock()
	l := s.ab.limiters[key]
	s.ab.mu.Unlock()
	return l != nil && l.Tokens() < 1
}

// client is the address a request came from (never a header: anyone can write one).
func client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func retryAfter(l *rate.Limiter) string {
	res := l.Reserve()
	d := res.Delay()
	res.Cancel()
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

func writeTooMany(w http.ResponseWriter, l *rate.Limiter) {
	w.Header().Set("Retry-After", retryAfter(l))
	writeOutcome(w, http.StatusTooManyRequests, "throttled", "too many failed or unauthenticated requests from this client: wait and retry")
}

// unauthenticated refuses a request without a valid token: 401, or 429
// when its client is over the limit; audited, coalesced per client.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, why, challenge, msg string) {
	ip := client(r)
	l := s.limiter("ip:"+ip, rate.Limit(s.o.Limits.AnonRate), s.o.Limits.AnonBurst)
	if !l.Allow() {
		s.auditRefusal(r.Context(), "ip:"+ip, s.refusal(r, "(unauthenticated)", "", why+" (rate limited)"), 1)
		writeTooMany(w, l)
		return
	}
	s.auditRefusal(r.Context(), "ip:"+ip, s.refusal(r, "(unauthenticated)", "", why), 1)
	w.Header().Set("WWW-Authenticate", challenge)
	writeOutcome(w, http.StatusUnauthorized, "login", msg)
}

// throttledAnon answers 429, before its token is looked up, for a request
// from an address over its limit, unless the token is one already known
// good: a practice behind one address is not locked out by one bad client,
// and a client guessing tokens gets no answer either way.
func (s *Server) throttledAnon(w http.ResponseWriter, r *http.Request, tokenHash string) bool {
	if s.ab.n.Load() == 0 {
		return false
	}
	key := "ip:" + client(r)
	if !s.over(key) {
		return false
	}
	s.mu.Lock()
	_, known := s.sessions[tokenHash]
	s.mu.Unlock()
	if known {
		return false
	}
	s.auditRefusal(r.Context(), key, s.refusal(r, "(unauthenticated)", "", "rate limited"), 1)
	writeTooMany(w, s.limiter(key, rate.Limit(s.o.Limits.AnonRate), s.o.Limits.AnonBurst))
	return true
}

// throttledUser answers 429 for a user whose requests keep failing.
func (s *Server) throttledUser(w http.ResponseWriter, r *http.Request, u record.User) bool {
	if s.ab.n.Load() == 0 {
		return false
	}
	key := "user:" + u.Name
	if !s.over(key) {
		return false
	}
	s.auditRefusal(r.Context(), key, s.refusal(r, u.Name, u.Role, "rate limited: too many failed requests"), 1)
	writeTooMany(w, s.limiter(key, rate.Limit(s.o.Limits.FailRate), s.o.Limits.FailBurst))
	return true
}

// failed spends one of a user's failures.
func (s *Server) failed(user string) {
	s.limiter("user:"+user, rate.Limit(s.o.Limits.FailRate), s.o.Limits.FailBurst).Allow()
}

// summary is a request as an audit event keeps it: the method and the path,
// each cut short, and the first part of the query.
func summary(r *http.Request) string {
	var b strings.Builder
	b.WriteString(cut(r.Method, 16))
	b.WriteByte(' ')
	b.WriteString(cut(r.URL.EscapedPath(), maxAuditPath))
	if q := r.URL.RawQuery; q != "" {
		b.WriteByte('?')
		b.WriteString(cut(q, maxAuditQuery))
	}
	return b.String()
}

// cut shortens s to n bytes, saying how long it was.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n-- // not inside a UTF-8 sequence
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}

// refusal is the audit event of a refused request: a summary of it.
func (s *Server) refusal(r *http.Request, user string, role record.Role, why string) *record.AuditEvent {
	return &record.AuditEvent{At: s.p.Now().UTC(), User: user, Role: role, Action: "denied", Outcome: "denied",
		Reason: cut(why, maxAuditReason) + " (client " + client(r) + ")", Query: summary(r), Source: "api"}
}

// auditRefusal writes a refused request's audit event, unless its client has
// had full events written in this window already: then it is counted, and
// written with the others as one event when the window closes.
func (s *Server) auditRefusal(ctx context.Context, key string, ev *record.AuditEvent, full int) {
	now := ev.At
	s.ab.mu.Lock()
	f := s.ab.floods[key]
	if f != nil && now.Sub(f.start) < s.o.Limits.FloodEvery {
		if f.written >= full {
			f.n++
			s.ab.mu.Unlock()
			return
		}
		f.written++
		s.ab.mu.Unlock()
		s.writeEvents(ctx, []*record.AuditEvent{ev})
		return
	}
	var closed []*record.AuditEvent
	if f != nil && f.n > 0 {
		closed = append(closed, floodEvent(key, f, now))
	}
	if len(s.ab.floods) >= maxClients {
		closed = append(closed, s.closeFloods(now, true)...)
	}
	s.ab.floods[key] = &flood{start: now, written: 1, first: *ev}
	s.ab.mu.Unlock()
	s.writeEvents(ctx, append(closed, ev))
}

func floodEvent(key string, f *flood, now time.Time) *record.AuditEvent {
	ev := f.first
	ev.Seq, ev.PrevHash, ev.Hash, ev.Query = 0, "", "", ""
	ev.At = now
	ev.Reason = fmt.Sprintf("%d more such requests since %s, coalesced (%s; the first: %s %s)",
		f.n, f.start.Format(time.RFC3339), key, cut(f.first.Query, maxAuditQuery), f.first.Reason)
	return &ev
}

// closeFloods ends the windows that are over (all, when all is set) and
// returns their events; s.ab.mu is held.
func (s *Server) closeFloods(now time.Time, all bool) []*record.AuditEvent {
	var evs []*record.AuditEvent
	for k, f := range s.ab.floods {
		if all || now.Sub(f.start) >= s.o.Limits.FloodEvery {
			if f.n > 0 {
				evs = append(evs, floodEvent(k, f, now))
			}
			delete(s.ab.floods, k)
		}
	}
	return evs
}

// FlushRefusals writes the coalesced refusals whose window is over (all of
// them when all is set, as on shutdown).
func (s *Server) FlushRefusals(ctx context.Context, all bool) {
	s.ab.mu.Lock()
	evs := s.closeFloods(s.p.Now().UTC(), all)
	s.ab.mu.Unlock()
	s.writeEvents(ctx, evs)
}

// flushLoop writes coalesced refusals as their windows close, until ctx is done.
func (s *Server) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.o.Limits.FloodEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.FlushRefusals(ctx, false)
		}
	}
}

func (s *Server) writeEvents(ctx context.Context, evs []*record.AuditEvent) {
	if len(evs) == 0 {
		return
	}
	if err := s.p.AuditRequests(context.WithoutCancel(ctx), evs); err != nil {
		s.o.Logger.Error("audit of a refused request failed", "err", err)
	}
}

// guard wraps the API: no response with patient data may be kept by a
// cache (all but the CapabilityStatement), and links are made from the
// configured base URL.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metadata" {
			w.Header().Set("Cache-Control", "no-store")
		}
		if s.o.BaseURL != "" {
			r = r.WithContext(context.WithValue(r.Context(), baseKey{}, s.o.BaseURL))
		}
		next.ServeHTTP(w, r)
	})
}

type baseKey struct{}

// baseURL is the server's base for links (Bundle.link, fullUrl, Location):
// the configured base URL, else the address the connection was accepted
// on. Never the Host header, which the client writes.
func baseURL(r *http.Request) string {
	if b, ok := r.Context().Value(baseKey{}).(string); ok {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return scheme + "://" + a.String() + "/"
	}
	return scheme + "://localhost/"
}

// NormalizeBaseURL checks a configured base URL and gives it its final slash.
func NormalizeBaseURL(u string) (string, error) {
	if u == "" {
		return "", nil
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.RawQuery != "" || pu.Fragment != "" {
		return "", record.Invalid("base-url", u, "not an absolute http(s) URL without query (e.g. https://gp.example.org/fhir)")
	}
	return strings.TrimSuffix(u, "/") + "/", nil
}

// singleParams are the search parameters of which only one value is read:
// a second would be ignored, so it is refused.
var singleParams = map[string]bool{"_id": true, "identifier": true, "patient": true, "subject": true,
	"actor": true, "_count": true, "_offset": true, "_sort": true}

// strictParams refuses what a search would otherwise ignore, as FHIR's
// handling=strict asks: an unknown parameter, any modifier (name:exact,
// code:text…; this server implements none), a second value of a parameter
// that takes one. Ignoring them would answer a narrower question with a
// wider list of patients.
func strictParams(q url.Values, t string, known map[string]bool) error {
	for k, vs := range q {
		name, mod, hasMod := strings.Cut(k, ":")
		switch {
		case !known[name] && !commonParams[name]:
			return errorf(http.StatusBadRequest, "not-supported", "search parameter %q is not supported for %s (see /metadata)", k, t)
		case hasMod:
			return errorf(http.StatusBadRequest, "not-supported", "search parameter %q: the modifier :%s is not supported (this server implements no search modifiers; see /metadata)", k, mod)
		case len(vs) > 1 && singleParams[name]:
			return errorf(http.StatusBadRequest, "not-supported", "search parameter %q is given %d times; it takes one value (a comma list where it allows several)", k, len(vs))
		}
	}
	return nil
}
