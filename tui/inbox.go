package tui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// The results inbox (issue 22): the list (abnormal first, then oldest, the
// service's order), one report with its values, flags, ranges and the
// patient's previous values of the same tests, and a key for each filing
// action, each one service call. Unmatched reports show as the laboratory
// identified the patient; they are matched (with a reason) from here too.

// inboxMsg asks the root to open the inbox.
type inboxMsg struct{}

// inboxChangedMsg says a filing changed the inbox: the root refreshes the
// count in the top line.
type inboxChangedMsg struct{}

type inboxLoadedMsg struct {
	rev   uint64
	items []clinical.InboxItem
	err   error
}

type reportLoadedMsg struct {
	rev  uint64
	view *clinical.ReportView
	err  error
}

type filedMsg struct {
	rev uint64
	res *clinical.FilingResult
	err error
}

// inboxPrompt asks for what a filing action needs: a comment, or weeks.
type inboxPrompt struct {
	action string
	field  Field
	forPt  bool // the comment is for the patient (else the team)
	// reason is the second field of a match (the first is the patient).
	reason *Field
}

// matchAction is the prompt's action for matching an unmatched report.
const matchAction = "match"

type matchedMsg struct {
	rev uint64
	r   *record.Report
	err error
}

type inboxPage struct {
	c       *Common
	all     bool // every clinician's reports, not only mine
	items   []clinical.InboxItem
	sel     int
	rev     uint64
	loaded  bool
	err     string
	view    *clinical.ReportView // the report being read
	viewRev uint64
	scroll  int
	prompt  *inboxPrompt
	fileRev uint64
}

func newInboxPage(c *Common) *inboxPage { return &inboxPage{c: c} }

func (p *inboxPage) Context() string { return "inbox" }
func (p *inboxPage) TextFocus() bool { return p.prompt != nil }
func (p *inboxPage) Title() string {
	if p.view != nil {
		return "Inbox · report"
	}
	return "Inbox"
}

func (p *inboxPage) Back() (bool, tea.Cmd) {
	switch {
	case p.prompt != nil:
		p.prompt = nil
		return true, nil
	case p.view != nil:
		p.view = nil
		return true, p.load()
	}
	return false, nil
}

func (p *inboxPage) load() tea.Cmd {
	p.rev = nextRev()
	rev, c, all := p.rev, p.c, p.all
	return func() tea.Msg {
		f := clinical.InboxFilter{}
		if !all && c.Svc.Can(clinical.ActInbox) {
			f.To = c.User()
		}
		items, err := c.Svc.Inbox(c.Ctx, f)
		return inboxLoadedMsg{rev: rev, items: items, err: err}
	}
}

func (p *inboxPage) open(id string) tea.Cmd {
	p.viewRev = nextRev()
	rev, c := p.viewRev, p.c
	return func() tea.Msg {
		v, err := c.Svc.Report(c.Ctx, id)
		return reportLoadedMsg{rev: rev, view: v, err: err}
	}
}

func (p *inboxPage) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case initMsg:
		return p.load()
	case inboxLoadedMsg:
		if msg.rev != p.rev {
			return nil
		}
		p.loaded, p.items, p.err = true, msg.items, ""
		if msg.err != nil {
			p.err = msg.err.Error()
		}
		p.sel = min(p.sel, max(0, len(p.items)-1))
	case reportLoadedMsg:
		if msg.rev != p.viewRev {
			return nil
		}
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		p.view, p.scroll = msg.view, 0
	case filedMsg:
		if msg.rev != p.fileRev {
			return nil
		}
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		p.view = nil
		say := "filed: " + filingLabel[msg.res.Report.Filing.Action]
		switch {
		case msg.res.Task != nil:
			say += " — task made for " + Date(msg.res.Task.Due)
		case msg.res.Recall != nil:
			say += " — recall due " + Date(msg.res.Recall.Due)
		}
		return tea.Batch(p.load(), notice(say, false), func() tea.Msg { return inboxChangedMsg{} })
	case matchedMsg:
		if msg.rev != p.fileRev {
			return nil
		}
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		p.view = nil
		return tea.Batch(p.load(), notice("matched to "+NHS(msg.r.SentPatient.NHSNumber)+": it waits to be filed", false),
			func() tea.Msg { return inboxChangedMsg{} })
	case actionMsg:
		if p.prompt != nil {
			return p.promptAction(msg)
		}
		return p.action(msg.Name)
	case tea.KeyPressMsg, tea.PasteMsg:
		if pr := p.prompt; pr != nil {
			if pr.reason != nil && pr.reason.Focused() {
				pr.reason.Update(msg)
			} else {
				pr.field.Update(msg)
			}
		}
	}
	return nil
}

