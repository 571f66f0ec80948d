package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/sahilm/fuzzy"
)

// paletteRunMsg runs the chosen action.
type paletteRunMsg struct{ Context, Action string }

// palette is the command palette: every action of this screen and the
// global ones, found by fuzzy name, with its keys.
type palette struct {
	c     *Common
	ctx   string
	input Field
	all   []keymaps.Binding
	names []string
	shown []int
	sel   int
}

func newPalette(c *Common, ctx string) *palette {
	p := &palette{c: c, ctx: ctx, input: Field{Label: "Command"}}
	p.input.Focus()
	// Every action: this screen's and the global ones first, then the other
	// screens' (shown with where they work).
	order := []string{ctx, "global"}
	for _, cx := range keymaps.Contexts {
		if cx != ctx && cx != "global" {
			order = append(order, cx)
		}
	}
	for _, cx := range order {
		for _, b := range c.Keys.Bindings(cx) {
			if b.Context == "global" && (b.Name == "palette" || b.Name == "open") {
				continue
			}
			p.all = append(p.all, b)
			p.names = append(p.names, b.Help+" ("+b.Context+" "+b.Name+")")
		}
	}
	p.filter()
	return p
}

// here reports whether an action runs on the current screen.
func (p *palette) here(b keymaps.Binding) bool { return b.Context == p.ctx || b.Context == "global" }

func (p *palette) filter() {
	p.shown, p.sel = p.shown[:0], 0
	q := strings.TrimSpace(p.input.Value())
	if q == "" {
		for i := range p.all {
			p.shown = append(p.shown, i)
		}
		return
	}
	for _, m := range fuzzy.Find(q, p.names) {
		p.shown = append(p.shown, m.Index)
	}
}

func (p *palette) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		if pm, ok := msg.(tea.PasteMsg); ok && p.input.Update(pm) {
			p.filter()
		}
		return nil
	}
	switch k.String() {
	case "esc", p.c.Keys.Key("global", "palette"):
		return func() tea.Msg { return paletteRunMsg{} }
	case "down", "ctrl+n":
		p.sel = min(p.sel+1, max(0, len(p.shown)-1))
	case "up", "ctrl+p":
		p.sel = max(0, p.sel-1)
	case "enter":
		if p.sel < len(p.shown) {
			b := p.all[p.shown[p.sel]]
			if !p.here(b) {
				return notice(b.Help+" works on the "+b.Context+" screen", true)
			}
			return func() tea.Msg { return paletteRunMsg{Context: b.Context, Action: b.Name} }
		}
	default:
		if p.input.Update(k) {
			p.filter()
		}
	}
	return nil
}

func (p *palette) View(w, h int) []string {
	st := p.c.Styles
	out := []string{st.Heading.Render("Command palette"), strings.Join(p.input.View(w, st), "")}
	for i, idx := range p.shown {
		if len(out) >= h {
			break
		}
		b := p.all[idx]
		where := ""
		if !p.here(b) {
			where = st.Muted.Render("  (" + b.Context + ")")
		}
		keys := st.Key.Render(strings.Join(b.Keys, ", ")) + where
		if i == p.sel {
			out = append(out, st.Selected.Render(fit("› "+b.Help, 42))+keys)
		} else if p.here(b) {
			out = append(out, "  "+fit(b.Help, 40)+keys)
		} else {
			out = append(out, "  "+st.Muted.Render(fit(b.Help, 40))+keys)
		}
	}
	if len(p.shown) == 0 {
		out = append(out, st.Muted.Render("no action matches"))
	}
	return out
}
