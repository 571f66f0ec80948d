package tui

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
)

// page is one screen. Pages are pointers mutated only in Update; their
// commands never touch them.
type page interface {
	// Context names the keymap context of the page.
	Context() string
	// TextFocus reports whether a text field has the keyboard (printable
	// keys are then text, not commands).
	TextFocus() bool
	// Update handles a message: keys resolved to an action come as actionMsg.
	Update(msg tea.Msg) tea.Cmd
	// Back handles esc; false lets the root close the page.
	Back() (bool, tea.Cmd)
	// View draws the body in w x h cells.
	View(w, h int) []string
	// Title names the page in the top line.
	Title() string
}

// actionMsg is a key resolved through the keymap.
type actionMsg struct {
	Name string
	Key  tea.KeyPressMsg
}

// openPatientMsg asks the root to open a record.
type openPatientMsg struct{ ID string }

// consultMsg asks the root to open a consultation on the current record.
type consultMsg struct{ rec *recordPage }

// prescribeMsg asks the root to open prescribing on the current record.
type prescribeMsg struct{ rec *recordPage }

// bookMsg asks the root to open the appointment book.
type bookMsg struct{}

// noticeMsg shows a line in the status bar.
type noticeMsg struct {
	Text  string
	Alert bool
}

// Notice is a message that shows text in the status bar, for what happens
// outside the workstation while it runs (the practice file busy).
func Notice(text string) tea.Msg { return noticeMsg{Text: text} }

// popMsg closes the top page (after a save).
type popMsg struct{ then tea.Msg }

var revs atomic.Uint64

// nextRev numbers an async request; a result whose revision is not the
// page's latest is dropped.
func nextRev() uint64 { return revs.Add(1) }

// Options build a workstation.
type Options struct {
	Svc     *clinical.Service
	Terms   Terms
	Keys    *keymaps.Keymap
	Now     func() time.Time
	DataDir string
	Dark    bool
	Plain   bool // NO_COLOR or a pinned profile for tests
	Width   int  // initial size (tests); the terminal sends its own
	Height  int
	// Cohort runs the registers and indicators (the registers screen, the
	// banner's indicators due); nil leaves them out.
	Cohort *Cohort
	// OpenID opens this patient's record at start.
	OpenID string
	// Watch is how often an open record asks whether anyone changed the
	// patient (0: never; gpsoc itself polls twice a second, so a change
	// by another user or process appears within a second).
	Watch time.Duration
}

// Model is the root model: it routes keys and messages to the page on top
// of the stack and draws the top line, the page and the footer.
type Model struct {
	c       *Common
	stack   []page
	help    bool
	helpTop int // first line of the help shown, when it is longer than the screen
	palette *palette
	notice  noticeMsg
	lock    *lockScreen
	lastKey time.Time
	idle    time.Duration
	// noTimer: the idle timer is not started (the synchronous test driver,
	// which runs every command to completion, would sleep on its ticks).
	noTimer bool
	watch   time.Duration
	quit    bool
	// queued keys typed after enter on find while its results were coming:
	// they belong to the record that is about to open.
	queued []tea.KeyPressMsg
	// inboxN and inboxAbnormal are the acting clinician's unfiled results
	// (the top line's inbox slot), counted after every filing and watch tick.
	inboxN, inboxAbnormal int
	inboxRev              uint64
	// frame is the last screen drawn, for tests that wait on what the user
	// sees without reading the model across goroutines.
	frame atomic.Pointer[string]
}

// LastFrame is the last screen drawn by View, as plain text.
func (m *Model) LastFrame() string {
	if s := m.frame.Load(); s != nil {
		return *s
	}
	return ""
}

