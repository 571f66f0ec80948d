package tui

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/find"
)

// findRow is one patient in the list, from the find index (no store read per keystroke).
type findRow struct {
	find.Patient
	Recent bool
}

// findResultsMsg carries the results of one query.
type findResultsMsg struct {
	rev   uint64
	query string
	rows  []findRow
	err   error
	keep  bool // a refresh of the same query: the selection stays on its patient
}

// patientList is the results list component.
type patientList struct {
	items []findRow
	sel   int
	off   int
}

func (l *patientList) SetItems(rows []findRow) { l.items, l.sel, l.off = rows, 0, 0 }

func (l *patientList) Move(d, h int) {
	if len(l.items) == 0 {
		return
	}
	l.sel = max(0, min(len(l.items)-1, l.sel+d))
	if l.sel < l.off {
		l.off = l.sel
	}
	if l.sel >= l.off+h {
		l.off = l.sel - h + 1
	}
}

func (l *patientList) Selected() (findRow, bool) {
	if l.sel < len(l.items) {
		return l.items[l.sel], true
	}
	return findRow{}, false
}

func (l *patientList) View(c *Common, w, h int) []string {
	st := c.Styles
	now := c.Now()
	wide := w >= 100
	var out []string
	if l.sel >= l.off+h {
		l.off = l.sel - h + 1
	}
	for i := l.off; i < len(l.items) && len(out) < h; i++ {
		r := l.items[i]
		name := strings.ToUpper(r.Family) + ", " + r.Given
		nameW := 28
		if wide {
			nameW = 40
		}
		mark := ""
		switch r.Status {
		case 1:
			mark = "LEFT"
		case 2:
			mark = "DECEASED"
		}
		line := fit(cut(name, nameW), nameW) + " " + fit(NHS(r.NHS), 12) + " " + fit(Date(r.BirthDate), 11) + " " +
			fit(Age(r.BirthDate, now), 4) + " " + fit(r.Postcode, 8)
		if mark != "" {
			line += " " + mark
		}
		if i == l.sel {
			out = append(out, st.Selected.Render(fit("› "+line, w)))
		} else if mark != "" {
			out = append(out, "  "+st.Muted.Render(line))
		} else {
			out = append(out, "  "+line)
		}
	}
	return out
}

// findPage is the patient finder: live results as you type.
type findPage struct {
	c       *Common
	input   Field
	list    patientList
	rev     uint64
	shown   uint64 // revision on screen
	query   string
	err     error
	loading bool
	pending bool // enter pressed before the results of the last keystroke came
	opening bool // ... and the record is opening: keys typed meanwhile are for it
	cancel  context.CancelFunc
	live    findLive // the list follows the change feed (find_watch.go)
}

func newFindPage(c *Common) *findPage {
	p := &findPage{c: c, input: Field{Label: "Find", Placeholder: "name, NHS number, date of birth or postcode"}}
	p.input.Focus()
	return p
}

func (p *findPage) Context() string { return "find" }
func (p *findPage) Title() string   { return "Find a patient" }
func (p *findPage) TextFocus() bool { return p.input.Focused() }

func (p *findPage) Back() (bool, tea.Cmd) {
	if p.input.Value() != "" {
		p.input.SetValue("")
		return true, p.search()
	}
	return true, nil
}

// search runs the query in a command against the in-memory find index; an
// empty query lists the patients opened recently.
func (p *findPage) search() tea.Cmd {
	p.rev = nextRev()
	if p.cancel != nil {
		p.cancel() // the previous keystroke's search is stale: stop it
	}
	ctx, cancel := context.WithCancel(p.c.Ctx)
	p.cancel = cancel
	rev, q, c := p.rev, strings.TrimSpace(p.input.Value()), p.c
	p.loading = true
	return func() tea.Msg {
		return runFind(ctx, c, rev, q)
	}
}

