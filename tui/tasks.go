package tui

import (
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// The task inbox: the open tasks of the practice for the acting user, the
// team's pool (tasks for anyone) or everyone's, by due date. From the
// keyboard a task is opened (its patient's record, over the inbox), done,
// passed to someone else or cancelled with a reason; each is one service
// call (task done / reassign / cancel), through the same small forms as the
// record's actions, and asks before it writes. The list follows the change
// feed, so a task added about a patient elsewhere appears while it is open.

// taskViews are the inbox's lists, in tab order.
var taskViews = []struct{ name, label string }{
	{"mine", "Mine"}, {"anyone", "For anyone"}, {"everyone", "Everyone's"},
}

type tasksLoadedMsg struct {
	rev    uint64
	tasks  []*record.Task
	labels map[string]clinical.PatientLabel
	users  []string
	seq    uint64
	seqSet bool
	err    error
}

type tasksWatchMsg struct {
	page    *tasksPage
	changed bool
	seq     uint64
	err     error
}

// tasksMsg asks the root for the task inbox.
type tasksMsg struct{}

// openOverMsg opens a record over the page on top (esc comes back to it).
type openOverMsg struct{ ID string }

type tasksPage struct {
	c      *Common
	view   int
	all    []*record.Task // every open task; the view filters
	labels map[string]clinical.PatientLabel
	users  []string
	sel    int
	rev    uint64
	err    string
	loaded bool
	form   *recordForm
	// the change-feed cursor (as an open record's, watch.go)
	watchSeq           uint64
	watchSet, watching bool
}

func newTasksPage(c *Common) *tasksPage { return &tasksPage{c: c} }

func (p *tasksPage) Context() string { return "tasks" }
func (p *tasksPage) TextFocus() bool { return p.form != nil && p.form.textFocus() }
func (p *tasksPage) Title() string   { return "Tasks" }

func (p *tasksPage) Back() (bool, tea.Cmd) {
	if p.form != nil {
		p.form = nil
		return true, nil
	}
	return false, nil
}

func (p *tasksPage) load() tea.Cmd {
	p.rev = nextRev()
	rev, c, users := p.rev, p.c, p.users
	return func() tea.Msg {
		_, seq, seqErr := c.Svc.PatientChangedSince(c.Ctx, "", store.ChangesHead)
		ts, err := c.Svc.Tasks(c.Ctx, clinical.TaskFilter{})
		if err != nil {
			return tasksLoadedMsg{rev: rev, err: err}
		}
		ids := make([]string, len(ts))
		for i, t := range ts {
			ids[i] = t.PatientID
		}
		labels, err := c.Svc.PatientLabels(c.Ctx, ids)
		if err != nil {
			return tasksLoadedMsg{rev: rev, err: err}
		}
		if users == nil {
			us, err := c.Svc.Users(c.Ctx)
			if err != nil {
				return tasksLoadedMsg{rev: rev, err: err}
			}
			users = []string{}
			for _, u := range us {
				if !u.Disabled && u.Role != record.RoleInterface {
					users = append(users, u.Name)
				}
			}
			sort.Strings(users)
		}
		return tasksLoadedMsg{rev: rev, tasks: ts, labels: labels, users: users, seq: seq, seqSet: seqErr == nil}
	}
}

// shown is the current view's tasks.
func (p *tasksPage) shown() []*record.Task {
	me := p.c.User()
	var out []*record.Task
	for _, t := range p.all {
		switch taskViews[p.view].name {
		case "mine":
			if t.To != me {
				continue
			}
		case "anyone":
			if t.To != "" {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func (p *tasksPage) count(view int) int {
	v := p.view
	p.view = view
	n := len(p.shown())
	p.view = v
	return n
}

func (p *tasksPage) current() *record.Task {
	ts := p.shown()
	if p.sel < len(ts) {
		return ts[p.sel]
	}
	return nil
}

func (p *tasksPage) Update(msg tea.Msg) tea.Cmd {
	if p.form != nil {
		switch m := msg.(type) {
		case actionMsg:
			if m.Name == "open-patient" {
				msg = actionMsg{Name: "open", Key: m.Key}
			}
			cmd, done := p.form.update(p.c, msg)
			return p.formDone(cmd, done)
		case tea.KeyPressMsg, tea.PasteMsg, formCodesMsg, formDoneMsg:
			cmd, done := p.form.update(p.c, msg)
			return p.formDone(cmd, done)
		}
	}
	switch msg := msg.(type) {
	case initMsg:
		return p.load()
	case tasksLoadedMsg:
		if msg.rev != p.rev {
			return nil
		}
		p.loaded = true
		if msg.err != nil {
			p.err = msg.err.Error()
			return nil
		}
		selected := ""
		if t := p.current(); t != nil {
			selected = t.ID
		}
		p.err, p.all, p.labels, p.users = "", msg.tasks, msg.labels, msg.users
		if msg.seqSet {
			p.watchSeq, p.watchSet = msg.seq, true
		}
		// The selection stays on its task when the list changes under it (a
		// task added elsewhere must not put the next key on another one).
		p.sel = min(p.sel, max(0, len(p.shown())-1))
		for i, t := range p.shown() {
			if t.ID == selected {
				p.sel = i
			}
		}
	case watchTickMsg:
		if !p.loaded || p.watching {
			return nil
		}
		p.watching = true
		after, c := p.watchSeq, p.c
		if !p.watchSet {
			after = store.ChangesHead
		}
		return func() tea.Msg {
			changed, seq, err := c.Svc.PatientChangedSince(c.Ctx, "", after)
			return tasksWatchMsg{page: p, changed: changed, seq: seq, err: err}
		}
	case tasksWatchMsg:
		if msg.page != p {
			return nil
		}
		p.watching = false
		if msg.err != nil {
			return nil // the next tick asks again
		}
		p.watchSeq, p.watchSet = msg.seq, true
		if msg.changed && p.form == nil {
			return p.load()
		}
	case actionMsg:
		return p.action(msg.Name)
	}
	return nil
}

func (p *tasksPage) formDone(cmd tea.Cmd, done *formDoneMsg) tea.Cmd {
	if done == nil {
		return cmd
	}
	p.form = nil
	return tea.Batch(p.load(), notice(done.say, false))
}

func (p *tasksPage) action(name string) tea.Cmd {
	svc, ctx := p.c.Svc, p.c.Ctx
	t := p.current()
	switch name {
	case "resume":
		return p.load()
	case "down":
		p.sel = min(p.sel+1, max(0, len(p.shown())-1))
		return nil
	case "up":
		p.sel = max(0, p.sel-1)
		return nil
	case "next-view":
		p.view, p.sel = (p.view+1)%len(taskViews), 0
		return nil
	case "new-task":
		users := []choice{{"", "anyone"}}
		for _, u := range p.users {
			users = append(users, choice{u, u})
		}
		to := pick("For", users)
		for i, u := range users {
			if u.id == p.c.User() && taskViews[p.view].name == "mine" {
				to.sel = i
			}
		}
		p.openForm(&recordForm{title: "A new task (about no patient: add one about a patient from their record)",
			fields: []*formField{text("Task", false), text("Due YYYY-MM-DD (default none)", true), to},
			call: func(v []string) (string, error) {
				_, err := svc.AddTask(ctx, clinical.TaskInput{Text: v[0], Due: v[1], To: v[2]})
				return "Task added", err
			}})
		return nil
	}
	if t == nil {
		switch name {
		case "open-patient", "done", "reassign", "cancel-task":
			return notice("no task selected", true)
		}
		return nil
	}
	what := cut(t.Text, 50)
	switch name {
	case "open-patient":
		if t.PatientID == "" {
			return notice("this task is about no patient", true)
		}
		id := t.PatientID
		return func() tea.Msg { return openOverMsg{ID: id} }
	case "done":
		p.openForm(&recordForm{title: "Mark done: " + what + "?", call: func([]string) (string, error) {
			_, err := svc.DoneTask(ctx, t.ID, t.Version)
			return "Task done: " + what, err
		}})
	case "reassign":
		var cs []choice
		if t.To != "" {
			cs = append(cs, choice{"", "anyone"})
		}
		for _, u := range p.users {
			if u != t.To {
				cs = append(cs, choice{u, u})
			}
		}
		p.openForm(&recordForm{title: "Give to someone else: " + what, fields: []*formField{pick("For", cs)},
			call: func(v []string) (string, error) {
				_, err := svc.ReassignTask(ctx, t.ID, v[0], t.Version)
				return "Task " + forWhom(v[0]) + ": " + what, err
			}})
	case "cancel-task":
		p.openForm(&recordForm{title: "Cancel: " + what, fields: []*formField{text("Why it will not be done", false)},
			call: func(v []string) (string, error) {
				_, err := svc.CancelTask(ctx, t.ID, v[0], t.Version)
				return "Task cancelled: " + what, err
			}})
	}
	return nil
}

func forWhom(to string) string {
	if to == "" {
		return "for anyone"
	}
	return "for " + to
}

func (p *tasksPage) openForm(f *recordForm) {
	p.form = f
	if len(f.fields) > 0 {
		f.fields[0].in.Focus()
	}
}

func (p *tasksPage) View(w, h int) []string {
	st := p.c.Styles
	var tabs []string
	for i, v := range taskViews {
		t := v.label + " (" + itoa(p.count(i)) + ")"
		if i == p.view {
			tabs = append(tabs, st.Selected.Render(t))
		} else {
			tabs = append(tabs, st.Muted.Render(t))
		}
	}
	out := []string{strings.Join(tabs, "  ") + st.Muted.Render("   "+p.c.Keys.Key("tasks", "next-view")+" switches")}
	switch {
	case p.err != "":
		return append(out, st.Alert.Render(p.err))
	case !p.loaded:
		return append(out, st.Muted.Render("loading…"))
	}
	ts := p.shown()
	today := p.c.Now().In(UK).Format(record.DateLayout)
	patW := 38
	if w < 100 {
		patW = 24
	}
	out = append(out, st.Muted.Render("  "+fit("Due", 12)+fit("For", 14)+fit("Patient", patW)+"Task"))
	if len(ts) == 0 {
		out = append(out, st.Muted.Render("  no open tasks"))
	}
	room := h - len(out) - 2
	if p.form != nil {
		room = min(room, 3)
	}
	first := max(0, min(p.sel-room+1, len(ts)-room))
	for i := first; i < len(ts) && i < first+max(1, room); i++ {
		t := ts[i]
		pat := st.Muted.Render("—")
		if l, ok := p.labels[t.PatientID]; ok {
			pat = l.Name
			if l.NHSNumber != "" && w >= 100 {
				pat += "  " + NHS(l.NHSNumber)
			}
		}
		due := fit(Date(t.Due), 12)
		if t.Due != "" && t.Due <= today {
			due = st.Warn.Render(due)
		}
		line := due + fit(orDash(t.To), 14) + fit(cut(pat, patW-1), patW)
		if t.Due != "" && t.Due < today { // the mark is never cut off by a long text
			line += cut(t.Text, max(10, w-2-lipgloss.Width(line)-9)) + st.Warn.Render("  OVERDUE")
		} else {
			line += t.Text
		}
		if i == p.sel {
			out = append(out, st.Selected.Render(fit("› "+ansi.Strip(line), w)))
		} else {
			out = append(out, "  "+line)
		}
	}
	if p.form != nil {
		return append(append(out, ""), p.form.lines(p.c, w)...)
	}
	k := func(a string) string { return st.Key.Render(p.c.Keys.Key("tasks", a)) }
	out = append(out, "", k("open-patient")+" open patient  "+k("done")+" done  "+k("reassign")+" reassign  "+
		k("cancel-task")+" cancel  "+k("new-task")+" new task")
	return out
}

// tasksDue counts the patient's open tasks due today or before (the
// banner's slot; the inbox lists them).
func tasksDue(sm *clinical.Summary, now time.Time) int {
	if sm.Tasks == nil {
		return 0
	}
	today, n := now.In(UK).Format(record.DateLayout), 0
	for _, t := range *sm.Tasks {
		if t.Status == "open" && t.Due != "" && t.Due <= today {
			n++
		}
	}
	return n
}
