package tui

import (
	"errors"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// AlertGrace is how long a safety alert ignores keys after it opens, so
// type-ahead cannot answer it.
var AlertGrace = 1200 * time.Millisecond

type rxResultsMsg struct {
	rev   uint64
	codes []Code
	err   error
	gap   string // the product asked for is not in the embedded dictionary
}

type rxDoneMsg struct {
	rev uint64
	res *clinical.PrescribeResult
	err error
}

type graceOverMsg struct{ rev uint64 }

// prescribePage prescribes from a dm+d picker; the safety alerts raised are
// answered one by one, each opening with an input grace period.
type prescribePage struct {
	c       *Common
	rec     *recordPage
	patient string
	search  Field
	codes   []Code
	sel     int
	rev     uint64
	shown   uint64 // revision of the results on screen
	pending bool   // enter pressed before the latest results: pick when they come
	err     string
	gap     string // DMDGap of the results on screen
	notes   []clinical.SafetyAlert
	product *Code
	fields  []*Field // dose, quantity, repeat (y/n), issues, duration, review date; a dose change: the dose
	// change is the current medication whose dose is being changed (a new
	// authorisation through ChangeDose, checked as a new prescription).
	change  *record.Medication
	focus   int
	busy    bool
	doneRev uint64

	alerts  []clinical.SafetyAlert // raised and not yet answered, in order
	current int                    // the alert on screen
	answers clinical.Answers
	armed   bool   // the grace period of the current alert is over
	alertRv uint64 // revision of the current alert's grace timer
	reason  *Field // override reason, when asked
	dropped int    // keys swallowed by grace periods (shown, so the user knows)
}

func newPrescribePage(c *Common, rec *recordPage) *prescribePage {
	p := &prescribePage{c: c, rec: rec, patient: rec.id, search: Field{Label: "Drug", Placeholder: "dm+d name, e.g. amoxicillin 500mg"}}
	p.search.Focus()
	return p
}

// newChangeDosePage changes the dose of a current medication: the product
// is the medication's, the one field the new dose (read back as it is typed);
// the alerts of the new authorisation are answered as a prescription's.
func newChangeDosePage(c *Common, rec *recordPage, m *record.Medication) *prescribePage {
	p := &prescribePage{c: c, rec: rec, patient: rec.id, change: m,
		product: &Code{System: m.Code.System, Code: m.Code.Code, Term: clinical.CodeText(m.Code)}}
	p.fields = []*Field{{Label: "New dose", Placeholder: m.Dose}}
	p.fields[0].Focus()
	return p
}

func (p *prescribePage) Context() string { return "prescribe" }
func (p *prescribePage) Title() string {
	if p.change != nil {
		return "Change dose"
	}
	return "Prescribe"
}
func (p *prescribePage) TextFocus() bool {
	if p.alertOpen() {
		return p.reason != nil
	}
	return true
}

func (p *prescribePage) alertOpen() bool { return p.current < len(p.alerts) }

func (p *prescribePage) Back() (bool, tea.Cmd) {
	switch {
	case p.reason != nil:
		p.reason = nil
		return true, nil
	case p.alertOpen():
		// Cancelling an alert cancels the prescription: nothing is written.
		p.alerts, p.current, p.answers = nil, 0, clinical.Answers{}
		return true, notice("prescription not issued", true)
	case p.product != nil && p.change == nil:
		p.product = nil
		p.search.Focus()
		return true, nil
	}
	return false, nil
}

func (p *prescribePage) find() tea.Cmd {
	p.rev = nextRev()
	rev, q, c := p.rev, strings.TrimSpace(p.search.Value()), p.c
	return func() tea.Msg {
		if c.Terms == nil {
			return rxResultsMsg{rev: rev, err: errors.New("no terminology available")}
		}
		if q == "" {
			return rxResultsMsg{rev: rev}
		}
		cs, err := c.Terms.Search(c.Ctx, q, "drug", "dmd", "", 30)
		gap := ""
		if g, ok := c.Terms.(GapNoter); ok && err == nil {
			gap = g.DMDGap(q, cs)
		}
		return rxResultsMsg{rev: rev, codes: cs, err: err, gap: gap}
	}
}

func (p *prescribePage) input(check bool) (clinical.PrescribeInput, error) {
	in := clinical.PrescribeInput{PatientRef: p.patient, Code: p.product.Code, Dose: strings.TrimSpace(p.fields[0].Value()),
		Answers: p.answers, Check: check}
	if in.Dose == "" {
		return in, errors.New("dose: the dose instructions are required")
	}
	if p.change != nil {
		return in, nil
	}
	q, err := strconv.ParseFloat(strings.TrimSpace(p.fields[1].Value()), 64)
	if err != nil || q <= 0 {
		return in, errors.New("quantity: must be a number above 0")
	}
	in.Quantity = q
	switch strings.ToLower(strings.TrimSpace(p.fields[2].Value())) {
	case "", "n", "no", "acute":
	case "y", "yes", "repeat":
		in.Repeat = true
		if v := strings.TrimSpace(p.fields[3].Value()); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return in, errors.New("issues: a whole number from 1, not " + strconv.Quote(v))
			}
			in.Issues = n
		}
		// The review date is asked (prefilled a year on) so that the repeat
		// comes up in med reviews; it means nothing for an acute.
		in.Review = strings.TrimSpace(p.fields[5].Value())
	default:
		return in, errors.New("repeat: y or n")
	}
	days, err := clinical.ParseDurationDays(p.fields[4].Value())
	if err != nil {
		return in, err
	}
	in.DurationDays = days
	return in, nil
}

