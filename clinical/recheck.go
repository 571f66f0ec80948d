package clinical

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Re-checks of current medicines: what recording an allergy, a problem or a
// result does to what a patient already takes. The record's banner shows
// every unanswered alert on a current medicine (computed when the record
// opens, so it is never stale), the next issue raises it again, and
// `gpsoc rules recheck` runs the checks over the whole practice after the
// rules change.

// MedicineAlert is an unanswered alert on a current medicine.
type MedicineAlert struct {
	PatientID    string      `json:"patientId"`
	MedicationID string      `json:"medicationId"`
	Drug         string      `json:"drug"`
	Alert        SafetyAlert `json:"alert"`
}

// medicineAlerts re-checks every current medicine of a patient in tx.
func medicineAlerts(tx store.Tx, c *checker, p *record.Patient, now time.Time) ([]MedicineAlert, error) {
	f, err := loadFacts(tx, p, now)
	if err != nil {
		return nil, err
	}
	return c.recheck(f, now)
}

// recheck runs the checks for each current medicine of the facts' patient,
// leaving the medicine itself out, and keeps the alerts not yet answered.
func (c *checker) recheck(f *facts, now time.Time) ([]MedicineAlert, error) {
	var out []MedicineAlert
	for _, m := range f.current {
		od, err := c.productOf(m.Code.Code)
		if err != nil {
			continue // not in the dictionary: prescribing it says so; nothing to re-check against
		}
		prod, _ := cachedProduct(c.drugs, m.Code.Code)
		all, err := c.check(f, od, m.ID)
		if err != nil {
			return nil, err
		}
		all, err = c.stepChecks(all, f, od, prod, m)
		if err != nil {
			return nil, err
		}
		alerts, _ := SplitNotes(all)
		open, _ := notAnswered(alerts, m.Answers)
		for _, a := range open {
			out = append(out, MedicineAlert{PatientID: f.patient.ID, MedicationID: m.ID, Drug: m.Code.Display, Alert: a})
		}
	}
	return out, nil
}

// checkerFor is a checker with the practice's rules as tx holds them.
func checkerFor(tx store.Tx, drugs Drugs) (*checker, error) {
	pr, err := tx.Practice()
	if err != nil {
		return nil, err
	}
	rs, err := ruleSetOf(pr.Settings)
	if err != nil {
		return nil, err
	}
	return newChecker(drugs, rs), nil
}

// MedicineAlerts re-checks a patient's current medicines against the record
// as it is now (clinicians only; audited as a list).
func (s *Service) MedicineAlerts(ctx context.Context, ref string, ro ReadOptions) ([]MedicineAlert, error) {
	l, err := s.MedicationList(ctx, ref, MedListOptions{ListOptions: ListOptions{ReadOptions: ro}, Current: true})
	if err != nil {
		return nil, err
	}
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	out := []MedicineAlert{}
	err = s.store().View(ctx, func(tx store.Tx) error {
		c, err := checkerFor(tx, drugs)
		if err != nil {
			return err
		}
		as, err := medicineAlerts(tx, c, l.Patient, s.p.now())
		out = append(out, as...)
		return err
	})
	return out, err
}

// RecheckSummary is what a practice-wide re-check found.
type RecheckSummary struct {
	Patients    int             `json:"patients"`    // patients with a current medicine
	Medications int             `json:"medications"` // current medicines checked
	Alerts      []MedicineAlert `json:"alerts"`      // unanswered, by patient
	RuleVersion string          `json:"ruleVersion"`
}

