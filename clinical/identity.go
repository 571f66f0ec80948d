package clinical

// Identity: who may act as a user (design.md §3, "Who is acting").
//
// Acting as a user needs that user's credential: their passphrase (or PIN),
// a session a `gpsoc login` opened, an OS login an admin bound to them, or,
// on the API, a bearer token. Passphrases are argon2id (slow on purpose: a
// practice file copied off a workstation must not give them up); tokens and
// sessions are long random secrets, so one SHA-256 keeps the per-request
// lookup cheap. A disabled user can do nothing: their tokens and sessions
// are deleted when they are disabled, and every way in checks the flag.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"golang.org/x/crypto/argon2"
)

// Settings of identity (practice set).
const (
	// SettingTokenLifetime is how long an API token or a login session lasts
	// (default 12h); an interface user's token may be given longer.
	SettingTokenLifetime = "token-lifetime"
)

// DefaultTokenLifetime is token-lifetime when it is not set.
const DefaultTokenLifetime = 12 * time.Hour

// MaxInterfaceTokenLifetime caps the longer life an admin may give a feed's token.
const MaxInterfaceTokenLifetime = 366 * 24 * time.Hour

// argon2id parameters: OWASP's first recommendation (19 MiB, 2 passes, 1
// lane). About 40 ms on the reference machine: nothing for a person typing,
// far too slow to try a dictionary against a stolen file.
const (
	argonMemory = 19 * 1024
	argonTime   = 2
	argonLanes  = 1
	argonKeyLen = 32
)

// HashPassphrase hashes a passphrase or PIN with argon2id, in the PHC string
// format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so its parameters travel with it.
func HashPassphrase(p string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonLanes, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonLanes,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassphrase reports whether p matches a hash from HashPassphrase
// (false for an empty or malformed hash).
func VerifyPassphrase(hash, p string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var l uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &l); err != nil || m == 0 || t == 0 || l == 0 || m > 1<<22 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(p), salt, t, m, l, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckNewPassphrase is the rule for a passphrase or PIN: at least 8
// characters, or a PIN of at least 6 digits.
func CheckNewPassphrase(p string) error {
	digits := p != "" && strings.Trim(p, "0123456789") == ""
	switch {
	case digits && len(p) < 6:
		return record.Invalid("passphrase", "…", "a PIN is at least 6 digits")
	case !digits && len([]rune(p)) < 8:
		return record.Invalid("passphrase", "…", "a passphrase is at least 8 characters (or a PIN of at least 6 digits)")
	}
	return nil
}

// TokenHash is how tokens are stored.
func TokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func newSecret() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return "gpsoc_" + hex.EncodeToString(raw), nil
}

// Credential is what a local process offers to act as a user.
type Credential struct {
	// Login is the OS login of the process; it is recorded on every audit
	// event, and a binding of it to the user is a credential.
	Login string
	// Session is the secret of a session `gpsoc login` opened ("" none).
	Session string
	// Passphrase, when HavePassphrase, was typed or read from GPSOC_PASSPHRASE_FILE.
	Passphrase     string
	HavePassphrase bool
}

// CredentialError is a refusal to act as a user: no credential, a wrong
// one, or a disabled user. It is a permission error (exit 4, HTTP 401/403).
type CredentialError struct {
	User, Login, Why string
}

func (e *CredentialError) Error() string {
	return fmt.Sprintf("not permitted to act as %s: %s", e.User, e.Why)
}

// Permission makes it a PermissionError for the exit-code and HTTP mappings.
func (e *CredentialError) Unwrap() error {
	return &record.PermissionError{User: e.User, Action: "act as " + e.User + ": " + e.Why}
}

// LoginBound reports whether an OS login is bound to a user.
func LoginBound(u record.User, login string) bool {
	return login != "" && slices.Contains(u.Logins, login)
}

