package clinical

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Practice settings keys.
const (
	SettingNursePrescribing = "nurse-prescribing"
	SettingIdleLock         = "idle-lock"
	SettingPassphrase       = "passphrase"
	SettingName             = "name"
)

// SettingDoc documents each key `gpsoc practice set` takes.
var SettingDoc = map[string]string{
	SettingNursePrescribing: "true|false: nurse prescribers may prescribe (default false)",
	SettingIdleLock:         "a duration such as 5m: the workstation locks after this long idle (default 10m; 0 never)",
	SettingPassphrase:       "the workstation passphrase (stored as a salted SHA-256; empty clears it)",
	SettingName:             "the practice name",
}

// SettingKeys lists the documented keys in order.
func SettingKeys() []string {
	var ks []string
	for k := range SettingDoc {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// settingValue checks a yes/no or duration setting and gives it in its
// one written form (SetPractice's and the API's UpdatePractice's).
func settingValue(key, value string) (string, error) {
	switch key {
	case SettingNursePrescribing:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", record.Invalid(key, value, "must be true or false")
		}
		return strconv.FormatBool(b), nil
	case SettingIdleLock:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return "", record.Invalid(key, value, "must be a duration such as 5m (0 never locks)")
		}
		return d.String(), nil
	}
	return value, nil
}

// SetPractice changes a practice setting.
func (s *Service) SetPractice(ctx context.Context, key, value string) (*record.Practice, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	switch key {
	case SettingNursePrescribing, SettingIdleLock:
		v, err := settingValue(key, value)
		if err != nil {
			return nil, err
		}
		value = v
	case SettingPassphrase:
		if value != "" {
			if len(value) < 8 {
				return nil, record.Invalid(key, "…", "must be at least 8 characters")
			}
			value = hashPassphrase(value)
		}
	case SettingName:
		if strings.TrimSpace(value) == "" {
			return nil, record.Invalid(key, value, "a practice name is required")
		}
		if err := record.CheckLine(key, value); err != nil {
			return nil, err
		}
	default:
		return nil, record.Invalid("key", key, "unknown setting: use one of %s", strings.Join(SettingKeys(), ", "))
	}
	var out *record.Practice
	err := s.store().Update(ctx, func(tx store.WTx) error {
		pr, err := tx.Practice()
		if err != nil {
			return err
		}
		if pr.Settings == nil {
			pr.Settings = map[string]string{}
		}
		if key == SettingName {
			pr.Name = value
		} else if value == "" {
			delete(pr.Settings, key)
		} else {
			pr.Settings[key] = value
		}
		pr.RecordedAt = s.p.now().UTC()
		pr.RecordedBy = s.user.Name
		if err := tx.PutPractice(pr); err != nil {
			return err
		}
		out = pr
		ev := s.event("update", "practice", key, "", pr.Version)
		return tx.Append(ev)
	})
	if err == nil {
		s.practice = *out
	}
	return out, err
}

func hashPassphrase(p string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	h := sha256.Sum256(append(salt, p...))
	return "sha256:" + hex.EncodeToString(salt) + ":" + hex.EncodeToString(h[:])
}

// CheckPassphrase reports whether p is the practice passphrase (true when none is set).
func CheckPassphrase(pr record.Practice, p string) bool {
	stored := pr.Settings[SettingPassphrase]
	if stored == "" {
		return true
	}
	parts := strings.Split(stored, ":")
	if len(parts) != 3 {
		return false
	}
	salt, err := hex.DecodeString(parts[1])
	if err != nil {
		return false
	}
	h := sha256.Sum256(append(salt, p...))
	return hex.EncodeToString(h[:]) == parts[2]
}

// checkUserRole checks a user's role and prescriber flag (AddUser's and
// UpdateUser's rule).
func checkUserRole(u record.User) error {
	if _, err := record.ParseRole(string(u.Role)); err != nil {
		return err
	}
	if err := record.CheckLine("reg-number", u.RegNumber); err != nil {
		return err
	}
	if u.Prescriber && u.Role != record.RoleGP && u.Role != record.RoleNurse {
		return record.Invalid("prescriber", "true", "only gp and nurse users can be prescribers, not %s", u.Role)
	}
	if u.Prescriber && u.RegNumber == "" && u.Role == record.RoleNurse {
		return record.Invalid("reg-number", "", "a nurse prescriber needs a professional registration number")
	}
	return nil
}

// AddUser creates a user. GPs are prescribers unless prescriber is false explicitly.
func (s *Service) AddUser(ctx context.Context, u record.User) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if err := record.ValidUserName(u.Name); err != nil {
		return nil, err
	}
	if err := checkUserRole(u); err != nil {
		return nil, err
	}
	u.RecordedAt = s.p.now().UTC()
	u.RecordedBy = s.user.Name
	err := s.store().Update(ctx, func(tx store.WTx) error {
		if _, err := tx.User(u.Name); err == nil {
			return &record.ConflictError{What: "user " + u.Name, Msg: "already exists"}
		}
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		return tx.Append(s.event("create", "user", u.Name, "", u.Version))
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// Users lists the practice's users.
func (s *Service) Users(ctx context.Context) ([]record.User, error) {
	var out []record.User
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.Users()
		return err
	})
	return out, err
}

// NewToken makes a new API bearer token for a user: a long random secret
// shown once, stored only as its SHA-256.
func (s *Service) NewToken(ctx context.Context, name string) (string, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := "gpsoc_" + hex.EncodeToString(raw)
	err := s.store().Update(ctx, func(tx store.WTx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		u.TokenHash = TokenHash(tok)
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return tx.Append(s.event("token", "user", name, "", u.Version))
	})
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", name, err)
	}
	return tok, nil
}

// TokenHash is how tokens are stored.
func TokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