// filingKeys are the inbox actions that file, in the order offered.
var filingKeys = []struct{ action, filing string }{
	{"file-normal", record.FileNormal},
	{"file-comment", record.FileComment},
	{"file-routine", record.FileRoutineAppt},
	{"file-urgent", record.FileUrgent},
	{"file-speak", record.FileSpeakToGP},
	{"file-repeat", record.FileRepeat},
}

var filingLabel = map[string]string{
	record.FileNormal:      "normal, no action",
	record.FileComment:     "with a comment",
	record.FileRoutineAppt: "routine appointment",
	record.FileUrgent:      "urgent: contact today",
	record.FileSpeakToGP:   "speak to the GP",
	record.FileRepeat:      "repeat in N weeks",
}

func (p *inboxPage) action(a string) tea.Cmd {
	switch a {
	case "resume":
		if p.view != nil {
			return p.open(p.view.Report.ID)
		}
		return p.load()
	case "down":
		if p.view != nil {
			p.scroll++
			return nil
		}
		p.sel = min(p.sel+1, max(0, len(p.items)-1))
	case "up":
		if p.view != nil {
			p.scroll = max(0, p.scroll-1)
			return nil
		}
		p.sel = max(0, p.sel-1)
	case "page-down":
		if p.view != nil {
			p.scroll += 10
			return nil
		}
		p.sel = min(p.sel+10, max(0, len(p.items)-1))
	case "page-up":
		if p.view != nil {
			p.scroll = max(0, p.scroll-10)
			return nil
		}
		p.sel = max(0, p.sel-10)
	case "everyone":
		p.all = !p.all
		p.sel = 0
		return p.load()
	case "open", "read":
		if p.view == nil && p.sel < len(p.items) {
			return p.open(p.items[p.sel].Report.ID)
		}
	case "match":
		r := p.current()
		if r == nil {
			return nil
		}
		if r.Status != record.ReportUnmatched {
			return notice("this report is already matched to a patient", true)
		}
		p.prompt = &inboxPrompt{action: matchAction, field: Field{Label: "Patient (NHS number)"}, reason: &Field{Label: "Reason"}}
		p.prompt.field.Focus()
		return nil
	case "open-record":
		r := p.current()
		if r == nil {
			return nil
		}
		if r.MatchedPatient == "" {
			return notice("this report is not matched to a patient yet: match it first ("+p.c.Keys.Key("inbox", "match")+")", true)
		}
		id := r.MatchedPatient
		return func() tea.Msg { return openPatientMsg{ID: id} }
	default:
		for _, fk := range filingKeys {
			if fk.action == a {
				return p.file(fk.filing)
			}
		}
	}
	return nil
}

// current is the report being read, else the one selected in the list.
func (p *inboxPage) current() *record.Report {
	if p.view != nil {
		return p.view.Report
	}
	if p.sel < len(p.items) {
		return p.items[p.sel].Report
	}
	return nil
}

// file starts a filing action: at once, or after its prompt. Filing from
// the list files the selected report; a clinician reads a report before
// filing it, so the list files only what is normal.
func (p *inboxPage) file(action string) tea.Cmd {
	r := p.current()
	if r == nil {
		return nil
	}
	if r.Status == record.ReportUnmatched {
		return notice("an unmatched report cannot be filed: match it to a patient first ("+p.c.Keys.Key("inbox", "match")+")", true)
	}
	if p.view == nil && action != record.FileNormal {
		return notice("open the report (enter) to read it before filing it that way", true)
	}
	if p.view == nil && p.sel < len(p.items) && p.items[p.sel].Abnormal {
		return notice("an abnormal result is read before it is filed: open it (enter)", true)
	}
	if p.view == nil && (r.HasComments() || r.Corrected) {
		// A comment ("suggest repeat") or a correction is read, not filed blind.
		return notice("this report has comments or corrects an earlier one: open it (enter) before filing", true)
	}
	switch action {
	case record.FileComment:
		p.prompt = &inboxPrompt{action: action, field: Field{Label: "Comment"}}
		p.prompt.field.Focus()
		return nil
	case record.FileRepeat:
		p.prompt = &inboxPrompt{action: action, field: Field{Label: "Repeat in weeks", Placeholder: "e.g. 6"}}
		p.prompt.field.Focus()
		return nil
	}
	return p.submit(clinical.FilingInput{ReportID: r.ID, Action: action, IfVersion: r.Version})
}