// BoundUsers are the users an OS login is bound to (enabled ones), by name.
func (p *Practice) BoundUsers(ctx context.Context, login string) ([]string, error) {
	var out []string
	err := p.st.View(ctx, func(tx store.Tx) error {
		us, err := tx.Users()
		for _, u := range us {
			if !u.Disabled && LoginBound(u, login) {
				out = append(out, u.Name)
			}
		}
		return err
	})
	slices.Sort(out)
	return out, err
}

// Authenticate is the services acting as a user, for a local process that
// offers a credential: a valid session of that user, a binding of its OS
// login to the user, or the user's passphrase. A refusal (no credential, a
// wrong passphrase, a disabled user) is audited as denied, naming the user
// asked for and the OS login that asked.
func (p *Practice) Authenticate(ctx context.Context, name string, c Credential) (*Service, error) {
	s, err := p.As(ctx, name)
	if err != nil {
		var ce *CredentialError
		if asCredErr(err, &ce) {
			ce.Login = c.Login
			p.auditDenied(ctx, name, c.Login, ce.Why)
		}
		return nil, err
	}
	s.login = c.Login
	u := s.user
	why := ""
	switch {
	case c.Session != "" && p.sessionOf(ctx, c.Session, u.Name):
	case LoginBound(u, c.Login):
	case c.HavePassphrase && p.guessing(ctx, u.Name):
		why = fmt.Sprintf("%d wrong passphrases in %v: wait, or ask an admin", maxWrongPassphrases, wrongPassphraseWindow)
	case c.HavePassphrase && u.PassHash == "":
		why = "they have no passphrase yet (an admin can bind your OS login: gpsoc user bind " + u.Name + " --login LOGIN)"
	case c.HavePassphrase && !VerifyPassphrase(u.PassHash, c.Passphrase):
		why = reasonWrongPassphrase
	case c.HavePassphrase:
	default:
		why = fmt.Sprintf("no credential (OS login %q is not bound to %s, and no passphrase or session was given: run gpsoc login, or set GPSOC_PASSPHRASE_FILE)", c.Login, u.Name)
	}
	if why != "" {
		p.auditDenied(ctx, name, c.Login, why)
		return nil, &CredentialError{User: name, Login: c.Login, Why: why}
	}
	return s, nil
}

func asCredErr(err error, ce **CredentialError) bool {
	e, ok := err.(*CredentialError)
	if ok {
		*ce = e
	}
	return ok
}

func (p *Practice) auditDenied(ctx context.Context, user, login, why string) {
	ev := &record.AuditEvent{At: p.now().UTC(), User: user, Login: login, Action: "login", Outcome: "denied",
		Reason: why, Source: p.source}
	_ = p.st.Update(ctx, func(tx store.WTx) error { return tx.Append(ev) })
}

// After maxWrongPassphrases wrong passphrases for a user within
// wrongPassphraseWindow, even the right one is refused until the window
// has passed: argon2id makes each guess slow, this makes guessing a PIN
// hopeless. The count is read from the audit trail's recent events (a
// wrong passphrase is always audited), so it holds across processes.
const (
	maxWrongPassphrases   = 5
	wrongPassphraseWindow = 15 * time.Minute
	recentEvents          = 2000
)

func (p *Practice) guessing(ctx context.Context, user string) bool {
	since := p.now().Add(-wrongPassphraseWindow)
	n := 0
	_ = p.st.View(ctx, func(tx store.Tx) error {
		head, _, err := tx.AuditHead()
		if err != nil || head == 0 {
			return err
		}
		return tx.Audit(max(head, recentEvents)-recentEvents, func(ev *record.AuditEvent) error {
			if ev.User == user && ev.Outcome == "denied" && ev.Reason == reasonWrongPassphrase && ev.At.After(since) {
				n++
			}
			return nil
		})
	})
	return n >= maxWrongPassphrases
}

// reasonWrongPassphrase is the audit reason of a wrong passphrase.
const reasonWrongPassphrase = "wrong passphrase"

