package tui

import (
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// bookRow is one line of the day: a slot (free or booked) or an extra.
type bookRow struct {
	start   time.Time
	minutes int
	appt    *record.Appointment
	name    string
	free    bool
}

type bookLoadedMsg struct {
	rev        uint64
	clinicians []string
	rows       []bookRow
	forName    string // the patient being booked for
	err        error
}

type bookChangedMsg struct {
	rev uint64
	err error
	say string
}

// bookPage is the appointment book: one clinician's day.
type bookPage struct {
	c          *Common
	patient    string // the record the user came from (book-slot books it)
	forName    string
	day        time.Time
	clinicians []string
	who        int
	rows       []bookRow
	sel        int
	rev        uint64
	actRev     uint64
	err        string
	loaded     bool
	// pending is a destructive change (DNA, cancel) waiting for the user to
	// confirm it: one keystroke must not free a slot or mark a patient absent.
	pending *bookConfirm
	// booking is a slot being booked: its mode and reason, asked first.
	booking *bookingForm
}

type bookingForm struct {
	row    bookRow
	mode   int // index into apptModes
	reason Field
}

var apptModes = []string{"in-person", "telephone", "video", "home"}

type bookConfirm struct {
	id, status, name, at string
}

func newBookPage(c *Common, patient string) *bookPage {
	n := c.Now().In(UK)
	return &bookPage{c: c, patient: patient, day: time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, UK)}
}

func (p *bookPage) Context() string { return "book" }
func (p *bookPage) TextFocus() bool { return p.booking != nil }
func (p *bookPage) Back() (bool, tea.Cmd) {
	if p.booking != nil {
		p.booking = nil
		return true, nil
	}
	if p.pending != nil {
		p.pending = nil
		return true, nil
	}
	return false, nil
}
func (p *bookPage) Title() string { return "Appointments" }

func (p *bookPage) load() tea.Cmd {
	p.rev = nextRev()
	rev, c, date := p.rev, p.c, p.day.Format(record.DateLayout)
	var clinicians []string
	if p.clinicians != nil {
		clinicians = p.clinicians
	}
	who, patient := p.who, p.patient
	return func() tea.Msg {
		ctx := c.Ctx
		if clinicians == nil {
			us, err := c.Svc.Users(ctx)
			if err != nil {
				return bookLoadedMsg{rev: rev, err: err}
			}
			for _, u := range us {
				if u.Role == record.RoleGP || u.Role == record.RoleNurse {
					clinicians = append(clinicians, u.Name)
				}
			}
			sort.Strings(clinicians)
		}
		if who >= len(clinicians) {
			return bookLoadedMsg{rev: rev, clinicians: clinicians}
		}
		name := clinicians[who]
		slots, err := c.Svc.Slots(ctx, date, name, false)
		if err != nil {
			return bookLoadedMsg{rev: rev, clinicians: clinicians, err: err}
		}
		appts, err := c.Svc.Appointments(ctx, clinical.ApptFilter{Date: date, Clinician: name, All: true})
		if err != nil {
			return bookLoadedMsg{rev: rev, clinicians: clinicians, err: err}
		}
		ix, _ := c.Svc.Practice().Index(ctx)
		nameOf := func(id string) string {
			if ix != nil {
				if d, ok := ix.Get(id); ok {
					return d.Family + ", " + d.Given
				}
			}
			return id
		}
		byID := map[string]*record.Appointment{}
		for _, a := range appts {
			byID[a.ID] = a
		}
		var rows []bookRow
		used := map[string]bool{}
		for _, s := range slots {
			r := bookRow{start: s.Start, minutes: s.Minutes, free: s.Free}
			if a := byID[s.AppointmentID]; a != nil {
				r.appt, r.name = a, nameOf(a.PatientID)
				used[a.ID] = true
			}
			rows = append(rows, r)
		}
		for _, a := range appts { // extras and cancelled bookings
			if !used[a.ID] {
				rows = append(rows, bookRow{start: a.Start, minutes: a.Minutes, appt: a, name: nameOf(a.PatientID)})
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].start.Before(rows[j].start) })
		forName := ""
		if patient != "" {
			forName = nameOf(patient)
		}
		return bookLoadedMsg{rev: rev, clinicians: clinicians, rows: rows, forName: forName}
	}
}