// New builds the root model.
func New(o Options) *Model {
	if o.Keys == nil {
		o.Keys = keymaps.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w, h := o.Width, o.Height
	if w == 0 {
		w, h = 80, 24
	}
	c := &Common{Styles: NewStyles(o.Dark, o.Plain), Keys: o.Keys, Svc: o.Svc, Terms: o.Terms, Cohort: o.Cohort, Now: o.Now,
		DataDir: o.DataDir, Width: w, Height: h, Ctx: context.Background()}
	m := &Model{c: c}
	m.stack = []page{newFindPage(c)}
	pr := c.Practice()
	if !c.Svc.HasPassphrase(c.Ctx) {
		m.lock = newSetPassphraseScreen(c) // every user has their own, set on first use
	}
	m.lastKey = c.Now()
	m.watch = o.Watch
	m.idle = 10 * time.Minute
	if d, err := time.ParseDuration(pr.Settings[clinical.SettingIdleLock]); err == nil {
		m.idle = d
	}
	if o.OpenID != "" {
		r := newRecordPage(c, o.OpenID)
		m.stack = append(m.stack, r)
	}
	return m
}

// Common exposes the shared state (tests).
func (m *Model) Common() *Common { return m.c }

// Init starts the first page's loads.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, m.top().Update(initMsg{}), m.countInbox()}
	if len(m.stack) > 1 {
		cmds = append(cmds, m.stack[0].Update(initMsg{}))
	}
	if m.idle > 0 && !m.noTimer {
		cmds = append(cmds, idleTick(m.idle))
	}
	if !m.noTimer {
		cmds = append(cmds, activeTick())
	}
	if m.watch > 0 {
		cmds = append(cmds, watchTick(m.watch))
	}
	return tea.Batch(cmds...)
}

// initMsg asks a page to start its loads.
type initMsg struct{}

func (m *Model) top() page { return m.stack[len(m.stack)-1] }

// Page names the page on top (tests).
func (m *Model) Page() string { return m.top().Context() }

func (m *Model) push(p page) tea.Cmd {
	m.stack = append(m.stack, p)
	return p.Update(initMsg{})
}

func (m *Model) pop() {
	if len(m.stack) > 1 {
		m.stack = m.stack[:len(m.stack)-1]
	}
}

// Update routes a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		return m, nil
	case tea.BackgroundColorMsg:
		m.c.Styles = NewStyles(msg.IsDark(), m.c.Styles.Plain)
		return m, nil
	case noticeMsg:
		m.notice = msg
		return m, nil
	case openPatientMsg:
		// Opening from the book or find: one record page on top of find.
		m.stack = m.stack[:1]
		m.stack[0].(*findPage).opening = false
		return m, tea.Batch(m.push(newRecordPage(m.c, msg.ID)), m.replay())
	case consultMsg:
		return m, m.push(newConsultPage(m.c, msg.rec))
	case prescribeMsg:
		return m, m.push(newPrescribePage(m.c, msg.rec))
	case changeDoseMsg:
		return m, m.push(newChangeDosePage(m.c, msg.rec, msg.med))
	case registerMsg:
		return m, m.push(newRegisterPage(m.c))
	case inboxMsg:
		for i, p := range m.stack {
			if p.Context() == "inbox" {
				// Already open under something: bring it back on top.
				m.stack = append(m.stack[:i:i], m.stack[i+1:]...)
				return m, m.push(p)
			}
		}
		return m, m.push(newInboxPage(m.c))
	case inboxCountMsg:
		if msg.rev == m.inboxRev {
			m.inboxN, m.inboxAbnormal = msg.n, msg.abnormal
		}
		return m, nil
	case inboxChangedMsg:
		return m, m.countInbox()
	case registersMsg:
		for _, p := range m.stack {
			if p.Context() == "registers" {
				return m, nil
			}
		}
		if msg.patient != "" {
			return m, m.push(newPatientRegistersPage(m.c, msg.patient, msg.reason))
		}
		return m, m.push(newRegistersPage(m.c))
	case openOverMsg:
		return m, m.push(newRecordPage(m.c, msg.ID))
	case tasksMsg:
		// One inbox: back to it where it is open, else over this page.
		for i, p := range m.stack {
			if _, ok := p.(*tasksPage); ok {
				m.stack = m.stack[:i+1]
				return m, p.Update(actionMsg{Name: "resume"})
			}
		}
		return m, m.push(newTasksPage(m.c))
	case bookMsg:
		for _, p := range m.stack {
			if p.Context() == "book" {
				return m, nil
			}
		}
		return m, m.push(newBookPage(m.c, m.currentPatient()))
	case popMsg:
		m.pop()
		if msg.then != nil {
			return m, m.top().Update(msg.then)
		}
		return m, nil
	case idleMsg:
		if m.lock == nil && m.idle > 0 {
			if m.c.Now().Sub(m.lastKey) >= m.idle {
				m.lock = newLockScreen(m.c, true)
			}
		}
		if m.noTimer || m.idle <= 0 {
			return m, nil
		}
		return m, idleTick(m.idle)
	case activeTickMsg:
		if m.noTimer {
			return m, checkActive(m.c)
		}
		return m, tea.Batch(checkActive(m.c), activeTick())
	case userStoppedMsg:
		m.lock = newStoppedScreen(m.c, msg.why)
		return m, nil
	case unlockedMsg:
		if m.lock != nil && m.lock.stopped != "" {
			return m, nil
		}
		m.lock = nil
		return m, nil
	case watchTickMsg:
		// Every open record asks whether its patient changed; the next tick
		// is armed here, so there is one chain whatever the pages do.
		var cmds []tea.Cmd
		for _, p := range m.stack {
			cmds = append(cmds, p.Update(msg))
		}
		if m.watch > 0 {
			cmds = append(cmds, watchTick(m.watch))
		}
		cmds = append(cmds, m.countInbox()) // results keep arriving while the workstation is open
		return m, tea.Batch(cmds...)
	case tea.PasteMsg:
		if m.lock != nil {
			return m, m.lock.Update(msg)
		}
		if m.palette != nil {
			return m, m.palette.Update(msg)
		}
		return m, m.top().Update(msg)
	case tea.KeyPressMsg:
		m.lastKey = m.c.Now()
		m.notice = noticeMsg{} // a notice lasts until the next key
		return m, m.key(msg)
	case paletteRunMsg:
		m.palette = nil
		return m, m.run(msg.Context, msg.Action, tea.KeyPressMsg{})
	}
	// Async results go to every page; each keeps only its own, latest ones.
	var cmds []tea.Cmd
	for _, p := range m.stack {
		cmds = append(cmds, p.Update(msg))
	}
	if m.palette != nil {
		cmds = append(cmds, m.palette.Update(msg))
	}
	if m.lock != nil {
		cmds = append(cmds, m.lock.Update(msg))
	}
	if f, ok := m.top().(*findPage); ok && !f.pending && !f.opening && len(m.queued) > 0 {
		cmds = append(cmds, m.replay()) // nothing opened: the keys were text after all
	}
	return m, tea.Batch(cmds...)
}