// sessionOf reports whether secret is a live session or token of user.
func (p *Practice) sessionOf(ctx context.Context, secret, user string) bool {
	ok := false
	_ = p.st.View(ctx, func(tx store.Tx) error {
		tk, err := tx.Token(TokenHash(secret))
		ok = err == nil && tk.User == user && !tk.Expired(p.now())
		return nil
	})
	return ok
}

// AsToken is the services acting as the holder of a token or session, by
// the SHA-256 of its secret: a NotFoundError for an unknown, expired or
// revoked token; a CredentialError for a disabled user. The token comes back
// so a caller that caches the answer knows when it expires.
func (p *Practice) AsToken(ctx context.Context, hash string) (*Service, *record.Token, error) {
	var tk *record.Token
	err := p.st.View(ctx, func(tx store.Tx) error {
		var err error
		tk, err = tx.Token(hash)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if tk.Expired(p.now()) {
		return nil, nil, &record.NotFoundError{Kind: "token", ID: "(expired " + tk.ExpiresAt.UTC().Format(time.RFC3339) + ")"}
	}
	s, err := p.As(ctx, tk.User)
	if err != nil {
		return nil, nil, err
	}
	s.token = tk
	return s, tk, nil
}

// Token is the token or session the services act by (nil for a local
// process that came in another way).
func (s *Service) Token() *record.Token { return s.token }

// Login is the OS login the services record beside the user ("" on the API).
func (s *Service) Login() string { return s.login }

// tokenLifetime is the practice's token-lifetime setting.
func (s *Service) tokenLifetime() time.Duration {
	if d, err := time.ParseDuration(s.practice.Settings[SettingTokenLifetime]); err == nil && d > 0 {
		return d
	}
	return DefaultTokenLifetime
}

// ParseLifetime reads a token life: a Go duration (12h, 90m) or whole days (90d).
func ParseLifetime(field, v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, record.Invalid(field, v, "must be a duration such as 12h, 30m or 90d")
	}
	return d, nil
}

// NewToken makes a new API bearer token for a user (admins): a long random
// secret shown once and stored only as its SHA-256, replacing the user's
// previous API token. It lasts the practice's token-lifetime, or life when
// given: no longer than token-lifetime, except for an interface user (a lab
// feed), whose token an admin may give up to a year.
func (s *Service) NewToken(ctx context.Context, name string, life time.Duration) (string, *record.Token, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return "", nil, err
	}
	max := s.tokenLifetime()
	if life == 0 {
		life = max
	}
	var tk *record.Token
	var tok string
	err := s.store().Update(ctx, func(tx store.WTx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		if u.Disabled {
			return record.Invalid("user", name, "is disabled: enable them first (gpsoc user enable %s)", name)
		}
		if u.Role == record.RoleInterface {
			max = MaxInterfaceTokenLifetime
		}
		if life > max {
			why := "is longer than the practice's token-lifetime " + max.String() + " (only an interface user's token may be given longer)"
			if u.Role == record.RoleInterface {
				why = "is longer than a year"
			}
			return record.Invalid("expires", life.String(), "%s", why)
		}
		if tok, err = newSecret(); err != nil {
			return err
		}
		olds, err := tx.Tokens(name)
		if err != nil {
			return err
		}
		for _, o := range olds {
			if o.Kind == record.TokenAPI {
				if err := tx.DeleteToken(o.Hash); err != nil {
					return err
				}
			}
		}
		now := s.p.now().UTC()
		tk = &record.Token{Hash: TokenHash(tok), User: name, Kind: record.TokenAPI, IssuedAt: now,
			IssuedBy: s.user.Name, ExpiresAt: now.Add(life)}
		if err := tx.PutToken(tk); err != nil {
			return err
		}
		ev := s.event("token", "user", name, "", 0) // writes a token, not the user
		ev.Reason = "expires " + tk.ExpiresAt.Format(time.RFC3339)
		return tx.Append(ev)
	})
	if err != nil {
		return "", nil, fmt.Errorf("token for %s: %w", name, err)
	}
	return tok, tk, nil
}

