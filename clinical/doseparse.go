package clinical

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Structured doses. Dose text as GPs write it ("1-2 qds prn", "4 tablets on
// Monday") and as the NHS dm+d dose syntax words it ("Take one tablet twice a
// day for 7 days") is parsed into amount, unit, frequency, interval, days of
// the week and duration. The structure is shown back to the prescriber before
// saving, words the printed medication list, and feeds the dose checks. Text
// that does not parse is kept as written and the dose is "not checked": a
// parser that guessed would be worse than none.

// Dose is one parsed dose instruction.
type Dose struct {
	Text      string  `json:"text"`
	Amount    float64 `json:"amount,omitempty"`    // per administration (lower bound of a range)
	AmountMax float64 `json:"amountMax,omitempty"` // upper bound of a range ("1-2"); = Amount otherwise
	// Unit of the amount: a count of the product's unit when empty ("2 tablets"
	// on a tablet product is empty too), or a measure: mg, microgram, g, ml, unit.
	Unit          string         `json:"unit,omitempty"`
	Form          string         `json:"form,omitempty"`          // the count noun written: tablet, puff, drop…
	Times         int            `json:"times,omitempty"`         // administrations per period
	UpTo          bool           `json:"upTo,omitempty"`          // "up to 4 times a day"
	IntervalHours float64        `json:"intervalHours,omitempty"` // "every 4 hours" (the shortest of "4-6")
	IntervalMax   float64        `json:"intervalMaxHours,omitempty"`
	PeriodDays    int            `json:"periodDays,omitempty"` // 1 daily, 2 every other day, 7 weekly
	Days          []time.Weekday `json:"days,omitempty"`       // named days of the week
	TimeOfDay     string         `json:"timeOfDay,omitempty"`  // morning | night | evening | midday
	DurationDays  int            `json:"durationDays,omitempty"`
	PRN           bool           `json:"prn,omitempty"`
	Stat          bool           `json:"stat,omitempty"`      // one dose now
	Loading       float64        `json:"loading,omitempty"`   // "2 stat then 1 qds": the first dose
	MaxPerDay     float64        `json:"maxPerDay,omitempty"` // "max 8 in 24 hours", in the amount's unit
	MaxDosesDay   int            `json:"maxDosesPerDay,omitempty"`
	Verb          string         `json:"verb,omitempty"`  // Take | Apply | Use | Inhale | Insert | Instil | Dissolve
	Extra         []string       `json:"extra,omitempty"` // words kept as written ("with food")
}

// DoseError says why a dose could not be parsed.
type DoseError struct{ Text, Reason string }

func (e *DoseError) Error() string { return fmt.Sprintf("dose %q: %s", e.Text, e.Reason) }

var (
	reNumUnit    = regexp.MustCompile(`^(\d+(?:\.\d+)?)(mg|mcg|micrograms?|g|grams?|ml|mls|units?|iu|drops?|puffs?|sprays?)$`)
	reRangeUnits = regexp.MustCompile(`^(\d+(?:\.\d+)?)(mg|g|mcg|micrograms?|ml)?-(\d+(?:\.\d+)?)(mg|g|mcg|micrograms?|ml)$`)
	reRange      = regexp.MustCompile(`^(\d+(?:\.\d+)?)(?:-|–|to)(\d+(?:\.\d+)?)$`)
	reQnH        = regexp.MustCompile(`^q(\d+)h$`)
	reNHrly      = regexp.MustCompile(`^(\d+)(?:h|hr|hrs|hrly|hourly)$`)
	reXn         = regexp.MustCompile(`^x(\d+)$`)
	reNx         = regexp.MustCompile(`^(\d+)x$`)
	reNd         = regexp.MustCompile(`^(\d+)(d|days?|w|wks?|weeks?|m|months?)$`)
)

var wordNums = map[string]float64{"half": 0.5, "½": 0.5, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "a": -1, "an": -1}

var weekdays = map[string]time.Weekday{"monday": time.Monday, "mon": time.Monday, "mondays": time.Monday,
	"tuesday": time.Tuesday, "tue": time.Tuesday, "tues": time.Tuesday, "tuesdays": time.Tuesday,
	"wednesday": time.Wednesday, "wed": time.Wednesday, "wednesdays": time.Wednesday,
	"thursday": time.Thursday, "thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursdays": time.Thursday,
	"friday": time.Friday, "fri": time.Friday, "fridays": time.Friday,
	"saturday": time.Saturday, "sat": time.Saturday, "saturdays": time.Saturday,
	"sunday": time.Sunday, "sun": time.Sunday, "sundays": time.Sunday}

// countUnits are the words for a count of the product's unit.
var countUnits = map[string]string{"tablet": "tablet", "tablets": "tablet", "tab": "tablet", "tabs": "tablet", "caplet": "tablet", "caplets": "tablet",
	"capsule": "capsule", "capsules": "capsule", "cap": "capsule", "caps": "capsule",
	"puff": "puff", "puffs": "puff", "drop": "drop", "drops": "drop", "spray": "spray", "sprays": "spray",
	"sachet": "sachet", "sachets": "sachet", "patch": "patch", "patches": "patch", "pessary": "pessary", "pessaries": "pessary",
	"suppository": "suppository", "suppositories": "suppository", "application": "application", "applications": "application",
	"dose": "dose", "doses": "dose", "lozenge": "lozenge", "lozenges": "lozenge", "pastille": "pastille", "pastilles": "pastille",
	"spoonful": "5ml spoonful", "spoonfuls": "5ml spoonful", "5ml": "5ml spoonful", "5mls": "5ml spoonful", "vial": "vial", "ampoule": "ampoule",
	"inhalation": "puff", "inhalations": "puff", "blister": "blister", "scoop": "scoop", "scoops": "scoop", "measure": "measure", "measures": "measure"}

var measureUnits = map[string]string{"mg": "mg", "mcg": "microgram", "microgram": "microgram", "micrograms": "microgram",
	"g": "g", "gram": "g", "grams": "g", "ml": "ml", "mls": "ml", "millilitres": "ml", "unit": "unit", "units": "unit", "iu": "unit"}

var verbs = map[string]string{"take": "Take", "apply": "Apply", "use": "Use", "inhale": "Inhale", "insert": "Insert",
	"instil": "Instil", "instill": "Instil", "dissolve": "Dissolve", "chew": "Chew", "suck": "Suck", "spray": "Spray",
	"give": "Give", "inject": "Inject", "put": "Put", "place": "Place", "rub": "Rub", "massage": "Massage"}

var filler = map[string]bool{"to": true, "be": true, "taken": true, "the": true, "and": false, "of": true, "in": true, "is": true,
	"used": true, "applied": true, "inhaled": true, "inserted": true, "orally": true, "by": true, "mouth": true, "po": true,
	"oral": true, "then": false, "each": false, "per": false}

// ParseDose parses dose text. It returns a *DoseError when the text says
// too little to be checked (no amount or no frequency) or holds words it
// does not understand in a place that changes the dose.
func ParseDose(text string) (Dose, error) {
	d := Dose{Text: strings.TrimSpace(text)}
	toks := doseTokens(d.Text)
	if len(toks) == 0 {
		return d, &DoseError{d.Text, "empty"}
	}
	has := func(i int, ws ...string) bool {
		for k, w := range ws {
			if i+k >= len(toks) || toks[i+k] != w {
				return false
			}
		}
		return true
	}
	num := func(i int) (float64, bool) {
		if i >= len(toks) {
			return 0, false
		}
		if n, ok := wordNums[toks[i]]; ok && n > 0 {
			return n, true
		}
		n, err := strconv.ParseFloat(toks[i], 64)
		return n, err == nil && n > 0
	}
	setAmount := func(lo, hi float64, unit string) bool {
		if d.Amount != 0 {
			return false
		}
		d.Amount, d.AmountMax = lo, hi
		if countUnits[unit] != "" {
			d.Form = countUnits[unit]
		} else {
			d.Unit = measureUnits[unit]
		}
		return true
	}
	setTimes := func(n int) {
		if d.Times == 0 {
			d.Times = n
		}
		if d.PeriodDays == 0 {
			d.PeriodDays = 1
		}
	}
	var unknown []string
	for i := 0; i < len(toks); i++ {
		w := toks[i]
		switch {
		case verbs[w] != "" && d.Verb == "":
			d.Verb = verbs[w]
		case filler[w]:
		case w == "on" && !isDay(at(toks, i+1)) && d.Times == 0 && d.IntervalHours == 0:
			setTimes(1) // "on": omni nocte, every night
			d.TimeOfDay = "night"
		case w == "then" && d.Stat && d.Amount != 0 && d.Loading == 0:
			d.Loading, d.Amount, d.AmountMax, d.Stat, d.Times, d.PeriodDays = d.AmountMax, 0, 0, false, 0, 0
		case w == "and" || w == "then" || w == "a" || w == "an" || w == "or" || w == "at" || w == "on" || (w == "every" || w == "each") && isDay(at(toks, i+1)):
			// connectives; "a"/"an" as an amount ("a tablet") when a unit follows
			if (w == "a" || w == "an") && d.Amount == 0 && countUnits[at(toks, i+1)] != "" {
				setAmount(1, 1, toks[i+1])
				i++
			}
		case reNumUnit.MatchString(w):
			m := reNumUnit.FindStringSubmatch(w)
			n, _ := strconv.ParseFloat(m[1], 64)
			if !setAmount(n, n, m[2]) {
				unknown = append(unknown, w)
			}
		case reRangeUnits.MatchString(w):
			m := reRangeUnits.FindStringSubmatch(w) // "500mg-1g"
			lo, _ := strconv.ParseFloat(m[1], 64)
			hi, _ := strconv.ParseFloat(m[3], 64)
			lu, hu := measureUnits[m[2]], measureUnits[m[4]]
			if lu == "" {
				lu = hu
			}
			if lu == "mg" && hu == "g" {
				hi *= 1000
			} else if lu != hu {
				unknown = append(unknown, w)
				continue
			}
			if !setAmount(lo, hi, m[2]+"") || lo > hi {
				unknown = append(unknown, w)
			}
			d.Unit = lu
		case reRange.MatchString(w) && (at(toks, i+1) == "hourly" || at(toks, i+1) == "hrly" || at(toks, i+1) == "hours"):
			m := reRange.FindStringSubmatch(w) // "4-6 hourly": the shortest interval gives the most doses
			d.IntervalHours, _ = strconv.ParseFloat(m[1], 64)
			d.IntervalMax, _ = strconv.ParseFloat(m[2], 64)
			i++
		case reRange.MatchString(w):
			m := reRange.FindStringSubmatch(w)
			lo, _ := strconv.ParseFloat(m[1], 64)
			hi, _ := strconv.ParseFloat(m[2], 64)
			if hi < lo {
				return d, &DoseError{d.Text, "a range runs from low to high"}
			}
			unit := ""
			i += amountUnit(toks, i+1, &unit)
			if !setAmount(lo, hi, unit) {
				unknown = append(unknown, w)
			}
		case w == "max" || w == "maximum" || w == "not" && has(i+1, "more", "than") || w == "no" && has(i+1, "more", "than"):
			j := i + 1
			if w == "not" || w == "no" {
				j = i + 3
			}
			if j < len(toks) && toks[j] == "of" {
				j++
			}
			n, ok := num(j)
			maxUnit := ""
			if !ok {
				if m := reNumUnit.FindStringSubmatch(at(toks, j)); m != nil {
					n, _ = strconv.ParseFloat(m[1], 64)
					maxUnit, ok = measureUnits[m[2]], true
				}
			} else if u := measureUnits[at(toks, j+1)]; u != "" {
				maxUnit = u
			}
			// a maximum in another measure than the amount ("500mg … max 4g") is converted, or refused
			if maxUnit != "" && maxUnit != d.Unit {
				f, ok := convertMeasure(n, maxUnit, d.Unit)
				if !ok {
					return d, &DoseError{d.Text, "the maximum is in " + maxUnit + ", the dose in " + orDash(d.Unit)}
				}
				n = f
			}
			if !ok {
				return d, &DoseError{d.Text, "a maximum needs a number"}
			}
			j++
			isDoses := false
			for j < len(toks) && (countUnits[toks[j]] != "" || measureUnits[toks[j]] != "" || toks[j] == "times") {
				if toks[j] == "doses" || toks[j] == "dose" || toks[j] == "times" {
					isDoses = true
				}
				j++
			}
			// "in 24 hours", "a day", "per day", "daily", "in one day"
			for j < len(toks) && (toks[j] == "in" || toks[j] == "per" || toks[j] == "a" || toks[j] == "24" || toks[j] == "hours" ||
				toks[j] == "day" || toks[j] == "daily" || toks[j] == "one" || toks[j] == "24hrs" || toks[j] == "24h" || toks[j] == "hrs" || toks[j] == "/24") {
				j++
			}
			if isDoses {
				d.MaxDosesDay = int(n)
			} else {
				d.MaxPerDay = n
			}
			i = j - 1
		case w == "for" || w == "x" && (reNd.MatchString(at(toks, i+1)) || periodDays(at(toks, i+2)) > 0):
			n, ok := num(i + 1)
			if ok && i+2 < len(toks) {
				if days := periodDays(toks[i+2]); days > 0 {
					d.DurationDays = int(n) * days
					i += 2
					continue
				}
			}
			if m := reNd.FindStringSubmatch(at(toks, i+1)); m != nil {
				n, _ := strconv.Atoi(m[1])
				d.DurationDays = n * periodDays(m[2])
				i++
				continue
			}
			unknown = append(unknown, w)
		case reNd.MatchString(w) && d.Amount != 0 && (d.Times != 0 || d.IntervalHours != 0):
			m := reNd.FindStringSubmatch(w) // "1 bd 7d"
			n, _ := strconv.Atoi(m[1])
			d.DurationDays = n * periodDays(m[2])
		case w == "od" || w == "daily" || w == "dly" || w == "qd" || w == "once" && (has(i+1, "a", "day") || has(i+1, "daily") || has(i+1, "day")):
			setTimes(1)
			i += skipPer(toks, i+1)
		case w == "once" && (has(i+1, "a", "week") || has(i+1, "weekly") || has(i+1, "every", "week") || has(i+1, "each", "week")):
			d.Times, d.PeriodDays = 1, 7
			i += skipPer(toks, i+1)
		case w == "once" && has(i+1, "only"):
			d.Stat = true
			i++
		case w == "weekly" || w == "wkly" || w == "week" || w == "weeks" || w == "/52" || w == "once-weekly":
			if d.Times == 0 {
				d.Times = 1
			}
			d.PeriodDays = 7
		case w == "once":
			setTimes(1)
		case w == "bd" || w == "bid" || w == "twice" || w == "b.d":
			if has(i+1, "a", "week") || has(i+1, "weekly") || has(i+1, "each", "week") {
				d.Times, d.PeriodDays = 2, 7
				i += skipPer(toks, i+1)
				continue
			}
			setTimes(2)
			i += skipPer(toks, i+1)
		case w == "tds" || w == "tid" || w == "thrice":
			setTimes(3)
			i += skipPer(toks, i+1)
		case w == "qds" || w == "qid":
			setTimes(4)
			i += skipPer(toks, i+1)
		case (w == "times" || w == "x") && d.Times == 0:
			// "3 times a day" — the number came before and was taken as the amount
			return d, &DoseError{d.Text, "say how much each time, then how often"}
		case reXn.MatchString(w) || reNx.MatchString(w):
			m := reXn.FindStringSubmatch(w)
			if m == nil {
				m = reNx.FindStringSubmatch(w)
			}
			n, _ := strconv.Atoi(m[1])
			if has(i+1, "week") || has(i+1, "weekly") || has(i+1, "a", "week") {
				d.Times, d.PeriodDays = n, 7
			} else {
				setTimes(n)
			}
			i += skipPer(toks, i+1)
		case w == "om" || w == "mane" || w == "morning" || w == "mornings" || w == "breakfast":
			setTimes(1)
			d.TimeOfDay = "morning"
		case w == "nocte" || w == "night" || w == "bedtime" || w == "nightly" || w == "at-night" || w == "on-night" || w == "evening" || w == "evenings":
			setTimes(1)
			d.TimeOfDay = "night"
			if strings.HasPrefix(w, "evening") {
				d.TimeOfDay = "evening"
			}
		case w == "midday" || w == "lunchtime" || w == "noon":
			setTimes(1)
			d.TimeOfDay = "midday"
		case w == "prn" || w == "required" || w == "needed" || w == "necessary" || w == "p.r.n":
			d.PRN = true
		case w == "as" && has(i+1, "directed"):
		case w == "when" || w == "as" && (has(i+1, "required") || has(i+1, "needed") || has(i+1, "necessary")) || w == "if":
			// "when required", "as required", "if needed"
		case w == "stat" || w == "immediately" || w == "now":
			d.Stat = true
		case w == "up" && has(i+1, "to"):
			d.UpTo = true
			i++
		case w == "alt" || w == "alternate" || w == "other" && i > 0 && toks[i-1] == "every":
			d.PeriodDays = 2
			if d.Times == 0 {
				d.Times = 1
			}
			if i+1 < len(toks) && (toks[i+1] == "day" || toks[i+1] == "days") {
				i++
			}
		case w == "every" || w == "each":
			j := i + 1
			n := 1.0
			if x, ok := num(j); ok {
				n, j = x, j+1
				if at(toks, j) == "to" || at(toks, j) == "or" { // "every four to six hours"
					if hi, ok := num(j + 1); ok {
						d.IntervalMax = hi
						j += 2
					}
				}
			} else if r := reRange.FindStringSubmatch(at(toks, j)); r != nil {
				lo, _ := strconv.ParseFloat(r[1], 64)
				n, j = lo, j+1 // "every 4-6 hours": the shortest interval gives the most doses
				d.IntervalMax, _ = strconv.ParseFloat(r[2], 64)
			}
			switch at(toks, j) {
			case "hours", "hour", "hrs", "hr", "h":
				d.IntervalHours = n
				i = j
			case "day", "days":
				d.PeriodDays, i = int(n), j
				if d.Times == 0 {
					d.Times = 1
				}
			case "week", "weeks":
				d.PeriodDays, i = 7*int(n), j
				if d.Times == 0 {
					d.Times = 1
				}
			case "morning":
				setTimes(1)
				d.TimeOfDay, i = "morning", j
			case "night", "evening":
				setTimes(1)
				d.TimeOfDay, i = at(toks, j), j
			case "other":
			default:
				if !isDay(at(toks, j)) && !isCareWord(at(toks, j)) {
					unknown = append(unknown, w)
				}
			}
		case reQnH.MatchString(w) || reNHrly.MatchString(w):
			m := reQnH.FindStringSubmatch(w)
			if m == nil {
				m = reNHrly.FindStringSubmatch(w)
			}
			n, _ := strconv.ParseFloat(m[1], 64)
			d.IntervalHours = n
			if has(i+1, "hourly") || has(i+1, "hrly") {
				i++
			}
		case isDay(w):
			d.Days = appendDay(d.Days, weekdays[w])
		case w == "day" || w == "days" || w == "daily," || w == "hours" || w == "hourly" || w == "hrly":
			if (w == "hourly" || w == "hrly") && d.Amount != 0 && i > 0 {
				// "4 hourly" after the amount: "1 4 hourly"
				if n, err := strconv.ParseFloat(toks[i-1], 64); err == nil && d.IntervalHours == 0 {
					d.IntervalHours = n
				}
			}
		case w == "mdu" || w == "ud" || w == "asd" || w == "directed":
			d.Extra = append(d.Extra, "as directed")
		default:
			if n, ok := num(i); ok {
				if i+1 < len(toks) && (toks[i+1] == "times" || toks[i+1] == "x") {
					// "3 times a day" / "4 times daily"
					if has(i+2, "a", "week") || has(i+2, "weekly") || has(i+2, "each", "week") || has(i+2, "per", "week") {
						d.Times, d.PeriodDays = int(n), 7
					} else {
						setTimes(int(n))
					}
					i += 1 + skipPer(toks, i+2)
					continue
				}
				if i+1 < len(toks) && (toks[i+1] == "hourly" || toks[i+1] == "hrly" || toks[i+1] == "hours" && i > 0 && toks[i-1] == "every") {
					d.IntervalHours = n
					i++
					continue
				}
				if i+2 < len(toks) && (toks[i+1] == "or" || toks[i+1] == "to") {
					if hi, ok := num(i + 2); ok {
						j := i + 3
						unit := ""
						j += amountUnit(toks, j, &unit)
						if !setAmount(n, hi, unit) {
							unknown = append(unknown, w)
						}
						i = j - 1
						continue
					}
				}
				unit := ""
				i += amountUnit(toks, i+1, &unit)
				if !setAmount(n, n, unit) {
					unknown = append(unknown, w)
				}
				continue
			}
			if isCareWord(w) {
				d.Extra = append(d.Extra, w)
				continue
			}
			if countUnits[w] != "" || measureUnits[w] != "" {
				continue // a unit after an amount already taken
			}
			unknown = append(unknown, w)
		}
	}
	if d.Verb == "" {
		d.Verb = "Take"
	}
	if d.AmountMax == 0 {
		d.AmountMax = d.Amount
	}
	if len(d.Days) > 0 {
		if d.PeriodDays == 0 || d.PeriodDays == 1 {
			d.PeriodDays = 7
		}
		if d.Times == 0 || d.Times == 1 {
			d.Times = len(d.Days)
		}
	}
	if d.IntervalHours > 0 && d.PeriodDays == 0 {
		d.PeriodDays = 1
	}
	switch {
	case len(unknown) > 0:
		return d, &DoseError{d.Text, "not understood: " + strings.Join(unknown, " ")}
	case d.Amount == 0 && (d.Verb == "Apply" || d.Verb == "Use" || d.Verb == "Rub" || d.Verb == "Massage") && (d.Times > 0 || d.IntervalHours > 0):
		// a cream "apply twice a day": understood, but with no amount to check
	case d.Amount == 0:
		return d, &DoseError{d.Text, "no amount (how much each time)"}
	case d.Times == 0 && d.IntervalHours == 0 && !d.Stat:
		return d, &DoseError{d.Text, "no frequency (how often)"}
	case d.Stat && d.Times == 0 && d.IntervalHours == 0:
		d.Times, d.PeriodDays = 1, 1
	}
	return d, nil
}

func orDash(s string) string {
	if s == "" {
		return "a count"
	}
	return s
}

// convertMeasure converts between mass units (g, mg, microgram).
func convertMeasure(n float64, from, to string) (float64, bool) {
	scale := map[string]float64{"g": 1e6, "mg": 1e3, "microgram": 1}
	f, ok1 := scale[from]
	t, ok2 := scale[to]
	if !ok1 || !ok2 {
		return 0, false
	}
	return n * f / t, true
}

func isDay(w string) bool { _, ok := weekdays[w]; return ok }

func at(toks []string, i int) string {
	if i < len(toks) {
		return toks[i]
	}
	return ""
}

func appendDay(ds []time.Weekday, d time.Weekday) []time.Weekday {
	for _, x := range ds {
		if x == d {
			return ds
		}
	}
	return append(ds, d)
}

// amountUnit reads a unit after an amount; it returns how many tokens it used.
func amountUnit(toks []string, i int, unit *string) int {
	w := at(toks, i)
	if measureUnits[w] != "" || countUnits[w] != "" {
		*unit = w
		if (w == "5ml" || w == "5mls") && (at(toks, i+1) == "spoonful" || at(toks, i+1) == "spoonfuls") {
			return 2
		}
		return 1
	}
	return 0
}

// skipPer skips "a day", "daily", "per day", "each day", "in the day" after a frequency.
func skipPer(toks []string, i int) int {
	switch {
	case at(toks, i) == "a" && at(toks, i+1) == "day", at(toks, i) == "per" && at(toks, i+1) == "day", at(toks, i) == "each" && at(toks, i+1) == "day",
		at(toks, i) == "every" && at(toks, i+1) == "day":
		return 2
	case at(toks, i) == "a" && at(toks, i+1) == "week", at(toks, i) == "per" && at(toks, i+1) == "week", at(toks, i) == "each" && at(toks, i+1) == "week",
		at(toks, i) == "every" && at(toks, i+1) == "week":
		return 2
	case at(toks, i) == "daily" || at(toks, i) == "day" || at(toks, i) == "weekly":
		return 1
	}
	return 0
}

func periodDays(w string) int {
	switch w {
	case "d", "day", "days", "night", "nights":
		return 1
	case "w", "wk", "wks", "week", "weeks":
		return 7
	case "m", "month", "months":
		return 28
	}
	return 0
}

// careWords are instructions kept as written: they do not change the amount.
var careWords = map[string]string{"food": "with or after food", "ac": "before food", "pc": "after food", "cc": "with food",
	"meals": "with meals", "water": "with water", "sl": "under the tongue", "top": "to the skin", "pr": "rectally", "pv": "vaginally",
	"affected": "to the affected area", "area": "", "areas": "", "thinly": "thinly", "sparingly": "sparingly", "eye": "into the eye",
	"eyes": "into both eyes", "ear": "into the ear", "ears": "into both ears", "nostril": "into each nostril", "nostrils": "into each nostril",
	"both": "", "left": "", "right": "", "with": "", "after": "", "before": "", "food.": "", "skin": "", "into": "", "under": "",
	"tongue": "", "swallowed": "", "whole": "", "plenty": "", "fluid": "", "fluids": "", "pain": "for pain", "nausea": "for nausea",
	"constipation": "for constipation", "wheeze": "for wheeze", "breathlessness": "for breathlessness", "sleep": "for sleep",
	"itch": "for itch", "rectally": "rectally", "vaginally": "vaginally", "inhaler": "", "spacer": "", "via": "", "onto": "",
	"same": "", "time": "", "hayfever": "", "symptoms": "", "relief": "", "mouthwash": "", "gargle": "", "rinse": "", "around": "",
	"shake": "", "well": "", "dilute": "", "glass": "", "allergy": "", "migraine": "for migraine", "anxiety": "for anxiety",
	"cough": "for cough", "diarrhoea": "for diarrhoea", "loose": "", "stool": "", "stools": "", "after each": "", "from": ""}

func isCareWord(w string) bool { _, ok := careWords[w]; return ok }

// doseTokens lower-cases dose text and splits it into words, keeping "1-2",
// "2.5mg" and "q4h" whole, and separating "1tab" and "10mls".
func doseTokens(s string) []string {
	s = doseReplacer.Replace(strings.ToLower(s))
	var out []string
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, ".:")
		if w == "" {
			continue
		}
		// "1tab" -> "1", "tab"; "2puffs" -> "2puffs" (number+unit kept for reNumUnit)
		if m := reNumWord.FindStringSubmatch(w); m != nil && !reNumUnit.MatchString(w) && !reNd.MatchString(w) && !reNHrly.MatchString(w) && !reNx.MatchString(w) {
			out = append(out, m[1], m[2])
			continue
		}
		out = append(out, w)
	}
	return out
}

