package tui

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// flagGlyph marks a point on a chart: ● normal (or nothing to read it
// against), ▲ high, ▼ low, ◆ abnormal otherwise.
func flagGlyph(flag string) rune {
	switch {
	case flag == "":
		return '●'
	case strings.HasPrefix(flag, "H") || flag == ">":
		return '▲'
	case strings.HasPrefix(flag, "L") || flag == "<":
		return '▼'
	}
	return '◆'
}

func (s series) flagged() bool {
	for _, p := range s.pts {
		if p.flag != "" {
			return true
		}
	}
	return false
}

// resultFlagCell is the flag column: the abnormal flag, as an alert.
func resultFlagCell(o *record.Observation, st Styles) string {
	f := clinical.ResultFlag(o)
	if f == "" {
		return fit("", 5)
	}
	return st.Alert.Render(fit(f, 5))
}

// series is one observable's values over time.
type series struct {
	code   string
	name   string
	unit   string
	pts    []point
	band   *[2]float64 // target band, if there is one
	second bool        // diastolic too
	rng    string      // the reference range the values are read against
}

type point struct {
	at   time.Time
	a, b float64
	flag string // the abnormal flag (the laboratory's, or against the range)
}

// targets are the bands drawn on trend charts (NICE NG28 HbA1c 48–58 mmol/mol;
// clinic BP below 140/90).
var targets = map[string][2]float64{
	"999791000000106": {48, 58},
	"75367002":        {90, 140},
}

func buildSeries(obs []*record.Observation) []series {
	by := map[string]*series{}
	var order []string
	for i := len(obs) - 1; i >= 0; i-- { // oldest first
		o := obs[i]
		if o.Status == record.StatusEnteredInError {
			continue
		}
		s, ok := by[o.Code.Code]
		if !ok {
			s = &series{code: o.Code.Code, name: shortTerm(o.Code), unit: o.Unit}
			if t, ok := targets[o.Code.Code]; ok {
				t := t
				s.band = &t
			}
			by[o.Code.Code] = s
			order = append(order, o.Code.Code)
		}
		switch {
		case o.IsBP() && o.Systolic != nil && o.Diastolic != nil:
			s.second = true
			s.unit = "mmHg"
			s.pts = append(s.pts, point{at: o.Effective, a: *o.Systolic, b: *o.Diastolic})
		case o.Value != nil:
			s.pts = append(s.pts, point{at: o.Effective, a: *o.Value, flag: clinical.ResultFlag(o)})
			if r := clinical.RangeOf(o); r != nil {
				s.rng = r.Label() // the latest value's range names the chart's
			}
		}
	}
	var out []series
	for _, c := range order {
		if len(by[c].pts) >= 2 {
			out = append(out, *by[c])
		}
	}
	// HbA1c and BP first: what a GP looks at.
	rank := func(c string) int {
		switch c {
		case "999791000000106":
			return 0
		case "75367002":
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].code) < rank(out[j].code) })
	return out
}