// OpenSession opens a local session for the acting user (`gpsoc login`):
// a secret for the caller to keep in an owner-only file, lasting life (at
// most the practice's token-lifetime; 0: that).
func (s *Service) OpenSession(ctx context.Context, life time.Duration) (string, *record.Token, error) {
	max := s.tokenLifetime()
	if life == 0 {
		life = max
	}
	if life > max {
		return "", nil, record.Invalid("for", life.String(), "is longer than the practice's token-lifetime %s", max)
	}
	tok, err := newSecret()
	if err != nil {
		return "", nil, err
	}
	now := s.p.now().UTC()
	tk := &record.Token{Hash: TokenHash(tok), User: s.user.Name, Kind: record.TokenSession, IssuedAt: now,
		IssuedBy: s.user.Name, ExpiresAt: now.Add(life), Login: s.login}
	err = s.store().Update(ctx, func(tx store.WTx) error {
		if err := tx.PutToken(tk); err != nil {
			return err
		}
		ev := s.event("login", "user", s.user.Name, "", 0)
		ev.Reason = "session " + tk.ID() + " expires " + tk.ExpiresAt.Format(time.RFC3339)
		return tx.Append(ev)
	})
	if err != nil {
		return "", nil, err
	}
	return tok, tk, nil
}

// Tokens lists a user's live tokens and sessions (admins; anyone for their own).
func (s *Service) Tokens(ctx context.Context, name string) ([]record.Token, error) {
	if name != s.user.Name {
		if err := s.require(ctx, ActAdmin, ""); err != nil {
			return nil, err
		}
	}
	var out []record.Token
	err := s.store().View(ctx, func(tx store.Tx) error {
		if _, err := tx.User(name); err != nil {
			return err
		}
		ts, err := tx.Tokens(name)
		for _, t := range ts {
			if !t.Expired(s.p.now()) {
				out = append(out, t)
			}
		}
		return err
	})
	slices.SortFunc(out, func(a, b record.Token) int { return a.IssuedAt.Compare(b.IssuedAt) })
	return out, err
}

// RevokeTokens revokes a user's tokens and sessions: the one whose ID
// (or whole hash) is id, or all of them when id is "". Admins may revoke
// anyone's; a user their own. Audited; the number revoked comes back.
func (s *Service) RevokeTokens(ctx context.Context, name, id string) (int, error) {
	if name != s.user.Name {
		if err := s.require(ctx, ActAdmin, ""); err != nil {
			return 0, err
		}
	}
	n := 0
	err := s.store().Update(ctx, func(tx store.WTx) error {
		if _, err := tx.User(name); err != nil {
			return err
		}
		ts, err := tx.Tokens(name)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if id == "" || t.ID() == id || t.Hash == id {
				if err := tx.DeleteToken(t.Hash); err != nil {
					return err
				}
				n++
			}
		}
		if id != "" && n == 0 {
			return &record.NotFoundError{Kind: "token", ID: id}
		}
		ev := s.event("revoke", "user", name, "", 0)
		ev.Reason = fmt.Sprintf("%d token(s)", n)
		if id != "" {
			ev.Reason = "token " + id
		}
		return tx.Append(ev)
	})
	if err == nil {
		s.p.authChanged()
	}
	return n, err
}

// RevokeSecret revokes the token or session whose secret is given (RFC 7009
// semantics: an unknown token is not an error). A user may revoke their own;
// an admin anyone's.
func (s *Service) RevokeSecret(ctx context.Context, secret string) error {
	var tk *record.Token
	_ = s.store().View(ctx, func(tx store.Tx) error { tk, _ = tx.Token(TokenHash(secret)); return nil })
	if tk == nil {
		return nil
	}
	_, err := s.RevokeTokens(ctx, tk.User, tk.Hash)
	return err
}

