package clinical

import (
	"context"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ResolveAllergy de-labels an allergy: it is no longer believed (a negative
// challenge test, a label that was never an allergy). Unlike "entered in
// error" the allergy was recorded rightly at the time, so it stays on the
// record as resolved, with who, when and why; it no longer raises prescribing
// alerts. The reason is required and audited.
func (s *Service) ResolveAllergy(ctx context.Context, patientRef, id, reason, date string, ifVersion int) (*record.Allergy, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, record.Invalid("reason", reason, "say why the allergy is resolved (e.g. negative oral challenge)")
	}
	d, err := s.pastDay("date", date)
	if err != nil {
		return nil, err
	}
	p, err := s.lookupPatient(ctx, patientRef)
	if err != nil {
		return nil, err
	}
	e, err := s.changeEntryWhy(ctx, []record.Kind{record.KindAllergy}, id, ifVersion, writeActionFor, "update", "resolved: "+reason,
		func(_ store.Tx, e record.Entity) error {
			a := e.(*record.Allergy)
			switch {
			case a.PatientID != p.ID:
				return record.Invalid("id", id, "is not an allergy of patient %s", p.ID)
			case a.Status == record.StatusEnteredInError:
				return record.Invalid("id", id, "was entered in error")
			case a.NKDA:
				return record.Invalid("id", id, "is \"no known drug allergy\": record an allergy instead, which supersedes it")
			case a.Status != "active":
				return &record.ConflictError{What: "allergy " + id, Msg: "already " + a.Status, By: a.RecordedBy, At: a.RecordedAt}
			case a.Onset != "" && d < a.Onset:
				return record.Invalid("date", d, "is before the onset %s", a.Onset)
			}
			a.Status, a.ResolvedOn, a.ResolvedReason = "resolved", d, strings.TrimSpace(reason)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Allergy), nil
}