func (p *bookPage) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case initMsg:
		return p.load()
	case bookLoadedMsg:
		if msg.rev != p.rev {
			return nil
		}
		p.loaded = true
		p.clinicians, p.rows, p.forName = msg.clinicians, msg.rows, msg.forName
		p.err = ""
		if msg.err != nil {
			p.err = msg.err.Error()
		}
		p.sel = min(p.sel, max(0, len(p.rows)-1))
	case bookChangedMsg:
		if msg.rev != p.actRev {
			return nil
		}
		if msg.err != nil {
			return notice(msg.err.Error(), true)
		}
		return tea.Batch(p.load(), notice(msg.say, false))
	case actionMsg:
		if p.booking != nil {
			return p.bookingAction(msg)
		}
		return p.action(msg.Name)
	case tea.KeyPressMsg, tea.PasteMsg:
		if p.booking != nil {
			p.booking.reason.Update(msg)
		}
	}
	return nil
}

func (p *bookPage) action(a string) tea.Cmd {
	if cf := p.pending; cf != nil {
		if a != "save" { // only the save key confirms; esc cancels (Back)
			return nil
		}
		p.pending = nil
		svc, ctx := p.c.Svc, p.c.Ctx
		return p.change(func() (string, error) {
			_, err := svc.SetAppointmentStatus(ctx, cf.id, cf.status, 0)
			return cf.name + ": " + cf.status, err
		})
	}
	switch a {
	case "resume":
		return p.load()
	case "down":
		p.sel = min(p.sel+1, max(0, len(p.rows)-1))
	case "up":
		p.sel = max(0, p.sel-1)
	case "prev-day", "next-day":
		d := 1
		if a == "prev-day" {
			d = -1
		}
		p.day = p.day.AddDate(0, 0, d)
		p.sel = 0
		return p.load()
	case "prev-clinician", "next-clinician":
		if len(p.clinicians) == 0 {
			return nil
		}
		d := 1
		if a == "prev-clinician" {
			d = len(p.clinicians) - 1
		}
		p.who = (p.who + d) % len(p.clinicians)
		p.sel = 0
		return p.load()
	case "open-patient", "open":
		if r, ok := p.current(); ok && r.appt != nil {
			id := r.appt.PatientID
			return func() tea.Msg { return openPatientMsg{ID: id} }
		}
	case "book-slot":
		r, ok := p.current()
		switch {
		case !ok:
			return nil
		case p.patient == "":
			return notice("open a patient's record first, then book from here", true)
		case !r.free:
			return notice("that slot is taken", true)
		}
		p.booking = &bookingForm{row: r, reason: Field{Label: "Reason"}}
		p.booking.reason.Focus()
		return nil
	case "arrived", "seen", "did-not-attend", "cancel-appointment":
		r, ok := p.current()
		if !ok || r.appt == nil {
			return notice("no appointment in that slot", true)
		}
		status := map[string]string{"arrived": "arrived", "seen": "seen", "did-not-attend": "did-not-attend", "cancel-appointment": "cancelled"}[a]
		id, svc, ctx := r.appt.ID, p.c.Svc, p.c.Ctx
		if status == "did-not-attend" || status == "cancelled" {
			p.pending = &bookConfirm{id: id, status: status, name: r.name, at: r.start.In(UK).Format("15:04")}
			return nil
		}
		return p.change(func() (string, error) {
			_, err := svc.SetAppointmentStatus(ctx, id, status, 0)
			return r.name + ": " + status, err
		})
	}
	return nil
}

// change runs a write in a command and reloads the day after it.
func (p *bookPage) change(f func() (string, error)) tea.Cmd {
	p.actRev = nextRev()
	rev := p.actRev
	return func() tea.Msg {
		say, err := f()
		return bookChangedMsg{rev: rev, err: err, say: say}
	}
}

func (p *bookPage) current() (bookRow, bool) {
	if p.sel < len(p.rows) {
		return p.rows[p.sel], true
	}
	return bookRow{}, false
}

