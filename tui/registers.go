package tui

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/record"
)

// Cohort is what the registers screen and the banner need to run the
// register and indicator definitions (commands wires the terminology's
// resolver and the definitions directory).
type Cohort struct {
	Resolver cohort.Resolver
	Defs     []*cohort.Def
	// Cache keeps the index between runs (built again when the practice changed).
	Cache cohort.Cache
}

// registersMsg asks the root to open the registers screen (for one
// patient, from their record: patient set, with the reason the record was
// opened with, if sensitive).
type registersMsg struct{ patient, reason string }

type registersLoadedMsg struct {
	rev   uint64
	lines []regLine
	err   error
	took  string
	where string   // "" here; "on the server" in remote mode against gpsoc serve; else how it was fetched
	pIn   []string // one patient: each line's verdict
}

// regLine is one definition's result: evaluated here (res, with the run of
// its reference date), or on the server (srv).
type regLine struct {
	def *cohort.Def
	R   int32
	run *cohort.Run
	res *cohort.Result
	srv *clinical.ServerSearch
}

func (l regLine) count() int {
	if l.srv != nil {
		return len(l.srv.Members)
	}
	return l.res.Count()
}

func (l regLine) registered() int {
	if l.srv != nil {
		return l.srv.Registered
	}
	return l.res.Registered
}

// numExc are an indicator's numerator and exceptions.
func (l regLine) numExc() (n, x int) {
	if l.srv == nil {
		return l.res.Numerator.Count(), l.res.Exceptions.Count()
	}
	for _, m := range l.srv.Members {
		switch m.Status {
		case "numerator":
			n++
		case "exception":
			x++
		}
	}
	return n, x
}

type registerRowsMsg struct {
	rev  uint64
	rows []cohort.Row
	err  error
}

type registerExplainMsg struct {
	rev      uint64
	patient  string // whom it explains
	x        *cohort.Explanation
	withheld bool // a sensitive record's entries left out: no reason given
	err      error
}

// registerRevealMsg is a flagged row read again with the reason given.
type registerRevealMsg struct {
	rev uint64
	i   int
	row *cohort.Row // nil: no longer in the result
	err error
}

// registersPage lists every register (count, prevalence) and indicator
// (numerator, denominator, exceptions, achievement); enter drills into one
// (a row a patient), e explains the selected patient, o opens the record.
// A sensitive record is a flagged row without its values (an explanation
// without its entries); v asks why they are needed and shows them, audited
// with the reason through cohort.Reveal, the CLI's --reason path.
type registersPage struct {
	c      *Common
	rev    uint64
	loaded bool
	err    string
	lines  []regLine
	where  string
	took   string
	sel    int
	// drill: the definition open (-1: the list)
	drill   int
	rows    []cohort.Row
	rowSel  int
	x       *cohort.Explanation
	xScroll int
	// xWithheld: the explanation's entries are withheld (sensitive, no reason)
	xWithheld bool
	// ask is the reason prompt of a reveal (v) for patient askID: of the
	// explanation when askExplain, else of the selected row.
	ask        *Field
	askExplain bool
	askID      string
	// patient: one patient's registers and indicators (from the record),
	// each line in, out or the indicator status; enter explains it.
	patient string
	pIn     []string
	// reason is the one the record was opened with: sent with the reads of
	// a sensitive record to a server that asks for one, never used to show
	// values (v asks its own).
	reason string
}

func newRegistersPage(c *Common) *registersPage { return &registersPage{c: c, drill: -1} }

func newPatientRegistersPage(c *Common, patientID, reason string) *registersPage {
	return &registersPage{c: c, drill: -1, patient: patientID, reason: reason}
}

func (p *registersPage) Context() string { return "registers" }
func (p *registersPage) TextFocus() bool { return p.ask != nil }
func (p *registersPage) Title() string {
	if p.patient != "" {
		return "This patient's registers and indicators"
	}
	return "Registers and indicators"
}

func (p *registersPage) Back() (bool, tea.Cmd) {
	switch {
	case p.ask != nil:
		p.ask = nil
		return true, nil
	case p.x != nil:
		p.x = nil
		return true, nil
	case p.drill >= 0:
		p.drill, p.rows = -1, nil
		return true, nil
	}
	return false, nil
}