// BindLogin binds an OS login to a user (admins; audited): a process
// running as that login may then act as the user without a passphrase.
// One login may be bound to several users (--as picks among them).
func (s *Service) BindLogin(ctx context.Context, name, login string, bind bool) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if err := validLogin(login); err != nil {
		return nil, err
	}
	action := "bind"
	if !bind {
		action = "unbind"
	}
	return s.changeUser(ctx, name, action, login, func(u *record.User) error {
		has := slices.Contains(u.Logins, login)
		switch {
		case bind && has, !bind && !has:
			return errUnchanged
		case bind:
			u.Logins = append(u.Logins, login)
			slices.Sort(u.Logins)
		default:
			u.Logins = slices.DeleteFunc(u.Logins, func(l string) bool { return l == login })
		}
		return nil
	})
}

func validLogin(login string) error {
	if login == "" || len(login) > 64 || strings.ContainsAny(login, " \t\r\n/:") {
		return record.Invalid("login", login, "an OS login name, such as the output of `id -un`")
	}
	return nil
}

// errUnchanged: a change that would change nothing (no write, no error).
var errUnchanged = errors.New("unchanged")

// changeUser applies one change to a user in one transaction with its audit
// event (action, and why in the event's reason).
func (s *Service) changeUser(ctx context.Context, name, action, why string, mutate func(u *record.User) error) (*record.User, error) {
	var out *record.User
	err := s.store().Update(ctx, func(tx store.WTx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		if err := mutate(u); err != nil {
			return err
		}
		u.RecordedAt, u.RecordedBy = s.p.now().UTC(), s.user.Name
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if u.Disabled {
			if err := deleteTokens(tx, name); err != nil {
				return err
			}
		}
		ev := s.event(action, "user", name, "", u.Version)
		ev.Reason = why
		out = u
		return tx.Append(ev)
	})
	if err == errUnchanged {
		err = s.store().View(ctx, func(tx store.Tx) error { out, err = tx.User(name); return err })
	}
	if err != nil {
		return nil, err
	}
	s.p.authChanged()
	out.PassHash = ""
	return out, nil
}

func deleteTokens(tx store.WTx, name string) error {
	if _, remote := tx.(interface{ Remote() bool }); remote {
		return nil // over a server, the server revokes them when it disables the user
	}
	ts, err := tx.Tokens(name)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := tx.DeleteToken(t.Hash); err != nil {
			return err
		}
	}
	return nil
}

// DisableUser stops a user at once (admins; audited with the reason): their
// tokens and sessions are revoked, and nothing accepts them until they are
// enabled again. An admin cannot disable themselves (someone must be left
// to re-enable).
func (s *Service) DisableUser(ctx context.Context, name, reason string) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if name == s.user.Name {
		return nil, record.Invalid("user", name, "you cannot disable yourself (ask another admin)")
	}
	return s.changeUser(ctx, name, "disable", reason, func(u *record.User) error {
		if u.Disabled {
			return errUnchanged
		}
		u.Disabled = true
		return nil
	})
}

// EnableUser lets a disabled user act again (admins; audited). Their old
// tokens stay revoked: they log in again, and an API user needs a new token.
func (s *Service) EnableUser(ctx context.Context, name string) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	return s.changeUser(ctx, name, "enable", "", func(u *record.User) error {
		if !u.Disabled {
			return errUnchanged
		}
		u.Disabled = false
		return nil
	})
}

// SetRole changes a user's role (admins; audited). A prescriber flag that
// the new role cannot hold is cleared; gp users keep theirs.
func (s *Service) SetRole(ctx context.Context, name string, role record.Role) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if _, err := record.ParseRole(string(role)); err != nil {
		return nil, err
	}
	if name == s.user.Name && role != record.RoleAdmin {
		return nil, record.Invalid("role", string(role), "you cannot take admin from yourself (ask another admin)")
	}
	return s.changeUser(ctx, name, "role", string(role), func(u *record.User) error {
		if u.Role == role {
			return errUnchanged
		}
		u.Role = role
		if role != record.RoleGP && role != record.RoleNurse {
			u.Prescriber = false
		}
		return checkUserRole(*u)
	})
}