// RecheckPractice runs the checks over every current medicine of every
// patient (after a change of the rules): the alerts not yet answered.
// Clinicians only; audited as one list. Sensitive records are checked and
// counted, and their alerts listed without the message.
func (s *Service) RecheckPractice(ctx context.Context) (*RecheckSummary, error) {
	if err := s.require(ctx, ActReadClinical, ""); err != nil {
		return nil, err
	}
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	sum := &RecheckSummary{Alerts: []MedicineAlert{}}
	byPatient := map[string][]*record.Medication{}
	var pids []string
	err = s.store().View(ctx, func(tx store.Tx) error {
		c, err := checkerFor(tx, drugs)
		if err != nil {
			return err
		}
		sum.RuleVersion = c.rules.Version
		if err := tx.ForEach(record.KindMedication, func(e record.Entity) error {
			if m := e.(*record.Medication); currentOn(m, now) {
				byPatient[m.PatientID] = append(byPatient[m.PatientID], m)
			}
			return nil
		}); err != nil {
			return err
		}
		for id := range byPatient {
			pids = append(pids, id)
		}
		sort.Strings(pids)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The patients are checked in one read transaction per core, each with
	// its own checker (a checker's caches are not shared between goroutines).
	parts := min(runtime.GOMAXPROCS(0), max(1, len(pids)/1000))
	if s.unit != nil {
		parts = 1 // inside a unit of work every read shares its one transaction
	}
	type part struct {
		patients, meds int
		alerts         []MedicineAlert
		err            error
	}
	res := make([]part, parts)
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := w*len(pids)/parts, (w+1)*len(pids)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[w]
			r.err = s.store().View(ctx, func(tx store.Tx) error {
				c, err := checkerFor(tx, drugs)
				if err != nil {
					return err
				}
				for _, id := range pids[lo:hi] {
					pe, err := tx.Get(record.KindPatient, id)
					if err != nil {
						continue // a medication of a patient the store no longer holds: check reports it
					}
					p := pe.(*record.Patient)
					f, err := loadFactsWith(tx, p, now, byPatient[id])
					if err != nil {
						return err
					}
					r.patients++
					r.meds += len(f.current)
					as, err := c.recheck(f, now)
					if err != nil {
						return fmt.Errorf("patient %s: %w", id, err)
					}
					if p.Sensitive {
						for i := range as {
							as[i].Alert.Message = "(sensitive record: open it with a reason to read the alert)"
						}
					}
					r.alerts = append(r.alerts, as...)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for _, r := range res { // in patient order: the parts are consecutive ranges
		if r.err != nil {
			return nil, r.err
		}
		sum.Patients += r.patients
		sum.Medications += r.meds
		sum.Alerts = append(sum.Alerts, r.alerts...)
	}
	ev := s.event("list", record.KindMedication, "", "", 0)
	ev.Query = fmt.Sprintf("rules recheck (rule version %s): %d patients, %d medicines, %d alerts", sum.RuleVersion, sum.Patients, sum.Medications, len(sum.Alerts))
	return sum, s.audit(ctx, ev)
}

// loadFactsWith is loadFacts with the current medication already read.
func loadFactsWith(tx store.Tx, p *record.Patient, now time.Time, current []*record.Medication) (*facts, error) {
	f := &facts{patient: p, today: now.In(ukZone), current: current}
	for _, k := range []record.Kind{record.KindAllergy, record.KindProblem, record.KindObservation} {
		es, err := tx.List(p.ID, k)
		if err != nil {
			return nil, err
		}
		f.add(es)
	}
	return f, nil
}

// add keeps what the checks read of a list: active allergies and problems,
// observations not entered in error.
func (f *facts) add(es []record.Entity) {
	for _, e := range es {
		switch x := e.(type) {
		case *record.Allergy:
			if x.Status == "active" {
				f.allergies = append(f.allergies, x)
			}
		case *record.Problem:
			if x.Status == "active" {
				f.problems = append(f.problems, x)
			}
		case *record.Observation:
			if x.Status != record.StatusEnteredInError {
				f.obs = append(f.obs, x)
			}
		}
	}
}

// medicineBanner is the banner line of each unanswered alert on a current
// medicine: what recording an allergy, a problem or a result did to what the
// patient already takes. A re-check that cannot run says so.
func (s *Service) medicineBanner(tx store.Tx, p *record.Patient, now time.Time, list func(record.Kind) []record.Entity) []Alert {
	drugs, err := s.p.drugs()
	if err != nil {
		return nil // no dictionary open (demographics-only faces): prescribing says so when tried
	}
	c, err := checkerFor(tx, drugs)
	if err != nil {
		return []Alert{{"medicine", "current medicines not re-checked: " + err.Error()}}
	}
	f := &facts{patient: p, today: now.In(ukZone)}
	for _, e := range list(record.KindMedication) {
		if m := e.(*record.Medication); currentOn(m, now) {
			f.current = append(f.current, m)
		}
	}
	if len(f.current) == 0 {
		return nil
	}
	for _, k := range []record.Kind{record.KindAllergy, record.KindProblem, record.KindObservation} {
		f.add(list(k))
	}
	as, err := c.recheck(f, now)
	if err != nil {
		return []Alert{{"medicine", "current medicines not re-checked: " + err.Error()}}
	}
	var out []Alert
	for _, a := range as {
		out = append(out, Alert{"medicine", fmt.Sprintf("%s: %s [%s %s; answer at its next issue or review]", a.Drug, a.Alert.Message, a.Alert.Severity, a.Alert.ID)})
	}
	return out
}
