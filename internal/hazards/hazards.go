// Package hazards reads the DCB0129 hazard log (docs/hazards/HNN.yaml, one
// file per hazard), checks it, and renders the table in
// docs/clinical-safety.md from it. The YAML is the log; the table is a view.
package hazards

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Hazard is one hazard in the DCB0129 shape.
type Hazard struct {
	ID            string    `yaml:"id"`
	Title         string    `yaml:"title"`
	Cause         string    `yaml:"cause"`
	Effect        string    `yaml:"effect"` // the harm to a patient
	Initial       Rating    `yaml:"initial"`
	Controls      []Control `yaml:"controls"`
	Residual      Rating    `yaml:"residual"`
	Acceptability string    `yaml:"acceptability"`
	Status        string    `yaml:"status"`
}

// Rating is a severity and a likelihood, 1 to 5 each.
type Rating struct {
	Severity   int `yaml:"severity"`
	Likelihood int `yaml:"likelihood"`
}

// Control is one control with the tests that prove it.
type Control struct {
	Text  string   `yaml:"text"`
	Tests []string `yaml:"tests"` // package-dir.TestName, e.g. clinical.TestX, store/bolt.TestY
}

// matrix is the standard 5x5 risk matrix of DCB0129/DCB0160 (NHS Digital
// clinical risk management): rows likelihood 1 (very low) to 5 (very
// high), columns severity 1 (minor) to 5 (catastrophic); the rating is 1
// (very low) to 5 (very high).
var matrix = [5][5]int{
	{1, 1, 2, 2, 3}, // very low
	{1, 2, 2, 3, 4}, // low
	{2, 2, 3, 3, 4}, // medium
	{2, 3, 3, 4, 5}, // high
	{3, 4, 4, 5, 5}, // very high
}

// Risk is the rating of a severity and likelihood from the matrix.
func (r Rating) Risk() int { return matrix[r.Likelihood-1][r.Severity-1] }

// Acceptability is what a residual rating allows: 1-2 acceptable, 3
// acceptable with monitoring, 4-5 unacceptable.
func Acceptability(risk int) string {
	switch {
	case risk <= 2:
		return "acceptable"
	case risk == 3:
		return "acceptable with monitoring"
	}
	return "unacceptable"
}

var idRE = regexp.MustCompile(`^H\d\d$`)
var testRE = regexp.MustCompile(`^[a-z][a-z0-9/]*\.(Test|Fuzz|Benchmark)[A-Za-z0-9_]*$`)

// Load reads and checks every HNN.yaml in dir, ordered by id.
func Load(dir string) ([]Hazard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "H*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []Hazard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var h Hazard
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&h); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := h.check(strings.TrimSuffix(filepath.Base(f), ".yaml")); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (h *Hazard) check(file string) error {
	switch {
	case !idRE.MatchString(h.ID) || h.ID != file:
		return fmt.Errorf("id %q: must be HNN and match the file name", h.ID)
	case strings.TrimSpace(h.Title) == "" || strings.TrimSpace(h.Cause) == "" || strings.TrimSpace(h.Effect) == "":
		return fmt.Errorf("title, cause and effect are required")
	case len(h.Controls) == 0:
		return fmt.Errorf("at least one control is required")
	case h.Status != "open" && h.Status != "closed":
		return fmt.Errorf("status %q: must be open or closed", h.Status)
	}
	for _, r := range []Rating{h.Initial, h.Residual} {
		if r.Severity < 1 || r.Severity > 5 || r.Likelihood < 1 || r.Likelihood > 5 {
			return fmt.Errorf("severity and likelihood are 1 to 5 (got %d, %d)", r.Severity, r.Likelihood)
		}
	}
	switch h.Acceptability {
	case "acceptable", "acceptable with monitoring", "unacceptable":
	default:
		return fmt.Errorf("acceptability %q: must be acceptable, acceptable with monitoring or unacceptable", h.Acceptability)
	}
	for i, c := range h.Controls {
		if strings.TrimSpace(c.Text) == "" || len(c.Tests) == 0 {
			return fmt.Errorf("controls[%d]: text and at least one test are required", i)
		}
		for _, t := range c.Tests {
			if !testRE.MatchString(t) {
				return fmt.Errorf("controls[%d].tests %q: must be package-dir.TestName", i, t)
			}
		}
	}
	return nil
}

// Mismatch says when a hazard's stated acceptability is more lenient than
// its residual rating allows by the matrix ("" when it is not): the owner's
// judgement is kept, and the table shows the difference for review.
func (h Hazard) Mismatch() string {
	want := Acceptability(h.Residual.Risk())
	rank := map[string]int{"acceptable": 0, "acceptable with monitoring": 1, "unacceptable": 2}
	if rank[h.Acceptability] < rank[want] {
		return fmt.Sprintf("the matrix makes rating %d %s: review", h.Residual.Risk(), want)
	}
	return ""
}

// Table renders the hazards as the Markdown table of docs/clinical-safety.md.
func Table(hs []Hazard) string {
	var b strings.Builder
	b.WriteString("| id | hazard | cause | effect (harm) | initial S/L → risk | controls (tests) | residual S/L → risk | acceptability | status |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	cell := func(s string) string {
		return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", "\\|")
	}
	for _, h := range hs {
		var cs []string
		for i, c := range h.Controls {
			cs = append(cs, fmt.Sprintf("%d. %s (%s)", i+1, cell(c.Text), "`"+strings.Join(c.Tests, "`, `")+"`"))
		}
		acc := h.Acceptability
		if m := h.Mismatch(); m != "" {
			acc += " (" + m + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d/%d → %d | %s | %d/%d → %d | %s | %s |\n", h.ID, cell(h.Title), cell(h.Cause), cell(h.Effect),
			h.Initial.Severity, h.Initial.Likelihood, h.Initial.Risk(), strings.Join(cs, "<br>"),
			h.Residual.Severity, h.Residual.Likelihood, h.Residual.Risk(), acc, h.Status)
	}
	return b.String()
}

// Markers delimit the generated table in docs/clinical-safety.md.
const (
	Begin = "<!-- hazards:begin (generated from docs/hazards/*.yaml: UPDATE_HAZARDS=1 go test ./internal/hazards) -->"
	End   = "<!-- hazards:end -->"
)

// Splice puts the table between the markers of doc.
func Splice(doc, table string) (string, error) {
	i, j := strings.Index(doc, Begin), strings.Index(doc, End)
	if i < 0 || j < i {
		return "", fmt.Errorf("the document lacks the hazard table markers")
	}
	return doc[:i+len(Begin)] + "\n" + table + doc[j:], nil
}

// TestRef splits a cited test into its package dir and name.
func TestRef(s string) (dir, name string) {
	i := strings.LastIndex(s, ".")
	return s[:i], s[i+1:]
}