// chart draws a series as text: a y axis, the target band shaded, points as
// ● (and ○ for diastolic), first and last dates under it.
func chart(s series, st Styles, w, h int) []string {
	if h < 3 || w < 20 {
		return nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.pts {
		lo, hi = math.Min(lo, p.a), math.Max(hi, p.a)
		if s.second {
			lo, hi = math.Min(lo, p.b), math.Max(hi, p.b)
		}
	}
	if s.band != nil {
		lo, hi = math.Min(lo, s.band[0]), math.Max(hi, s.band[1])
	}
	if hi-lo < 1 {
		hi, lo = hi+1, lo-1
	}
	pad := (hi - lo) * 0.05
	lo, hi = lo-pad, hi+pad
	const axis = 7
	pw := w - axis
	grid := make([][]rune, h)
	for i := range grid {
		grid[i] = []rune(strings.Repeat(" ", pw))
	}
	row := func(v float64) int {
		r := int(math.Round((hi - v) / (hi - lo) * float64(h-1)))
		return max(0, min(h-1, r))
	}
	inBand := make([]bool, h)
	if s.band != nil {
		for r := row(s.band[1]); r <= row(s.band[0]); r++ {
			inBand[r] = true
		}
	}
	t0, t1 := s.pts[0].at, s.pts[len(s.pts)-1].at
	span := t1.Sub(t0)
	col := func(t time.Time) int {
		if span <= 0 {
			return 0
		}
		return max(0, min(pw-1, int(float64(pw-1)*float64(t.Sub(t0))/float64(span))))
	}
	for _, p := range s.pts {
		c := col(p.at)
		if s.second {
			grid[row(p.b)][c] = '○'
		}
		grid[row(p.a)][c] = flagGlyph(p.flag)
	}
	// Axis labels keep the data's precision: HbA1c 6.3 and 5.3 % must not
	// read as 6 and 5.
	dec := 0
	for _, p := range s.pts {
		dec = max(dec, decimals(p.a))
		if s.second {
			dec = max(dec, decimals(p.b))
		}
	}
	var out []string
	for r := 0; r < h; r++ {
		label := ""
		if r == 0 || r == h-1 || r == h/2 {
			label = strconv.FormatFloat(hi-(hi-lo)*float64(r)/float64(h-1), 'f', dec, 64)
		}
		line := string(grid[r])
		if inBand[r] {
			line = strings.ReplaceAll(line, " ", "·")
			line = st.Band.Render(line)
		}
		out = append(out, fit(label, axis-2)+"│ "+line)
	}
	first, last := DateOf(t0), DateOf(t1)
	out = append(out, strings.Repeat(" ", axis-2)+"└ "+fit(first, pw-len(last))+last)
	return out
}

// decimals is how many decimal places a value was recorded with (at most 3).
func decimals(v float64) int {
	for d := 0; d < 3; d++ {
		x := v * math.Pow10(d)
		if math.Abs(x-math.Round(x)) < 1e-9*math.Max(1, math.Abs(x)) {
			return d
		}
	}
	return 3
}

func (p *recordPage) resultsLines(w, h int) []string {
	st := p.c.Styles
	d := p.data
	var out []string
	ss := buildSeries(d.obs)
	if len(ss) > 0 {
		s := ss[p.chart%len(ss)]
		title := "Trend: " + s.name + " (" + s.unit + ")"
		if s.band != nil {
			title += "  target " + num(s.band[0]) + "–" + num(s.band[1])
		}
		if s.rng != "" {
			title += "  range " + s.rng
		}
		if s.flagged() {
			title += "  ▲ high ▼ low ◆ abnormal"
		}
		title = st.Heading.Render(title)
		if len(ss) > 1 {
			title += st.Muted.Render("  " + p.c.Keys.Key("record", "next-chart") + " next chart (" + itoa(p.chart%len(ss)+1) + "/" + itoa(len(ss)) + ")")
		}
		out = append(out, title)
		ch := 6
		if h >= 30 {
			ch = 12
		}
		out = append(out, chart(s, st, min(w, 100), ch)...)
	}
	nameW := min(40, max(20, w-12-18-5-22))
	out = append(out, st.Heading.Render(fit("Date", 12)+fit("Result", nameW)+fit("Value", 18)+fit("Flag", 5)+"Range"))
	if len(d.obs) == 0 {
		out = append(out, st.Muted.Render("No results"))
	}
	for _, o := range d.obs {
		v := obsValueBesideFlag(o)
		line := fit(DateOf(o.Effective), 12) + fit(cut(shortTerm(o.Code), nameW-2), nameW)
		rng := clinical.RangeOf(o)
		if rng == nil && clinical.ResultFlag(o) == "" {
			out = append(out, line+v) // nothing to read it against: the value takes the row
			continue
		}
		if lipgloss.Width(v) > 17 {
			out = append(out, line+v) // a long value or a validation flag: its own line
			line = strings.Repeat(" ", 12+nameW)
			v = ""
		}
		out = append(out, line+fit(v, 18)+resultFlagCell(o, st)+st.Muted.Render(rng.Label()))
	}
	return out
}

// summaryFlag follows a value in the summary when it is abnormal.
func summaryFlag(o *record.Observation, st Styles) string {
	if f := clinical.ResultFlag(o); f != "" {
		return "  " + st.Alert.Render(f)
	}
	return ""
}
