package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// PracticesOptions configure a server of every practice in one database.
type PracticesOptions struct {
	// Route names the practice a token belongs to, by the SHA-256 of its
	// secret (a record.NotFoundError when none does).
	Route func(ctx context.Context, tokenHash string) (string, error)
	// Open makes the server of one practice (called once per practice, on
	// its first request).
	Open func(ctx context.Context, practice string) (*Server, error)
	// Home answers what belongs to no practice: /metadata, and requests
	// with no token or a token no practice holds (refused, and audited in
	// the home practice's trail).
	Home *Server
}

// Practices serves every practice in a database: the token decides the
// practice, so the API's URLs and remote mode are the same as for one
// practice. Each practice has a Server of its own (its find index, caches,
// limits and audit), made on its first request.
type Practices struct {
	o       PracticesOptions
	mu      sync.Mutex
	servers map[string]*Server
	routes  map[string]string // token hash -> practice (a token never moves)
	opening map[string]*sync.Mutex
	ctx     context.Context // the serving context, for each server's flush loop
	home    string          // the home practice's ODS code
}

// NewPractices makes the router.
func NewPractices(o PracticesOptions) *Practices {
	m := &Practices{o: o, servers: map[string]*Server{}, routes: map[string]string{}, opening: map[string]*sync.Mutex{}}
	if pr := o.Home.p.PracticeRecord(context.Background()); pr != nil {
		m.home = pr.ODS
	}
	return m
}

// Handler is the API's http.Handler.
func (m *Practices) Handler() http.Handler { return http.HandlerFunc(m.serveHTTP) }

// ListenAndServe serves until ctx is done, as Server.ListenAndServe does.
func (m *Practices) ListenAndServe(ctx context.Context, lo ListenOptions) error {
	return listenAndServe(ctx, lo, m)
}

func (m *Practices) serveHTTP(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	if !ok {
		m.o.Home.Handler().ServeHTTP(w, r)
		return
	}
	s, err := m.practiceOf(r.Context(), clinical.TokenHash(tok))
	switch {
	case record.IsNotFound(err):
		m.o.Home.Handler().ServeHTTP(w, r) // refused there, and audited
	case err != nil:
		// The database unreachable, or this replica refused the practice
		// (another terminology release): said as it is, nothing served.
		m.o.Home.o.Logger.Warn("route request", "path", r.URL.Path, "err", err)
		writeOutcome(w, http.StatusServiceUnavailable, "transient", "this server cannot serve the practice now: "+err.Error())
	default:
		s.Handler().ServeHTTP(w, r)
	}
}

// practiceOf is the server of the practice a token belongs to.
func (m *Practices) practiceOf(ctx context.Context, hash string) (*Server, error) {
	m.mu.Lock()
	ods, ok := m.routes[hash]
	s := m.servers[ods]
	m.mu.Unlock()
	if ok && s != nil {
		return s, nil
	}
	if !ok {
		var err error
		if ods, err = m.o.Route(ctx, hash); err != nil {
			return nil, err
		}
	}
	s, err := m.server(ctx, ods)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if len(m.routes) > 100000 {
		clear(m.routes)
	}
	m.routes[hash] = ods
	m.mu.Unlock()
	return s, nil
}

// server is a practice's server, made once (concurrent first requests
// wait for the one that makes it).
func (m *Practices) server(ctx context.Context, ods string) (*Server, error) {
	if ods == m.home {
		return m.o.Home, nil
	}
	m.mu.Lock()
	if s := m.servers[ods]; s != nil {
		m.mu.Unlock()
		return s, nil
	}
	om := m.opening[ods]
	if om == nil {
		om = &sync.Mutex{}
		m.opening[ods] = om
	}
	m.mu.Unlock()
	om.Lock()
	defer om.Unlock()
	m.mu.Lock()
	s := m.servers[ods]
	m.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := m.o.Open(ctx, ods)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.servers[ods] = s
	if m.ctx != nil {
		go s.flushLoop(m.ctx)
	}
	m.mu.Unlock()
	return s, nil
}

func (m *Practices) each() []*Server {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*Server{m.o.Home}
	for _, s := range m.servers {
		out = append(out, s)
	}
	return out
}

func (m *Practices) flushLoop(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	for _, s := range m.servers {
		go s.flushLoop(ctx)
	}
	m.mu.Unlock()
	m.o.Home.flushLoop(ctx)
}

// FlushRefusals writes every practice's pending refusal counts.
func (m *Practices) FlushRefusals(ctx context.Context, all bool) {
	for _, s := range m.each() {
		s.FlushRefusals(ctx, all)
	}
}
