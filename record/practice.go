package record

import (
	"regexp"
	"strings"
	"time"
)

// Role of a user; the role table lives in clinical.
type Role string

const (
	RoleAdmin        Role = "admin"
	RoleGP           Role = "gp"
	RoleNurse        Role = "nurse"
	RoleReceptionist Role = "receptionist"
	// RoleManager runs the practice's searches, registers and recalls, and
	// its registrations and book; never the journal, users or settings.
	RoleManager Role = "manager"
	// RoleInterface is another system's feed (a lab): it may deliver results
	// into the inbox and nothing else.
	RoleInterface Role = "interface"
)

// RoleNames lists the roles for messages and help.
const RoleNames = "admin, manager, gp, nurse, receptionist or interface"

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleManager, RoleGP, RoleNurse, RoleReceptionist, RoleInterface:
		return r, nil
	}
	return "", Invalid("role", s, "must be "+RoleNames)
}

// Practice is the practice itself: one per file.
type Practice struct {
	Name       string            `json:"name"`
	ODS        string            `json:"odsCode"`
	Demo       bool              `json:"demo,omitempty"`
	Settings   map[string]string `json:"settings,omitempty"`
	Version    int               `json:"version"`
	RecordedAt time.Time         `json:"recordedAt"`
	RecordedBy string            `json:"recordedBy"`
}

var odsCode = regexp.MustCompile(`^[A-Z0-9]{3,10}$`)

// NormaliseODS validates an ODS organisation code (e.g. a GP practice "B82005").
func NormaliseODS(s string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if !odsCode.MatchString(t) {
		return "", Invalid("ods", s, "an ODS code is 3 to 10 letters and digits (a GP practice is like B82005)")
	}
	return t, nil
}

// User is a person who uses the system.
type User struct {
	Name       string `json:"name"`
	Role       Role   `json:"role"`
	RegNumber  string `json:"regNumber,omitempty"` // GMC / NMC / GPhC number
	Prescriber bool   `json:"prescriber"`
	// Disabled: a leaver or a suspended user. They cannot act, and their
	// tokens and sessions were revoked when they were disabled.
	Disabled bool `json:"disabled,omitempty"`
	// Logins are the OS logins bound to this user by an admin: a process
	// running as one of them may act as this user without a passphrase.
	Logins []string `json:"logins,omitempty"`
	// PassHash is the user's passphrase or PIN, argon2id (clinical/identity.go);
	// never served, stored by the backend beside the user.
	PassHash   string    `json:"-"`
	Version    int       `json:"version"`
	RecordedAt time.Time `json:"recordedAt"`
	RecordedBy string    `json:"recordedBy"`
}

var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidUserName checks a user name: lower-case letters, digits, dot, dash, underscore.
func ValidUserName(s string) error {
	if !userName.MatchString(s) {
		return Invalid("name", s, "a user name is lower-case letters, digits, '.', '-' or '_' (e.g. dr.patel)")
	}
	return nil
}

// Token kinds.
const (
	TokenAPI     = "api"     // a bearer token for the API (`gpsoc user token`)
	TokenSession = "session" // a local session (`gpsoc login`)
)

// Token is an API token or a login session, stored only as the SHA-256 of
// its secret. It acts as its user until it expires or is revoked, and
// never once the user is disabled.
type Token struct {
	Hash      string    `json:"hash"`
	User      string    `json:"user"`
	Kind      string    `json:"kind"`
	IssuedAt  time.Time `json:"issuedAt"`
	IssuedBy  string    `json:"issuedBy,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"` // zero only for a token from before expiry existed
	// Login is the OS login that opened a session.
	Login string `json:"login,omitempty"`
}

// ID is the short handle a token is listed and revoked by: the start of its
// hash (which reveals nothing of the secret).
func (t Token) ID() string {
	if len(t.Hash) < 12 {
		return t.Hash
	}
	return t.Hash[:12]
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}