func (p *inboxPage) submit(in clinical.FilingInput) tea.Cmd {
	p.fileRev = nextRev()
	rev, c := p.fileRev, p.c
	return func() tea.Msg {
		res, err := c.Svc.FileReport(c.Ctx, in)
		return filedMsg{rev: rev, res: res, err: err}
	}
}

// promptAction: the save key files, tab switches who a comment is for,
// esc (Back) drops the prompt; other keys are text.
func (p *inboxPage) promptAction(msg actionMsg) tea.Cmd {
	pr := p.prompt
	if pr.action == matchAction {
		return p.matchAction(msg)
	}
	switch msg.Name {
	case "save":
		r := p.current()
		if r == nil {
			p.prompt = nil
			return nil
		}
		in := clinical.FilingInput{ReportID: r.ID, Action: pr.action, IfVersion: r.Version}
		v := strings.TrimSpace(pr.field.Value())
		if pr.action == record.FileRepeat {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return notice("weeks "+strconv.Quote(v)+": give a whole number of weeks, 1 or more", true)
			}
			in.Weeks = n
		} else {
			if v == "" {
				return notice("the comment is empty", true)
			}
			in.Comment, in.For = v, "team"
			if pr.forPt {
				in.For = "patient"
			}
		}
		p.prompt = nil
		return p.submit(in)
	case "everyone":
		if pr.action == record.FileComment {
			pr.forPt = !pr.forPt
			return nil
		}
	}
	if msg.Key.Code != 0 {
		pr.field.Update(msg.Key)
	}
	return nil
}

// matchAction: tab moves between the patient and the reason, the save
// key matches (one service call, audited with the reason).
func (p *inboxPage) matchAction(msg actionMsg) tea.Cmd {
	pr := p.prompt
	switch msg.Name {
	case "everyone", "down", "up":
		if pr.field.Focused() {
			pr.field.Blur()
			pr.reason.Focus()
		} else {
			pr.reason.Blur()
			pr.field.Focus()
		}
		return nil
	case "save":
		r := p.current()
		who, why := strings.TrimSpace(pr.field.Value()), strings.TrimSpace(pr.reason.Value())
		if r == nil || who == "" {
			return notice("give the patient's NHS number", true)
		}
		if why == "" {
			return notice("give the reason for this match (it is audited)", true)
		}
		p.prompt = nil
		p.fileRev = nextRev()
		rev, c, id, ver := p.fileRev, p.c, r.ID, r.Version
		return func() tea.Msg {
			m, err := c.Svc.MatchReport(c.Ctx, id, who, why, ver)
			return matchedMsg{rev: rev, r: m, err: err}
		}
	}
	if msg.Key.Code != 0 {
		if pr.reason.Focused() {
			pr.reason.Update(msg.Key)
		} else {
			pr.field.Update(msg.Key)
		}
	}
	return nil
}

