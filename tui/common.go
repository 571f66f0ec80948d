// Package tui is the keyboard-driven workstation: one root model routing
// between pages (find, record, consult, prescribe, book) built from small
// components. Update does no I/O: commands call the clinical services and come
// back as typed messages carrying a revision number, and stale results are
// dropped. Keys come from the keymaps registry.
package tui

import (
	"context"
	"image/color"
	"os"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
)

// Code is a terminology hit as the pickers show it.
type Code struct {
	System string // URI
	Code   string
	Term   string
}

// GapNoter is a Terms that can say when a dm+d search misses because the
// embedded dictionary lacks the product (terminology.DMDGap).
type GapNoter interface {
	DMDGap(query string, results []Code) string
}

// Terms is what the pickers need of the terminology (commands adapts
// terminology.Terminology to it, so the TUI does not import it).
type Terms interface {
	// Search finds codes ranked for a picker ("problem", "consultation", "drug" or ""); system
	// is sct, dmd, ctv3, read2 or ""; ecl limits to a hierarchy. When the terminology has
	// nothing for the text but typos, the error says so (import the UK release).
	Search(ctx context.Context, text, picker, system, ecl string, limit int) ([]Code, error)
	// MapLegacy maps a Read v2 or CTV3 code to SNOMED concepts (assured first).
	MapLegacy(system, code string) ([]Code, error)
	// Picked notes a code the user chose in a picker, so that it rises in their later
	// searches (in memory: no I/O).
	Picked(code string)
}

// Styles are the semantic styles of every screen.
type Styles struct {
	Plain     bool
	Title     lipgloss.Style
	Banner    lipgloss.Style
	BannerDim lipgloss.Style
	Alert     lipgloss.Style
	Warn      lipgloss.Style
	OK        lipgloss.Style
	Muted     lipgloss.Style
	Selected  lipgloss.Style
	Heading   lipgloss.Style
	Key       lipgloss.Style
	Field     lipgloss.Style
	FieldOn   lipgloss.Style
	Demo      lipgloss.Style
	Band      lipgloss.Style
}

// NewStyles builds the styles for a dark or light background; plain (NO_COLOR)
// uses only bold, faint and reverse.
func NewStyles(dark, plain bool) Styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, darkc string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(darkc)) }
	s := lipgloss.NewStyle
	if plain {
		return Styles{Plain: true, Title: s().Bold(true), Banner: s().Bold(true), BannerDim: s(), Alert: s().Bold(true),
			Warn: s().Bold(true), OK: s(), Muted: s().Faint(true), Selected: s().Reverse(true), Heading: s().Bold(true),
			Key: s().Bold(true), Field: s(), FieldOn: s().Bold(true), Demo: s().Reverse(true).Bold(true), Band: s().Faint(true)}
	}
	return Styles{
		Title:     s().Bold(true).Foreground(c("#1d4ed8", "#93c5fd")),
		Banner:    s().Bold(true).Foreground(c("#0f172a", "#f8fafc")).Background(c("#dbeafe", "#1e3a5f")),
		BannerDim: s().Foreground(c("#334155", "#cbd5e1")).Background(c("#dbeafe", "#1e3a5f")),
		Alert:     s().Bold(true).Foreground(c("#b91c1c", "#fca5a5")),
		Warn:      s().Foreground(c("#b45309", "#fcd34d")),
		OK:        s().Foreground(c("#15803d", "#86efac")),
		Muted:     s().Foreground(c("#64748b", "#94a3b8")),
		Selected:  s().Bold(true).Foreground(c("#0f172a", "#0f172a")).Background(c("#bfdbfe", "#93c5fd")),
		Heading:   s().Bold(true).Foreground(c("#1e40af", "#bfdbfe")),
		Key:       s().Bold(true).Foreground(c("#7c3aed", "#c4b5fd")),
		Field:     s().Foreground(c("#334155", "#cbd5e1")),
		FieldOn:   s().Bold(true).Foreground(c("#1d4ed8", "#93c5fd")),
		Demo:      s().Bold(true).Foreground(c("#ffffff", "#000000")).Background(c("#c2410c", "#fb923c")),
		Band:      s().Foreground(c("#16a34a", "#4ade80")),
	}
}

// NoColor reports whether NO_COLOR asks for no colour.
func NoColor() bool { return os.Getenv("NO_COLOR") != "" }

// Common is what every page shares.
type Common struct {
	Styles  Styles
	Keys    *keymaps.Keymap
	Svc     *clinical.Service
	Terms   Terms   // nil: pickers search nothing
	Cohort  *Cohort // nil: no registers screen or banner slot
	Now     func() time.Time
	DataDir string // drafts live under it
	Width   int
	Height  int
	Ctx     context.Context
}

// Practice is the practice record the service acts in.
func (c *Common) Practice() record.Practice { return c.Svc.PracticeInfo() }

// User is the acting user's name.
func (c *Common) User() string { return c.Svc.User().Name }