func runFind(ctx context.Context, c *Common, rev uint64, q string) findResultsMsg {
	ix, err := c.Svc.Practice().Index(ctx)
	if err != nil {
		return findResultsMsg{rev: rev, query: q, err: err}
	}
	var rows []findRow
	if q == "" {
		for _, id := range ix.Recent(50) {
			if d, ok := ix.Get(id); ok {
				rows = append(rows, findRow{d, true})
			}
		}
		return findResultsMsg{rev: rev, query: q, rows: rows}
	}
	for _, h := range ix.Search(ctx, q, 50) {
		if d, ok := ix.Get(h.ID); ok {
			rows = append(rows, findRow{Patient: d})
		}
	}
	return findResultsMsg{rev: rev, query: q, rows: rows}
}

func (p *findPage) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := p.liveUpdate(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case initMsg:
		return p.search()
	case findOpenFailedMsg:
		p.opening, p.err = false, msg.err
		return nil
	case findResultsMsg:
		if msg.rev != p.rev {
			return nil // a newer query is on its way
		}
		p.loading = false
		p.shown, p.query, p.err = msg.rev, msg.query, msg.err
		if msg.keep {
			p.list.Refresh(msg.rows)
		} else {
			p.list.SetItems(msg.rows)
		}
		if p.pending {
			p.pending = false
			if cmd := p.open(); cmd != nil {
				return cmd
			}
		}
	case actionMsg:
		switch msg.Name {
		case "focus":
			p.input.SetValue("") // `/` starts a new search
			p.input.Focus()
			return p.search()
		case "resume":
			p.input.Focus()
			return p.search() // recent patients may have changed
		case "down":
			p.list.Move(1, p.listHeight())
		case "up":
			p.list.Move(-1, p.listHeight())
		case "page-down":
			p.list.Move(p.listHeight(), p.listHeight())
		case "page-up":
			p.list.Move(-p.listHeight(), p.listHeight())
		case "register-patient":
			return func() tea.Msg { return registerMsg{} }
		case "open":
			if p.loading {
				p.pending = true // type-ahead: open the first result when it comes
				return nil
			}
			return p.open()
		}
	case tea.KeyPressMsg, tea.PasteMsg:
		if p.input.Update(msg) {
			p.pending = false
			return p.search()
		}
	}
	return nil
}

func (p *findPage) open() tea.Cmd {
	if r, ok := p.list.Selected(); ok {
		id, q, c := r.ID, p.query, p.c
		p.opening = true // keys typed until the record opens are for it
		// Live results come from the in-memory index without an audit event
		// per keystroke; the query that led to an opening is found again
		// through the clinical find, which audits it (in remote mode the
		// server finds and audits it), before the record opens. A find that
		// fails, or no longer finds the patient, says so and opens nothing.
		return func() tea.Msg {
			if q == "" {
				return openPatientMsg{ID: id}
			}
			found, err := c.Svc.FindPatients(c.Ctx, q, 50)
			if err != nil {
				return findOpenFailedMsg{err}
			}
			for _, f := range found {
				if f.Patient.ID == id {
					return openPatientMsg{ID: id}
				}
			}
			return findOpenFailedMsg{fmt.Errorf("%q no longer finds that patient: search again", q)}
		}
	}
	return nil
}

// findOpenFailedMsg is an opening from find that did not happen.
type findOpenFailedMsg struct{ err error }

func (p *findPage) listHeight() int { return max(1, p.c.Height-3-3) }

func (p *findPage) View(w, h int) []string {
	st := p.c.Styles
	out := p.input.View(w, st)
	status := ""
	switch {
	case p.err != nil:
		status = st.Alert.Render(p.err.Error())
	case p.loading && p.shown == 0:
		status = st.Muted.Render("Loading the patient index…")
	case p.query == "" && len(p.list.items) == 0:
		status = st.Muted.Render("Type a name (smi j), NHS number, date of birth (12/3/61) or postcode. No recent patients yet.")
	case p.query == "":
		status = st.Muted.Render("Recent patients")
	case len(p.list.items) == 0:
		status = st.Muted.Render("No patient matches " + `"` + p.query + `"`)
	default:
		n := itoa(len(p.list.items))
		if len(p.list.items) == 50 {
			n = "first 50"
		}
		status = st.Muted.Render(n + " found for \"" + p.query + "\"")
	}
	out = append(out, status)
	return append(out, p.list.View(p.c, w, h-len(out))...)
}