// load runs every definition over an index built once through the services
// (the search right), auditing each run with its count.
func (p *registersPage) load() tea.Cmd {
	p.rev = nextRev()
	rev, c := p.rev, p.c
	if p.patient != "" {
		return p.loadPatient()
	}
	return func() tea.Msg {
		if c.Cohort == nil || len(c.Cohort.Defs) == 0 {
			return registersLoadedMsg{rev: rev, err: fmt.Errorf("no register definitions are loaded")}
		}
		t0 := c.Now()
		var lines []regLine
		// In remote mode against gpsoc serve, every definition runs on the
		// server, where the data is (audited there).
		for i, d := range c.Cohort.Defs {
			R, err := cohort.ReferenceDate(d, c.Now(), "")
			if err != nil {
				return registersLoadedMsg{rev: rev, err: err}
			}
			sr, ok, err := c.Svc.SearchOnServer(c.Ctx, cohort.ServerText(d, c.Cohort.Defs), cohort.DayString(R), "", "")
			if err != nil {
				return registersLoadedMsg{rev: rev, err: err}
			}
			if !ok {
				if i > 0 {
					return registersLoadedMsg{rev: rev, err: fmt.Errorf("the server stopped running searches")}
				}
				break
			}
			lines = append(lines, regLine{def: d, R: R, srv: sr})
		}
		if len(lines) == len(c.Cohort.Defs) {
			return registersLoadedMsg{rev: rev, lines: lines, took: c.Now().Sub(t0).Round(1e6).String(), where: "on the server"}
		}
		ix, err := c.Cohort.Cache.Get(c.Ctx, c.Svc)
		if err != nil {
			return registersLoadedMsg{rev: rev, err: err}
		}
		where := ""
		if c.Svc.SearchesFetch() { // a server that cannot run them: said on the screen
			where = fmt.Sprintf("searched here over standard FHIR search: %d patients, %d records fetched (slower than a gpsoc server)",
				ix.Len(), ix.Records)
		}
		eng := cohort.NewEngine(ix, c.Cohort.Resolver, c.Cohort.Defs)
		var runs []clinical.SearchRun
		byR := map[int32]*cohort.Run{}
		for _, d := range c.Cohort.Defs {
			R, err := cohort.ReferenceDate(d, c.Now(), "")
			if err != nil {
				return registersLoadedMsg{rev: rev, err: err}
			}
			if byR[R] == nil {
				byR[R] = eng.NewRun(R)
			}
			res, err := byR[R].Evaluate(d)
			if err != nil {
				return registersLoadedMsg{rev: rev, err: err}
			}
			lines = append(lines, regLine{def: d, R: R, run: byR[R], res: res})
			runs = append(runs, clinical.SearchRun{Query: cohort.Query(d, R), Count: res.Count()})
		}
		if err := c.Svc.AuditSearches(c.Ctx, runs); err != nil {
			return registersLoadedMsg{rev: rev, err: err}
		}
		return registersLoadedMsg{rev: rev, lines: lines, took: c.Now().Sub(t0).Round(1e6).String(), where: where}
	}
}

func (p *registersPage) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case initMsg:
		return p.load()
	case registersLoadedMsg:
		if msg.rev != p.rev {
			return nil
		}
		p.loaded = true
		p.err = ""
		if msg.err != nil {
			p.err = msg.err.Error()
			return nil
		}
		p.lines, p.took, p.where, p.pIn = msg.lines, msg.took, msg.where, msg.pIn
		p.sel = min(p.sel, max(0, len(p.lines)-1))
	case registerRowsMsg:
		if msg.rev != p.rev {
			return nil
		}
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		p.rows, p.rowSel = msg.rows, 0
	case registerExplainMsg:
		if msg.rev != p.rev {
			return nil
		}
		if msg.err != nil && sensitiveRefusal(msg.err) && msg.patient != "" {
			// a server that keeps a sensitive record's reads behind a
			// reason (gpsoc serve, in remote mode) refused: ask it here
			p.askFor(true, msg.patient)
			return notice("this record is sensitive: the server reads it only with a reason (audited)", true)
		}
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		p.x, p.xScroll, p.xWithheld = msg.x, 0, msg.withheld
	case registerRevealMsg:
		if msg.rev != p.rev {
			return nil
		}
		switch {
		case msg.err != nil:
			return notice(msg.err.Error(), true)
		case msg.row == nil:
			return notice("no longer in this result: the record changed ("+p.c.Keys.Key("registers", "refresh")+" runs it again)", true)
		case msg.i < len(p.rows):
			p.rows[msg.i] = *msg.row
		}
	case actionMsg:
		if p.ask != nil {
			return p.askAction(msg)
		}
		return p.action(msg.Name)
	case tea.KeyPressMsg, tea.PasteMsg:
		if p.ask != nil {
			p.ask.Update(msg)
		}
	}
	return nil
}

