package clinical

import (
	"context"
	"errors"
	"strconv"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// CodeUsage counts how often this practice has recorded each code (problems,
// consultation entries, medications, immunisations), so the pickers can lift
// what the practice uses. It reads at most limit records (0: 1,000,000), the
// oldest first, and names no patient; it is audited as one list.
func (s *Service) CodeUsage(ctx context.Context, limit int) (map[string]int, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000000
	}
	counts := map[string]int{}
	read := 0
	err := s.p.st.View(ctx, func(tx store.Tx) error {
		for _, k := range []record.Kind{record.KindProblem, record.KindConsultation, record.KindMedication, record.KindImmunisation} {
			err := tx.ForEach(k, func(e record.Entity) error {
				if read++; read > limit {
					return errStop
				}
				if e.Head().Status == record.StatusEnteredInError {
					return nil
				}
				switch x := e.(type) {
				case *record.Problem:
					counts[x.Code.Code]++
				case *record.Consultation:
					for _, c := range x.Entries {
						counts[c.Code.Code]++
						if c.Mapped != nil {
							counts[c.Mapped.Code]++
						}
					}
				case *record.Medication:
					counts[x.Code.Code]++
				case *record.Immunisation:
					counts[x.Code.Code]++
				}
				return nil
			})
			if errors.Is(err, errStop) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", "code-usage", "", "", 0)
	ev.Query = "code usage of the practice (" + strconv.Itoa(len(counts)) + " codes)"
	return counts, s.audit(ctx, ev)
}
