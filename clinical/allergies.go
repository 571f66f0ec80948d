package clinical

import (
	"context"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// AgentFinder is what a terminology can add: the causative agent of an
// allergy finding (e.g. 91936005 |Allergy to penicillin| -> 764146007 |Penicillin|).
type AgentFinder interface {
	AllergyAgent(system, code string) (record.Code, bool)
}

// knownAgents maps common allergy findings to their causative substance, for
// when the terminology cannot say (SNOMED CT "Causative agent" attribute).
var knownAgents = map[string]record.Code{
	"91936005":  {System: record.SystemSNOMED, Code: "764146007", Display: "Penicillin"},
	"294505008": {System: record.SystemSNOMED, Code: "372687004", Display: "Amoxicillin"},
	"91935009":  {System: record.SystemSNOMED, Code: "762952008", Display: "Peanut"},
	"300916003": {System: record.SystemSNOMED, Code: "111088007", Display: "Latex"},
}

// AllergyCategories are FHIR AllergyIntolerance categories, which the record keeps.
var AllergyCategories = []string{"medication", "food", "environment", "biologic"}

// nonDrugAgents are common allergy agents and findings that are not
// medicines, with their category (codes and terms from the SNOMED CT IPS
// allergy value set in fixtures/embedded/snomed; 300916003 |Latex allergy| as knownAgents).
var nonDrugAgents = map[string]string{
	// food
	"762952008": "food", "91935009": "food", "13577000": "food", "227493005": "food", "227511008": "food",
	"227512001": "food", "256352005": "food", "256353000": "food", "230034002": "food", "735029006": "food",
	"227144008": "food", "726759005": "food", "102263004": "food", "256443002": "food", "303300008": "food",
	"264295007": "food", "7791007": "food", "256355007": "food", "260167008": "food", "412071004": "food",
	"89811004": "food", "102261002": "food", "735211005": "food",
	// environment
	"111088007": "environment", "300916003": "environment", "33008008": "environment", "128488006": "environment",
	"232350006": "environment", "256259004": "environment", "256260009": "environment", "256277009": "environment",
	"256292005": "environment", "256303006": "environment", "419604006": "environment", "260152009": "environment",
	"260154005": "environment", "256440004": "environment", "288328004": "environment", "280939008": "environment",
}

// allergyCategoryOf is the category of an allergy recorded without one:
// a known food or environmental agent, else medication (the checks then
// treat it as a drug allergy, which fails safe).
func allergyCategoryOf(a *record.Allergy) string {
	if c, ok := nonDrugAgents[a.Agent.Code]; ok {
		return c
	}
	if a.Finding != nil {
		if c, ok := nonDrugAgents[a.Finding.Code]; ok {
			return c
		}
	}
	return "medication"
}

// DrugAllergy reports whether an allergy is to a medicine (category
// medication or biologic, or none recorded): the ones the prescribing checks
// test and that contradict "no known drug allergy".
func DrugAllergy(a *record.Allergy) bool {
	if a.NKDA {
		return false
	}
	switch a.Category {
	case "food", "environment":
		return false
	}
	return true
}

// AllergyInput is a new allergy or intolerance, or "no known drug allergy".
type AllergyInput struct {
	PatientRef string
	System     string
	Code       string // the causative agent, or a finding that maps to one
	Reaction   string
	Severity   string // mild | moderate | severe
	Type       string // allergy | intolerance
	Category   string // medication (default) | food | environment | biologic
	Onset      string
	NKDA       bool
	Sensitive  bool
}

// AddAllergy records an allergy. A finding ("Allergy to penicillin") is kept
// as the finding and its agent is recorded as the agent. Recording an allergy
// retires an active "no known drug allergy" in the same write; recording NKDA
// is refused while allergies are active.
func (s *Service) AddAllergy(ctx context.Context, in AllergyInput) (*record.Allergy, error) {
	p, err := s.patientForWrite(ctx, in.PatientRef, ActWriteClinical)
	if err != nil {
		return nil, err
	}
	a := &record.Allergy{Meta: record.Meta{PatientID: p.ID, Sensitive: in.Sensitive}, Reaction: in.Reaction,
		Severity: in.Severity, Type: in.Type, Category: strings.TrimSpace(in.Category)}
	if a.Category != "" && !oneOfStr(a.Category, AllergyCategories...) {
		return nil, record.Invalid("category", a.Category, "must be one of %s", strings.Join(AllergyCategories, ", "))
	}
	switch {
	case in.NKDA && in.Code != "":
		return nil, record.Invalid("nkda", "true", "give either --code or --nkda, not both")
	case in.NKDA:
		a.NKDA = true
		a.Agent = record.Code{System: record.SystemSNOMED, Code: record.NKDACode, Display: "No known drug allergy"}
		if in.Severity != "" || in.Reaction != "" {
			return nil, record.Invalid("severity", in.Severity, "no known drug allergy takes no reaction or severity")
		}
	default:
		c, err := s.Code("code", in.System, in.Code)
		if err != nil {
			return nil, err
		}
		agent, finding := c, (*record.Code)(nil)
		if af, ok := s.p.terms.(AgentFinder); ok {
			if ag, ok := af.AllergyAgent(c.System, c.Code); ok {
				agent, finding = ag, &c
			}
		}
		if finding == nil && c.System == record.SystemSNOMED {
			if ag, ok := knownAgents[c.Code]; ok {
				// The terminology's current term for the agent, when it has one.
				if checked, err := s.Code("code", ag.System, ag.Code); err == nil && checked.Display != "" {
					ag = checked
				}
				agent, finding = ag, &c
			}
		}
		a.Agent, a.Finding = agent, finding
		if a.Category == "" {
			a.Category = allergyCategoryOf(a)
		}
	}
	if a.NKDA {
		a.Category = "medication"
	}
	if in.Onset != "" {
		d, err := record.ParseDate("onset", in.Onset)
		if err != nil {
			return nil, err
		}
		if err := s.notFuture("onset", d); err != nil {
			return nil, err
		}
		a.Onset = d
	}
	if err := entryAllowed(p, record.KindAllergy, s.p.now(), s.p.now()); err != nil {
		return nil, err
	}
	s.stamp(&a.Meta)
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkCodes(a); err != nil {
		return nil, err
	}
	err = s.store().Update(ctx, func(tx store.WTx) error {
		a.ID, a.Version = "", 0
		if err := s.checkWrite(tx, a); err != nil {
			return err
		}
		es, err := tx.List(p.ID, record.KindAllergy)
		if err != nil {
			return err
		}
		var retire []*record.Allergy
		for _, e := range es {
			x := e.(*record.Allergy)
			if x.Status != "active" {
				continue
			}
			switch {
			case a.NKDA && !x.NKDA && !DrugAllergy(x):
				// a food or environmental allergy does not contradict "no known drug allergy"
			case a.NKDA && !x.NKDA:
				return record.Invalid("nkda", "true", "the patient has an active allergy (%s, %s): retract or resolve it first", x.Agent.Code, x.ID)
			case a.NKDA && x.NKDA:
				return &record.ConflictError{What: "allergy " + x.ID, Msg: "no known drug allergy is already recorded", By: x.RecordedBy, At: x.RecordedAt}
			case x.NKDA && DrugAllergy(a):
				retire = append(retire, x)
			case x.NKDA:
				// a food or environmental allergy leaves "no known drug allergy" standing
			case x.Agent.System == a.Agent.System && x.Agent.Code == a.Agent.Code:
				return &record.ConflictError{What: "allergy " + x.ID, Msg: "this agent is already recorded as an active allergy", By: x.RecordedBy, At: x.RecordedAt}
			}
		}
		if err := tx.Put(a); err != nil {
			return err
		}
		if err := tx.Append(s.event("create", record.KindAllergy, a.ID, p.ID, a.Version)); err != nil {
			return err
		}
		for _, x := range retire {
			x.Status = "inactive"
			s.stamp(&x.Meta)
			if err := tx.Put(x); err != nil {
				return err
			}
			ev := s.event("update", record.KindAllergy, x.ID, p.ID, x.Version)
			ev.Reason = "no known drug allergy superseded by allergy " + a.ID
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Allergies lists a patient's allergies (clinicians only; audited). Without
// All, only active ones.
func (s *Service) Allergies(ctx context.Context, ref string, lo ListOptions) (*Listed[*record.Allergy], error) {
	return listEntries(ctx, s, ref, record.KindAllergy, lo, "allergies",
		func(a *record.Allergy) bool { return lo.All || a.Status == "active" })
}

// ImmunisationInput is an immunisation given.
type ImmunisationInput struct {
	PatientRef string
	System     string
	Code       string
	Date       string // default today
	Batch      string
	Site       string
}

// AddImmunisation records an immunisation given (not in the future).
func (s *Service) AddImmunisation(ctx context.Context, in ImmunisationInput) (*record.Immunisation, error) {
	p, err := s.patientForWrite(ctx, in.PatientRef, ActWriteClinical)
	if err != nil {
		return nil, err
	}
	c, err := s.Code("code", in.System, in.Code)
	if err != nil {
		return nil, err
	}
	d, err := s.pastDay("date", in.Date)
	if err != nil {
		return nil, err
	}
	if err := entryAllowed(p, record.KindImmunisation, dayStart(d), s.p.now()); err != nil {
		return nil, err
	}
	im := &record.Immunisation{Meta: record.Meta{PatientID: p.ID}, Code: c, Date: d, Batch: in.Batch, Site: in.Site, By: s.user.Name}
	if err := s.newEntry(ctx, im); err != nil {
		return nil, err
	}
	return im, nil
}

// Immunisations lists a patient's immunisations (clinicians only; audited).
func (s *Service) Immunisations(ctx context.Context, ref string, lo ListOptions) (*Listed[*record.Immunisation], error) {
	return listEntries[*record.Immunisation](ctx, s, ref, record.KindImmunisation, lo, "immunisations", nil)
}

// Consultations lists a patient's consultations, newest first (clinicians only; audited).
func (s *Service) Consultations(ctx context.Context, ref string, lo ListOptions) (*Listed[*record.Consultation], error) {
	l, err := listEntries[*record.Consultation](ctx, s, ref, record.KindConsultation, lo, "consultations", nil)
	if err != nil {
		return nil, err
	}
	sortByTime(l.Items, func(c *record.Consultation) time.Time { return c.Start })
	return l, nil
}

// Medications lists a patient's medication (clinicians only; audited). Without All, current only.
func (s *Service) Medications(ctx context.Context, ref string, lo ListOptions) (*Listed[*record.Medication], error) {
	return listEntries(ctx, s, ref, record.KindMedication, lo, "medications",
		func(m *record.Medication) bool { return lo.All || m.Status == "active" })
}

func sortByTime[T any](xs []T, at func(T) time.Time) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && at(xs[j]).After(at(xs[j-1])); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