// reveal asks the reason for seeing a sensitive record's values: of the
// explanation on screen, or of the selected flagged row.
func (p *registersPage) reveal() tea.Cmd {
	switch {
	case p.x != nil && p.xWithheld:
		p.askFor(true, p.x.PatientID)
	case p.x == nil && p.drill >= 0 && p.rowSel < len(p.rows) && withheld(p.rows[p.rowSel]):
		p.askFor(false, p.rows[p.rowSel].PatientID)
	default:
		return notice("nothing is withheld here: "+p.c.Keys.Key("registers", "reveal")+" shows a sensitive record's values", false)
	}
	return nil
}

func (p *registersPage) askFor(explain bool, patientID string) {
	p.askExplain, p.askID = explain, patientID
	p.ask = &Field{Label: "Reason to see this sensitive record"}
	p.ask.Focus()
}

// sensitiveRefusal is a read refused because the record is sensitive and no
// reason came with it.
func sensitiveRefusal(err error) bool {
	var pe *record.PermissionError
	return errors.As(err, &pe) && strings.Contains(pe.Action, "sensitive")
}

// withheld is a flagged row whose values are left out.
func withheld(r cohort.Row) bool { return r.Sensitive && len(r.Matched) == 0 }

// askAction: enter reads the record again with the reason (audited); the
// prompt stays until a reason is typed; esc (Back) closes it.
func (p *registersPage) askAction(msg actionMsg) tea.Cmd {
	if msg.Name != "open" {
		if msg.Key.Code != 0 {
			p.ask.Update(msg.Key)
		}
		return nil
	}
	reason := strings.TrimSpace(p.ask.Value())
	if reason == "" {
		return notice("type why you need this sensitive record's values (the reason is audited), or esc", true)
	}
	p.ask = nil
	p.rev = nextRev()
	li := p.sel // this patient's registers: the line explained
	if p.drill >= 0 {
		li = p.drill
	}
	rev, c, l := p.rev, p.c, p.lines[li]
	rv := cohort.Reveal{Svc: c.Svc, Resolver: c.Cohort.Resolver, Defs: c.Cohort.Defs, Def: l.def, On: l.R, Reason: reason}
	id := p.askID
	if p.askExplain {
		return func() tea.Msg {
			x, held, err := rv.Explain(c.Ctx, id)
			return registerExplainMsg{rev: rev, x: x, withheld: held, err: err}
		}
	}
	i := p.rowSel
	return func() tea.Msg {
		row, err := rv.Row(c.Ctx, id)
		return registerRevealMsg{rev: rev, i: i, row: row, err: err}
	}
}

func (p *registersPage) action(a string) tea.Cmd {
	page := max(1, p.c.Height-8)
	move := func(sel *int, n, d int) { *sel = max(0, min(n-1, *sel+d)) }
	switch {
	case a == "refresh":
		p.drill, p.rows, p.x = -1, nil, nil
		return p.load()
	case a == "reveal":
		return p.reveal()
	case p.x != nil:
		switch a {
		case "down":
			p.xScroll++
		case "up":
			p.xScroll = max(0, p.xScroll-1)
		case "page-down":
			p.xScroll += page
		case "page-up":
			p.xScroll = max(0, p.xScroll-page)
		case "open-patient", "open":
			id := p.x.PatientID
			return func() tea.Msg { return openPatientMsg{ID: id} }
		}
		return nil
	case p.drill >= 0:
		switch a {
		case "down", "up", "page-down", "page-up":
			d := map[string]int{"down": 1, "up": -1, "page-down": page, "page-up": -page}[a]
			move(&p.rowSel, len(p.rows), d)
		case "explain":
			return p.explain()
		case "open-patient", "open":
			if p.rowSel < len(p.rows) {
				id := p.rows[p.rowSel].PatientID
				return func() tea.Msg { return openPatientMsg{ID: id} }
			}
		}
		return nil
	}
	switch a {
	case "down", "up", "page-down", "page-up":
		d := map[string]int{"down": 1, "up": -1, "page-down": page, "page-up": -page}[a]
		move(&p.sel, len(p.lines), d)
	case "open", "explain":
		if p.patient != "" && p.sel < len(p.lines) {
			return p.explainPatient(p.sel)
		}
		if a == "open" && p.sel < len(p.lines) {
			return p.open(p.sel)
		}
	}
	return nil
}

