package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// recordData is everything a record page shows, read in one command.
type recordData struct {
	sum       *clinical.Summary
	consults  []*record.Consultation
	problems  []*record.Problem
	meds      []*record.Medication
	obs       []*record.Observation
	allergies []*record.Allergy
	imms      []*record.Immunisation
	appts     []*record.Appointment
	tasks     []*record.Task
	recalls   []*record.Recall
	history   []clinical.HistoryRow
	hidden    int
	denied    string // the clinical sections are not for this role
	// due are the indicators whose target this patient has not met (the
	// banner's slot); dueErr says they could not be worked out.
	due    []string
	dueErr bool
}

type recordLoadedMsg struct {
	rev        uint64
	data       *recordData
	err        error
	needReason bool
	// seq is the change feed's position taken before the record was read:
	// a change made while it loaded is seen by the next watch.
	seq    uint64
	seqSet bool
}

// loadRecord reads a record through the clinical services (each list audited there).
func loadRecord(ctx context.Context, s *clinical.Service, id, reason string) (*recordData, error) {
	ro := clinical.ReadOptions{Reason: reason}
	lo := clinical.ListOptions{ReadOptions: ro}
	sum, err := s.RecordSummary(ctx, id, ro)
	if err != nil {
		return nil, err
	}
	d := &recordData{sum: sum}
	id = sum.Patient.ID
	if appts, err := s.Appointments(ctx, clinical.ApptFilter{PatientRef: id, All: true}); err == nil {
		d.appts = appts
	}
	if rs, err := s.Recalls(ctx, clinical.RecallFilter{PatientRef: id, All: true}); err == nil {
		d.recalls = rs
	}
	if !sum.Clinical() {
		d.denied = "your role (" + string(s.User().Role) + ") sees demographics, flags and appointments only"
		return d, nil
	}
	collect := func(err error) {
		if err != nil && d.denied == "" {
			d.denied = err.Error()
		}
	}
	if l, err := s.Consultations(ctx, id, lo); err == nil {
		d.consults, d.hidden = l.Items, d.hidden+l.Hidden
	} else {
		collect(err)
	}
	if l, err := s.Problems(ctx, id, clinical.ProblemFilter{ListOptions: lo}); err == nil {
		d.problems = l.Items
	} else {
		collect(err)
	}
	if l, err := s.MedicationList(ctx, id, clinical.MedListOptions{ListOptions: lo}); err == nil {
		d.meds = l.Items
	} else {
		collect(err)
	}
	if l, err := s.Observations(ctx, id, clinical.ObsFilter{ListOptions: lo}); err == nil {
		d.obs = l.Items
	} else {
		collect(err)
	}
	if l, err := s.Allergies(ctx, id, lo); err == nil {
		d.allergies = l.Items
	} else {
		collect(err)
	}
	if l, err := s.Immunisations(ctx, id, lo); err == nil {
		d.imms = l.Items
	} else {
		collect(err)
	}
	if ts, err := s.Tasks(ctx, clinical.TaskFilter{PatientRef: id, All: true}); err == nil {
		d.tasks = ts
	}
	if h, err := s.History(ctx, id, ro); err == nil {
		d.history = h
	}
	sort.SliceStable(d.consults, func(i, j int) bool { return d.consults[i].Start.After(d.consults[j].Start) })
	sort.SliceStable(d.obs, func(i, j int) bool { return d.obs[i].Effective.After(d.obs[j].Effective) })
	return d, nil
}

// Sections of the record, in the order the tabs show them.
var sections = []struct{ action, label, short string }{
	{"summary", "Summary", "Sum"}, {"journal", "Journal", "Jrnl"}, {"problems", "Problems", "Prob"}, {"medication", "Medication", "Meds"},
	{"results", "Results", "Res"}, {"allergies", "Allergies", "Allg"}, {"immunisations", "Immunisations", "Imms"},
	{"appointments", "Appointments", "Appt"}, {"tasks", "Tasks & recalls", "Task"}, {"history", "History", "Hist"},
}

