package clinical

import (
	"context"

	"github.com/opengpsoc/gpsoc/store"
)

// PatientChangedSince says whether anything of a patient's record (the
// patient or any of their records) has changed after change sequence after,
// and the sequence to ask from next time; store.ChangesHead asks for the
// present only; patientID "" asks whether any patient's record changed
// (the task inbox follows it). The workstation polls it for the record it has open, so a
// change made by another user or process appears within a second.
//
// It is not audited: it names no data, only whether a record the user has
// already opened (an audited read) has changed; the reload that follows is
// a read like any other, audited.
func (s *Service) PatientChangedSince(ctx context.Context, patientID string, after uint64) (bool, uint64, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return false, 0, err
	}
	changed := false
	var last uint64
	err := s.p.st.View(ctx, func(tx store.Tx) error {
		var err error
		last, err = tx.Changes(after, func(_ uint64, id string) error {
			if patientID == "" || id == patientID {
				changed = true
			}
			return nil
		})
		return err
	})
	if after == store.ChangesHead {
		changed = false
	}
	return changed, last, err
}