// issue writes the prescription with the answers so far; alerts still open
// come back and are asked one by one.
func (p *prescribePage) issue() tea.Cmd {
	in, err := p.input(false)
	if err != nil {
		p.err = err.Error()
		return nil
	}
	p.busy, p.err = true, ""
	p.doneRev = nextRev()
	rev, c := p.doneRev, p.c
	if m := p.change; m != nil {
		return func() tea.Msg {
			res, err := c.Svc.ChangeDose(c.Ctx, in.PatientRef, m.ID, in.Dose, m.Version, in.Answers)
			return rxDoneMsg{rev: rev, res: res, err: err}
		}
	}
	return func() tea.Msg {
		res, err := c.Svc.Prescribe(c.Ctx, in)
		return rxDoneMsg{rev: rev, res: res, err: err}
	}
}

// openAlert shows an alert and starts its grace period.
func (p *prescribePage) openAlert() tea.Cmd {
	p.armed = false
	p.alertRv = nextRev()
	rev := p.alertRv
	return tea.Tick(AlertGrace, func(time.Time) tea.Msg { return graceOverMsg{rev} })
}

func (p *prescribePage) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case rxResultsMsg:
		if msg.rev == p.rev {
			p.codes, p.sel, p.shown, p.gap = msg.codes, 0, msg.rev, msg.gap
			p.err = ""
			if msg.err != nil {
				p.err = msg.err.Error()
			}
			if p.pending {
				p.pending = false
				return p.action(actionMsg{Name: "open"})
			}
		}
	case graceOverMsg:
		if msg.rev == p.alertRv {
			p.armed = true
		}
	case rxDoneMsg:
		if msg.rev != p.doneRev {
			return nil
		}
		p.busy = false
		var ae *clinical.AlertsError
		switch {
		case errors.As(msg.err, &ae):
			p.alerts, p.current, p.notes = ae.Alerts, 0, ae.Notes
			return p.openAlert()
		case msg.err != nil:
			p.err = msg.err.Error()
		default:
			name, id := p.product.Term, p.patient
			text, noted := "Prescribed "+name, msg.res != nil && len(msg.res.Notes) > 0
			if p.change != nil {
				text = "Dose changed: " + name
				if msg.res != nil && msg.res.DoseWords != "" {
					text += ", " + msg.res.DoseWords
				}
			}
			if noted {
				// what could not be checked is said every time, even when nothing needed an answer
				text += " — not checked: " + msg.res.Notes[0].Message
				if len(msg.res.Notes) > 1 {
					text += " (+" + itoa(len(msg.res.Notes)-1) + " more)"
				}
			}
			return tea.Batch(func() tea.Msg { return popMsg{then: rxSavedMsg{patientID: id}} },
				notice(text, noted))
		}
	case actionMsg:
		return p.action(msg)
	case tea.KeyPressMsg, tea.PasteMsg:
		if p.busy {
			p.dropped++ // typed behind the confirm: the alerts it raises must be read first
			return nil
		}
		if p.alertOpen() {
			if !p.armed {
				p.dropped++
				return nil
			}
			if p.reason != nil {
				p.reason.Update(msg)
			}
			return nil
		}
		if p.product == nil {
			if k, ok := msg.(tea.KeyPressMsg); ok {
				switch k.String() {
				case "down":
					p.sel = min(p.sel+1, max(0, len(p.codes)-1))
					return nil
				case "up":
					p.sel = max(0, p.sel-1)
					return nil
				}
			}
			if p.search.Update(msg) {
				return p.find()
			}
			return nil
		}
		p.fields[p.focus].Update(msg)
	}
	return nil
}

