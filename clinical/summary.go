package clinical

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Alert is something the reader of a record must see first.
type Alert struct {
	Kind    string `json:"kind"` // allergy | status | sensitive | recall | medicine
	Message string `json:"message"`
}

// Summary is what a GP reads first. For users who may not read the clinical
// record (reception, admin) only Patient, Flags and Appointments are filled;
// the clinical sections are nil and left out of the JSON.
type Summary struct {
	// Demo says the practice is a synthetic demo, so no one mistakes it for real records.
	Demo         bool                   `json:"demo,omitempty"`
	Patient      *record.Patient        `json:"patient"`
	Flags        []string               `json:"flags"`
	Alerts       *[]Alert               `json:"alerts,omitempty"`
	Problems     *[]*record.Problem     `json:"problems,omitempty"`
	Medications  *[]*record.Medication  `json:"medications,omitempty"`
	Allergies    *[]*record.Allergy     `json:"allergies,omitempty"`
	Latest       *[]*record.Observation `json:"latest,omitempty"`
	Appointments []*record.Appointment  `json:"appointments"`
	Tasks        *[]*record.Task        `json:"tasks,omitempty"`
	Recalls      *[]*record.Recall      `json:"recalls,omitempty"`
	// Hidden counts sensitive entries left out because no reason was given.
	Hidden int `json:"hiddenSensitive,omitempty"`
}

// Clinical reports whether the summary holds the clinical sections.
func (m *Summary) Clinical() bool { return m.Problems != nil }

// RecordSummary opens a patient's record: demographics, flags and alerts,
// active problems, current medication, allergies, the latest value of each
// observation, upcoming appointments, open tasks and overdue (or due today)
// recalls. Audited as the patient opened plus one list of the summary.
func (s *Service) RecordSummary(ctx context.Context, ref string, ro ReadOptions) (*Summary, error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	p, err := s.lookupPatient(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.opened(ctx, p, ro, "read"); err != nil {
		return nil, err
	}
	now := s.p.now()
	today := now.In(ukZone).Format(record.DateLayout)
	clin := s.Can(ActReadClinical)
	sm := &Summary{Demo: s.practice.Demo, Patient: p, Flags: append([]string{}, p.Flags...), Appointments: []*record.Appointment{}}
	visible := func(m *record.Meta) bool {
		if m.Status == record.StatusEnteredInError {
			return false
		}
		if m.Sensitive && strings.TrimSpace(ro.Reason) == "" {
			sm.Hidden++
			return false
		}
		return true
	}
	err = s.store().View(ctx, func(tx store.Tx) error {
		listed := map[record.Kind][]record.Entity{} // each kind read once (the banner's re-check reads them again)
		list := func(k record.Kind) []record.Entity {
			if es, ok := listed[k]; ok {
				return es
			}
			es, lerr := tx.List(p.ID, k)
			if lerr != nil && err == nil {
				err = lerr
			}
			listed[k] = es
			return es
		}
		for _, e := range list(record.KindAppointment) {
			a := e.(*record.Appointment)
			if (a.Status == "booked" || a.Status == "arrived") && !a.End().Before(now) {
				sm.Appointments = append(sm.Appointments, a)
			}
		}
		sort.SliceStable(sm.Appointments, func(i, j int) bool { return sm.Appointments[i].Start.Before(sm.Appointments[j].Start) })
		if !clin {
			return err
		}
		alerts, problems, meds, allergies, latest, tasks, recalls :=
			[]Alert{}, []*record.Problem{}, []*record.Medication{}, []*record.Allergy{}, []*record.Observation{}, []*record.Task{}, []*record.Recall{}
		switch p.Status {
		case record.PatientDeceased:
			alerts = append(alerts, Alert{"status", "deceased on " + p.Registration.DeceasedOn})
		case record.PatientLeft:
			alerts = append(alerts, Alert{"status", "left the practice on " + p.Registration.LeftOn + " (" + p.Registration.LeftReason + ")"})
		}
		if p.Sensitive {
			alerts = append(alerts, Alert{"sensitive", "sensitive record: opened with reason \"" + ro.Reason + "\""})
		}
		for _, e := range list(record.KindProblem) {
			if x := e.(*record.Problem); visible(&x.Meta) && x.Status == "active" {
				problems = append(problems, x)
			}
		}
		sort.SliceStable(problems, func(i, j int) bool {
			if problems[i].Significance != problems[j].Significance {
				return problems[i].Significance == "major"
			}
			return problems[i].Onset > problems[j].Onset
		})
		for _, e := range list(record.KindMedication) {
			if x := e.(*record.Medication); visible(&x.Meta) && IsCurrent(x, now) {
				meds = append(meds, x)
			}
		}
		for _, e := range list(record.KindAllergy) {
			x := e.(*record.Allergy)
			if !visible(&x.Meta) || x.Status != "active" {
				continue
			}
			allergies = append(allergies, x)
			if !x.NKDA && TextOnlyAllergy(x) {
				// fail closed: the prescribing checks cannot read it, so say so first
				alerts = append(alerts, Alert{"allergy", fmt.Sprintf("allergy recorded as text: %q — not checked by prescribing until coded", allergyWhat(x))})
			} else if !x.NKDA {
				msg := "allergy to " + codeText(x.Agent)
				if x.Severity != "" || x.Reaction != "" {
					msg += " (" + strings.Trim(x.Severity+": "+x.Reaction, ": ") + ")"
				}
				alerts = append(alerts, Alert{"allergy", msg})
			}
		}
		byCode := map[string]*record.Observation{}
		for _, e := range list(record.KindObservation) {
			x := e.(*record.Observation)
			if !visible(&x.Meta) {
				continue
			}
			k := x.Code.System + "|" + x.Code.Code
			if cur, ok := byCode[k]; !ok || x.Effective.After(cur.Effective) {
				byCode[k] = x
			}
		}
		for _, o := range byCode {
			latest = append(latest, o)
		}
		sort.SliceStable(latest, func(i, j int) bool {
			if !latest[i].Effective.Equal(latest[j].Effective) {
				return latest[i].Effective.After(latest[j].Effective)
			}
			return latest[i].Code.Code < latest[j].Code.Code
		})
		for _, e := range list(record.KindTask) {
			if x := e.(*record.Task); x.Status == "open" {
				tasks = append(tasks, x)
			}
		}
		for _, e := range list(record.KindRecall) {
			if x := e.(*record.Recall); x.Status == "open" && x.Due <= today {
				recalls = append(recalls, x)
			}
		}
		if len(recalls) > 0 {
			alerts = append(alerts, Alert{"recall", fmt.Sprintf("%d recall(s) due", len(recalls))})
		}
		alerts = append(alerts, s.medicineBanner(tx, p, now, list)...)
		sm.Alerts, sm.Problems, sm.Medications, sm.Allergies, sm.Latest, sm.Tasks, sm.Recalls =
			&alerts, &problems, &meds, &allergies, &latest, &tasks, &recalls
		return err
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", "summary", "", p.ID, 0)
	ev.Query = "record summary"
	if !clin {
		ev.Query = "record summary (demographics, flags, appointments)"
	}
	ev.Reason = ro.Reason
	return sm, s.audit(ctx, ev)
}

// codeText is a code's display, else its code.
func codeText(c record.Code) string {
	if c.Display != "" {
		return c.Display
	}
	return record.SystemShort(c.System) + " " + c.Code
}

// CodeText is how a code reads in a table: its display, else system and code.
func CodeText(c record.Code) string { return codeText(c) }

var _ = time.Now
