package tui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/store"
)

// A live find list: on each watch tick the find page asks the change feed
// whether any patient changed since it last looked (one small read, no
// audit: it names no one); when one did, the query on screen runs again
// against the find index, which has caught up with the same feed, so a
// patient registered or renamed elsewhere appears (or leaves) within a
// second, the selection staying on the patient it was on.

type findLive struct {
	seq           uint64
	set, watching bool
}

type findWatchMsg struct {
	page    *findPage
	changed bool
	seq     uint64
	err     error
}

// liveUpdate takes the watch messages; ok is false for every other message.
func (p *findPage) liveUpdate(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case watchTickMsg:
		if p.live.watching {
			return nil, true
		}
		p.live.watching = true
		after, c := p.live.seq, p.c
		if !p.live.set {
			after = store.ChangesHead
		}
		return func() tea.Msg {
			changed, seq, err := c.Svc.PatientChangedSince(c.Ctx, "", after)
			return findWatchMsg{page: p, changed: changed, seq: seq, err: err}
		}, true
	case findWatchMsg:
		if msg.page != p {
			return nil, true
		}
		p.live.watching = false
		if msg.err != nil {
			return nil, true // asked again on the next tick
		}
		// The first answer only places the cursor: what changed before it
		// is not known, so the list is refreshed once (an in-memory search).
		first := !p.live.set
		p.live.seq, p.live.set = msg.seq, true
		if !msg.changed && !first || p.loading || p.pending || p.opening {
			return nil, true // a search under way shows the index as it is now
		}
		return p.refresh(), true
	}
	return nil, false
}

// refresh runs the query on screen again, keeping the selection.
func (p *findPage) refresh() tea.Cmd {
	p.rev = nextRev()
	rev, q, c, ctx := p.rev, p.query, p.c, p.c.Ctx
	return func() tea.Msg {
		m := runFind(ctx, c, rev, q)
		m.keep = true
		return m
	}
}

// Refresh replaces the rows, the selection staying on the same patient
// when they are still listed (else at the same place).
func (l *patientList) Refresh(rows []findRow) {
	id := ""
	if r, ok := l.Selected(); ok {
		id = r.ID
	}
	sel := l.sel
	l.items = rows
	l.sel = max(0, min(sel, len(rows)-1))
	for i, r := range rows {
		if r.ID == id {
			l.sel = i
			break
		}
	}
	l.off = min(l.off, l.sel)
}
