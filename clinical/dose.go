package clinical

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var measured = regexp.MustCompile(`^(\d+(?:\.\d+)?)(ml|mg|g|micrograms?|units?|drops?|puffs?)$`)

// DoseInWords writes dose instructions as a patient reads them ("1 od" ->
// "Take ONE tablet once a day"): from the parsed dose when the text parses,
// else word by word with the common abbreviations expanded and every other
// word kept as written, so nothing the prescriber wrote is lost.
func DoseInWords(dose, unit string) string {
	d, err := ParseDose(dose)
	if err == nil {
		return d.Words(unit)
	}
	if de, ok := err.(*DoseError); ok && strings.HasPrefix(de.Reason, "no amount") && (d.Times > 0 || d.IntervalHours > 0) {
		d.Amount, d.AmountMax = 0, 0
		return d.Words(unit) // "bd": "Take twice a day"
	}
	return literalWords(dose, unit)
}

// Words says the dose in full for a product prescribed in unit (tablet,
// capsule, ml, gram…): the amount in capitals, then how often, on which
// days, for how long, and the most in a day.
func (d Dose) Words(unit string) string {
	var out []string
	form := d.Form
	if form == "" && d.Unit == "" {
		form = unit
	}
	verb := d.Verb
	if verb == "Take" {
		switch {
		case unit == "gram" || form == "application":
			verb = "Apply"
		case form == "puff":
			verb = "Inhale"
		case form == "spray" || form == "drop" || unit == "inhaler" || unit == "spray":
			verb = "Use"
		case form == "pessary" || form == "suppository":
			verb = "Insert"
		case form == "patch":
			verb = "Apply"
		}
	}
	out = append(out, verb)
	for _, w := range d.Extra {
		if w == "thinly" || w == "sparingly" {
			out = append(out, w)
		}
	}
	if d.Loading > 0 {
		out = append(out, countWord(d.Loading), formWord(form, d.Loading), "now, then")
	}
	if d.Amount == 0 {
		// an application with no amount: "Apply twice a day"
	} else if d.Unit != "" { // a measure: "10 ml", "15 mg"
		out = append(out, fmtAmount(d.Amount, d.AmountMax)+" "+measureWord(d.Unit, d.AmountMax))
	} else {
		out = append(out, countWords(d.Amount, d.AmountMax))
		if u := formWord(form, d.AmountMax); u != "" {
			out = append(out, u)
		}
	}
	out = append(out, d.frequencyWords()...)
	if d.PRN {
		out = append(out, "when required")
	}
	if d.DurationDays > 0 {
		out = append(out, durationWords(d.DurationDays))
	}
	s := strings.Join(out, " ")
	var care []string
	seen := map[string]bool{}
	for _, w := range d.Extra {
		if w == "thinly" || w == "sparingly" {
			continue
		}
		if c := careWords[w]; c != "" && !seen[c] {
			seen[c] = true
			care = append(care, c)
		} else if w == "as directed" && !seen[w] {
			seen[w] = true
			care = append(care, w)
		}
	}
	if len(care) > 0 {
		s += " " + strings.Join(care, ", ")
	}
	if d.MaxPerDay > 0 {
		mu := formWord(form, d.MaxPerDay)
		if d.Unit != "" {
			mu = measureWord(d.Unit, d.MaxPerDay)
		}
		s += fmt.Sprintf(". No more than %s %s in 24 hours", fmtNum(d.MaxPerDay), mu)
	}
	if d.MaxDosesDay > 0 {
		s += fmt.Sprintf(". No more than %d doses in 24 hours", d.MaxDosesDay)
	}
	return strings.TrimSpace(s)
}