// open drills into a definition: its patients with the values that matched
// (sensitive records flagged, values withheld), audited as a search.
func (p *registersPage) open(i int) tea.Cmd {
	p.drill, p.rows = i, nil
	p.rev = nextRev()
	rev, c, l := p.rev, p.c, p.lines[i]
	return func() tea.Msg {
		if l.srv != nil { // found and audited on the server
			return registerRowsMsg{rev: rev, rows: cohort.ServerRows(l.srv)}
		}
		rows := l.run.Rows(l.res, false)
		err := c.Svc.AuditSearch(c.Ctx, clinical.SearchRun{Query: "show " + cohort.Query(l.def, l.R), Count: len(rows)})
		return registerRowsMsg{rev: rev, rows: rows, err: err}
	}
}

// explain explains the definition for the selected patient, rule by rule,
// where the data is (cohort.Reveal, through cohort.ExplainFor: on gpsoc serve
// in remote mode, else the patient read here on their own); a sensitive
// record's entries are withheld until v gives a reason.
func (p *registersPage) explain() tea.Cmd {
	if p.rowSel >= len(p.rows) || p.drill < 0 {
		return nil
	}
	p.rev = nextRev()
	rev, c, l, id := p.rev, p.c, p.lines[p.drill], p.rows[p.rowSel].PatientID
	rv := cohort.Reveal{Svc: c.Svc, Resolver: c.Cohort.Resolver, Defs: c.Cohort.Defs, Def: l.def, On: l.R}
	return func() tea.Msg {
		x, held, err := rv.Explain(c.Ctx, id)
		return registerExplainMsg{rev: rev, patient: id, x: x, withheld: held, err: err}
	}
}

func pct(n, d int) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(d))
}

func (p *registersPage) View(w, h int) []string {
	st := p.c.Styles
	k := func(a string) string { return p.c.Keys.Key("registers", a) }
	switch {
	case !p.loaded:
		return []string{st.Muted.Render("running every register and indicator…")}
	case p.err != "":
		return []string{st.Alert.Render(p.err)}
	case p.x != nil:
		return p.viewExplain(w, h)
	case p.drill >= 0:
		return p.viewRows(w, h)
	}
	out := []string{st.Heading.Render(fit("ID", 9)+fit("Count", 8)+fit("Prev.", 7)+fit("Num.", 7)+fit("Exc.", 6)+fit("Achiev.", 9)+"Title") +
		st.Muted.Render("  ran in "+p.took)}
	if p.patient != "" {
		out = []string{st.Heading.Render(fit("ID", 9)+fit("This patient", 20)+"Title") + st.Muted.Render("  enter explains")}
	}
	lines := []string{}
	for _, l := range p.lines {
		d := l.def
		var line string
		if p.patient != "" {
			lines = append(lines, fit(d.ID, 9)+fit(p.pIn[len(lines)], 20)+d.Title)
			continue
		}
		if d.Kind == cohort.KindIndicator {
			n, x := l.numExc()
			line = fit(d.ID, 9) + fit(itoa(l.count()), 8) + fit("", 7) + fit(itoa(n), 7) + fit(itoa(x), 6) +
				fit(pct(n, l.count()-x), 9) + d.Title
		} else {
			line = fit(d.ID, 9) + fit(itoa(l.count()), 8) + fit(pct(l.count(), l.registered()), 7) + fit("", 22) + d.Title
		}
		lines = append(lines, line)
	}
	fetched := p.where != "" && p.where != "on the server"
	rows := h - 2
	if fetched {
		rows-- // the line that says where the records came from
	}
	out = append(out, window(lines, p.sel, rows, w, st)...)
	ref := "-"
	if len(p.lines) > 0 {
		ref = Date(cohort.DayString(p.lines[0].R))
	}
	where := ""
	if p.where != "" && !fetched {
		where = "  run " + p.where
	}
	out = append(out, st.Muted.Render(cut(k("refresh")+" run again  reference date "+ref+where, w)))
	if fetched {
		out = append(out, st.Muted.Render(cut(p.where, w)))
	}
	return out
}