// rxSavedMsg tells the record a prescription was written.
type rxSavedMsg struct{ patientID string }

func (p *prescribePage) action(a actionMsg) tea.Cmd {
	if p.busy {
		p.dropped++
		return nil
	}
	if p.alertOpen() {
		if !p.armed {
			p.dropped++ // type-ahead: nothing answers an alert in its grace period
			return nil
		}
		al := p.alerts[p.current]
		switch {
		case p.reason != nil && a.Name == "open":
			r := strings.TrimSpace(p.reason.Value())
			if r == "" {
				return notice("an override needs a reason", true)
			}
			if p.answers.Override == nil {
				p.answers.Override = map[string]string{}
			}
			p.answers.Override[al.ID] = r
			p.reason = nil
			return p.next()
		case p.reason != nil:
			if a.Key.Code != 0 {
				p.reason.Update(a.Key)
			}
			return nil
		case a.Name == "override":
			p.reason = &Field{Label: "Reason for overriding"}
			p.reason.Focus()
		case a.Name == "acknowledge":
			if al.Severity == "high" {
				return notice("a high-severity alert cannot be acknowledged: override it with a reason, or esc", true)
			}
			p.answers.Ack = append(p.answers.Ack, al.ID)
			return p.next()
		}
		return nil
	}
	if p.product == nil {
		switch a.Name {
		case "open":
			if p.shown != p.rev {
				p.pending = true
				return nil
			}
			if p.sel < len(p.codes) {
				c := p.codes[p.sel]
				p.product = &c
				if p.c.Terms != nil {
					p.c.Terms.Picked(c.Code)
				}
				p.search.Blur()
				review := &Field{Label: "Review date (repeat)"}
				review.SetValue(p.c.Now().In(UK).AddDate(1, 0, 0).Format(record.DateLayout))
				p.fields = []*Field{{Label: "Dose"}, {Label: "Quantity"}, {Label: "Repeat (y/n)", Placeholder: "n"},
					{Label: "Issues", Placeholder: "1"}, {Label: "Days each issue lasts", Placeholder: "28, 28d or 4w"}, review}
				p.focus = 0
				p.fields[0].Focus()
			}
		case "down", "up":
			return p.Update(a.Key)
		}
		return nil
	}
	switch a.Name {
	case "confirm", "save":
		if !p.busy {
			return p.issue()
		}
	case "open", "down":
		p.move(1)
	case "up":
		p.move(-1)
	default:
		if a.Key.Code != 0 {
			p.fields[p.focus].Update(a.Key)
		}
	}
	return nil
}

func (p *prescribePage) move(d int) {
	p.fields[p.focus].Blur()
	p.focus = (p.focus + d + len(p.fields)) % len(p.fields)
	p.fields[p.focus].Focus()
}

// next moves to the next alert, or writes the prescription when all are answered.
func (p *prescribePage) next() tea.Cmd {
	p.current++
	if p.alertOpen() {
		return p.openAlert()
	}
	p.alerts, p.current = nil, 0
	return p.issue()
}

