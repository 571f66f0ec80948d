package tui

import (
	"sort"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// banner is the line(s) every record screen keeps at the top.
// due is the slot for the registers' indicators the patient has not met.
func banner(c *Common, sm *clinical.Summary, w int, due ...string) []string {
	st := c.Styles
	if sm == nil || sm.Patient == nil {
		return []string{st.Muted.Render("loading…")}
	}
	p := sm.Patient
	now := c.Now()
	born := "  born "
	if w < 100 {
		born = "  " // room for the usual GP at 80 columns
	}
	l1 := st.Banner.Render(" "+p.Name()+" ") + st.BannerDim.Render(" "+Age(p.BirthDate, now)+" "+Sex(p.Sex)+
		born+Date(p.BirthDate)+"  NHS "+nhsOrReason(p)+"  GP "+orDash(p.UsualGP)+" ")
	// One ordered list at every width: safety items first (they wrap onto
	// as many lines as they need, never cut), then reminders, which
	// collapse to one count when the screen is narrow.
	var safety, later []string
	if c.Practice().Demo {
		safety = append(safety, st.Demo.Render(" DEMO "))
	}
	if sm.Allergies != nil {
		var names []string
		nkda := false
		for _, a := range *sm.Allergies {
			if a.NKDA {
				nkda = true
				continue
			}
			names = append(names, clinical.CodeText(a.Agent))
		}
		switch {
		case len(names) > 0:
			safety = append(safety, st.Alert.Render("ALLERGY: "+strings.Join(names, ", ")))
		case nkda:
			safety = append(safety, st.OK.Render("NKDA"))
		default:
			safety = append(safety, st.Warn.Render("allergy status unknown"))
		}
	}
	if p.Sensitive {
		safety = append(safety, st.Alert.Render("SENSITIVE"))
	}
	if sm.Latest != nil {
		// Results in the record that no clinician has filed yet (the inbox).
		n := 0
		for _, o := range *sm.Latest {
			if o.Unreviewed && o.Status != record.StatusEnteredInError {
				n++
			}
		}
		if n > 0 {
			safety = append(safety, st.Warn.Render(itoa(n)+" result(s) not yet reviewed"))
		}
	}
	flags := append([]string(nil), sm.Flags...)
	sort.SliceStable(flags, func(i, j int) bool { return flagRank(flags[i]) < flagRank(flags[j]) })
	for _, f := range flags {
		if flagRank(f) == 0 {
			safety = append(safety, st.Alert.Render(strings.ToUpper(f)))
		} else {
			safety = append(safety, st.Warn.Render("flag: "+f))
		}
	}
	switch p.Status {
	case record.PatientDeceased:
		safety = append(safety, st.Alert.Render("DECEASED "+Date(p.Registration.DeceasedOn)))
	case record.PatientLeft:
		safety = append(safety, st.Alert.Render("LEFT "+Date(p.Registration.LeftOn)))
	}
	reviews, recalls := 0, 0
	if sm.Medications != nil {
		today := now.In(UK).Format(record.DateLayout)
		for _, m := range *sm.Medications {
			if m.Type == "repeat" && m.ReviewDate != "" && m.ReviewDate < today {
				reviews++
			}
		}
	}
	if sm.Recalls != nil {
		recalls = len(*sm.Recalls)
	}
	tasks := tasksDue(sm, now)
	if n := min(reviews, 1) + min(recalls, 1) + min(tasks, 1); w < 100 && n > 1 {
		later = append(later, st.Warn.Render(itoa(reviews+recalls+tasks)+" reminders"))
	} else {
		if reviews > 0 {
			later = append(later, st.Warn.Render(itoa(reviews)+" medication review(s) overdue"))
		}
		if recalls > 0 {
			later = append(later, st.Warn.Render(itoa(recalls)+" overdue recall(s)"))
		}
		if tasks > 0 {
			later = append(later, st.Warn.Render(itoa(tasks)+" task(s) due"))
		}
	}
	for _, d := range due {
		later = append(later, st.Warn.Render(d))
	}
	items := append(safety, later...)
	if len(items) == 0 {
		items = append(items, st.Muted.Render("no alerts"))
	}
	id := []string{fit(l1, w)}
	if lipgloss.Width(l1) > w { // a long name: the identity wraps too, never cut
		id = flowItems([]string{st.Banner.Render(" " + p.Name() + " "), st.BannerDim.Render(Age(p.BirthDate, now) + " " + Sex(p.Sex)),
			st.BannerDim.Render(Date(p.BirthDate)), st.BannerDim.Render("NHS " + nhsOrReason(p)), st.BannerDim.Render("GP " + orDash(p.UsualGP))}, w)
	}
	return append(id, flowItems(items, w)...)
}

// flagRank orders warning flags: those about the patient's or a visitor's
// safety first (shown in capitals as alerts), then the rest.
func flagRank(f string) int {
	switch f {
	case "safeguarding", "violence-marker", "do-not-resuscitate":
		return 0
	}
	return 1
}

// flowItems lays items out left to right, two spaces apart, starting a new
// line when the next would not fit; an item wider than a line is wrapped,
// never cut.
func flowItems(items []string, w int) []string {
	var out []string
	line, lw := "", 0
	for _, it := range items {
		iw := lipgloss.Width(it)
		if lw > 0 && lw+2+iw > w {
			out = append(out, fit(line, w))
			line, lw = "", 0
		}
		if iw > w {
			for _, l := range wrap(ansi.Strip(it), w) {
				out = append(out, fit(l, w))
			}
			continue
		}
		if lw > 0 {
			line, lw = line+"  ", lw+2
		}
		line, lw = line+it, lw+iw
	}
	if lw > 0 {
		out = append(out, fit(line, w))
	}
	return out
}

func nhsOrReason(p *record.Patient) string {
	if p.NHSNumber != "" {
		return NHS(p.NHSNumber)
	}
	if p.NoNHSReason != "" {
		return "none (" + p.NoNHSReason + ")"
	}
	return "none"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

type inboxCountMsg struct {
	rev         uint64
	n, abnormal int
}

// countInbox counts the acting user's unfiled results for the top line
// (clinicians only: the count reads no values, and others have none).
func (m *Model) countInbox() tea.Cmd {
	m.inboxRev = nextRev()
	rev, c := m.inboxRev, m.c
	return func() tea.Msg {
		if !c.Svc.Can(clinical.ActInbox) {
			return inboxCountMsg{rev: rev}
		}
		n, abn, err := c.Svc.UnfiledCount(c.Ctx, c.User())
		if err != nil {
			return inboxCountMsg{rev: rev}
		}
		return inboxCountMsg{rev: rev, n: n, abnormal: abn}
	}
}

// inboxSlot is the top line's note of unfiled results: abnormal ones in
// the alert style, so they are seen from every screen.
func (m *Model) inboxSlot() string {
	if m.inboxN == 0 {
		return ""
	}
	st := m.c.Styles
	k := m.c.Keys.Key("global", "inbox")
	s := "results " + itoa(m.inboxN)
	if k != "" {
		s += " (" + k + ")"
	}
	if m.inboxAbnormal > 0 {
		return st.Alert.Render(s + " · " + itoa(m.inboxAbnormal) + " abnormal")
	}
	return st.Warn.Render(s)
}
