package commands

import (
	"fmt"
	"io"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/terminology"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newRulesCmd)
}

func newRulesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "The practice's prescribing rules and interactions (import: admins)",
		Long: `Prescribing rules (by age, sex, condition, latest result and pregnancy) and
drug interaction pairs, in the YAML schema of docs/rules.md. They are stored
in the practice, so every clinician, the workstation and the server apply the
same ones. Until a practice imports its own, the starter sets shipped with
gpsoc apply (each rule citing its source: MHRA Drug Safety Update, BNF, NICE CKS).`,
	}
	cmd.AddCommand(newRulesImportCmd(f), newRulesListCmd(f), newRulesDefaultsCmd(f), newRulesRecheckCmd(f))
	return cmd
}

func newRulesImportCmd(f *Factory) *cobra.Command {
	var allowRemove bool
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Store a rules file in the practice (admins)",
		Long: `Store a rules YAML file (docs/rules.md) in the practice. Its rules and
interactions merge with the shipped defaults by id: one with the id of a
default replaces it, the others are added, and every other default stays in
force. A file holding rules replaces the practice's earlier rules file; a
file holding interactions replaces its interactions file; a file may hold both.

A default is taken out only by a remove: entry naming its id and a reason,
imported with --allow-remove; each removal is audited with its reason and
shown by gpsoc rules list. The whole file is checked first: any error
(naming the field, e.g. rules[2].severity, and the value) stores nothing
(exit 2). After changing the rules, run gpsoc rules recheck.`,
		Example: "  gpsoc rules defaults contraindications > rules.yaml   # edit, then\n  gpsoc rules import rules.yaml\n  gpsoc rules import interactions-full.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			in, err := openInput(f, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			text, err := io.ReadAll(io.LimitReader(in, 16<<20))
			if err != nil {
				return err
			}
			res, err := s.ImportRulesWith(cmd.Context(), text, clinical.ImportRulesOptions{AllowRemove: allowRemove})
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, res, nil)
			}
			var parts []string
			if res.Rules > 0 {
				parts = append(parts, fmt.Sprintf("%d rules", res.Rules))
			}
			if res.Interactions > 0 {
				parts = append(parts, fmt.Sprintf("%d interactions", res.Interactions))
			}
			if len(parts) == 0 {
				parts = append(parts, "no rules")
			}
			fmt.Fprintf(f.IO.Out, "imported %s\n", strings.Join(parts, " and "))
			for _, r := range res.Removed {
				fmt.Fprintf(f.IO.Out, "removed default %s: %s\n", r.ID, r.Reason)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&allowRemove, "allow-remove", false, "let the file's remove: entries take defaults out of force (each needs a reason; audited)")
	return cmd
}

func newRulesRecheckCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "recheck",
		Short: "Re-check every current medicine of every patient against the rules in force",
		Long: `Run the prescribing checks (allergies, interactions, rules, doses) over every
current medicine of every patient, against the record and the rules as they
are now, and list the alerts not yet answered: what a practice runs after
changing its rules (gpsoc rules import). Each alert is also shown in its
patient's record banner and raised again at the medicine's next issue.
Clinicians only; audited as one list. Exit 0 whether or not alerts are found.`,
		Example: "  gpsoc rules import rules.yaml && gpsoc rules recheck\n  gpsoc rules recheck -o ndjson | jq -r .patientId | sort -u",
		Args:    cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			sum, err := s.RecheckPractice(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "checked %d medicines of %d patients (rules %s): %d alerts\n", sum.Medications, sum.Patients, sum.RuleVersion, len(sum.Alerts))
			if f.Output == "json" {
				return printOne(f.IO, f.Output, sum, nil)
			}
			return printList(f.IO, f.Output, sum.Alerts, []Column[clinical.MedicineAlert]{
				{"patient", func(a clinical.MedicineAlert) string { return a.PatientID }},
				{"medication", func(a clinical.MedicineAlert) string { return a.MedicationID }},
				{"drug", func(a clinical.MedicineAlert) string { return a.Drug }},
				{"severity", func(a clinical.MedicineAlert) string { return a.Alert.Severity }},
				{"id", func(a clinical.MedicineAlert) string { return a.Alert.ID }},
				{"message", func(a clinical.MedicineAlert) string { return a.Alert.Message }},
			})
		}),
	}
}

// ruleRow is one rule or interaction as `rules list` prints it.
type ruleRow struct {
	Kind     string `json:"kind"` // rule | interaction
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Drugs    string `json:"drugs"`
	When     string `json:"when"`
	Message  string `json:"message"`
	Source   string `json:"source"`
	From     string `json:"from"` // practice | default
	// ReviewedBy is the clinician who signed the rule off; "" until one has.
	ReviewedBy string `json:"reviewedBy"`
}

func selText(d clinical.DrugSelector) string {
	var p []string
	if len(d.Names) > 0 {
		p = append(p, strings.Join(d.Names, "|"))
	}
	if len(d.Codes) > 0 {
		p = append(p, "<<"+strings.Join(d.Codes, "|<<"))
	}
	if len(d.BNF) > 0 {
		p = append(p, "BNF "+strings.Join(d.BNF, "|"))
	}
	if d.Class != "" {
		p = append(p, "class "+d.Class)
	}
	return strings.Join(p, " or ")
}