func (p *inboxPage) View(w, h int) []string {
	if p.view != nil {
		return p.reportView(w, h)
	}
	st := p.c.Styles
	whose := "mine"
	if p.all || !p.c.Svc.Can(clinical.ActInbox) {
		whose = "everyone's"
	}
	abn := 0
	for _, it := range p.items {
		if it.Abnormal {
			abn++
		}
	}
	k := func(a string) string { return p.c.Keys.Key("inbox", a) }
	out := []string{st.Heading.Render(itoa(len(p.items))+" waiting · "+itoa(abn)+" abnormal · "+whose) +
		st.Muted.Render("  "+k("read")+" read  "+k("file-normal")+" file normal  "+k("everyone")+" mine/everyone's")}
	if p.err != "" {
		out = append(out, st.Alert.Render(p.err))
	}
	if !p.loaded {
		return append(out, st.Muted.Render("loading…"))
	}
	if len(p.items) == 0 {
		return append(out, st.Muted.Render("Nothing waiting"))
	}
	out = append(out, st.Heading.Render("  "+fit("", 4)+fit("Received", 12)+fit("Patient", 28)+fit("Report", 26)+"From"))
	start, room := 0, h-len(out)
	if p.sel >= room {
		start = p.sel - room + 1
	}
	for i := start; i < len(p.items) && len(out) < h; i++ {
		it := p.items[i]
		r := it.Report
		// Marks readable without colour: ? unmatched, ! abnormal, C corrected.
		mark := " "
		switch {
		case r.Status == record.ReportUnmatched:
			mark += "?"
		case it.Abnormal:
			mark += "!"
		default:
			mark += " "
		}
		if r.Corrected {
			mark += "C"
		}
		who := ""
		if it.Patient != nil {
			who = it.Patient.Name
		} else {
			who = "unmatched: " + r.SentPatient.Name()
		}
		title := reportName(r)
		if r.Corrected {
			title = "CORRECTED " + title
		}
		line := fit(mark, 4) + fit(DateOf(r.ReceivedAt), 12) + fit(cut(who, 26), 28) + fit(cut(title, 24), 26) + cut(senderName(r), 20)
		switch {
		case i == p.sel:
			out = append(out, st.Selected.Render(fit("› "+line, w)))
		case it.Abnormal || r.Corrected:
			out = append(out, "  "+st.Alert.Render(line))
		case r.Status == record.ReportUnmatched:
			out = append(out, "  "+st.Warn.Render(line))
		default:
			out = append(out, "  "+line)
		}
	}
	return out
}

func reportName(r *record.Report) string {
	if r.Title.Display != "" {
		return r.Title.Display
	}
	if r.Title.Code != "" {
		return r.Title.Code
	}
	if len(r.Tests) > 0 {
		return r.Tests[0].Name
	}
	return r.LabReportID
}

func senderName(r *record.Report) string {
	if r.Sender.Name != "" {
		return r.Sender.Name
	}
	return r.Sender.ODS
}