func (m *Model) replay() tea.Cmd {
	q := m.queued
	m.queued = nil
	var cmds []tea.Cmd
	for _, k := range q {
		cmds = append(cmds, m.key(k))
	}
	return tea.Batch(cmds...)
}

func (m *Model) currentPatient() string {
	for i := len(m.stack) - 1; i >= 0; i-- {
		if r, ok := m.stack[i].(*recordPage); ok {
			return r.id
		}
	}
	return ""
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	ks := k.String()
	if ks == "ctrl+c" {
		ks = "ctrl+q" // never trap the user
	}
	if m.lock != nil {
		if a, _ := m.c.Keys.ActionIn("global", ks); a == "quit" {
			m.quit = true
			return tea.Quit
		}
		return m.lock.Update(k)
	}
	if m.help {
		if a, _ := m.c.Keys.ActionIn("global", ks); a == "quit" {
			m.quit = true
			return tea.Quit
		}
		// Only esc or ? close help: a stray key (or a terminal reply read
		// as keys) must not.
		if a, _ := m.c.Keys.ActionIn("global", ks); a == "back" || a == "help" {
			m.help = false
		}
		// A list longer than the screen scrolls (an 80x24 screen cannot
		// show every key of the record at once).
		switch ks {
		case "down", "j":
			m.helpTop++
		case "pgdown", "space":
			m.helpTop += max(1, m.c.Height-5)
		case "up", "k":
			m.helpTop = max(0, m.helpTop-1)
		case "pgup":
			m.helpTop = max(0, m.helpTop-max(1, m.c.Height-5))
		}
		return nil
	}
	if m.palette != nil {
		return m.palette.Update(k)
	}
	p := m.top()
	if f, ok := p.(*findPage); ok && (f.pending || f.opening) {
		if a, _ := m.c.Keys.ActionIn("global", ks); a == "back" {
			f.pending, m.queued = false, nil
			return nil
		}
		m.queued = append(m.queued, k)
		return nil
	}
	ctx := p.Context()
	text := p.TextFocus() && keymaps.Printable(ks)
	if text {
		return p.Update(k)
	}
	if a, ok := m.c.Keys.ActionIn(ctx, ks); ok {
		return m.run(ctx, a, k)
	}
	if a, ok := m.c.Keys.ActionIn("global", ks); ok {
		return m.run("global", a, k)
	}
	return p.Update(k)
}

