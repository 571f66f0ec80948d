package tui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/record"
)

// UK is UK local time.
var UK = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return l
}()

// Date formats YYYY-MM-DD as 12-Mar-1961 ("" stays "").
func Date(d string) string {
	t, err := time.Parse(record.DateLayout, d)
	if err != nil {
		return d
	}
	return t.Format("02-Jan-2006")
}

// DateOf formats a time as a UK date.
func DateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(UK).Format("02-Jan-2006")
}

// DateTime formats a time as 12-Mar-1961 14:05 UK local time.
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(UK).Format("02-Jan-2006 15:04")
}

// Age is the age on now: years from 2, months under 2, weeks under 3 months, days under 2 weeks.
func Age(dob string, now time.Time) string {
	b, err := time.ParseInLocation(record.DateLayout, dob, UK)
	if err != nil {
		return ""
	}
	now = now.In(UK)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, UK)
	if today.Before(b) {
		return ""
	}
	months := (today.Year()-b.Year())*12 + int(today.Month()-b.Month())
	if today.Day() < b.Day() {
		months--
	}
	switch {
	case months >= 24:
		return fmt.Sprintf("%dy", months/12)
	case months >= 3:
		return fmt.Sprintf("%dm", months)
	}
	days := int(today.Sub(b).Hours()/24 + 0.5)
	if days >= 14 {
		return fmt.Sprintf("%dw", days/7)
	}
	return fmt.Sprintf("%dd", days)
}

// NHS formats an NHS number as 3-3-4.
func NHS(n string) string {
	if len(n) != 10 {
		return n
	}
	return n[:3] + " " + n[3:6] + " " + n[6:]
}

// Sex is the one-letter sex.
func Sex(s string) string {
	switch strings.ToLower(s) {
	case "male":
		return "M"
	case "female":
		return "F"
	case "":
		return "?"
	}
	return strings.ToUpper(s[:1])
}

// fit truncates or pads a styled string to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = safeLine(s)
	if lipgloss.Width(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// cut truncates a plain string to w cells.
func cut(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// wrap breaks plain text into lines of at most w cells.
func wrap(s string, w int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for lipgloss.Width(word) > w && w > 0 {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				out = append(out, ansi.Truncate(word, w, ""))
				word = string([]rune(word)[w:])
			}
			switch {
			case line == "":
				line = word
			case lipgloss.Width(line)+1+lipgloss.Width(word) <= w:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return out
}

// num formats a value without trailing zeros.
func num(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// safeLine keeps a screen line's colour (SGR sequences, which the styles
// write) and shows every other control character as an escape (\x1b, \n),
// so a value holding a terminal sequence (a name stored before the record
// refused them, a lab's free text) is seen, not obeyed: it cannot clear
// the screen, move the cursor, retitle the window or split a line.
func safeLine(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] != 0x1b && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';' || s[j] == ':') {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				b.WriteString(s[i : j+1]) // a colour: the styles' own
				i = j + 1
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(record.ShowControls(s[i : i+n]))
		i += n
	}
	return b.String()
}