func (p *registersPage) viewRows(w, h int) []string {
	st := p.c.Styles
	def := p.lines[p.drill].def
	head := def.ID + "  " + def.Title + "  (" + itoa(len(p.rows)) + ")"
	out := []string{st.Heading.Render(cut(head, w))}
	if p.rows == nil {
		return append(out, st.Muted.Render("loading…"))
	}
	ind := def.Kind == cohort.KindIndicator
	var lines []string
	for _, row := range p.rows {
		status := ""
		if ind {
			status = fit(row.Status, 13)
		}
		vals := ""
		if withheld(row) {
			vals = "SENSITIVE (values withheld: " + p.c.Keys.Key("registers", "reveal") + " gives a reason)"
		} else {
			if row.Sensitive {
				vals = "sensitive, reason given: "
			}
			var parts []string
			for _, e := range row.Matched {
				if e.Code.Code == "" && e.Note != "" { // as the server wrote it
					parts = append(parts, e.Note)
					continue
				}
				s := shortTerm(e.Code)
				if e.Code.Code == "" { // a score
					s = e.Role
				}
				if e.Value != "" {
					s += " " + e.Value
				}
				if e.Date != "" {
					s += " " + Date(e.Date)
				}
				parts = append(parts, s)
			}
			vals += strings.Join(parts, "; ")
		}
		lines = append(lines, fit(row.Name, 26)+fit(NHS(row.NHSNumber), 14)+status+vals)
	}
	if len(lines) == 0 {
		lines = append(lines, st.Muted.Render("no patients"))
	}
	if p.ask != nil {
		return append(append(out, window(lines, p.rowSel, h-5, w, st)...), p.askLines(w)...)
	}
	return append(out, window(lines, p.rowSel, h-1, w, st)...)
}

// askLines are the reason prompt under the list or the explanation.
func (p *registersPage) askLines(w int) []string {
	st := p.c.Styles
	return []string{"", st.Alert.Render("This record is marked sensitive: seeing its values is audited with your reason."),
		strings.Join(p.ask.View(w, st), ""), st.Muted.Render("enter shows them · esc goes back")}
}

func (p *registersPage) viewExplain(w, h int) []string {
	st := p.c.Styles
	x := p.x
	verdict := "OUT"
	if x.In {
		verdict = "IN"
	}
	if x.Status != "" {
		verdict += " (" + x.Status + ")"
	}
	out := []string{st.Heading.Render(cut(x.ID+"  "+x.Name+"  "+NHS(x.NHSNumber)+": "+verdict, w))}
	var lines []string
	for _, l := range x.Lines {
		mark := st.Alert.Render("no ")
		if l.Holds {
			mark = st.OK.Render("yes")
		}
		text := l.Text
		if l.Rule != "" {
			text = l.Rule + ": " + text
		}
		ind := strings.Repeat("  ", l.Depth)
		lines = append(lines, ind+mark+" "+cut(text, max(10, w-len(ind)-4)))
		for _, e := range l.Evidence {
			s := e.Role + ":"
			if e.Code.Code != "" {
				s += " " + shortTerm(e.Code)
			}
			if e.Value != "" {
				s += " " + e.Value
			}
			if e.Date != "" {
				s += " " + Date(e.Date)
			}
			if e.Note != "" && s == e.Role+":" {
				s += " " + e.Note // a note alone: "latest bp: none recorded in the period"
			} else if e.Note != "" {
				s += " — " + e.Note
			}
			lines = append(lines, ind+"    "+st.Muted.Render(cut(s, max(10, w-len(ind)-4))))
		}
	}
	for _, n := range x.Notes {
		lines = append(lines, st.Muted.Render(cut("note: "+n, w)))
	}
	if p.xWithheld {
		lines = append(lines, st.Alert.Render(cut("SENSITIVE record: the entries are withheld; "+p.c.Keys.Key("registers", "reveal")+" gives a reason (audited)", w)))
	}
	rows := h - 1
	var ask []string
	if p.ask != nil {
		ask = p.askLines(w)
		rows -= len(ask)
	}
	rows = max(1, rows)
	start := min(p.xScroll, max(0, len(lines)-rows))
	end := min(len(lines), start+rows)
	return append(append(out, lines[start:end]...), ask...)
}

