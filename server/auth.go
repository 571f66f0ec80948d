package server

// Tokens on the API: who a bearer token acts as, for how long, and how it
// is revoked (RFC 7009). The per-request lookup is a map hit: the answer is
// cached for at most half a second (cacheTTL), never past the token's expiry,
// and dropped at once when this process changes any user or token
// (clinical.Practice.AuthGen), so a disabled user or a revoked token stops
// within a second even when the change came from another process.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

type session struct {
	svc     *clinical.Service
	at      time.Time
	expires time.Time
	gen     uint64
}

// cacheTTL is half the promised second: an entry cached just before the
// change was made must still lapse, and be looked up again, within a
// second of it (a replica on PostgreSQL hears of another's change only so).
const cacheTTL = 500 * time.Millisecond

// session is the services acting as the holder of a token (by its hash).
func (s *Server) session(ctx context.Context, hash string) (*clinical.Service, error) {
	now := time.Now()
	gen := s.p.AuthGen()
	s.mu.Lock()
	se, ok := s.sessions[hash]
	s.mu.Unlock()
	if ok && se.gen == gen && now.Sub(se.at) < cacheTTL && (se.expires.IsZero() || now.Before(se.expires)) {
		return se.svc, nil
	}
	svc, tk, err := s.p.AsToken(ctx, hash)
	if err != nil {
		s.mu.Lock()
		delete(s.sessions, hash)
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Lock()
	if len(s.sessions) > 10000 {
		clear(s.sessions)
	}
	s.sessions[hash] = session{svc: svc, at: now, expires: tk.ExpiresAt, gen: gen}
	s.mu.Unlock()
	return svc, nil
}

func isCredential(err error) bool {
	var ce *clinical.CredentialError
	return errors.As(err, &ce)
}

// tokenRefusal is what the audit trail says of a refused token.
func tokenRefusal(err error) string {
	var nf *record.NotFoundError
	var ce *clinical.CredentialError
	switch {
	case errors.As(err, &ce):
		return "bearer token of " + ce.User + ": " + ce.Why
	case errors.As(err, &nf) && strings.HasPrefix(nf.ID, "(expired"):
		return "expired bearer token"
	}
	return "unknown bearer token"
}

// revoke is token revocation (RFC 7009): POST /revoke with token=… in a
// form body. A user may revoke their own tokens, an admin anyone's; an
// unknown token is answered 200 as the RFC says (nothing to revoke). An
// admin may also name a user (user=NAME) to revoke all of theirs, or one
// of theirs by its listed id (user=NAME&token_id=ID).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "structure", "revoke: %s", err.Error())
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	user := strings.TrimSpace(r.PostForm.Get("user"))
	var err error
	switch {
	case tok != "":
		err = svc.RevokeSecret(r.Context(), tok)
	case user != "":
		_, err = svc.RevokeTokens(r.Context(), user, strings.TrimSpace(r.PostForm.Get("token_id")))
	default:
		return errorf(http.StatusBadRequest, "required", "revoke: give token=… (or, as an admin, user=NAME)")
	}
	if err != nil {
		return err
	}
	s.forgetContext()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// passphrase is POST /$passphrase: the token's user's own passphrase, for a
// remote workstation's idle lock (store/remote/passphrase.go). JSON in:
// {"op": "has"|"check"|"set", "passphrase": "…"}; out: {"set": bool} or
// {"ok": bool}. The hash never leaves the server; a wrong one is audited.
func (s *Server) passphrase(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	var in struct {
		Op         string `json:"op"`
		Passphrase string `json:"passphrase"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return errorf(http.StatusBadRequest, "structure", "$passphrase: %s", err.Error())
	}
	out := map[string]bool{}
	switch in.Op {
	case "has":
		out["set"] = svc.HasPassphrase(r.Context())
	case "check":
		out["ok"] = svc.Unlock(r.Context(), in.Passphrase)
	case "set":
		if err := svc.SetPassphrase(r.Context(), in.Passphrase); err != nil {
			return err
		}
		out["set"], out["ok"] = true, true
	default:
		return errorf(http.StatusBadRequest, "value", "$passphrase: op must be has, check or set, not %q", in.Op)
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	return nil
}