// reportView draws one report: who and what, the values with their flags,
// ranges and the patient's previous values, the comments, the filing keys.
func (p *inboxPage) reportView(w, h int) []string {
	st := p.c.Styles
	v := p.view
	r := v.Report
	var out []string
	head := reportName(r) + " · " + senderName(r) + " · " + r.LabStatus
	if r.Corrected {
		out = append(out, st.Alert.Render("CORRECTED REPORT")+st.Muted.Render(" — replaces the version received "+earlierDate(v)))
	}
	out = append(out, st.Heading.Render(head))
	if v.Patient != nil {
		out = append(out, "Patient: "+v.Patient.Name+"  NHS "+NHS(v.Patient.NHSNumber)+"  born "+Date(v.Patient.BirthDate))
	} else {
		sp := r.SentPatient
		out = append(out, st.Warn.Render("Unmatched: "+r.Unmatched))
		out = append(out, "As sent: "+sp.Name()+"  NHS "+orDash(sp.NHSNumber)+"  born "+orDash(Date(sp.BirthDate))+"  "+sp.Sex)
	}
	var facts []string
	if r.Requester.Name != "" || r.Requester.Code != "" {
		facts = append(facts, "requested by "+strings.TrimSpace(r.Requester.Name+" "+r.Requester.Code))
	}
	if r.Specimen.Type != "" {
		facts = append(facts, "specimen "+r.Specimen.Type)
	}
	if !r.Specimen.Collected.IsZero() {
		facts = append(facts, "taken "+DateTime(r.Specimen.Collected))
	}
	if !r.Issued.IsZero() {
		facts = append(facts, "issued "+DateTime(r.Issued))
	}
	if len(facts) > 0 {
		out = append(out, st.Muted.Render(cut(strings.Join(facts, " · "), w)))
	}
	// Columns: narrower at 80 so the previous value still fits.
	cn, cv, cr, cf, np := 26, 18, 14, 6, 3
	if w < 100 {
		cn, cv, cr, cf, np = 22, 15, 11, 5, 1
	}
	out = append(out, "", st.Heading.Render("  "+fit("Test", cn)+fit("Value", cv)+fit("Range", cr)+fit("Flag", cf)+"Previous"))
	for i, t := range r.Tests {
		// "!" marks an abnormal value without colour too (NO_COLOR).
		mark := "  "
		if t.Abnormal() {
			mark = "! "
		}
		val := testValue(&t)
		switch strings.ToLower(t.Status) {
		case record.StatusEnteredInError:
			val = "withdrawn: " + val // the laboratory deleted it (not in the record)
		case "corrected":
			mark = "C "
			if t.Abnormal() {
				mark = "C!"
			}
		}
		line := mark + fit(cut(t.Name, cn-2), cn) + fit(cut(val, cv-2), cv) + fit(cut(t.Range.String(), cr-2), cr) + fit(t.Flag, cf)
		var prev []string
		if i < len(v.Previous) {
			for j, o := range v.Previous[i] {
				if j == np {
					break
				}
				prev = append(prev, obsBare(o)+" "+DateOf(o.Effective))
			}
		}
		line += strings.Join(prev, ", ")
		if t.Abnormal() {
			out = append(out, st.Alert.Render(line))
		} else {
			out = append(out, line)
		}
		for _, c := range t.Comments {
			for _, l := range wrap(c, max(20, w-4)) {
				out = append(out, "    "+st.Muted.Render(l))
			}
		}
	}
	if len(r.Comments) > 0 {
		out = append(out, "", st.Heading.Render("Comments"))
		for _, c := range r.Comments {
			out = append(out, wrap(c, w)...)
		}
	}
	if f := r.Filing; f != nil {
		out = append(out, "", st.OK.Render("Filed "+filingLabel[f.Action]+" by "+f.By+" "+DateTime(f.At)))
	}
	// The prompt and the filing keys stay on screen whatever the scroll.
	var foot []string
	if pr := p.prompt; pr != nil && pr.action == matchAction {
		foot = append(foot, st.Heading.Render("Match this report to a patient"))
		foot = append(foot, pr.field.View(w, st)...)
		foot = append(foot, pr.reason.View(w, st)...)
		foot = append(foot, st.Key.Render(p.c.Keys.Key("global", "save"))+" match  "+
			st.Key.Render(p.c.Keys.Key("inbox", "everyone"))+" next field  "+st.Key.Render("esc")+" cancel")
	} else if pr != nil {
		title := "File with a comment for the team"
		if pr.forPt {
			title = "File with a comment for the patient"
		}
		hint := st.Key.Render(p.c.Keys.Key("global", "save")) + " file  "
		if pr.action == record.FileRepeat {
			title = "File and recall for a repeat test"
		} else {
			hint += st.Key.Render(p.c.Keys.Key("inbox", "everyone")) + " team/patient  "
		}
		foot = append(foot, st.Heading.Render(title))
		foot = append(foot, pr.field.View(w, st)...)
		foot = append(foot, hint+st.Key.Render("esc")+" cancel")
	} else if r.Status == record.ReportUnmatched {
		if k := p.c.Keys.Key("inbox", "match"); k != "" {
			foot = append(foot, st.Key.Render(k)+" match to a patient (with a reason)")
		}
	} else if r.InInbox() {
		var keys []string
		for _, fk := range filingKeys {
			if k := p.c.Keys.Key("inbox", fk.action); k != "" {
				keys = append(keys, st.Key.Render(k)+" "+filingLabel[fk.filing])
			}
		}
		if k := p.c.Keys.Key("inbox", "open-record"); k != "" && r.MatchedPatient != "" {
			keys = append(keys, st.Key.Render(k)+" open record")
		}
		foot = append(foot, flowItems(keys, w)...)
	}
	room := max(1, h-len(foot))
	if len(out) > room {
		s := min(p.scroll, len(out)-room)
		out = out[s : s+room]
	}
	return append(out, foot...)
}

func earlierDate(v *clinical.ReportView) string {
	if n := len(v.Earlier); n > 0 {
		return DateTime(v.Earlier[n-1].ReceivedAt)
	}
	return "earlier"
}

// testValue is a result's value as the laboratory sent it: "<5 mg/L", "98 g/L".
func testValue(t *record.ReportTest) string {
	if t.Value != nil {
		return strings.TrimSpace(t.Comparator + num(*t.Value) + " " + t.Unit)
	}
	if t.ValueText != "" {
		return strings.ReplaceAll(t.ValueText, "\n", " ")
	}
	return "(no value)"
}
