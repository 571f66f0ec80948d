package clinical

import (
	"context"
	"time"

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

// WaitPatientChanges waits until the patient change feed moves past after,
// for at most max, and returns its head (still after when nothing
// changed): what a long poll of the feed waits on, woken at once by a
// write through any replica where the store can say so (PostgreSQL's
// notifications), else by reading the feed's head often. The changes
// themselves are then read by sequence (PatientChanges, audited); the
// wait names no data and is not audited.
func (s *Service) WaitPatientChanges(ctx context.Context, after uint64, max time.Duration) (uint64, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return 0, err
	}
	return store.WaitChanges(ctx, s.p.st, after, max)
}
