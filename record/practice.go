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
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleGP, RoleNurse, RoleReceptionist:
		return r, nil
	}
	return "", Invalid("role", s, "must be admin, gp, nurse or receptionist")
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
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	RegNumber  string    `json:"regNumber,omitempty"` // GMC / NMC / GPhC number
	Prescriber bool      `json:"prescriber"`
	TokenHash  string    `json:"-"`
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
