package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// registerMsg opens the registration form (from find).
type registerMsg struct{}

type registeredMsg struct {
	rev   uint64
	id    string
	warns []clinical.Warning
	err   error
}

// registerPage registers a patient: the same service call as `gpsoc patient
// add`, with the same checks (NHS number, one number one patient, close
// matches warned about). Saved, the new record opens.
type registerPage struct {
	c      *Common
	fields []*formField
	focus  int
	rev    uint64
	err    string
}

func newRegisterPage(c *Common) *registerPage {
	reasons := []choice{{"", "(an NHS number is given)"}}
	for _, r := range record.NoNHSReasons {
		reasons = append(reasons, choice{r, r})
	}
	p := &registerPage{c: c, fields: []*formField{
		text("NHS number", true), pick("No NHS number because", reasons),
		text("Family name", false), text("Given names", false), text("Date of birth YYYY-MM-DD", false),
		pick("Sex", []choice{{"female", "female"}, {"male", "male"}, {"other", "other"}, {"unknown", "unknown"}}),
		text("Address line", true), text("Town", true), text("Postcode", true), text("Phone", true)}}
	p.fields[0].in.Focus()
	return p
}

func (p *registerPage) Context() string { return "register" }
func (p *registerPage) Title() string   { return "Register a patient" }
func (p *registerPage) TextFocus() bool {
	return p.focus < len(p.fields) && p.fields[p.focus].kind != choiceField
}
func (p *registerPage) Back() (bool, tea.Cmd) { return false, nil }

func (p *registerPage) move(d int) {
	p.fields[p.focus].in.Blur()
	p.focus = (p.focus + d + len(p.fields)) % len(p.fields)
	p.fields[p.focus].in.Focus()
}

func (p *registerPage) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case registeredMsg:
		if msg.rev != p.rev {
			return nil
		}
		p.rev = 0
		if msg.err != nil {
			p.err = msg.err.Error()
			return nil
		}
		say := "Registered"
		for _, w := range msg.warns {
			say += " — warning: " + w.Message
		}
		id := msg.id
		return tea.Batch(func() tea.Msg { return openPatientMsg{ID: id} }, notice(say, len(msg.warns) > 0))
	case actionMsg:
		ff := p.fields[p.focus]
		switch msg.Name {
		case "next-field", "open":
			p.move(1)
		case "prev-field":
			p.move(-1)
		case "down", "up":
			if ff.kind == choiceField {
				if msg.Name == "down" {
					ff.sel = min(ff.sel+1, len(ff.choices)-1)
				} else {
					ff.sel = max(0, ff.sel-1)
				}
			}
		case "save":
			return p.save()
		default:
			if msg.Key.Code != 0 && ff.kind != choiceField {
				ff.in.Update(msg.Key)
			}
		}
	case tea.KeyPressMsg, tea.PasteMsg:
		if ff := p.fields[p.focus]; ff.kind != choiceField {
			ff.in.Update(msg)
		}
	}
	return nil
}

func (p *registerPage) save() tea.Cmd {
	if p.rev != 0 {
		return nil // saving: a second save key must not register twice
	}
	v := make([]string, len(p.fields))
	for i, f := range p.fields {
		v[i] = f.value()
	}
	pt := &record.Patient{NHSNumber: v[0], NoNHSReason: v[1], Family: v[2], Given: strings.Fields(v[3]), BirthDate: v[4], Sex: v[5],
		Postcode: v[8], Phone: v[9]}
	if v[6] != "" || v[7] != "" {
		pt.Address = &record.Address{Town: v[7]}
		if v[6] != "" {
			pt.Address.Lines = []string{v[6]}
		}
	}
	p.rev, p.err = nextRev(), ""
	rev, svc, ctx := p.rev, p.c.Svc, p.c.Ctx
	return func() tea.Msg {
		warns, err := svc.AddPatient(ctx, pt)
		return registeredMsg{rev: rev, id: pt.ID, warns: warns, err: err}
	}
}

func (p *registerPage) View(w, h int) []string {
	st := p.c.Styles
	out := []string{st.Heading.Render("Register a patient")}
	for i, ff := range p.fields {
		mark := "  "
		if i == p.focus {
			mark = "› "
		}
		if ff.kind == choiceField {
			var cs []string
			for j, c := range ff.choices {
				if j == ff.sel {
					cs = append(cs, st.Selected.Render(" "+c.label+" "))
				} else if i == p.focus {
					cs = append(cs, " "+c.label+" ")
				}
			}
			out = append(out, mark+st.Muted.Render(ff.in.Label+": ")+strings.Join(cs, ""))
			continue
		}
		out = append(out, ff.in.View(w-2, st)...)
	}
	if p.err != "" {
		out = append(out, st.Alert.Render(p.err))
	}
	if p.rev != 0 {
		out = append(out, st.Muted.Render("saving…"))
	}
	return append(out, st.Key.Render(p.c.Keys.Key("global", "save"))+" register  "+st.Key.Render("tab")+" next field  "+
		st.Key.Render("up/down")+" choose  "+st.Key.Render("esc")+" cancel")
}
