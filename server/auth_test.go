package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// A user disabled by another process (the server is not told) is refused
// by the running server within a second: its token cache outlives no second.
func TestDisabledUserTokenRefusedWithinASecond(t *testing.T) {
	f := start(t)
	if r := f.do(t, "dr.gp", "GET", "/Patient", nil); r.status != 200 {
		t.Fatalf("before: %d %s", r.status, r.raw)
	}
	other := clinical.New(clinical.Options{Store: f.st}) // another process's services on the same file
	admin, err := other.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DisableUser(ctx, "dr.gp", "left"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for {
		r := f.do(t, "dr.gp", "GET", "/Patient", nil)
		if r.status == 401 {
			break
		}
		if time.Since(t0) > 3*time.Second {
			t.Fatalf("a disabled user's token still works after %v: %d", time.Since(t0), r.status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(t0); d > time.Second+250*time.Millisecond { // the cache's second, and a request's time
		t.Errorf("a disabled user's token was refused only after %v", d)
	}
}

// PUT Practitioner with active=false disables the user through the API:
// their token stops at once, and re-enabling does not revive it.
func TestPractitionerActiveFalseDisables(t *testing.T) {
	f := start(t)
	r := f.do(t, "nurse", "GET", "/Patient", nil)
	if r.status != 200 {
		t.Fatalf("before: %d", r.status)
	}
	p := f.do(t, "admin", "GET", "/Practitioner/"+practitionerID(t, f, "nurse"), nil)
	p.body["active"] = false
	if r := f.do(t, "admin", "PUT", "/Practitioner/"+practitionerID(t, f, "nurse"), p.body, "If-Match", p.header.Get("ETag")); r.status != 200 || r.body["active"] != false {
		t.Fatalf("PUT active=false: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "nurse", "GET", "/Patient", nil); r.status != 401 {
		t.Fatalf("a disabled user's token: %d, want 401 at once", r.status)
	}
	admin, _ := f.p.As(ctx, "admin")
	if _, err := admin.EnableUser(ctx, "nurse"); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "nurse", "GET", "/Patient", nil); r.status != 401 {
		t.Fatalf("a re-enabled user's old token: %d, want 401 (revoked when disabled)", r.status)
	}
}

func practitionerID(t *testing.T, f *fixture, name string) string {
	t.Helper()
	r := f.do(t, "admin", "GET", "/Practitioner?identifier="+url.QueryEscape(fhir.SystemUserName+"|"+name), nil)
	entries, _ := r.body["entry"].([]any)
	for _, e := range entries {
		res := e.(map[string]any)["resource"].(map[string]any)
		return res["id"].(string)
	}
	t.Fatalf("no Practitioner for %s: %s", name, r.raw)
	return ""
}

// An expired token is refused (401), and the refusal is audited as such.
func TestExpiredTokenRefused(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	p := clinical.New(clinical.Options{Store: st, Source: "api", Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if _, err := p.Init(ctx, "T", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	if _, err := admin.SetPractice(ctx, clinical.SettingTokenLifetime, "8h"); err != nil {
		t.Fatal(err)
	}
	admin, _ = p.As(ctx, "admin")
	tok, tk, err := admin.NewToken(ctx, "admin", 0)
	if err != nil || !tk.ExpiresAt.Equal(time.Unix(0, now.Load()).Add(8*time.Hour)) {
		t.Fatalf("token %+v, %v: want the practice's 8h", tk, err)
	}
	hs := httptest.NewServer(server.New(server.Options{Practice: p}).Handler())
	t.Cleanup(hs.Close)
	get := func() int {
		req, _ := http.NewRequest("GET", hs.URL+"/Patient", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("a fresh token: %d", s)
	}
	now.Add(int64(8*time.Hour + time.Second))
	if s := get(); s != 401 {
		t.Fatalf("an expired token: %d, want 401", s)
	}
	found := false
	evs, err := func() ([]*record.AuditEvent, error) {
		now.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
		a, _ := p.As(ctx, "admin")
		return a.AuditEvents(ctx, clinical.AuditFilter{})
	}()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Outcome == "denied" && strings.HasPrefix(e.Reason, "expired bearer token") {
			found = true
		}
	}
	if !found {
		t.Error("the expired token's refusal is not audited as expired")
	}
}

// POST /revoke (RFC 7009): a user revokes their own token; an admin all of
// another user's; a revoked token is refused at once.
func TestRevokeThroughTheAPI(t *testing.T) {
	f := start(t)
	post := func(user string, form url.Values) int {
		req, _ := http.NewRequest("POST", f.url+"/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := post("nurse", url.Values{"user": {"dr.gp"}}); s != 403 {
		t.Errorf("a nurse revoking a GP's tokens: %d, want 403", s)
	}
	if s := post("nurse", url.Values{"token": {f.tokens["nurse"]}}); s != 200 {
		t.Fatalf("revoke own: %d", s)
	}
	if r := f.do(t, "nurse", "GET", "/Patient", nil); r.status != 401 {
		t.Errorf("a revoked token: %d, want 401", r.status)
	}
	if r := f.do(t, "dr.gp", "GET", "/Patient", nil); r.status != 200 {
		t.Fatalf("dr.gp before: %d", r.status)
	}
	if s := post("admin", url.Values{"user": {"dr.gp"}}); s != 200 {
		t.Fatalf("admin revokes dr.gp's: %d", s)
	}
	if r := f.do(t, "dr.gp", "GET", "/Patient", nil); r.status != 401 {
		t.Errorf("a token revoked by an admin: %d, want 401", r.status)
	}
}

// Introspection says when the token stops working (RFC 7662 exp, iat).
func TestIntrospectionGivesExpiry(t *testing.T) {
	f := start(t)
	req, _ := http.NewRequest("POST", f.url+"/introspect", strings.NewReader(url.Values{"token": {f.tokens["nurse"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+f.tokens["nurse"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Active   bool   `json:"active"`
		Username string `json:"username"`
		Exp, Iat int64
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if !out.Active || out.Username != "nurse" || out.Exp-out.Iat != int64(clinical.DefaultTokenLifetime/time.Second) {
		t.Errorf("introspection: %+v; want nurse's, expiring 12h after issue", out)
	}
}