// run performs an action of a context.
func (m *Model) run(ctx, action string, k tea.KeyPressMsg) tea.Cmd {
	p := m.top()
	if ctx == "global" {
		switch action {
		case "quit":
			if c, ok := p.(*consultPage); ok && c.dirty() {
				// The draft file holds the text; flush it before leaving.
				m.quit = true
				flush := c.flushDraft()
				return func() tea.Msg {
					if flush != nil {
						flush()
					}
					return tea.QuitMsg{}
				}
			}
			m.quit = true
			return tea.Quit
		case "help":
			m.help, m.helpTop = true, 0
			return nil
		case "palette":
			m.palette = newPalette(m.c, p.Context())
			return nil
		case "find":
			switch p.(type) {
			case *consultPage, *prescribePage:
				return func() tea.Msg { return noticeMsg{Text: "finish or close this first (esc)"} }
			}
			m.stack = m.stack[:1]
			return m.stack[0].Update(actionMsg{Name: "focus"})
		case "back":
			handled, cmd := p.Back()
			if !handled && len(m.stack) > 1 {
				m.pop()
				return m.top().Update(actionMsg{Name: "resume"})
			}
			return cmd
		case "book":
			return func() tea.Msg { return bookMsg{} }
		case "inbox":
			if _, ok := p.(*consultPage); ok {
				return func() tea.Msg { return noticeMsg{Text: "finish or close this first (esc)"} }
			}
			if _, ok := p.(*prescribePage); ok {
				return func() tea.Msg { return noticeMsg{Text: "finish or close this first (esc)"} }
			}
			return func() tea.Msg { return inboxMsg{} }
		case "registers":
			return func() tea.Msg { return registersMsg{} }
		case "task-inbox":
			switch p.(type) {
			case *consultPage, *prescribePage:
				return func() tea.Msg { return noticeMsg{Text: "finish or close this first (esc)"} }
			}
			return func() tea.Msg { return tasksMsg{} }
		}
	}
	return p.Update(actionMsg{Name: action, Key: k})
}

// View draws the whole screen: top line, page, status and footer.
func (m *Model) View() tea.View {
	s := m.Render()
	plain := ansi.Strip(s)
	m.frame.Store(&plain)
	v := tea.NewView(s)
	v.AltScreen = true
	v.WindowTitle = "gpsoc"
	return v
}

// Render is the screen as text (goldens, benchmarks).
func (m *Model) Render() string {
	w, h := m.c.Width, m.c.Height
	if w < 20 || h < 6 {
		return "gpsoc: the terminal is too small"
	}
	st := m.c.Styles
	pr := m.c.Practice()
	top := st.Title.Render("gpsoc") + " "
	who := pr.Name + " · " + m.c.User()
	rest := "  " + st.Heading.Render(m.top().Title())
	if pr.Demo {
		rest += "  " + st.Demo.Render(" DEMO ")
	}
	if slot := m.inboxSlot(); slot != "" {
		// The unfiled results, the page and DEMO always show: on a narrow
		// screen the practice's name gives way.
		top += slot + "  "
		if room := w - lipgloss.Width(top) - lipgloss.Width(rest); lipgloss.Width(who) > room {
			who = cut(who, max(0, room))
		}
	}
	top += st.Muted.Render(who) + rest
	lines := []string{fit(top, w)}
	bodyH := h - 3
	var body []string
	switch {
	case m.lock != nil:
		body = m.lock.View(w, bodyH)
	case m.help:
		body = m.helpView(w, bodyH)
	case m.palette != nil:
		body = m.palette.View(w, bodyH)
	default:
		body = m.top().View(w, bodyH)
	}
	for i := 0; i < bodyH; i++ {
		if i < len(body) {
			lines = append(lines, fit(body[i], w))
		} else {
			lines = append(lines, strings.Repeat(" ", w))
		}
	}
	status := ""
	if m.notice.Text != "" {
		if m.notice.Alert {
			status = st.Alert.Render(m.notice.Text)
		} else {
			status = st.OK.Render(m.notice.Text)
		}
	}
	lines = append(lines, fit(status, w), fit(m.footer(), w))
	return strings.Join(lines, "\n")
}