// SetPassphrase sets the acting user's own passphrase or PIN (they already
// proved who they are to get this Service: a binding, a session or the old
// passphrase). Audited; the hash never leaves the store.
func (s *Service) SetPassphrase(ctx context.Context, passphrase string) error {
	if err := CheckNewPassphrase(passphrase); err != nil {
		return err
	}
	if ps, ok := s.p.st.(store.Passphrases); ok {
		return ps.SetPassphrase(ctx, passphrase)
	}
	hash := HashPassphrase(passphrase)
	_, err := s.changeUser(ctx, s.user.Name, "passphrase", "", func(u *record.User) error {
		u.PassHash = hash
		return nil
	})
	return err
}

// ResetPassphrase clears a user's passphrase (admins; audited), for one who
// forgot it: they set a new one on first use, through a binding or a session.
func (s *Service) ResetPassphrase(ctx context.Context, name string) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	return s.changeUser(ctx, name, "passphrase-reset", "", func(u *record.User) error {
		if u.PassHash == "" {
			return errUnchanged
		}
		u.PassHash = ""
		return nil
	})
}

// HasPassphrase reports whether the acting user has set a passphrase (read
// afresh: another workstation may have set it).
func (s *Service) HasPassphrase(ctx context.Context) bool {
	if ps, ok := s.p.st.(store.Passphrases); ok {
		has, err := ps.HasPassphrase(ctx)
		return has || err != nil // unknown: do not ask to set one
	}
	var has bool
	_ = s.store().View(ctx, func(tx store.Tx) error {
		u, err := tx.User(s.user.Name)
		has = err == nil && u.PassHash != ""
		return nil
	})
	return has
}

// Unlock checks the acting user's passphrase (the workstation's idle lock).
// A wrong one is audited as denied. A user who is disabled meanwhile cannot
// unlock.
func (s *Service) Unlock(ctx context.Context, passphrase string) bool {
	if ps, ok := s.p.st.(store.Passphrases); ok {
		ok, err := ps.CheckPassphrase(ctx, passphrase) // the server audits a wrong one
		return ok && err == nil
	}
	var u *record.User
	_ = s.store().View(ctx, func(tx store.Tx) error { u, _ = tx.User(s.user.Name); return nil })
	guessing := s.p.guessing(ctx, s.user.Name)
	ok := u != nil && !u.Disabled && !guessing && VerifyPassphrase(u.PassHash, passphrase)
	if !ok {
		ev := s.event("unlock", "", "", "", 0)
		ev.Outcome, ev.Reason = "denied", reasonWrongPassphrase
		switch {
		case u != nil && u.Disabled:
			ev.Reason = "the user is disabled"
		case guessing:
			ev.Reason = "too many wrong passphrases"
		}
		_ = s.audit(ctx, ev)
	}
	return ok
}

// Stopped says why the acting user may no longer act ("" while they may):
// disabled or removed since this Service was made, or, over a server, a
// token it no longer accepts. A workstation asks every second, so a user
// disabled elsewhere is stopped at an open workstation too. An error that
// says nothing of the user (a network blip) is not a stop.
func (s *Service) Stopped(ctx context.Context) string {
	var u *record.User
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.User(s.user.Name)
		return err
	})
	var pe *record.PermissionError
	switch {
	case errors.As(err, &pe):
		return "the server no longer accepts this workstation's token"
	case record.IsNotFound(err):
		return s.user.Name + " is no longer a user of this practice"
	case err != nil:
		return ""
	case u.Disabled:
		return s.user.Name + " has been disabled"
	}
	return ""
}
