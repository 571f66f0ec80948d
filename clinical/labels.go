package clinical

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// PatientLabel is how a list of tasks, recalls or appointments names each
// patient: a receptionist or manager works from the name and NHS number, not
// an internal id.
type PatientLabel struct {
	Name      string `json:"name"`
	NHSNumber string `json:"nhsNumber,omitempty"`
}

// PatientLabels names the patients of a list the caller has just been given.
// It needs the demographics right (every role but interface has it); the
// list's own audit event records the read, so none is written per patient.
func (s *Service) PatientLabels(ctx context.Context, ids []string) (map[string]PatientLabel, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	out := make(map[string]PatientLabel, len(ids))
	err := s.store().View(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if _, done := out[id]; done || id == "" {
				continue
			}
			e, err := tx.Get(record.KindPatient, id)
			if err != nil {
				return err
			}
			p := e.(*record.Patient)
			out[id] = PatientLabel{Name: p.Name(), NHSNumber: p.NHSNumber}
		}
		return nil
	})
	return out, err
}