// recordPage is an open patient record: the banner and one section.
type recordPage struct {
	c       *Common
	id      string
	reason  string
	rev     uint64
	data    *recordData
	err     error
	section string
	scroll  int
	chart   int
	asking  bool   // a sensitive record: asking for a reason
	after   string // consult or prescribe typed ahead of the load
	medSel  int    // selected medication in the medication section
	// medPicked is the medication the user moved the selection to: a
	// reload keeps the selection on it (prescribe.go's reselectMed)
	medPicked string
	confirm   *medConfirm
	ask       Field
	form      *recordForm // a record action's form (actions.go)
	// the change-feed cursor of a live record (watch.go)
	watchSeq                        uint64
	watchSet, watching, watchFailed bool
}

func newRecordPage(c *Common, id string) *recordPage {
	return &recordPage{c: c, id: id, section: "summary", ask: Field{Label: "Reason for opening this sensitive record"}}
}

// medConfirm asks before a medication write: issue or re-authorise. While
// the write runs, confirming again does nothing (a second ctrl+s must not
// issue twice); alerts the write raised stay on screen and need a typed
// reason before the next confirm answers them.
type medConfirm struct {
	kind    string // issue | reauthorise
	med     *record.Medication
	issues  Field
	rev     uint64
	running bool
	alerts  []clinical.SafetyAlert // raised by the last try: answered by the reason
	reason  Field
}

type medDoneMsg struct {
	rev    uint64
	say    string
	err    error
	alerts []clinical.SafetyAlert
}

func (p *recordPage) Context() string { return "record" }
func (p *recordPage) TextFocus() bool {
	if p.form != nil {
		return p.form.textFocus()
	}
	return p.asking || p.confirm != nil && (p.confirm.kind == "reauthorise" || len(p.confirm.alerts) > 0)
}

// medOrder is the medication section's order: repeats, then acutes.
func (p *recordPage) medOrder() []*record.Medication {
	var out []*record.Medication
	for _, typ := range []string{"repeat", "acute"} {
		for _, x := range p.data.meds {
			if x.Type == typ {
				out = append(out, x)
			}
		}
	}
	return out
}

func (p *recordPage) medAction(name string) tea.Cmd {
	meds := p.medOrder()
	if p.section != "medication" || p.medSel >= len(meds) {
		return notice("select a repeat in the medication section ("+p.c.Keys.Key("record", "medication")+") first", true)
	}
	m := meds[p.medSel]
	if m.Type != "repeat" || m.Status != "active" {
		return notice(clinical.CodeText(m.Code)+" is not a current repeat", true)
	}
	p.confirm = &medConfirm{kind: name, med: m, issues: Field{Label: "Issues to authorise"}}
	if name == "reauthorise" {
		p.confirm.issues.SetValue("6")
		p.confirm.issues.Focus()
	}
	return nil
}