func (p *prescribePage) View(w, h int) []string {
	st := p.c.Styles
	var out []string
	if p.rec != nil && p.rec.data != nil {
		out = banner(p.c, p.rec.data.sum, w, p.rec.data.dueSlot()...)
	}
	if p.alertOpen() {
		al := p.alerts[p.current]
		out = append(out, "", st.Alert.Render(strings.ToUpper(al.Severity)+" SAFETY ALERT "+itoa(p.current+1)+" of "+itoa(len(p.alerts))+
			": "+p.product.Term))
		for _, l := range wrap(al.Message, w-4) {
			out = append(out, "  "+st.Alert.Render(l))
		}
		out = append(out, st.Muted.Render("  alert "+al.ID), "")
		for _, n := range p.notes { // not answered, but read with the alerts
			for _, l := range wrap("Not checked: "+n.Message, w-4) {
				out = append(out, "  "+st.Muted.Render(l))
			}
		}
		switch {
		case !p.armed:
			out = append(out, st.Muted.Render("Read the alert: answers are taken in a moment."))
		case p.reason != nil:
			out = append(out, p.reason.View(w, st)...)
			out = append(out, st.Muted.Render("enter records the override · esc goes back"))
		default:
			ans := st.Key.Render(p.c.Keys.Key("prescribe", "override")) + " override (asks a reason)"
			if al.Severity != "high" {
				ans += "   " + st.Key.Render(p.c.Keys.Key("prescribe", "acknowledge")) + " acknowledge"
			}
			out = append(out, "Answer with: "+ans+"   "+st.Key.Render("esc")+" do not prescribe")
		}
		if p.dropped > 0 {
			out = append(out, st.Muted.Render(itoa(p.dropped)+" key(s) typed during the grace period were ignored"))
		}
		return out
	}
	if p.product == nil {
		out = append(out, p.search.View(w, st)...)
		if p.err != "" {
			out = append(out, st.Alert.Render(p.err))
		}
		if p.gap != "" {
			out = append(out, st.Alert.Render(fit(p.gap, w)))
		}
		for i, c := range p.codes {
			if len(out) >= h {
				break
			}
			line := fit(c.Code, 19) + c.Term
			if i == p.sel {
				out = append(out, st.Selected.Render(fit("› "+line, w)))
			} else {
				out = append(out, "  "+line)
			}
		}
		return out
	}
	out = append(out, st.Heading.Render(p.product.Term)+st.Muted.Render("  dm+d "+p.product.Code))
	if m := p.change; m != nil {
		out = append(out, st.Muted.Render("Now: ")+m.Dose+st.Muted.Render("  ("+clinical.DoseInWords(m.Dose, m.Unit)+")"),
			st.Muted.Render("The new dose is a new authorisation, checked as a new prescription; the current one stops."))
	}
	for i, f := range p.fields {
		out = append(out, f.View(w, st)...)
		if i == 0 {
			out = append(out, doseShownBack(f.Value(), p.unit(), st)...)
		}
	}
	status := st.Muted.Render(p.c.Keys.Key("prescribe", "confirm") + " checks and issues · esc changes the drug")
	if p.change != nil {
		status = st.Muted.Render(p.c.Keys.Key("prescribe", "confirm") + " checks and changes the dose · esc leaves it as it is")
	}
	if p.busy {
		status = st.Muted.Render("checking…")
	}
	if p.err != "" {
		status = st.Alert.Render(p.err)
	}
	return append(out, "", status)
}

// unit is the product's prescribing unit as the dose wording needs it.
func (p *prescribePage) unit() string {
	if p.change != nil && p.change.Unit != "" {
		return p.change.Unit
	}
	return clinical.UnitFromName(p.product.Term)
}

// changeDoseMsg asks the root to open a dose change over the record.
type changeDoseMsg struct {
	rec *recordPage
	med *record.Medication
}

// changeDose opens the dose change of the medication selected in the
// medication section.
func (p *recordPage) changeDose() tea.Cmd {
	if p.data == nil || p.data.denied != "" {
		return notice("prescribing needs a prescriber's role", true)
	}
	meds := p.medOrder()
	if p.section != "medication" || p.medSel >= len(meds) {
		return notice("select a medication in the medication section ("+p.c.Keys.Key("record", "medication")+") first", true)
	}
	m := meds[p.medSel]
	if m.Status != "active" && !(m.Type == "acute" && m.Status == "completed") {
		return notice(clinical.CodeText(m.Code)+" is "+m.Status+": only a current medication's dose can be changed", true)
	}
	return func() tea.Msg { return changeDoseMsg{rec: p, med: m} }
}

// doseShownBack is the dose as understood, under the dose field, before
// anything is saved: the words the patient will read, or that it was not
// understood (it will print as written and its dose will not be checked).
func doseShownBack(text, unit string, st Styles) []string {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	d, err := clinical.ParseDose(text)
	if err != nil {
		return []string{st.Warn.Render("  not understood (" + err.(*clinical.DoseError).Reason + "): printed as written, dose not checked")}
	}
	return []string{st.Muted.Render("  reads: " + d.Words(unit))}
}

// selectedMedID is the medication selected in the medication section.
func (p *recordPage) selectedMedID() string {
	if p.data == nil {
		return ""
	}
	if ms := p.medOrder(); p.medSel < len(ms) {
		return ms[p.medSel].ID
	}
	return ""
}

// reselectMed keeps the selection on the medication the user picked when
// the record reloads (a change made elsewhere must not move issue or
// re-authorise onto another drug); one no longer listed leaves it in range.
func (p *recordPage) reselectMed() {
	if p.data == nil {
		return
	}
	for i, m := range p.medOrder() {
		if p.medPicked != "" && m.ID == p.medPicked {
			p.medSel = i
			return
		}
	}
	p.medSel = min(p.medSel, max(0, len(p.data.meds)-1))
}
