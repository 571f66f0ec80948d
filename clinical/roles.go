package clinical

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
)

// Action is a row of the role table (design.md §3).
type Action string

const (
	// ActRegister: register, update demographics, book appointments.
	ActRegister Action = "register"
	// ActReadClinical: read the journal, problems, results, medication, allergies.
	ActReadClinical Action = "read clinical record"
	// ActWriteClinical: write consultations, problems, results.
	ActWriteClinical Action = "write clinical record"
	// ActPrescribe: prescribe, issue, re-authorise.
	ActPrescribe Action = "prescribe"
	// ActAdmin: users, practice settings, rules, audit.
	ActAdmin Action = "administer the practice"
	// ActBulk: bulk imports, exports, backups.
	ActBulk Action = "bulk import, export or backup"
	// ActSearch: run population searches and registers (patient lists with
	// the values that matched).
	ActSearch Action = "run searches and registers"
)

// Allowed is the role table: whether a user may take an action.
func Allowed(u record.User, a Action, practice record.Practice) bool {
	switch a {
	case ActRegister:
		return true
	case ActReadClinical, ActWriteClinical:
		return u.Role == record.RoleGP || u.Role == record.RoleNurse
	case ActPrescribe:
		switch u.Role {
		case record.RoleGP:
			return u.Prescriber
		case record.RoleNurse:
			return u.Prescriber && practice.Settings[SettingNursePrescribing] == "true"
		}
		return false
	case ActAdmin:
		return u.Role == record.RoleAdmin
	case ActBulk:
		return u.Role == record.RoleAdmin || u.Role == record.RoleGP
	case ActSearch:
		return u.Role == record.RoleGP || u.Role == record.RoleNurse
	}
	return false
}

// require checks the role table; a denial is audited and returned as a PermissionError.
func (s *Service) require(ctx context.Context, a Action, patientID string) error {
	if Allowed(s.user, a, s.practice) {
		return nil
	}
	ev := s.event("denied", "", "", patientID, 0)
	ev.Outcome = "denied"
	ev.Reason = string(a)
	_ = s.audit(ctx, ev)
	return &record.PermissionError{User: s.user.Name, Role: s.user.Role, Action: string(a)}
}

// Can reports whether the acting user may take an action (for UIs to hide what they cannot do;
// the services enforce it regardless).
func (s *Service) Can(a Action) bool { return Allowed(s.user, a, s.practice) }