// doseReplacer normalises punctuation and dotted abbreviations ("t.d.s.", "5/7").
var doseReplacer = strings.NewReplacer(",", " ", ";", " ", "(", " ", ")", " ", "–", "-", "/7", " days", "/52", " weeks", "/12", " months",
	"o.d.", "od", "b.d.", "bd", "t.d.s.", "tds", "q.d.s.", "qds", "p.r.n.", "prn", "b.d", "bd", "t.d.s", "tds", "q.d.s", "qds")

var reNumWord = regexp.MustCompile(`^(\d+(?:\.\d+)?)([a-z]+)$`)

// PerDayMax is the most of the amount's unit the dose allows in one day (a
// weekly dose averaged over... no: the day it is taken). ok is false when
// the dose gives no way to count it.
func (d Dose) PerDayMax() (float64, bool) {
	if d.Amount == 0 {
		return 0, false
	}
	times := float64(d.Times)
	if d.IntervalHours > 0 {
		t := math.Floor(24 / d.IntervalHours)
		if t > times {
			times = t
		}
	}
	if d.PeriodDays > 1 {
		times = 1 // taken on one day of the period: that day's amount
		if d.Times > 1 && len(d.Days) == 0 && d.PeriodDays == 7 {
			times = 1
		}
	}
	if times == 0 {
		times = 1
	}
	amt := d.AmountMax*times + d.Loading
	if d.MaxDosesDay > 0 && float64(d.MaxDosesDay)*d.AmountMax < amt {
		amt = float64(d.MaxDosesDay) * d.AmountMax
	}
	if d.MaxPerDay > 0 && d.MaxPerDay < amt {
		amt = d.MaxPerDay
	}
	return amt, true
}

// PerWeekMax is the most of the amount's unit the dose allows in a week.
func (d Dose) PerWeekMax() (float64, bool) {
	day, ok := d.PerDayMax()
	if !ok {
		return 0, false
	}
	switch {
	case d.PeriodDays == 7:
		return d.AmountMax * float64(max(d.Times, 1)), true
	case d.PeriodDays > 1:
		return day * math.Ceil(7/float64(d.PeriodDays)), true
	}
	return day * 7, true
}

// UnitsPerDay is the average use per day in the amount's unit, for supply
// length (a weekly dose counts a seventh a day).
func (d Dose) UnitsPerDay() (float64, bool) {
	w, ok := d.PerWeekMax()
	if !ok {
		return 0, false
	}
	return w / 7, true
}

// Weekly says the dose is taken on some days of the week only.
func (d Dose) Weekly() bool { return d.PeriodDays == 7 }
