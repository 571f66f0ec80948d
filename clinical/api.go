package clinical

// Services `gpsoc serve` offers remote workstations beyond the records
// themselves: the patient change feed their find index follows. Each is
// role-checked and audited like every other service.

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// PatientChange is one entry of the patient change feed.
type PatientChange struct {
	Seq       uint64
	PatientID string
}

// PatientChanges lists up to max patients changed after change sequence
// after, in order, and the sequence to ask from next time; more says the
// list stopped at max. max 0 asks for the latest sequence only. Every role
// may follow the feed (it names patient ids only, as a patient list does);
// each call is audited as a list.
func (s *Service) PatientChanges(ctx context.Context, after uint64, max int) ([]PatientChange, uint64, bool, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, 0, false, err
	}
	var out []PatientChange
	var last uint64
	more := false
	err := s.store().View(ctx, func(tx store.Tx) error {
		if max <= 0 {
			var err error
			last, err = tx.Changes(store.ChangesHead, func(uint64, string) error { return nil })
			return err
		}
		var err error
		last, err = tx.Changes(after, func(seq uint64, id string) error {
			if len(out) == max {
				more = true
				return errStop
			}
			out = append(out, PatientChange{Seq: seq, PatientID: id})
			return nil
		})
		if errors.Is(err, errStop) {
			err = nil
		}
		if more {
			last = out[len(out)-1].Seq
		}
		return err
	})
	if err != nil {
		return nil, 0, false, err
	}
	ev := s.event("list", record.KindPatient, "", "", 0)
	ev.Query = "changes after " + strconv.FormatUint(after, 10)
	return out, last, more, s.audit(ctx, ev)
}

// ---- the practice and its users over the API ----

// ReadPractice is the practice, for any user (a workstation needs its name
// and settings: nurse prescribing, idle lock); the read is audited.
func (s *Service) ReadPractice(ctx context.Context) (*record.Practice, error) {
	var pr *record.Practice
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		pr, err = tx.Practice()
		return err
	})
	if err != nil {
		return nil, err
	}
	return pr, s.audit(ctx, s.event("read", "practice", pr.ODS, "", pr.Version))
}

// ReadUsers lists the practice's users (name: that one only, or not found),
// for any user (records name their clinicians); the read is audited.
// Passphrase hashes are cleared: they never leave the services.
func (s *Service) ReadUsers(ctx context.Context, name string) ([]record.User, error) {
	if err := s.require(ctx, ActReadDemographics, ""); err != nil {
		return nil, err
	}
	var us []record.User
	err := s.store().View(ctx, func(tx store.Tx) error {
		if name != "" {
			u, err := tx.User(name)
			if err == nil {
				us = []record.User{*u}
			}
			return err
		}
		var err error
		us, err = tx.Users()
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range us {
		us[i].PassHash = ""
	}
	action := "list"
	if name != "" {
		action = "read"
	}
	return us, s.audit(ctx, s.event(action, "user", name, "", 0))
}

// UpdatePractice replaces the practice's name and settings (admins only),
// based on version next.Version: a stale one is a conflict naming who
// changed it. Settings are checked as `gpsoc practice set` checks them.
// The ODS code is the practice's identity and does
// not change.
func (s *Service) UpdatePractice(ctx context.Context, next record.Practice) (*record.Practice, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if strings.TrimSpace(next.Name) == "" {
		return nil, record.Invalid(SettingName, next.Name, "a practice name is required")
	}
	if err := record.CheckLine(SettingName, next.Name); err != nil {
		return nil, err
	}
	settings := map[string]string{}
	for k, v := range next.Settings {
		switch k {
		case SettingNursePrescribing, SettingIdleLock, SettingTokenLifetime:
			var err error
			if v, err = settingValue(k, v); err != nil {
				return nil, err
			}
		case settingPassphrase:
			continue // the old practice-wide passphrase: each user has their own now
		case SettingInboxRules:
			continue // set by a GP through SetFilingRules, kept below
		default:
			return nil, record.Invalid("key", k, "unknown setting: use one of %s", strings.Join(SettingKeys(), ", "))
		}
		if v != "" {
			settings[k] = v
		}
	}
	var out record.Practice
	err := s.store().Update(ctx, func(tx store.WTx) error {
		cur, err := tx.Practice()
		if err != nil {
			return err
		}
		if next.ODS != "" && next.ODS != cur.ODS {
			return record.Invalid("ods", next.ODS, "the practice is %s: its ODS code does not change", cur.ODS)
		}
		out = *cur
		if v := cur.Settings[SettingInboxRules]; v != "" {
			settings[SettingInboxRules] = v
		}
		out.Name, out.Settings, out.Version = strings.TrimSpace(next.Name), settings, next.Version
		out.RecordedAt, out.RecordedBy = s.p.now().UTC(), s.user.Name
		if err := tx.PutPractice(&out); err != nil {
			return err
		}
		return tx.Append(s.event("update", "practice", out.ODS, "", out.Version))
	})
	if err != nil {
		return nil, err
	}
	s.practice = out
	return &out, nil
}

// UpdateUser changes a user's role, registration number, prescriber flag
// and whether they are disabled (admins only; PUT Practitioner, active=false
// disables), based on version u.Version: a stale one is a conflict.
// Disabling revokes the user's tokens and sessions at once. Their passphrase
// and OS-login bindings stay as they were: those change only through their
// own commands.
func (s *Service) UpdateUser(ctx context.Context, u record.User) (*record.User, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if err := checkUserRole(u); err != nil {
		return nil, err
	}
	if u.Name == s.user.Name && (u.Disabled || u.Role != record.RoleAdmin) {
		return nil, record.Invalid("user", u.Name, "you cannot disable yourself or take admin from yourself (ask another admin)")
	}
	err := s.store().Update(ctx, func(tx store.WTx) error {
		cur, err := tx.User(u.Name)
		if err != nil {
			return err
		}
		u.PassHash, u.Logins = cur.PassHash, cur.Logins
		u.RecordedAt, u.RecordedBy = s.p.now().UTC(), s.user.Name
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		action := "update"
		switch {
		case u.Disabled && !cur.Disabled:
			action = "disable"
		case !u.Disabled && cur.Disabled:
			action = "enable"
		}
		if u.Disabled {
			if err := deleteTokens(tx, u.Name); err != nil {
				return err
			}
		}
		return tx.Append(s.event(action, "user", u.Name, "", u.Version))
	})
	if err != nil {
		return nil, err
	}
	s.p.authChanged()
	u.PassHash = ""
	return &u, nil
}