func (d Dose) frequencyWords() []string {
	var out []string
	switch {
	case d.Stat && d.Times <= 1 && d.IntervalHours == 0 && d.PeriodDays <= 1:
		return []string{"now, as one dose"}
	case d.PeriodDays == 7:
		if len(d.Days) > 0 {
			if len(d.Days) == 1 {
				return []string{"once a week, on " + d.Days[0].String()}
			}
			return []string{timesWord(len(d.Days)) + " a week, on " + dayList(d.Days)}
		}
		return []string{timesWord(d.Times) + " a week"}
	case d.PeriodDays == 2:
		return []string{"every other day"}
	case d.PeriodDays > 2:
		return []string{fmt.Sprintf("every %s days", numWord(d.PeriodDays))}
	}
	if d.IntervalHours > 0 {
		every := "every " + numWordF(d.IntervalHours)
		if d.IntervalMax > d.IntervalHours {
			every += " to " + numWordF(d.IntervalMax)
		}
		every += " hours"
		if d.UpTo || d.Times == 0 {
			out = append(out, every)
		} else {
			out = append(out, timesWord(d.Times)+" a day, "+every)
		}
		if d.UpTo && d.Times > 0 {
			out = append(out, "up to "+timesWord(d.Times)+" a day")
		}
		return out
	}
	if d.Times == 1 && d.TimeOfDay != "" && !d.UpTo {
		switch d.TimeOfDay {
		case "morning":
			return []string{"in the morning"}
		case "night":
			return []string{"at night"}
		case "evening":
			return []string{"in the evening"}
		case "midday":
			return []string{"at midday"}
		}
	}
	w := timesWord(d.Times) + " a day"
	if d.UpTo {
		w = "up to " + w
	}
	return []string{w}
}

func timesWord(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return numWord(n) + " times"
}

var smallNums = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"}

func numWord(n int) string {
	if n >= 0 && n < len(smallNums) {
		return smallNums[n]
	}
	return strconv.Itoa(n)
}

func numWordF(f float64) string {
	if f == math.Trunc(f) {
		return numWord(int(f))
	}
	return fmtNum(f)
}