// window shows the part of lines around sel that fits h, the selection highlighted.
func window(lines []string, sel, h, w int, st Styles) []string {
	if h < 1 {
		h = 1
	}
	start := 0
	if sel >= h {
		start = sel - h + 1
	}
	var out []string
	for i := start; i < len(lines) && i < start+h; i++ {
		l := cut(lines[i], w)
		if i == sel {
			l = st.Selected.Render(fit(l, w))
		}
		out = append(out, l)
	}
	return out
}

// dueIndicators is the banner's slot: the indicators whose denominator holds
// the patient and whose target is not met (nor excepted), and the registers
// they are on; "" when the user may not run searches or nothing is due.
func dueIndicators(c *Common, patientID, reason string) (due []string, err error) {
	if c.Cohort == nil || len(c.Cohort.Defs) == 0 || !c.Svc.Can(clinical.ActSearch) {
		return nil, nil
	}
	ix, err := cohort.BuildPatientWith(c.Ctx, c.Svc, patientID, reason)
	if err != nil {
		return nil, err
	}
	eng := cohort.NewEngine(ix, c.Cohort.Resolver, c.Cohort.Defs)
	runs := map[int32]*cohort.Run{}
	for _, d := range c.Cohort.Defs {
		if d.Kind != cohort.KindIndicator {
			continue
		}
		R, err := cohort.ReferenceDate(d, c.Now(), "")
		if err != nil {
			return nil, err
		}
		if runs[R] == nil {
			runs[R] = eng.NewRun(R)
		}
		res, err := runs[R].Evaluate(d)
		if err != nil {
			return nil, err
		}
		if res.Members.Has(0) && res.Status(0) == "denominator" {
			due = append(due, d.ID)
		}
	}
	return due, nil
}

// loadPatient runs every definition for one patient (read on their own, as
// an explanation reads them), audited as one explanation.
func (p *registersPage) loadPatient() tea.Cmd {
	rev, c, id, reason := p.rev, p.c, p.patient, p.reason
	return func() tea.Msg {
		if c.Cohort == nil || len(c.Cohort.Defs) == 0 {
			return registersLoadedMsg{rev: rev, err: fmt.Errorf("no register definitions are loaded")}
		}
		ix, err := cohort.BuildPatientWith(c.Ctx, c.Svc, id, reason)
		if err != nil {
			return registersLoadedMsg{rev: rev, err: err}
		}
		eng := cohort.NewEngine(ix, c.Cohort.Resolver, c.Cohort.Defs)
		byR := map[int32]*cohort.Run{}
		var lines []regLine
		var verdicts []string
		in := 0
		for _, d := range c.Cohort.Defs {
			R, err := cohort.ReferenceDate(d, c.Now(), "")
			if err != nil {
				return registersLoadedMsg{rev: rev, err: err}
			}
			if byR[R] == nil {
				byR[R] = eng.NewRun(R)
			}
			res, err := byR[R].Evaluate(d)
			if err != nil {
				return registersLoadedMsg{rev: rev, err: err}
			}
			v := "out"
			if res.Members.Has(0) {
				in++
				v = "IN"
				if d.Kind == cohort.KindIndicator {
					v = res.Status(0)
					if v == "denominator" {
						v = "due (not met)"
					}
				}
			}
			lines = append(lines, regLine{def: d, R: R, run: byR[R], res: res})
			verdicts = append(verdicts, v)
		}
		err = c.Svc.AuditSearch(c.Ctx, clinical.SearchRun{Action: "explain", Query: "every register and indicator", PatientID: ix.Patients[0].ID, Count: in})
		return registersLoadedMsg{rev: rev, lines: lines, pIn: verdicts, err: err}
	}
}

// explainPatient explains line i for the patient, from the index read at load.
func (p *registersPage) explainPatient(i int) tea.Cmd {
	p.rev = nextRev()
	rev, l := p.rev, p.lines[i]
	return func() tea.Msg {
		x, err := l.run.Explain(l.def, 0)
		held := false
		if err == nil {
			held = x.Withhold(l.run.Index().Patients[0].Sensitive, false)
		}
		return registerExplainMsg{rev: rev, x: x, withheld: held, err: err}
	}
}
