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
}

func idleTick(d time.Duration) tea.Cmd {
	every := min(d/4, 30*time.Second)
	if every <= 0 {
		every = time.Second
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return idleMsg{} })
}

// lockScreen asks for the practice passphrase, at start and after idling;
// it hides the record behind it.
type lockScreen struct {
	c     *Common
	idle  bool
	input Field
	err   string
	rev   uint64
}

func newLockScreen(c *Common, idle bool) *lockScreen {
	l := &lockScreen{c: c, idle: idle, input: Field{Label: "Passphrase", Mask: true}}
	l.input.Focus()
	return l
}

func (l *lockScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case unlockResultMsg:
		if msg.rev != l.rev {
			return nil
		}
		if msg.ok {
			return func() tea.Msg { return unlockedMsg{} }
		}
		l.err = "wrong passphrase"
		l.input.SetValue("")
	case tea.KeyPressMsg:
		if msg.String() == "enter" {
			l.rev = nextRev()
			rev, pr, pass := l.rev, l.c.Practice(), l.input.Value()
			return func() tea.Msg { return unlockResultMsg{rev: rev, ok: clinical.CheckPassphrase(pr, pass)} }
		}
		l.err = ""
		l.input.Update(msg)
	case tea.PasteMsg:
		l.input.Update(msg)
	}
	return nil
}

func (l *lockScreen) View(w, h int) []string {
	st := l.c.Styles
	title := "This workstation is locked."
	if l.idle {
		title = "Locked after being idle. The record is hidden until you unlock."
	}
	out := []string{"", st.Heading.Render(title), "", l.input.View(w, st)[0]}
	if l.err != "" {
		out = append(out, st.Alert.Render(l.err))
	}
	return out
}