func (p *bookPage) View(w, h int) []string {
	st := p.c.Styles
	who := "no clinicians"
	if p.who < len(p.clinicians) {
		who = p.clinicians[p.who]
	}
	out := []string{st.Heading.Render(p.day.Format("Mon 02-Jan-2006")+"  "+who) + st.Muted.Render("  "+
		p.c.Keys.Key("book", "prev-day")+"/"+p.c.Keys.Key("book", "next-day")+" day  "+
		p.c.Keys.Key("book", "next-clinician")+" clinician  "+p.c.Keys.Key("book", "did-not-attend")+" dna  "+
		p.c.Keys.Key("book", "cancel-appointment")+" cancel")}
	if p.forName != "" {
		out = append(out, st.Muted.Render("Booking for ")+p.forName)
	}
	if p.booking != nil {
		out = append(out, p.bookingLines(w)...)
	}
	if cf := p.pending; cf != nil {
		what := "as did not attend"
		if cf.status == "cancelled" {
			what = "cancelled"
		}
		out = append(out, st.Alert.Render("Mark "+cf.name+"'s "+cf.at+" appointment "+what+"?")+"  "+
			st.Key.Render(p.c.Keys.Key("global", "save"))+" confirm  "+st.Key.Render("esc")+" keep it")
	}
	if p.err != "" {
		out = append(out, st.Alert.Render(p.err))
	}
	if !p.loaded {
		return append(out, st.Muted.Render("loading…"))
	}
	if len(p.rows) == 0 {
		out = append(out, st.Muted.Render("No sessions or appointments on this day"))
	}
	start := 0
	room := h - len(out)
	if p.sel >= room {
		start = p.sel - room + 1
	}
	for i := start; i < len(p.rows) && len(out) < h; i++ {
		r := p.rows[i]
		status, who, reason := "free", "", ""
		if r.appt != nil {
			status, who, reason = r.appt.Status, r.name, r.appt.Reason
		}
		line := fit(r.start.In(UK).Format("15:04"), 6) + fit(itoa(r.minutes)+"m", 5) + fit(status, 15) + fit(cut(who, 30), 31) + reason
		switch {
		case i == p.sel:
			out = append(out, st.Selected.Render(fit("› "+line, w)))
		case r.free:
			out = append(out, "  "+st.Muted.Render(line))
		default:
			out = append(out, "  "+line)
		}
	}
	return out
}

// bookingAction: tab changes the mode, the save key books, esc (Back) drops it.
func (p *bookPage) bookingAction(msg actionMsg) tea.Cmd {
	b := p.booking
	switch msg.Name {
	case "next-clinician", "prev-clinician":
		d := 1
		if msg.Name == "prev-clinician" {
			d = len(apptModes) - 1
		}
		b.mode = (b.mode + d) % len(apptModes)
	case "save":
		p.booking = nil
		r := b.row
		in := clinical.BookInput{PatientRef: p.patient, Clinician: p.clinicians[p.who], At: r.start, Minutes: r.minutes,
			Mode: apptModes[b.mode], Reason: strings.TrimSpace(b.reason.Value())}
		return p.change(func() (string, error) {
			_, err := p.c.Svc.Book(p.c.Ctx, in)
			return "booked " + DateTime(in.At) + " (" + in.Mode + ")", err
		})
	default:
		if msg.Key.Code != 0 {
			b.reason.Update(msg.Key)
		}
	}
	return nil
}

// bookingLines asks for the mode and reason of a booking.
func (p *bookPage) bookingLines(w int) []string {
	b, st := p.booking, p.c.Styles
	out := []string{st.Heading.Render("Book " + DateTime(b.row.start) + " with " + p.clinicians[p.who] + " for " + p.forName)}
	var modes []string
	for i, m := range apptModes {
		if i == b.mode {
			modes = append(modes, st.Selected.Render(" "+m+" "))
		} else {
			modes = append(modes, " "+m+" ")
		}
	}
	out = append(out, st.Muted.Render("Mode: ")+strings.Join(modes, ""))
	out = append(out, b.reason.View(w, st)...)
	return append(out, st.Key.Render(p.c.Keys.Key("global", "save"))+" book  "+st.Key.Render(p.c.Keys.Key("book", "next-clinician"))+" mode  "+st.Key.Render("esc")+" cancel")
}