func whenText(w clinical.RuleWhen) string {
	var p []string
	if w.Sex != "" {
		p = append(p, w.Sex)
	}
	if w.Age != nil {
		switch {
		case w.Age.Min != nil && w.Age.Max != nil:
			p = append(p, fmt.Sprintf("age %d-%d", *w.Age.Min, *w.Age.Max))
		case w.Age.Min != nil:
			p = append(p, fmt.Sprintf("age %d+", *w.Age.Min))
		default:
			p = append(p, fmt.Sprintf("age up to %d", *w.Age.Max))
		}
	}
	if w.Problem != "" {
		p = append(p, "problem "+w.Problem)
	}
	if w.Result != nil {
		s := "latest " + w.Result.ECL
		if w.Result.Below != nil {
			s += fmt.Sprintf(" below %g", *w.Result.Below)
		}
		if w.Result.Above != nil {
			s += fmt.Sprintf(" above %g", *w.Result.Above)
		}
		p = append(p, s)
	}
	if w.Pregnant {
		p = append(p, "pregnant")
	}
	return strings.Join(p, "; ")
}

func newRulesListCmd(f *Factory) *cobra.Command {
	var classes bool
	cmd := &cobra.Command{
		Use:   "list [--classes]",
		Short: "The rules, interactions and allergy cross-sensitivities in force, where they came from, who reviewed them",
		Long: `The rules, interactions and allergy cross-sensitivities in force, each with its
source and whether a named clinician has reviewed it ("not reviewed" until one
has). --classes lists the curated drug classes the rules refer to (BNF chemical
substances, each class citing its source).`,
		Example: `  gpsoc rules list
  gpsoc rules list -o json | jq '.[] | select(.kind=="interaction")'
  gpsoc rules list --classes`,
		Args: cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if classes {
				return printClasses(f)
			}
			rs, err := s.Rules(cmd.Context())
			if err != nil {
				return err
			}
			rows := []ruleRow{}
			for _, r := range rs.Rules {
				rows = append(rows, ruleRow{Kind: "rule", ID: r.ID, Severity: r.Severity, Drugs: selText(r.Drug),
					When: whenText(r.When), Message: r.Message, Source: r.Source, From: r.From})
			}
			for _, x := range rs.Interactions {
				drugs := selText(x.A) + " + " + selText(x.B)
				if x.C != nil {
					drugs += " + " + selText(*x.C)
				}
				src := strings.Join(nonEmpty(x.Source, x.Section, x.Date), ", ")
				msg := strings.TrimSpace(strings.TrimSuffix(x.Effect, ".") + ". " + x.Advice)
				if x.Effect == "" {
					msg = x.Advice
				}
				rows = append(rows, ruleRow{Kind: "interaction", ID: x.ID, Severity: x.Severity,
					Drugs: drugs, Message: msg, Source: src, From: x.From, ReviewedBy: x.ReviewedBy})
			}
			al, err := clinical.DefaultAllergyRules()
			if err != nil {
				return err
			}
			for _, c := range al.AllergyClasses {
				rows = append(rows, ruleRow{Kind: "allergy-class", ID: c, Severity: "high", Drugs: "class " + c,
					Message: "an allergy to one member is an allergy to every member (an intolerance: moderate)",
					Source:  "clinical/rules/allergies.yaml; classes: fixtures/embedded/bnf/classes.yaml", From: "default", ReviewedBy: al.ReviewedBy})
			}
			for _, x := range al.Cross {
				rows = append(rows, ruleRow{Kind: "cross-sensitivity", ID: x.Allergy + ">" + x.Drug, Severity: x.Severity + " (" + x.SevereSeverity + " after a severe reaction)",
					Drugs: "allergy to class " + x.Allergy + " + class " + x.Drug, Message: x.Advice, Source: x.Source, From: "default", ReviewedBy: al.ReviewedBy})
			}
			return printList(f.IO, f.Output, rows, []Column[ruleRow]{
				{"kind", func(r ruleRow) string { return r.Kind }},
				{"id", func(r ruleRow) string { return r.ID }},
				{"severity", func(r ruleRow) string { return r.Severity }},
				{"drugs", func(r ruleRow) string { return r.Drugs }},
				{"when", func(r ruleRow) string { return r.When }},
				{"from", func(r ruleRow) string { return r.From }},
				{"reviewed", func(r ruleRow) string {
					if r.Kind == "rule" && r.ReviewedBy == "" {
						return "" // practice rules carry no review field
					}
					return or(r.ReviewedBy, "not reviewed")
				}},
				{"source", func(r ruleRow) string { return r.Source }},
			})
		}),
	}
	cmd.Flags().BoolVar(&classes, "classes", false, "list the curated drug classes instead")
	return cmd
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			out = append(out, x)
		}
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// printClasses lists the curated drug classes of the medicines model.
func printClasses(f *Factory) error {
	cls, err := terminology.EmbeddedDrugClasses()
	if err != nil {
		return err
	}
	return printList(f.IO, f.Output, cls, []Column[terminology.DrugClass]{
		{"id", func(c terminology.DrugClass) string { return c.ID }},
		{"name", func(c terminology.DrugClass) string { return c.Name }},
		{"bnf", func(c terminology.DrugClass) string { return strings.Join(c.BNF, " ") }},
		{"duplicate", func(c terminology.DrugClass) string { return fmt.Sprint(c.Duplicate) }},
		{"source", func(c terminology.DrugClass) string { return c.Source }},
	})
}

func newRulesDefaultsCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:       "defaults contraindications|interactions|allergies",
		Short:     "Print a starter set shipped with gpsoc (YAML), to edit and import",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"contraindications", "interactions", "allergies"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "contraindications" && args[0] != "interactions" && args[0] != "allergies" {
				return invalidFlag("set", args[0], "must be contraindications, interactions or allergies")
			}
			_, err := f.IO.Out.Write(clinical.DefaultRuleText(args[0]))
			return err
		},
	}
}
