package clinical

import (
	"context"
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
	SettingName             = "name"
)

// settingPassphrase was the one workstation passphrase (a salted SHA-256)
// before each user had their own; a file may still hold it, unused.
const settingPassphrase = "passphrase"

// SettingDoc documents each key `gpsoc practice set` takes.
var SettingDoc = map[string]string{
	SettingNursePrescribing: "true|false: nurse prescribers may prescribe (default false)",
	SettingIdleLock:         "a duration such as 5m: the workstation locks after this long idle, until its user's passphrase (default 10m; 0 never)",
	SettingTokenLifetime:    "a duration such as 12h: how long an API token or a login session lasts (default 12h)",
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
	case SettingTokenLifetime:
		d, err := ParseLifetime(key, value)
		if err != nil {
			return "", err
		}
		if d > MaxInterfaceTokenLifetime {
			return "", record.Invalid(key, value, "must be at most a year")
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
	case SettingNursePrescribing, SettingIdleLock, SettingTokenLifetime:
		v, err := settingValue(key, value)
		if err != nil {
			return nil, err
		}
		value = v
	case settingPassphrase:
		return nil, record.Invalid("key", key, "there is no practice passphrase any more: each user sets their own (gpsoc passphrase)")
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
	if err := s.require(ctx, ActReadDemographics, ""); err != nil {
		return nil, err
	}
	var out []record.User
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.Users()
		return err
	})
	for i := range out {
		out[i].PassHash = "" // never leaves the services
	}
	return out, err
}
