package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// Field is a small text editor: one line, or several (Multi). It draws its
// own cursor so screens render the same on every terminal and in goldens.
type Field struct {
	Label       string
	Placeholder string
	Multi       bool
	Lines       int // rows shown when Multi
	Mask        bool
	text        []rune
	pos         int
	focused     bool
}

// Value is the text.
func (f *Field) Value() string { return string(f.text) }

// SetValue replaces the text and puts the cursor at its end.
func (f *Field) SetValue(s string) { f.text = []rune(s); f.pos = len(f.text) }

// Focus gives the field the keyboard.
func (f *Field) Focus() { f.focused = true }

// Blur takes it away.
func (f *Field) Blur() { f.focused = false }

// Focused reports whether the field has the keyboard.
func (f *Field) Focused() bool { return f.focused }

// Update edits the text; it reports whether the text changed.
func (f *Field) Update(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		s := msg.Content
		if !f.Multi {
			s = strings.ReplaceAll(s, "\n", " ")
		}
		f.insert([]rune(s))
		return true
	case tea.KeyPressMsg:
		switch msg.String() {
		case "backspace":
			if f.pos > 0 {
				f.text = append(f.text[:f.pos-1], f.text[f.pos:]...)
				f.pos--
				return true
			}
			return false
		case "delete":
			if f.pos < len(f.text) {
				f.text = append(f.text[:f.pos], f.text[f.pos+1:]...)
				return true
			}
			return false
		case "left":
			if f.pos > 0 {
				f.pos--
			}
		case "right":
			if f.pos < len(f.text) {
				f.pos++
			}
		case "home", "ctrl+a":
			f.pos = f.lineStart()
		case "end", "ctrl+e":
			f.pos = f.lineEnd()
		case "ctrl+u":
			if len(f.text) == 0 {
				return false
			}
			f.text, f.pos = nil, 0
			return true
		case "ctrl+w":
			i := f.pos
			for i > 0 && f.text[i-1] == ' ' {
				i--
			}
			for i > 0 && f.text[i-1] != ' ' && f.text[i-1] != '\n' {
				i--
			}
			if i == f.pos {
				return false
			}
			f.text = append(f.text[:i], f.text[f.pos:]...)
			f.pos = i
			return true
		case "enter":
			if f.Multi {
				f.insert([]rune{'\n'})
				return true
			}
		case "space":
			f.insert([]rune{' '})
			return true
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				f.insert([]rune(msg.Text))
				return true
			}
		}
	}
	return false
}

func (f *Field) insert(r []rune) {
	t := make([]rune, 0, len(f.text)+len(r))
	t = append(t, f.text[:f.pos]...)
	t = append(t, r...)
	t = append(t, f.text[f.pos:]...)
	f.text = t
	f.pos += len(r)
}

func (f *Field) lineStart() int {
	i := f.pos
	for i > 0 && f.text[i-1] != '\n' {
		i--
	}
	return i
}

func (f *Field) lineEnd() int {
	i := f.pos
	for i < len(f.text) && f.text[i] != '\n' {
		i++
	}
	return i
}

// View draws the field in width cells: the label then the text (Multi: Lines rows, wrapped).
func (f *Field) View(width int, st Styles) []string {
	label := ""
	if f.Label != "" {
		ls := st.Field
		if f.focused {
			ls = st.FieldOn
		}
		label = ls.Render(f.Label + ": ")
	}
	text := f.text
	if f.Mask {
		text = []rune(strings.Repeat("•", len(f.text)))
	}
	cursor := "█"
	if st.Plain {
		cursor = "_"
	}
	if !f.Multi {
		w := width - lipgloss.Width(label) - 1
		s := string(text[:f.pos])
		after := string(text[f.pos:])
		if len(text) == 0 && f.Placeholder != "" && !f.focused {
			return []string{fit(label+st.Muted.Render(f.Placeholder), width)}
		}
		if lipgloss.Width(s) > w-1 { // keep the cursor in view
			r := []rune(s)
			s = "…" + string(r[len(r)-(w-2):])
		}
		if f.focused {
			s += cursor
		}
		return []string{fit(label+s+after, width)}
	}
	// Multi-line: wrap the text with the cursor marked, show the last rows
	// that hold the cursor.
	body := string(text[:f.pos])
	if f.focused {
		body += cursor
	}
	body += string(text[f.pos:])
	if len(text) == 0 && !f.focused && f.Placeholder != "" {
		body = st.Muted.Render(f.Placeholder)
	}
	rows := wrapKeep(body, width-2)
	cur := 0
	if f.focused {
		for i, r := range rows {
			if strings.Contains(r, cursor) {
				cur = i
			}
		}
	}
	n := f.Lines
	if n < 1 {
		n = 3
	}
	start := 0
	if cur >= n {
		start = cur - n + 1
	}
	out := []string{fit(label, width)}
	for i := 0; i < n; i++ {
		line := ""
		if start+i < len(rows) {
			line = rows[start+i]
		}
		out = append(out, fit("  "+line, width))
	}
	return out
}

// wrapKeep wraps like wrap but keeps runs of spaces the user typed.
func wrapKeep(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		r := []rune(para)
		for lipgloss.Width(string(r)) > w {
			cutAt := w
			for i := w; i > w/2; i-- {
				if r[i] == ' ' {
					cutAt = i + 1
					break
				}
			}
			out = append(out, string(r[:cutAt]))
			r = r[cutAt:]
		}
		out = append(out, string(r))
	}
	return out
}
