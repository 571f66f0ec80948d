package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
)

type idleMsg struct{}
type unlockedMsg struct{}
type unlockResultMsg struct {
	rev uint64
	ok  bool
	err string
}

// activeTickMsg asks whether the user may still act; userStoppedMsg says
// they may not (disabled elsewhere, or the server refuses the token).
type activeTickMsg struct{}
type userStoppedMsg struct{ why string }

// activeEvery is how often an open workstation checks that its user may
// still act: a disabled user is stopped within a second here too.
const activeEvery = time.Second

func activeTick() tea.Cmd {
	return tea.Tick(activeEvery, func(time.Time) tea.Msg { return activeTickMsg{} })
}

func checkActive(c *Common) tea.Cmd {
	svc, ctx := c.Svc, c.Ctx
	return func() tea.Msg {
		if why := svc.Stopped(ctx); why != "" {
			return userStoppedMsg{why}
		}
		return nil
	}
}

func idleTick(d time.Duration) tea.Cmd {
	every := min(d/4, 30*time.Second)
	if every <= 0 {
		every = time.Second
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return idleMsg{} })
}

// lockScreen hides the record behind the acting user's own passphrase or
// PIN: after the practice's idle-lock time without a key (idle), or, for a
// user who has none yet, at start until they set one (set: typed twice).
// How the user came in (a binding, a session, a passphrase) does not matter:
// unlocking always needs the passphrase. The check (argon2id, tens of ms)
// runs in a command, off Update.
type lockScreen struct {
	c    *Common
	idle bool
	set  bool
	// stopped: the user may no longer act; nothing unlocks it (quit only).
	stopped string
	input   Field
	again   Field
	err     string
	rev     uint64
}

func newLockScreen(c *Common, idle bool) *lockScreen {
	l := &lockScreen{c: c, idle: idle, input: Field{Label: "Passphrase", Mask: true}}
	l.input.Focus()
	return l
}

// newSetPassphraseScreen asks a user who has no passphrase yet to set one.
func newSetPassphraseScreen(c *Common) *lockScreen {
	l := &lockScreen{c: c, set: true, input: Field{Label: "New passphrase or PIN", Mask: true},
		again: Field{Label: "Type it again", Mask: true}}
	l.input.Focus()
	return l
}

// newStoppedScreen hides everything from a user who may no longer act.
func newStoppedScreen(c *Common, why string) *lockScreen {
	return &lockScreen{c: c, stopped: why}
}

func (l *lockScreen) Update(msg tea.Msg) tea.Cmd {
	if l.stopped != "" {
		return nil
	}
	switch msg := msg.(type) {
	case unlockResultMsg:
		if msg.rev != l.rev {
			return nil
		}
		if msg.ok {
			return func() tea.Msg { return unlockedMsg{} }
		}
		l.err = msg.err
		l.input.SetValue("")
		l.again.SetValue("")
		if l.set {
			l.again.Blur()
			l.input.Focus()
		}
	case tea.KeyPressMsg:
		if msg.String() == "enter" {
			return l.enter()
		}
		if l.set && msg.String() == "tab" {
			l.swap()
			return nil
		}
		l.err = ""
		l.focused().Update(msg)
	case tea.PasteMsg:
		l.focused().Update(msg)
	}
	return nil
}

func (l *lockScreen) focused() *Field {
	if l.set && l.again.focused {
		return &l.again
	}
	return &l.input
}

func (l *lockScreen) swap() {
	if l.again.focused {
		l.again.Blur()
		l.input.Focus()
	} else {
		l.input.Blur()
		l.again.Focus()
	}
}

func (l *lockScreen) enter() tea.Cmd {
	l.rev = nextRev()
	rev, svc, ctx, pass := l.rev, l.c.Svc, l.c.Ctx, l.input.Value()
	if !l.set {
		return func() tea.Msg {
			return unlockResultMsg{rev: rev, ok: svc.Unlock(ctx, pass), err: "wrong passphrase"}
		}
	}
	if !l.again.focused {
		if err := clinical.CheckNewPassphrase(pass); err != nil {
			l.err = err.Error()
			return nil
		}
		l.swap()
		return nil
	}
	if l.again.Value() != pass {
		return func() tea.Msg { return unlockResultMsg{rev: rev, err: "the two did not match: type it again"} }
	}
	return func() tea.Msg {
		if err := svc.SetPassphrase(ctx, pass); err != nil {
			return unlockResultMsg{rev: rev, err: err.Error()}
		}
		return unlockResultMsg{rev: rev, ok: true}
	}
}

func (l *lockScreen) View(w, h int) []string {
	st := l.c.Styles
	var out []string
	switch {
	case l.stopped != "":
		return []string{"", st.Alert.Render("This workstation can no longer be used as " + l.c.User() + ": " + l.stopped + "."),
			"", st.Muted.Render("The record is hidden. Quit, and start again as yourself.")}
	case l.set:
		out = []string{"", st.Heading.Render("Set your own passphrase or PIN (8 characters, or at least 6 digits)."),
			st.Muted.Render("It unlocks this workstation when it locks after being idle."), "",
			l.input.View(w, st)[0], l.again.View(w, st)[0]}
	case l.idle:
		out = []string{"", st.Heading.Render("Locked after being idle. The record is hidden until you unlock."), "",
			st.Muted.Render(l.c.User() + ": type your passphrase or PIN."), l.input.View(w, st)[0]}
	default:
		out = []string{"", st.Heading.Render("This workstation is locked."), "", l.input.View(w, st)[0]}
	}
	if l.err != "" {
		out = append(out, st.Alert.Render(l.err))
	}
	return out
}