func (p *recordPage) runConfirm() tea.Cmd {
	cf := p.confirm
	if cf.running {
		return nil // the write is under way: one confirm, one write
	}
	var ans clinical.Answers
	if len(cf.alerts) > 0 {
		why := strings.TrimSpace(cf.reason.Value())
		if why == "" {
			return notice("type the reason for going ahead, then confirm", true)
		}
		ans.Override = map[string]string{}
		for _, a := range cf.alerts {
			ans.Override[a.ID] = why
		}
	}
	rev, c, id, pid := nextRev(), p.c, cf.med.ID, p.id
	name := clinical.CodeText(cf.med.Code)
	if cf.kind == "issue" {
		cf.rev, cf.running = rev, true
		return func() tea.Msg {
			res, err := c.Svc.IssueWith(c.Ctx, clinical.IssueInput{PatientRef: pid, IDs: []string{id}, Answers: ans})
			if ae, ok := err.(*clinical.AlertsError); ok {
				return medDoneMsg{rev: rev, alerts: ae.Alerts}
			}
			if err != nil {
				return medDoneMsg{rev: rev, err: err}
			}
			m := res.Issued[0]
			say := fmt.Sprintf("Issued %s: %s %s, issue %d of %d", name, strconv.FormatFloat(m.Issues[len(m.Issues)-1].Quantity, 'f', -1, 64),
				m.Unit, len(m.Issues), max(m.IssuesAuthorised, 1))
			return medDoneMsg{rev: rev, say: say}
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(cf.issues.Value()))
	if err != nil || n < 1 {
		return notice("issues: a whole number from 1", true)
	}
	cf.rev, cf.running = rev, true
	return func() tea.Msg {
		_, err := c.Svc.ReauthoriseWith(c.Ctx, clinical.ReauthInput{PatientRef: pid, ID: id, Issues: n, Answers: ans})
		if ae, ok := err.(*clinical.AlertsError); ok {
			return medDoneMsg{rev: rev, alerts: ae.Alerts}
		}
		return medDoneMsg{rev: rev, say: "Re-authorised " + name + " for " + strconv.Itoa(n) + " issues", err: err}
	}
}
func (p *recordPage) Title() string {
	for _, s := range sections {
		if s.action == p.section {
			return "Record · " + s.label
		}
	}
	return "Record"
}

func (p *recordPage) Back() (bool, tea.Cmd) {
	if p.form != nil {
		p.form = nil
		return true, nil
	}
	if p.confirm != nil {
		p.confirm = nil
		return true, nil
	}
	if p.section != "summary" && !p.asking {
		p.section, p.scroll = "summary", 0
		return true, nil
	}
	return false, nil
}

func (p *recordPage) load() tea.Cmd {
	p.rev = nextRev()
	rev, c, id, reason := p.rev, p.c, p.id, p.reason
	return func() tea.Msg {
		_, seq, seqErr := c.Svc.PatientChangedSince(c.Ctx, id, store.ChangesHead) // where the feed is now
		d, err := loadRecord(c.Ctx, c.Svc, id, reason)
		if err == nil && d != nil {
			var derr error
			d.due, derr = dueIndicators(c, id, reason)
			d.dueErr = derr != nil
		}
		var pe *record.PermissionError
		if errors.As(err, &pe) && strings.Contains(pe.Action, "sensitive") {
			return recordLoadedMsg{rev: rev, needReason: true}
		}
		return recordLoadedMsg{rev: rev, data: d, err: err, seq: seq, seqSet: seqErr == nil}
	}
}

// savedMsg tells a record page a consultation was written.
type savedMsg struct{ patientID string }

func (p *recordPage) Update(msg tea.Msg) tea.Cmd {
	if p.form != nil {
		switch msg.(type) {
		case actionMsg, tea.KeyPressMsg, tea.PasteMsg, formCodesMsg, formDoneMsg:
			return p.formUpdate(msg)
		}
	}
	switch msg := msg.(type) {
	case initMsg:
		return p.load()
	case watchTickMsg:
		return p.watch()
	case recordWatchMsg:
		if msg.page == p {
			return p.watched(msg)
		}
		return nil
	case rxSavedMsg:
		if msg.patientID == p.id {
			p.medSel, p.medPicked = 0, "" // the new authorisation heads its list
			p.section, p.scroll = "medication", 0
			return p.load()
		}
	case savedMsg:
		if msg.patientID == p.id || (p.data != nil && p.data.sum.Patient.ID == msg.patientID) {
			p.section, p.scroll = "journal", 0
			return p.load()
		}
	case recordLoadedMsg:
		if msg.rev != p.rev {
			return nil
		}
		if msg.needReason {
			p.asking = true
			p.ask.Focus()
			return nil
		}
		p.data, p.err = msg.data, msg.err
		p.reselectMed()
		if msg.seqSet {
			p.watchSeq, p.watchSet = msg.seq, true
		}
		if p.data != nil {
			p.id = p.data.sum.Patient.ID
			if a := p.after; a != "" {
				p.after = ""
				return p.Update(actionMsg{Name: a})
			}
		}
	case medDoneMsg:
		if p.confirm == nil || msg.rev != p.confirm.rev {
			return nil
		}
		p.confirm.running = false
		if len(msg.alerts) > 0 { // stays open: each alert needs a typed reason
			p.confirm.alerts = msg.alerts
			p.confirm.reason = Field{Label: "Reason for going ahead"}
			p.confirm.issues.Blur()
			p.confirm.reason.Focus()
			return notice(fmt.Sprintf("%d alert(s): type a reason and confirm, or esc", len(msg.alerts)), true)
		}
		p.confirm = nil
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		return tea.Batch(p.load(), notice(msg.say, false))
	case actionMsg:
		if p.confirm != nil {
			if msg.Name == "save" { // never enter: type-ahead must not issue
				return p.runConfirm()
			}
			if msg.Key.Code != 0 {
				if len(p.confirm.alerts) > 0 {
					p.confirm.reason.Update(msg.Key)
				} else {
					p.confirm.issues.Update(msg.Key)
				}
			}
			return nil
		}
		if p.asking {
			if msg.Name == "open" && strings.TrimSpace(p.ask.Value()) != "" {
				p.reason = strings.TrimSpace(p.ask.Value())
				p.asking = false
				p.ask.Blur()
				return p.load()
			}
			return nil
		}
		if cmd, ok := p.formAction(msg.Name); ok {
			return cmd
		}
		switch msg.Name {
		case "resume":
			return p.load()
		case "down":
			if p.section == "medication" && p.data != nil {
				p.medSel = min(p.medSel+1, max(0, len(p.data.meds)-1))
				p.medPicked = p.selectedMedID()
			} else {
				p.scroll++
			}
		case "up":
			if p.section == "medication" {
				p.medSel = max(0, p.medSel-1)
				p.medPicked = p.selectedMedID()
			} else {
				p.scroll = max(0, p.scroll-1)
			}
		case "issue", "reauthorise":
			if p.data == nil || p.data.denied != "" {
				return p.refused(clinical.ActPrescribe, "medication needs a prescriber's role")
			}
			return p.medAction(msg.Name)
		case "page-down":
			p.scroll += p.c.Height / 2
		case "page-up":
			p.scroll = max(0, p.scroll-p.c.Height/2)
		case "next-chart":
			p.chart++
		case "registers":
			id, reason := p.id, p.reason
			return func() tea.Msg { return registersMsg{patient: id, reason: reason} }
		case "consult":
			if p.data == nil && p.err == nil {
				p.after = "consult" // typed ahead of the load
				return nil
			}
			if p.data == nil || p.data.denied != "" {
				return p.refused(clinical.ActWriteClinical, "consultations need a clinician's role")
			}
			if p.data.sum.Patient.Status != record.PatientActive {
				return notice("this patient has "+p.data.sum.Patient.Status+": a new consultation is not allowed", true)
			}
			return func() tea.Msg { return consultMsg{rec: p} }
		case "prescribe":
			if p.data == nil && p.err == nil {
				p.after = "prescribe"
				return nil
			}
			if p.data == nil || p.data.denied != "" {
				return p.refused(clinical.ActPrescribe, "prescribing needs a prescriber's role")
			}
			return func() tea.Msg { return prescribeMsg{rec: p} }
		default:
			for _, s := range sections {
				if s.action == msg.Name {
					p.section, p.scroll = s.action, 0
				}
			}
		}
	case tea.KeyPressMsg, tea.PasteMsg:
		if p.asking {
			p.ask.Update(msg)
		}
		if p.confirm != nil {
			if len(p.confirm.alerts) > 0 {
				p.confirm.reason.Update(msg)
			} else {
				p.confirm.issues.Update(msg)
			}
		}
	}
	return nil
}

// refused says why a key does nothing here. When the role is the reason, the
// refusal goes through the services (clinical.Service.Refuse), so it is
// audited as the action's own refusal would be; a record not loaded yet, or
// withheld for another reason, only says so.
func (p *recordPage) refused(a clinical.Action, msg string) tea.Cmd {
	svc, id, why := p.c.Svc, p.id, "the record is not open yet"
	if p.data != nil && p.data.denied != "" {
		why = p.data.denied
	}
	return func() tea.Msg {
		if err := svc.Refuse(context.Background(), a, id); err == nil {
			return noticeMsg{Text: why, Alert: true} // allowed the action, but not this record (yet)
		}
		return noticeMsg{Text: msg, Alert: true}
	}
}

func notice(s string, alert bool) tea.Cmd {
	return func() tea.Msg { return noticeMsg{Text: s, Alert: alert} }
}

func (p *recordPage) View(w, h int) []string {
	st := p.c.Styles
	if p.asking {
		return []string{st.Alert.Render("This record is marked sensitive."), "Opening it is audited with your reason.", "",
			strings.Join(p.ask.View(w, st), ""), "", st.Muted.Render("enter opens · esc goes back")}
	}
	if p.err != nil {
		return []string{st.Alert.Render("Could not open the record: " + p.err.Error())}
	}
	if p.data == nil {
		return []string{st.Muted.Render("Opening the record…")}
	}
	out := banner(p.c, p.data.sum, w, p.data.dueSlot()...)
	out = append(out, p.tabs(w))
	body := p.sectionLines(w, h-len(out))
	if p.form != nil {
		body = p.formLines(w)
	}
	if p.scroll > max(0, len(body)-1) {
		p.scroll = max(0, len(body)-1)
	}
	body = body[min(p.scroll, len(body)):]
	return append(out, body...)
}

func (p *recordPage) tabs(w int) string {
	st := p.c.Styles
	var parts []string
	for _, s := range sections {
		k := p.c.Keys.Key("record", s.action)
		label := s.label
		if w < 130 {
			label = s.short
		}
		t := k + " " + label
		if s.action == p.section {
			parts = append(parts, st.Selected.Render(t))
		} else {
			parts = append(parts, st.Muted.Render(t))
		}
	}
	return fit(strings.Join(parts, " "), w)
}

func (p *recordPage) sectionLines(w, h int) []string {
	d := p.data
	st := p.c.Styles
	clinicalOnly := func() []string {
		return []string{st.Muted.Render(d.denied)}
	}
	var out []string
	switch p.section {
	case "summary":
		out = p.summaryLines(w, h)
	case "journal":
		if d.denied != "" {
			return clinicalOnly()
		}
		out = p.journalLines(w)
	case "problems":
		if d.denied != "" {
			return clinicalOnly()
		}
		for _, status := range []string{"active", "past"} {
			out = append(out, st.Heading.Render(strings.ToUpper(status[:1])+status[1:]+" problems"))
			n := 0
			for _, x := range d.problems {
				if x.Status != status {
					continue
				}
				n++
				line := fit(Date(x.Onset), 12) + fit(x.Significance, 6) + clinical.CodeText(x.Code)
				if x.ResolvedOn != "" {
					line += st.Muted.Render("  resolved " + Date(x.ResolvedOn))
				}
				out = append(out, "  "+line)
			}
			if n == 0 {
				out = append(out, st.Muted.Render("  none"))
			}
		}
	case "medication":
		if d.denied != "" {
			return clinicalOnly()
		}
		for _, typ := range []string{"repeat", "acute"} {
			out = append(out, st.Heading.Render(strings.ToUpper(typ[:1])+typ[1:])+st.Muted.Render("  (status, last issued)"))
			n := 0
			for _, x := range d.meds {
				if x.Type != typ {
					continue
				}
				n++
				last := ""
				if len(x.Issues) > 0 {
					last = DateOf(x.Issues[len(x.Issues)-1].At)
				}
				nameW := max(20, (w-26)*6/10)
				doseW := max(8, w-2-nameW-24)
				line := fit(cut(clinical.CodeText(x.Code), nameW-1), nameW) + fit(cut(x.Dose, doseW-1), doseW) +
					st.Muted.Render(fit(x.Status, 11)+last)
				if p.medSel < len(p.medOrder()) && p.medOrder()[p.medSel] == x {
					out = append(out, st.Selected.Render(fit("› "+ansi.Strip(line), w)))
				} else {
					out = append(out, "  "+line)
				}
			}
			if n == 0 {
				out = append(out, st.Muted.Render("  none"))
			}
		}
		if cf := p.confirm; cf != nil {
			out = append(out, "")
			if cf.kind == "issue" {
				out = append(out, st.Warn.Render("Issue "+clinical.CodeText(cf.med.Code)+": "+clinical.DoseInWords(cf.med.Dose, cf.med.Unit)+
					", "+strconv.FormatFloat(cf.med.Quantity, 'f', -1, 64)+" "+cf.med.Unit+"?"))
			} else {
				out = append(out, st.Warn.Render("Re-authorise "+clinical.CodeText(cf.med.Code)+"?"))
				out = append(out, cf.issues.View(w, st)...)
			}
			for _, a := range cf.alerts { // wrapped, never cut: the prescriber reads all of it
				for _, l := range wrap(a.Severity+": "+a.Message, max(20, w-2)) {
					out = append(out, st.Alert.Render(l))
				}
			}
			if len(cf.alerts) > 0 {
				out = append(out, cf.reason.View(w, st)...)
			}
			if cf.running {
				out = append(out, st.Muted.Render("working…"))
			} else {
				out = append(out, st.Key.Render(p.c.Keys.Key("global", "save"))+" confirm  "+st.Key.Render("esc")+" cancel")
			}
		} else {
			out = append(out, st.Muted.Render(p.c.Keys.Key("record", "down")+"/"+p.c.Keys.Key("record", "up")+" select  "+
				p.c.Keys.Key("record", "issue")+" issue  "+p.c.Keys.Key("record", "reauthorise")+" re-authorise  "+p.c.Keys.Key("record", "change-dose")+" change dose"))
		}
	case "results":
		if d.denied != "" {
			return clinicalOnly()
		}
		out = p.resultsLines(w, h)
	case "allergies":
		if d.denied != "" {
			return clinicalOnly()
		}
		if len(d.allergies) == 0 {
			out = append(out, st.Warn.Render("No allergies recorded: allergy status unknown"))
		}
		for _, a := range d.allergies {
			if a.NKDA {
				out = append(out, "  "+fit(Date(a.Onset), 12)+"No known drug allergies")
				continue
			}
			line := fit(Date(a.Onset), 12) + st.Alert.Render(clinical.CodeText(a.Agent))
			if a.Reaction != "" || a.Severity != "" {
				line += "  " + strings.Trim(a.Severity+": "+a.Reaction, ": ")
			}
			out = append(out, "  "+line+st.Muted.Render("  "+a.Status))
		}
	case "immunisations":
		if d.denied != "" {
			return clinicalOnly()
		}
		if len(d.imms) == 0 {
			out = append(out, st.Muted.Render("No immunisations recorded"))
		}
		for _, x := range d.imms {
			out = append(out, "  "+fit(Date(x.Date), 12)+clinical.CodeText(x.Code)+st.Muted.Render("  "+x.Batch))
		}
	case "appointments":
		if len(d.appts) == 0 {
			out = append(out, st.Muted.Render("No appointments"))
		}
		for i := len(d.appts) - 1; i >= 0; i-- {
			a := d.appts[i]
			out = append(out, "  "+fit(DateTime(a.Start), 18)+fit(itoa(a.Minutes)+"m", 5)+fit(a.Clinician, 14)+fit(a.Status, 15)+a.Reason)
		}
	case "tasks":
		out = append(out, st.Heading.Render("Tasks"))
		if len(d.tasks) == 0 {
			out = append(out, st.Muted.Render("  none"))
		}
		for _, t := range d.tasks {
			out = append(out, "  "+fit(Date(t.Due), 12)+fit(t.Status, 7)+fit(t.To, 14)+t.Text)
		}
		out = append(out, st.Heading.Render("Recalls"))
		if len(d.recalls) == 0 {
			out = append(out, st.Muted.Render("  none"))
		}
		today := p.c.Now().In(UK).Format(record.DateLayout)
		for _, r := range d.recalls {
			line := fit(Date(r.Due), 12) + fit(r.Status, 7) + clinical.CodeText(r.Code)
			if r.Status == "open" && r.Due < today {
				line = st.Warn.Render(line + "  OVERDUE")
			}
			out = append(out, "  "+line)
		}
	case "history":
		if len(d.history) == 0 {
			out = append(out, st.Muted.Render("No history"))
		}
		for i := len(d.history) - 1; i >= 0; i-- {
			r := d.history[i]
			out = append(out, "  "+fit(DateTime(r.RecordedAt), 18)+fit(string(r.Kind), 14)+fit("v"+itoa(r.Version), 4)+
				fit(r.Status, 16)+r.RecordedBy)
		}
	}
	if d.hidden > 0 {
		out = append(out, st.Muted.Render(itoa(d.hidden)+" sensitive entries hidden"))
	}
	return out
}

// dueSlot is what the banner shows of the indicators due.
func (d *recordData) dueSlot() []string {
	if d == nil {
		return nil
	}
	if d.dueErr {
		return []string{"indicators not checked"}
	}
	if len(d.due) == 0 {
		return nil
	}
	return []string{"QOF due: " + strings.Join(d.due, ", ")}
}
