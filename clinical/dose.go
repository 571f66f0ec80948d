package clinical

import (
	"regexp"
	"strconv"
	"strings"
)

var measured = regexp.MustCompile(`^(\d+(?:\.\d+)?)(ml|mg|g|micrograms?|units?|drops?|puffs?)$`)

// DoseInWords writes dose instructions as a patient reads them: the common
// Latin and prescribing abbreviations expanded, the number of units in
// capitals ("1 od" -> "Take ONE once a day"). Text it does not recognise is
// kept as written, so nothing the prescriber wrote is lost.
func DoseInWords(dose, unit string) string {
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
	"od": "once a day", "om": "every morning", "on": "every night", "nocte": "at night", "mane": "in the morning",
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