// footer shows the main keys of the page from the registry.
func (m *Model) footer() string {
	st := m.c.Styles
	ctx := m.top().Context()
	var parts []string
	add := func(c, a, label string) {
		if k := m.c.Keys.Key(c, a); k != "" {
			parts = append(parts, st.Key.Render(k)+" "+st.Muted.Render(label))
		}
	}
	switch {
	case m.lock != nil:
		add("global", "quit", "quit")
		return strings.Join(parts, "  ")
	case m.help || m.palette != nil:
		parts = append(parts, st.Key.Render("esc")+" "+st.Muted.Render("close"))
		return strings.Join(parts, "  ")
	}
	switch ctx {
	case "find":
		add("global", "open", "open")
	case "record":
		add("record", "journal", "journal")
		add("record", "results", "results")
		add("record", "consult", "consult")
	case "consult":
		add("global", "save", "save")
		add("consult", "add-code", "code")
		add("consult", "next-field", "next")
	case "prescribe":
		add("prescribe", "confirm", "check and issue")
	case "tasks":
		add("tasks", "open-patient", "open")
		add("tasks", "done", "done")
		add("tasks", "next-view", "mine/anyone/all")
	case "inbox":
		add("inbox", "read", "read")
		add("inbox", "file-normal", "file normal")
		add("inbox", "file-urgent", "urgent")
		add("inbox", "open-record", "record")
	case "book":
		add("book", "book-slot", "book")
		add("book", "arrived", "arrived")
		add("book", "seen", "seen")
	case "registers":
		add("global", "open", "open")
		add("registers", "explain", "explain")
		add("registers", "open-patient", "record")
	}
	if ctx != "find" {
		if ctx != "consult" && ctx != "prescribe" {
			add("global", "find", "find")
		}
		add("global", "back", "back")
	}
	add("global", "help", "help")
	add("global", "quit", "quit")
	add("global", "palette", "palette")
	return strings.Join(parts, "  ")
}

func (m *Model) helpView(w, h int) []string {
	st := m.c.Styles
	ctx := m.top().Context()
	out := []string{st.Heading.Render("Keys: " + ctx), ""}
	row := func(b keymaps.Binding) string {
		return "  " + fit(st.Key.Render(strings.Join(b.Keys, ", ")), 18) + " " + b.Help
	}
	for _, b := range m.c.Keys.Bindings(ctx) {
		out = append(out, row(b))
	}
	out = append(out, "", st.Heading.Render("Everywhere"))
	for _, b := range m.c.Keys.Bindings("global") {
		out = append(out, row(b))
	}
	if m.top().TextFocus() {
		out = append(out, "", st.Muted.Render("A text field has focus: printable keys type text."))
	}
	if w >= 120 && len(out) > h {
		// Two columns on a wide screen (a narrower one pages a single column,
		// so no description is cut short).
		half := (len(out) + 1) / 2
		var two []string
		for i := 0; i < half; i++ {
			r := fit(out[i], w/2)
			if i+half < len(out) {
				r += out[i+half]
			}
			two = append(two, r)
		}
		out = two
	}
	if len(out) <= h || h < 2 {
		return out
	}
	// Still too long: a page at a time, saying where it is.
	m.helpTop = min(m.helpTop, len(out)-(h-1))
	page := append([]string(nil), out[m.helpTop:m.helpTop+h-1]...)
	return append(page, st.Muted.Render("lines "+itoa(m.helpTop+1)+"-"+itoa(m.helpTop+h-1)+" of "+itoa(len(out))+": ↓/pgdown for more, ↑/pgup back"))
}

// Quitting reports whether the user quit (tests).
func (m *Model) Quitting() bool { return m.quit }
