package tui

// The record page's summary and journal: the latest results beside the
// problems they bear on, and the consultations in date order.

import (
	"math"
	"sort"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

func (p *recordPage) summaryLines(w, h int) []string {
	d, st := p.data, p.c.Styles
	sm := d.sum
	pt := sm.Patient
	var out []string
	addr := pt.Postcode
	if pt.Address != nil && len(pt.Address.Lines) > 0 {
		addr = strings.Join(pt.Address.Lines, ", ") + ", " + pt.Address.Town + " " + pt.Postcode
	}
	out = append(out, st.Muted.Render("Address ")+cut(addr, w-9), st.Muted.Render("Phone   ")+orDash(pt.Phone)+
		st.Muted.Render("  Registered ")+Date(pt.Registration.RegisteredOn)+" ("+pt.Registration.Type+")")
	if sm.Alerts != nil {
		for _, a := range *sm.Alerts {
			if a.Kind == "allergy" || a.Kind == "recall" {
				continue // in the banner
			}
			out = append(out, st.Alert.Render("! "+a.Message))
		}
	}
	if d.denied != "" {
		out = append(out, "", st.Muted.Render(d.denied))
	} else {
		out = append(out, st.Heading.Render("Active problems"))
		if len(*sm.Problems) == 0 {
			out = append(out, st.Muted.Render("  none"))
		}
		for _, x := range *sm.Problems {
			out = append(out, "  "+fit(Date(x.Onset), 12)+clinical.CodeText(x.Code))
		}
		out = append(out, st.Heading.Render("Current medication"))
		if len(*sm.Medications) == 0 {
			out = append(out, st.Muted.Render("  none"))
		}
		for _, x := range *sm.Medications {
			out = append(out, "  "+fit(x.Type, 7)+clinical.CodeText(x.Code)+"  "+st.Muted.Render(x.Dose))
		}
		out = append(out, st.Heading.Render("Latest results"))
		latest := summaryResults(*sm.Latest, *sm.Problems)
		if len(latest) == 0 {
			out = append(out, st.Muted.Render("  none"))
		}
		// The results take the height that is left (the next appointments
		// keep theirs); what does not fit is one line away.
		room := h - len(out) - 1
		if len(sm.Appointments) > 0 {
			room -= 1 + min(3, len(sm.Appointments)) // a heading and the next three
		}
		room = max(3, room)
		for i, x := range latest {
			if i == room-1 && len(latest) > room {
				out = append(out, st.Muted.Render("  … "+itoa(len(latest)-i)+" more under "+p.c.Keys.Key("record", "results")+" results"))
				break
			}
			out = append(out, "  "+fit(DateOf(x.Effective), 12)+fit(cut(shortTerm(x.Code), 24), 25)+obsValueBesideFlag(x)+summaryFlag(x, st))
		}
	}
	if len(sm.Appointments) > 0 {
		out = append(out, st.Heading.Render("Next appointments"))
		room := max(3, h-len(out))
		for i, a := range sm.Appointments {
			if i == room-1 && len(sm.Appointments) > room {
				out = append(out, st.Muted.Render("  … "+itoa(len(sm.Appointments)-i)+" more under "+p.c.Keys.Key("record", "appointments")+" appointments"))
				break
			}
			out = append(out, "  "+fit(DateTime(a.Start), 18)+fit(a.Clinician, 14)+a.Reason)
		}
	}
	return out
}

// shortTerm names an observable briefly.
func shortTerm(c record.Code) string {
	switch c.Code {
	case "999791000000106", "1049301000000100":
		return "HbA1c"
	case "75367002":
		return "Blood pressure"
	case "60621009":
		if strings.HasPrefix(c.Display, "BMI (calculated") {
			return "BMI (calculated)"
		}
		return "BMI"
	}
	return clinical.CodeText(c)
}

func obsValue(o *record.Observation) string {
	return obsBare(o) + clinical.FlagText(o)
}

// obsValueBesideFlag is a value shown where the abnormal flag has a cell of
// its own (the results table, the summary's flag): the other marks only.
func obsValueBesideFlag(o *record.Observation) string {
	c := *o
	c.Interpretation, c.ReferenceRange = "", nil
	return obsBare(o) + clinical.FlagText(&c)
}

func obsBare(o *record.Observation) string {
	if o.IsBP() {
		s, dd := "", ""
		if o.Systolic != nil {
			s = num(*o.Systolic)
		}
		if o.Diastolic != nil {
			dd = num(*o.Diastolic)
		}
		return s + "/" + dd + " mmHg"
	}
	if o.Value != nil {
		return num(*o.Value) + " " + o.Unit
	}
	return o.ValueText
}

func (p *recordPage) journalLines(w int) []string {
	d, st := p.data, p.c.Styles
	obsBy := map[string][]*record.Observation{}
	for _, o := range d.obs {
		if o.ConsultationID != "" {
			obsBy[o.ConsultationID] = append(obsBy[o.ConsultationID], o)
		}
	}
	var out []string
	if len(d.consults) == 0 {
		out = append(out, st.Muted.Render("No consultations"))
	}
	for _, c := range d.consults {
		head := DateTime(c.Start) + "  " + c.Type + "  " + c.Clinician
		if c.Status == record.StatusEnteredInError {
			head += "  (entered in error)"
		}
		out = append(out, st.Heading.Render(head))
		if imp := c.Imported; imp != nil {
			// History from another system, not written here: say where from and by whom.
			out = append(out, "  "+st.Muted.Render(fit(imp.String(), w-2)))
		}
		text := func(label, s string) {
			if strings.TrimSpace(s) == "" {
				return
			}
			for i, l := range wrap(s, w-12) {
				if i == 0 {
					out = append(out, "  "+st.Muted.Render(fit(label, 9))+l)
				} else {
					out = append(out, "           "+l)
				}
			}
		}
		text("History", c.History)
		text("Exam", c.Examination)
		text("Plan", c.Plan)
		text("Note", c.Text)
		for _, e := range c.Entries {
			line := "  • " + clinical.CodeText(e.Code) + st.Muted.Render(" ("+record.SystemShort(e.Code.System)+" "+e.Code.Code+")")
			if e.Mapped != nil {
				line += st.Muted.Render(" → " + clinical.CodeText(*e.Mapped) + " (sct " + e.Mapped.Code + ")")
			}
			out = append(out, line)
		}
		for _, o := range obsBy[c.ID] {
			out = append(out, "  • "+shortTerm(o.Code)+" "+obsValue(o))
		}
	}
	return out
}

// Results that belong to a problem come first in the summary: HbA1c for
// diabetes, blood pressure for hypertension, eGFR for kidney disease... The
// problem is recognised by its term (a hand list: it orders rows, it decides
// nothing clinical).
var problemResults = []struct {
	words []string
	codes []string
}{
	{[]string{"diabet"}, []string{"999791000000106", "1049301000000100", "75367002", "1011481000000105"}},
	{[]string{"hypertens", "blood pressure"}, []string{"75367002"}},
	{[]string{"kidney", "renal", "ckd"}, []string{"1011481000000105", "75367002"}},
	{[]string{"atrial fibrillation", "heart failure", "ischaemic heart", "coronary"}, []string{"75367002"}},
	{[]string{"obes"}, []string{"60621009", "27113001"}},
	{[]string{"hyperlipid", "cholesterol"}, []string{"1005671000000105"}},
}

// summaryResults orders the latest results: those of the patient's problems
// first, then other values, then coded findings (smoking status and the
// like); a BMI is calculated from the latest weight and height when none was
// recorded with that weight.
func summaryResults(latest []*record.Observation, problems []*record.Problem) []*record.Observation {
	rank := map[string]int{}
	for _, pr := range problems {
		term := strings.ToLower(clinical.CodeText(pr.Code))
		for _, pc := range problemResults {
			for _, w := range pc.words {
				if strings.Contains(term, w) {
					for i, c := range pc.codes {
						if r, ok := rank[c]; !ok || i < r {
							rank[c] = i
						}
					}
				}
			}
		}
	}
	out := append([]*record.Observation(nil), latest...)
	if b := calculatedBMI(out); b != nil {
		out = append(out, b)
	}
	key := func(o *record.Observation) int {
		if r, ok := rank[o.Code.Code]; ok {
			return r
		}
		if o.Value != nil || o.IsBP() {
			return 100
		}
		return 200
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// calculatedBMI is weight / height² from the latest weight and height, as a
// row marked calculated; nil when either is missing or a BMI was recorded on
// or after the weight.
func calculatedBMI(latest []*record.Observation) *record.Observation {
	var wt, ht, bmi *record.Observation
	for _, o := range latest {
		switch o.Code.Code {
		case "27113001":
			wt = o
		case "50373000":
			ht = o
		case "60621009":
			bmi = o
		}
	}
	if wt == nil || ht == nil || wt.Value == nil || ht.Value == nil || (bmi != nil && !bmi.Effective.Before(wt.Effective)) {
		return nil
	}
	m := *ht.Value
	switch strings.ToLower(ht.Unit) {
	case "cm":
		m /= 100
	case "m":
	default:
		return nil
	}
	kg := *wt.Value
	if strings.ToLower(wt.Unit) != "kg" || m <= 0 {
		return nil
	}
	v := math.Round(kg/(m*m)*10) / 10
	return &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "60621009", Display: "BMI (calculated from weight and height)"}, Value: &v, Unit: "kg/m2", Effective: wt.Effective}
}
