package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/store"
)

// A live record: the root model ticks (Options.Watch); each open record
// asks the practice whether its patient changed since it last looked (the
// change feed the find index follows, which names a patient when any of
// their records is written, locally or, in remote mode, on gpsoc serve) and
// reloads when it did. So an allergy added from another workstation or a
// script shows in the banner within a second.

// watchTickMsg asks every open record to look for changes.
type watchTickMsg struct{}

func watchTick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return watchTickMsg{} })
}

// recordWatchMsg is a record page's answer from the change feed.
type recordWatchMsg struct {
	page    *recordPage
	changed bool
	seq     uint64
	err     error
}

// watch asks whether the open patient changed after the page's cursor (the
// first time, where the feed is now).
func (p *recordPage) watch() tea.Cmd {
	if p.data == nil || p.watching {
		return nil
	}
	p.watching = true
	after, id, c := p.watchSeq, p.data.sum.Patient.ID, p.c
	if !p.watchSet {
		after = store.ChangesHead
	}
	return func() tea.Msg {
		changed, seq, err := c.Svc.PatientChangedSince(c.Ctx, id, after)
		return recordWatchMsg{page: p, changed: changed, seq: seq, err: err}
	}
}

// watched takes the answer: a change reloads the record, unless the user is
// answering a confirmation or typing a reason (then the cursor stays, and the
// next tick sees the change again).
func (p *recordPage) watched(msg recordWatchMsg) tea.Cmd {
	p.watching = false
	if msg.err != nil {
		// The next tick asks again; meanwhile the user is told, once, that
		// the record on screen may be out of date (never a silent stale view).
		if !p.watchFailed {
			p.watchFailed = true
			return notice("cannot check for changes to this record ("+msg.err.Error()+"): it may be out of date", true)
		}
		return nil
	}
	if p.watchFailed {
		p.watchFailed = false
		return p.load() // whatever changed while it could not look
	}
	if msg.changed && (p.confirm != nil || p.asking) {
		return nil
	}
	p.watchSeq, p.watchSet = msg.seq, true
	if msg.changed {
		return p.load()
	}
	return nil
}