func dayList(ds []time.Weekday) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.String()
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func durationWords(days int) string {
	switch {
	case days%28 == 0 && days >= 56:
		return fmt.Sprintf("for %d weeks", days/7)
	case days%7 == 0 && days >= 14:
		return fmt.Sprintf("for %s weeks", numWord(days/7))
	case days == 1:
		return "for one day"
	}
	return fmt.Sprintf("for %s days", numWord(days))
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func fmtAmount(lo, hi float64) string {
	if hi > lo {
		return fmtNum(lo) + " to " + fmtNum(hi)
	}
	return fmtNum(lo)
}

var capsNums = []string{"", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "ELEVEN", "TWELVE"}

// countWord is a count in capitals, as UK dispensing labels print it.
func countWord(f float64) string {
	switch {
	case f == 0.5:
		return "HALF"
	case f == 1.5:
		return "ONE AND A HALF"
	case f == 2.5:
		return "TWO AND A HALF"
	case f == math.Trunc(f) && f > 0 && int(f) < len(capsNums):
		return capsNums[int(f)]
	}
	return fmtNum(f)
}

func countWords(lo, hi float64) string {
	if hi > lo {
		return countWord(lo) + " or " + countWord(hi)
	}
	if lo == 0.5 {
		return "HALF a"
	}
	return countWord(lo)
}

func measureWord(u string, n float64) string {
	switch u {
	case "microgram":
		if n == 1 {
			return "microgram"
		}
		return "micrograms"
	case "unit":
		if n == 1 {
			return "unit"
		}
		return "units"
	}
	return u
}

// formWord is the product unit after a count: "tablet" / "tablets".
func formWord(form string, n float64) string {
	switch form {
	case "", "dose", "gram", "inhaler":
		if form == "dose" && n > 0 {
			if n > 1 {
				return "doses"
			}
			return "dose"
		}
		return ""
	case "ml":
		return "ml"
	}
	if n <= 1 {
		return form
	}
	switch {
	case strings.HasSuffix(form, "ch"):
		return form + "es"
	case strings.HasSuffix(form, "ry"):
		return strings.TrimSuffix(form, "y") + "ies"
	}
	return form + "s"
}

// literalWords is the word-by-word wording of dose text that does not parse.
func literalWords(dose, unit string) string {
	words := strings.Fields(strings.TrimSpace(dose))
	if len(words) == 0 {
		return ""
	}
	var out []string
	took := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		lw := strings.ToLower(strings.Trim(w, ".,;"))
		if n, ok := doseNumber(lw); ok && !took {
			verb := "Take"
			if strings.Contains(strings.ToLower(dose), "apply") || unit == "gram" {
				verb = "Apply"
			}
			if unit == "spray" || unit == "inhaler" || strings.Contains(strings.ToLower(dose), "puff") {
				verb = "Use"
			}
			if i == 0 {
				out = append(out, verb)
			}
			out = append(out, n)
			if i+1 >= len(words) || !isUnitWord(strings.ToLower(words[i+1])) {
				if u := unitWord(unit, lw); u != "" {
					out = append(out, u)
				}
			}
			took = true
			continue
		}
		if i == 0 && !took {
			if m := measured.FindStringSubmatch(lw); m != nil { // "10ml", "2.5mg"
				out = append(out, "Take", m[1], m[2])
				took = true
				continue
			}
		}
		if x, ok := doseAbbrev[lw]; ok {
			out = append(out, x)
			continue
		}
		out = append(out, w)
	}
	s := strings.Join(out, " ")
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

var numberWords = []string{"", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN"}

func doseNumber(w string) (string, bool) {
	switch w {
	case "half", "0.5", "½":
		return "HALF", true
	case "1-2", "1or2", "one-two":
		return "ONE or TWO", true
	case "2-3":
		return "TWO or THREE", true
	}
	if n, err := strconv.Atoi(w); err == nil && n > 0 && n < len(numberWords) {
		return numberWords[n], true
	}
	for i, x := range numberWords[1:] {
		if strings.EqualFold(w, x) {
			return numberWords[i+1], true
		}
	}
	return "", false
}

func isUnitWord(w string) bool {
	w = strings.TrimSuffix(w, "s")
	switch w {
	case "tablet", "tab", "capsule", "cap", "puff", "drop", "spray", "ml", "sachet", "patch", "pessary", "suppository", "application", "dose", "5ml", "spoonful":
		return true
	}
	return false
}

// unitWord is the unit after a number: "tablet" / "tablets" from the pack unit.
func unitWord(unit, n string) string {
	switch unit {
	case "", "dose", "gram", "inhaler":
		return ""
	case "ml":
		return "ml"
	}
	if n == "1" || n == "one" || n == "half" || n == "0.5" {
		return unit
	}
	return unit + "s"
}

// doseAbbrev expands abbreviations as written on UK prescriptions (BNF
// "Latin abbreviations" and common usage).
var doseAbbrev = map[string]string{
	"od": "once a day", "om": "every morning", "nocte": "at night", "mane": "in the morning",
	"bd": "twice a day", "bid": "twice a day", "tds": "three times a day", "tid": "three times a day",
	"qds": "four times a day", "qid": "four times a day", "prn": "when required", "stat": "immediately",
	"ac": "before food", "pc": "after food", "cc": "with food", "po": "by mouth", "sl": "under the tongue",
	"top": "to the skin", "pr": "rectally", "pv": "vaginally", "inh": "inhaled",
	"q4h": "every four hours", "q6h": "every six hours", "q8h": "every eight hours", "4h": "every four hours",
	"6h": "every six hours", "8h": "every eight hours", "4hrly": "every four hours", "6hrly": "every six hours",
	"alt": "every other", "d": "days", "wk": "week", "wkly": "once a week", "weekly": "once a week",
	"tab": "tablet", "tabs": "tablets", "cap": "capsule", "caps": "capsules", "5ml": "5ml spoonful",
	"max": "maximum", "x": "for", "daily": "once a day", "bnf": "as directed in the BNF", "mdu": "as directed",
	"ud": "as directed", "asd": "as directed",
}
