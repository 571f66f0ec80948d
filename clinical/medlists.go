package clinical

// Reading a patient's medication: the list, the issue history, overdue
// reviews and the printed list.

import (
	"context"
	"sort"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// MedListOptions filter a medication list.
type MedListOptions struct {
	ListOptions
	Current bool // current only: active and not stopped
}

// MedicationList lists a patient's medications, newest first: all of them, or (Current) what the
// patient is taking, an acute only within its course (clinicians only; audited).
func (s *Service) MedicationList(ctx context.Context, ref string, o MedListOptions) (*Listed[*record.Medication], error) {
	q := "medications"
	if o.Current {
		q = "medications current"
	}
	now := s.p.now()
	l, err := listEntries(ctx, s, ref, record.KindMedication, o.ListOptions, q,
		func(m *record.Medication) bool { return !o.Current || currentOn(m, now) })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(l.Items, func(i, j int) bool { return l.Items[i].AuthorisedOn > l.Items[j].AuthorisedOn })
	return l, nil
}

// IssueRow is one issue of one medication.
type IssueRow struct {
	MedicationID string    `json:"medicationId"`
	Drug         string    `json:"drug"`
	Code         string    `json:"code"`
	Dose         string    `json:"dose"`
	Quantity     float64   `json:"quantity"`
	Unit         string    `json:"unit"`
	Type         string    `json:"type"`
	Number       int       `json:"number"` // 1 for the first issue of the medication
	At           time.Time `json:"at"`
	By           string    `json:"by"`
}

// IssueHistory lists every issue of every medication of a patient, oldest
// first (clinicians only; audited).
func (s *Service) IssueHistory(ctx context.Context, ref string, ro ReadOptions) ([]IssueRow, *Listed[*record.Medication], error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	l, err := listEntries[*record.Medication](ctx, s, ref, record.KindMedication, ListOptions{ReadOptions: ro}, "medication issues", nil)
	if err != nil {
		return nil, nil, err
	}
	rows := []IssueRow{}
	for _, m := range l.Items {
		for i, is := range m.Issues {
			rows = append(rows, IssueRow{MedicationID: m.ID, Drug: m.Code.Display, Code: m.Code.Code, Dose: m.Dose,
				Quantity: is.Quantity, Unit: m.Unit, Type: m.Type, Number: i + 1, At: is.At, By: is.By})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.Before(rows[j].At) })
	return rows, l, nil
}

// OverdueReviews lists current repeats whose review date has passed: of one
// patient, or (ref empty) of the whole practice. Clinicians only; audited.
func (s *Service) OverdueReviews(ctx context.Context, ref string) ([]*record.Medication, error) {
	today := s.p.now().In(ukZone).Format(record.DateLayout)
	overdue := func(m *record.Medication) bool {
		return currentMed(m) && m.Type == "repeat" && m.ReviewDate != "" && m.ReviewDate < today
	}
	if ref != "" {
		l, err := listEntries(ctx, s, ref, record.KindMedication, ListOptions{}, "medication reviews overdue", overdue)
		if err != nil {
			return nil, err
		}
		return l.Items, nil
	}
	if err := s.require(ctx, ActReadClinical, ""); err != nil {
		return nil, err
	}
	out := []*record.Medication{}
	err := s.store().View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindMedication, func(e record.Entity) error {
			if m := e.(*record.Medication); overdue(m) && !m.Sensitive {
				out = append(out, m)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ReviewDate < out[j].ReviewDate })
	ev := s.event("list", record.KindMedication, "", "", 0)
	ev.Query = "medication reviews overdue (practice)"
	return out, s.audit(ctx, ev)
}

// MedPrint is the current medication list a patient takes home.
type MedPrint struct {
	Practice string          `json:"practice"`
	ODS      string          `json:"odsCode"`
	Patient  *record.Patient `json:"patient"`
	Printed  time.Time       `json:"printed"`
	Items    []MedPrintItem  `json:"items"`
}

// MedPrintItem is one medication on the printed list.
type MedPrintItem struct {
	Drug         string  `json:"drug"`
	Instructions string  `json:"instructions"` // the dose in words
	Dose         string  `json:"dose"`         // as written
	Quantity     float64 `json:"quantity"`
	Unit         string  `json:"unit"`
	Type         string  `json:"type"`
	IssuesLeft   int     `json:"issuesLeft"`
	ReviewDate   string  `json:"reviewDate,omitempty"`
	Prescriber   string  `json:"prescriber"`
	RegNumber    string  `json:"regNumber,omitempty"`
}

// PrintMedications is the patient's current medication, dose in words, with
// each prescriber's registration number.
func (s *Service) PrintMedications(ctx context.Context, ref string, ro ReadOptions) (*MedPrint, error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	l, err := s.MedicationList(ctx, ref, MedListOptions{ListOptions: ListOptions{ReadOptions: ro}, Current: true})
	if err != nil {
		return nil, err
	}
	out := &MedPrint{Practice: s.practice.Name, ODS: s.practice.ODS, Patient: l.Patient, Printed: s.p.now(), Items: []MedPrintItem{}}
	users := map[string]string{}
	_ = s.store().View(ctx, func(tx store.Tx) error {
		us, err := tx.Users()
		for _, u := range us {
			users[u.Name] = u.RegNumber
		}
		return err
	})
	sort.SliceStable(l.Items, func(i, j int) bool { return l.Items[i].Code.Display < l.Items[j].Code.Display })
	for _, m := range l.Items {
		out.Items = append(out.Items, MedPrintItem{Drug: m.Code.Display, Instructions: DoseInWords(m.Dose, m.Unit),
			Dose: m.Dose, Quantity: m.Quantity, Unit: m.Unit, Type: m.Type, IssuesLeft: m.IssuesLeft(),
			ReviewDate: m.ReviewDate, Prescriber: m.Prescriber, RegNumber: users[m.Prescriber]})
	}
	return out, nil
}

// dueOn says whether a current repeat with issues left is due: never issued,
// or its last issue runs out within a week.
func dueOn(m *record.Medication, today time.Time) bool {
	if !currentMed(m) || m.Type != "repeat" || m.IssuesLeft() == 0 {
		return false
	}
	if len(m.Issues) == 0 {
		return true
	}
	last := m.Issues[len(m.Issues)-1].At
	return !last.AddDate(0, 0, CourseDays(m)-7).After(today)
}
