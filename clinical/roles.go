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
	// ActReadDemographics: find patients, read their demographics, the
	// practice's users (everyone but a feed).
	ActReadDemographics Action = "find patients and read demographics"
	// ActSearch: run searches and registers, and recalls and tasks from them.
	ActSearch Action = "run searches and registers"
	// ActRecall: a single recall (a coded clinical reminder): create, complete.
	ActRecall Action = "create or complete a recall"
	// ActInbox: results inbox, the values and filing.
	ActInbox Action = "read and file results"
	// ActUnmatched: unmatched results, headers only, match to a patient.
	ActUnmatched Action = "match unmatched results"
	// ActDeliverResults: deliver results into the inbox (a lab feed).
	ActDeliverResults Action = "deliver results into the inbox"
)

// Allowed is the role table: whether a user may take an action.
func Allowed(u record.User, a Action, practice record.Practice) bool {
	if u.Disabled {
		return false
	}
	if u.Role == record.RoleInterface {
		// A feed delivers results and does nothing else (design.md §3).
		return a == ActDeliverResults
	}
	clinician := u.Role == record.RoleGP || u.Role == record.RoleNurse
	switch a {
	case ActRegister, ActReadDemographics:
		return true
	case ActSearch, ActRecall:
		return clinician || u.Role == record.RoleManager
	case ActInbox:
		return clinician
	case ActUnmatched:
		return clinician || u.Role == record.RoleManager || u.Role == record.RoleAdmin
	case ActDeliverResults:
		return clinician || u.Role == record.RoleAdmin
	case ActReadClinical, ActWriteClinical:
		return clinician
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

// Refuse is for a face that stops an action before calling it (the
// workstation's consult key for a receptionist): it checks the role as the
// action would and, when the user may not, audits the refusal exactly as the
// action's own check does and returns its PermissionError. nil when allowed.
func (s *Service) Refuse(ctx context.Context, a Action, patientID string) error {
	return s.require(ctx, a, patientID)
}

// Can reports whether the acting user may take an action (for UIs to hide what they cannot do;
// the services enforce it regardless).
func (s *Service) Can(a Action) bool { return Allowed(s.user, a, s.practice) }
