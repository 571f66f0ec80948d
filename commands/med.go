package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newMedCmd)
}

// medService is the acting user's services with the dm+d dictionary the
// prescribing checks need.
func medService(f *Factory, ctx context.Context) (*clinical.Service, error) {
	s, err := f.Service(ctx)
	if err != nil {
		return nil, err
	}
	p, err := f.Practice()
	if err != nil {
		return nil, err
	}
	tm, err := f.Terminology()
	if err != nil {
		return nil, err
	}
	p.SetDrugs(tm)
	return s, nil
}

func medRunE(f *Factory, fn func(cmd *cobra.Command, s *clinical.Service, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := medService(f, cmd.Context())
		if err != nil {
			return err
		}
		return flagNames(cmd, fn(cmd, s, args))
	}
}

func newMedCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "med",
		Short: "Prescribe, issue, re-authorise and stop medication (prescribers); list it (gp, nurse)",
		Long: `Medication: prescribe acute or repeat from dm+d, issue repeats, re-authorise,
change a dose, stop with a reason, list current medication, the history of
every issue, and print the list the patient takes home.

Prescribing runs the safety checks (allergies by substance and by class,
allergy status not recorded, unverified ingredients, duplicate ingredients,
interactions, the practice's rules: see gpsoc rules list). Any alert stops
the prescription (exit 6, the alerts on stdout) until each one is answered:
--override ALERT_ID=REASON for any alert (the reason is recorded, audited and
shown in the record), --ack ALERT_ID for a moderate or low one.`,
	}
	cmd.AddCommand(newMedPrescribeCmd(f, nil), newMedIssueCmd(f), newMedReauthCmd(f), newMedChangeCmd(f),
		newMedStopCmd(f), newMedListCmd(f), newMedHistoryCmd(f), newMedReviewsCmd(f), newMedPrintCmd(f),
		newMedImportCmd(f))
	return cmd
}

// MedPrescribeOptions are `gpsoc med prescribe`'s.
type MedPrescribeOptions struct {
	Code      string
	Dose      string
	Quantity  float64
	Repeat    bool
	Issues    int
	Review    string
	Duration  string
	Overrides []string
	Acks      []string
	Check     bool
}

// parseAnswers reads --override ID=REASON and --ack ID.
func parseAnswers(overrides, acks []string) (clinical.Answers, error) {
	a := clinical.Answers{Override: map[string]string{}}
	for _, o := range overrides {
		i := strings.IndexByte(o, '=')
		if i <= 0 || strings.TrimSpace(o[i+1:]) == "" {
			return a, invalidFlag("override", o, "must be ALERT_ID=REASON (a reason is required)")
		}
		id := strings.TrimSpace(o[:i])
		if _, dup := a.Override[id]; dup {
			return a, invalidFlag("override", o, "alert %s is answered twice", id)
		}
		a.Override[id] = strings.TrimSpace(o[i+1:])
	}
	for _, id := range acks {
		id = strings.TrimSpace(id)
		if _, dup := a.Override[id]; dup {
			return a, invalidFlag("ack", id, "alert is also overridden: answer it once")
		}
		a.Ack = append(a.Ack, id)
	}
	return a, nil
}

// parseDurationDays reads --duration (clinical.ParseDurationDays, the
// workstation's reading too), naming the flag when it is refused.
func parseDurationDays(s string) (int, error) {
	n, err := clinical.ParseDurationDays(s)
	var ve *record.ValidationError
	if errors.As(err, &ve) {
		return 0, invalidFlag("duration", ve.Value, "%s", ve.Reason)
	}
	return n, err
}

func newMedPrescribeCmd(f *Factory, runF func(*MedPrescribeOptions) error) *cobra.Command {
	o := &MedPrescribeOptions{}
	cmd := &cobra.Command{
		Use:   "prescribe PATIENT --code DMD --dose TEXT --quantity N [--repeat --issues N] [--review DATE] [--duration D] [--override ID=REASON]... [--ack ID]... [--check]",
		Short: "Prescribe a dm+d product, after the safety checks",
		Long: `Prescribe a dm+d VMP or AMP (find one with gpsoc codes search TEXT --system dmd).
The quantity is in the pack's unit (tablet, capsule, ml…), taken from dm+d.
An acute prescription is issued as it is written; a repeat (--repeat) is
authorised for --issues N issues and issued with gpsoc med issue.

The safety checks run first. When they raise alerts the prescription is
refused (exit 6): the alerts go to stdout (-o json: {"alerts":[{"id",
"severity","message"}]}) and a one-line note to stderr. Answer each alert,
one by one, and run the command again:
  --override ALERT_ID=REASON   any alert; the reason is recorded and audited
  --ack ALERT_ID               a moderate or low alert only
An alert id is deterministic (the same check on the same data gives the same
id), so a script can answer what it was shown. --check lists the alerts and
prescribes nothing (exit 6 when there are any, else 0).

Left or deceased patients cannot be prescribed for. Only prescribers may
prescribe (exit 4 otherwise).`,
		Example: `  gpsoc med prescribe 9434765919 --code 318902004 --dose "1 od" --quantity 28 --repeat --issues 6 --review 2027-05-24
  gpsoc med prescribe 9434765919 --code 39732411000001106 --dose "1 tds" --quantity 21 --check
  gpsoc med prescribe 9434765919 --code 39732411000001106 --dose "1 tds" --quantity 21 \
      --override allergy:764146007:39732411000001106="tolerated amoxicillin 2025, rash history doubtful"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Code == "" {
				return usagef("--code DMD is required")
			}
			if !o.Check {
				if strings.TrimSpace(o.Dose) == "" {
					return usagef("--dose TEXT is required (e.g. \"1 od\")")
				}
				if o.Quantity <= 0 {
					return invalidFlag("quantity", strconv.FormatFloat(o.Quantity, 'f', -1, 64), "must be more than 0")
				}
			}
			if cmd.Flags().Changed("issues") && !o.Repeat && o.Issues > 1 {
				return usagef("--issues needs --repeat")
			}
			if o.Review != "" {
				if _, err := parseDay("review", o.Review); err != nil {
					return err
				}
			}
			days, err := parseDurationDays(o.Duration)
			if err != nil {
				return err
			}
			ans, err := parseAnswers(o.Overrides, o.Acks)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
				res, err := s.Prescribe(cmd.Context(), clinical.PrescribeInput{PatientRef: args[0], Code: o.Code,
					Dose: o.Dose, Quantity: o.Quantity, Repeat: o.Repeat, Issues: o.Issues, Review: o.Review,
					DurationDays: days, Answers: ans, Check: o.Check})
				if res != nil && f.Output == "table" {
					if res.Dose == nil {
						fmt.Fprintf(f.IO.ErrOut, "dose: %q not understood as amount and frequency; printed as %q\n", o.Dose, res.DoseWords)
					} else {
						fmt.Fprintf(f.IO.ErrOut, "dose: %s\n", res.DoseWords)
					}
				}
				if o.Check && err == nil {
					if len(res.Alerts) == 0 {
						if f.Output == "json" {
							return writeJSON(f.IO.Out, map[string]any{"alerts": []clinical.SafetyAlert{}, "notes": res.Notes, "dose": res.Dose, "doseWords": res.DoseWords})
						}
						if len(res.Notes) > 0 {
							return printAlerts(f, nil, res.Notes) // notes need no answer: exit 0
						}
						if f.IO.IsTerminal() {
							fmt.Fprintln(f.IO.ErrOut, "no alerts")
						}
						return nil
					}
					if err := printAlerts(f, res.Alerts, res.Notes); err != nil {
						return err
					}
					return &AlertError{Msg: fmt.Sprintf("%d safety alert(s) for this prescription (nothing prescribed: --check)", len(res.Alerts))}
				}
				if err != nil {
					return alertRefusal(f, err)
				}
				for _, n := range res.Notes { // shown with every prescription of the product
					fmt.Fprintln(f.IO.ErrOut, "note: "+n.Message)
				}
				return printOneRow(f, res.Medication, medColumns(colIO(f)))
			})(cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Code, "code", "", "dm+d VMP or AMP code")
	fl.StringVar(&o.Dose, "dose", "", `dose instructions, e.g. "1 od" or "2 tablets twice a day"`)
	fl.Float64Var(&o.Quantity, "quantity", 0, "quantity in the pack's unit")
	fl.BoolVar(&o.Repeat, "repeat", false, "a repeat prescription (default acute)")
	fl.IntVar(&o.Issues, "issues", 0, "repeat: issues authorised (default 1)")
	fl.StringVar(&o.Review, "review", "", "review date YYYY-MM-DD")
	fl.StringVar(&o.Duration, "duration", "", "days one issue lasts: 28, 28d or 4w")
	fl.StringArrayVar(&o.Overrides, "override", nil, "answer an alert: ALERT_ID=REASON (repeatable)")
	fl.StringArrayVar(&o.Acks, "ack", nil, "acknowledge a moderate or low alert: ALERT_ID (repeatable)")
	fl.BoolVar(&o.Check, "check", false, "list the alerts, prescribe nothing (exit 6 when there are any)")
	return cmd
}

// alertRefusal prints the unanswered alerts of a refusal to stdout and
// returns the exit-6 error whose one line goes to stderr.
func alertRefusal(f *Factory, err error) error {
	ae, ok := err.(*clinical.AlertsError)
	if !ok {
		return err
	}
	if perr := printAlerts(f, ae.Alerts, ae.Notes); perr != nil {
		return perr
	}
	return &AlertError{Msg: fmt.Sprintf("not prescribed: %d safety alert(s) need an answer (--override ALERT_ID=REASON, or --ack ALERT_ID for moderate and low)", len(ae.Alerts))}
}

// printAlerts prints alerts and notes in the -o format: json {"alerts":[…],
// "notes":[…]}, ndjson one a line (a note has "kind":"not-checked"), csv, or
// a table (a note's severity column says "note").
func printAlerts(f *Factory, alerts, notes []clinical.SafetyAlert) error {
	if alerts == nil {
		alerts = []clinical.SafetyAlert{}
	}
	if notes == nil {
		notes = []clinical.SafetyAlert{}
	}
	switch f.Output {
	case "json":
		return writeJSON(f.IO.Out, map[string]any{"alerts": alerts, "notes": notes})
	case "ndjson":
		enc := json.NewEncoder(f.IO.Out)
		for _, a := range append(append([]clinical.SafetyAlert{}, alerts...), notes...) {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		return nil
	}
	return printList(f.IO, f.Output, append(append([]clinical.SafetyAlert{}, alerts...), notes...), []Column[clinical.SafetyAlert]{
		{"severity", func(a clinical.SafetyAlert) string {
			if a.IsNote() {
				return "note"
			}
			return a.Severity
		}},
		{"id", func(a clinical.SafetyAlert) string { return a.ID }},
		{"message", func(a clinical.SafetyAlert) string { return a.Message }},
	})
}

func qty(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

// qtyUnit is "21 capsules", "1 inhaler", "100 ml".
func qtyUnit(q float64, unit string) string {
	if q != 1 && unit != "" && unit != "ml" && !strings.HasSuffix(unit, "s") {
		switch {
		case strings.HasSuffix(unit, "ch"):
			unit += "es"
		case strings.HasSuffix(unit, "y"):
			unit = strings.TrimSuffix(unit, "y") + "ies"
		default:
			unit += "s"
		}
	}
	return strings.TrimSpace(qty(q) + " " + unit)
}

func medColumns(ios *IOStreams) []Column[*record.Medication] {
	return []Column[*record.Medication]{
		{"id", func(m *record.Medication) string { return m.ID }},
		{"code", func(m *record.Medication) string { return m.Code.Code }},
		{"drug", func(m *record.Medication) string { return m.Code.Display }},
		{"dose", func(m *record.Medication) string { return m.Dose }},
		{"quantity", func(m *record.Medication) string { return qtyUnit(m.Quantity, m.Unit) }},
		{"type", func(m *record.Medication) string { return m.Type }},
		{"issues", func(m *record.Medication) string {
			if m.Type == "repeat" {
				return fmt.Sprintf("%d/%d", len(m.Issues), m.IssuesAuthorised)
			}
			return strconv.Itoa(len(m.Issues))
		}},
		{"review", func(m *record.Medication) string { return UKDate(ios, m.ReviewDate) }},
		{"status", func(m *record.Medication) string {
			if m.StopReason != "" {
				return m.Status + " (" + m.StopReason + ")"
			}
			return m.Status
		}},
		{"prescriber", func(m *record.Medication) string { return m.Prescriber }},
		{"alerts", func(m *record.Medication) string { return answersCell(m.Answers) }},
	}
}

// answersCell shows how each alert was answered: overrides with their reason.
func answersCell(as []record.AlertAnswer) string {
	var out []string
	for _, a := range as {
		if a.Answer == "override" {
			out = append(out, fmt.Sprintf("overridden %s by %s: %s", a.AlertID, a.By, a.Reason))
		} else {
			out = append(out, fmt.Sprintf("acknowledged %s by %s", a.AlertID, a.By))
		}
	}
	return strings.Join(out, "; ")
}

func newMedIssueCmd(f *Factory) *cobra.Command {
	var allDue bool
	var reason string
	var overrides, acks []string
	cmd := &cobra.Command{
		Use:   "issue PATIENT [MED...|--all-due] [--reason TEXT] [--override ID=REASON]... [--ack ID]...",
		Short: "Issue repeats: the ones named, or all that are due, after the safety checks",
		Long: `Issue repeat medication: the medications named by id, or with --all-due every
current repeat that has issues left and is due (the last issue runs out
within a week). A repeat with no issues left needs re-authorising first
(gpsoc med reauth). One issue each, all in one write.

Every issue runs the safety checks again against the record as it is now
(allergies, interactions, rules, doses). An alert answered before whose facts
have not changed (its id is the same) is not raised again; a new one refuses
the issue (exit 6, the alerts on stdout) until it is answered with
--override ID=REASON or --ack ID. A second issue the same day, or one before
75% of the last issue's supply is used, is an early or duplicate issue: it
needs a reason (--reason TEXT answers those). Nothing is issued while any
alert is unanswered.

What was issued is printed: on a terminal one line per medication
("issued Ramipril 5mg capsules: 28 capsule, issue 2 of 6"), else the rows
in the -o format. Notes (checks that could not run) and an overdue review
go to stderr.`,
		Example: "  gpsoc med issue 9434765919 --all-due\n  gpsoc med issue 9434765919 0193a7c2-… --reason \"going abroad for 6 weeks\"",
		Args:    cobra.MinimumNArgs(1),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if allDue && len(args) > 1 {
				return usagef("give medication ids or --all-due, not both")
			}
			if !allDue && len(args) == 1 {
				return usagef("name the medications to issue, or give --all-due")
			}
			if cmd.Flags().Changed("reason") && strings.TrimSpace(reason) == "" {
				return invalidFlag("reason", reason, "give the reason for an early or duplicate issue")
			}
			ans, err := parseAnswers(overrides, acks)
			if err != nil {
				return err
			}
			res, err := s.IssueWith(cmd.Context(), clinical.IssueInput{PatientRef: args[0], IDs: args[1:], AllDue: allDue, Answers: ans, Reason: reason})
			if err != nil {
				return stepRefusal(f, err, "not issued")
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
			}
			printNotes(f, res.Notes)
			if len(res.Issued) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "nothing is due: nothing issued")
				if f.Output == "table" && !f.IO.IsTerminal() {
					return nil
				}
			}
			if f.Output == "table" && f.IO.IsTerminal() {
				for _, m := range res.Issued {
					fmt.Fprintln(f.IO.Out, issuedLine(m))
				}
				return nil
			}
			return printList(f.IO, f.Output, res.Issued, medColumns(colIO(f)))
		}),
	}
	cmd.Flags().BoolVar(&allDue, "all-due", false, "issue every repeat that is due")
	cmd.Flags().StringVar(&reason, "reason", "", "why an early or duplicate issue is needed")
	cmd.Flags().StringArrayVar(&overrides, "override", nil, "answer an alert: ALERT_ID=REASON (repeatable)")
	cmd.Flags().StringArrayVar(&acks, "ack", nil, "acknowledge a moderate or low alert (repeatable)")
	return cmd
}

// issuedLine says what one issue gave the patient.
func issuedLine(m *record.Medication) string {
	is := m.Issues[len(m.Issues)-1]
	return fmt.Sprintf("issued %s: %s %s, issue %d of %d (%s) — %s", m.Code.Display, qty(is.Quantity), m.Unit,
		len(m.Issues), max(m.IssuesAuthorised, 1), m.ID, clinical.DoseInWords(m.Dose, m.Unit))
}

// printNotes writes each note (a check that could not run) to stderr.
func printNotes(f *Factory, notes []clinical.SafetyAlert) {
	for _, n := range notes {
		fmt.Fprintln(f.IO.ErrOut, "note: "+n.Message)
	}
}

// stepRefusal is alertRefusal with the step's own words.
func stepRefusal(f *Factory, err error, what string) error {
	ae, ok := err.(*clinical.AlertsError)
	if !ok {
		return err
	}
	if perr := printAlerts(f, ae.Alerts, ae.Notes); perr != nil {
		return perr
	}
	return &AlertError{Msg: fmt.Sprintf("%s: %d safety alert(s) need an answer (--override ALERT_ID=REASON, --ack ALERT_ID for moderate and low, --reason TEXT for an early issue)", what, len(ae.Alerts))}
}

func newMedReauthCmd(f *Factory) *cobra.Command {
	var issues, ifv int
	var review string
	var overrides, acks []string
	cmd := &cobra.Command{
		Use:   "reauth PATIENT MED [--issues N] [--review DATE] [--if-version N] [--override ID=REASON]... [--ack ID]...",
		Short: "Re-authorise a repeat for more issues, after the safety checks",
		Long: `Re-authorise a current repeat: N more issues from today (default 6), by you.
The review date moves to --review, or a year on when it had one.
The safety checks run again against the record as it is now; an alert
answered before with the same facts is not raised again, a new one refuses
the re-authorisation (exit 6, alerts on stdout) until answered with
--override ID=REASON or --ack ID.
--if-version N refuses (exit 5) when someone changed it since version N,
naming who and when.`,
		Example: "  gpsoc med reauth 9434765919 0193a7c2-… --issues 6 --if-version 3",
		Args:    cobra.ExactArgs(2),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			ans, err := parseAnswers(overrides, acks)
			if err != nil {
				return err
			}
			res, err := s.ReauthoriseWith(cmd.Context(), clinical.ReauthInput{PatientRef: args[0], ID: args[1], Issues: issues,
				Review: review, IfVersion: ifv, Answers: ans})
			if err != nil {
				return stepRefusal(f, err, "not re-authorised")
			}
			printNotes(f, res.Notes)
			return printOneRow(f, res.Medication, medColumns(colIO(f)))
		}),
	}
	cmd.Flags().IntVar(&issues, "issues", 6, "issues authorised from today")
	cmd.Flags().StringVar(&review, "review", "", "review date YYYY-MM-DD")
	cmd.Flags().StringArrayVar(&overrides, "override", nil, "answer an alert: ALERT_ID=REASON (repeatable)")
	cmd.Flags().StringArrayVar(&acks, "ack", nil, "acknowledge a moderate or low alert (repeatable)")
	addIfVersion(cmd, &ifv)
	return cmd
}

func newMedChangeCmd(f *Factory) *cobra.Command {
	var dose string
	var ifv int
	var overrides, acks []string
	cmd := &cobra.Command{
		Use:   "change PATIENT MED --dose TEXT [--override ID=REASON]... [--ack ID]... [--if-version N]",
		Short: "Change a dose: a new medication replaces the old, which is kept",
		Long: `Change the dose of a current medication. A new medication is written with the
new dose and the issues left, naming the one it replaces; the old one is
stopped ("dose changed") and stays in the record. The safety checks run again
and are answered as for prescribe (exit 6 with the alerts on stdout).`,
		Example: `  gpsoc med change 9434765919 0193a7c2-… --dose "2 od"`,
		Args:    cobra.ExactArgs(2),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if strings.TrimSpace(dose) == "" {
				return usagef("--dose TEXT is required")
			}
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			ans, err := parseAnswers(overrides, acks)
			if err != nil {
				return err
			}
			res, err := s.ChangeDose(cmd.Context(), args[0], args[1], dose, ifv, ans)
			if err != nil {
				return alertRefusal(f, err)
			}
			return printOneRow(f, res.Medication, medColumns(colIO(f)))
		}),
	}
	cmd.Flags().StringVar(&dose, "dose", "", "the new dose instructions")
	cmd.Flags().StringArrayVar(&overrides, "override", nil, "answer an alert: ALERT_ID=REASON (repeatable)")
	cmd.Flags().StringArrayVar(&acks, "ack", nil, "acknowledge a moderate or low alert (repeatable)")
	addIfVersion(cmd, &ifv)
	return cmd
}

func newMedStopCmd(f *Factory) *cobra.Command {
	var reason string
	var ifv int
	cmd := &cobra.Command{
		Use:     "stop PATIENT MED --reason T [--if-version N]",
		Short:   "Stop a medication, with a reason (it stays in the record)",
		Example: `  gpsoc med stop 9434765919 0193a7c2-… --reason "dry cough"`,
		Args:    cobra.ExactArgs(2),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason T is required: say why it is stopped")
			}
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			m, err := s.Stop(cmd.Context(), args[0], args[1], reason, ifv)
			if err != nil {
				return err
			}
			return printOneRow(f, m, medColumns(colIO(f)))
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it is stopped")
	addIfVersion(cmd, &ifv)
	return cmd
}

func newMedListCmd(f *Factory) *cobra.Command {
	var o clinical.MedListOptions
	cmd := &cobra.Command{
		Use:   "list PATIENT [--current] [--all] [--reason T]",
		Short: "List a patient's medication, newest first",
		Long: `List a patient's medication, newest first: every prescription (stopped ones
and replaced doses too), or with --current what the patient is taking (an
acute only within its course). Overridden alerts are shown with their reason.
--all includes entries entered in error.`,
		Args: cobra.ExactArgs(1),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			l, err := s.MedicationList(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			return printList(f.IO, f.Output, l.Items, medColumns(colIO(f)))
		}),
	}
	cmd.Flags().BoolVar(&o.Current, "current", false, "only what the patient is taking")
	cmd.Flags().BoolVar(&o.All, "all", false, "include entries entered in error")
	addReason(cmd, &o.Reason)
	return cmd
}

func newMedHistoryCmd(f *Factory) *cobra.Command {
	var ro clinical.ReadOptions
	cmd := &cobra.Command{
		Use:   "history PATIENT [--reason T]",
		Short: "Every issue of every medication, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			rows, l, err := s.IssueHistory(cmd.Context(), args[0], ro)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			io := colIO(f)
			return printList(f.IO, f.Output, rows, []Column[clinical.IssueRow]{
				{"at", func(r clinical.IssueRow) string { return showTime(io, r.At) }},
				{"medicationId", func(r clinical.IssueRow) string { return r.MedicationID }},
				{"drug", func(r clinical.IssueRow) string { return r.Drug }},
				{"dose", func(r clinical.IssueRow) string { return r.Dose }},
				{"quantity", func(r clinical.IssueRow) string { return qtyUnit(r.Quantity, r.Unit) }},
				{"issue", func(r clinical.IssueRow) string { return strconv.Itoa(r.Number) }},
				{"by", func(r clinical.IssueRow) string { return r.By }},
			})
		}),
	}
	addReason(cmd, &ro.Reason)
	return cmd
}

func newMedReviewsCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "reviews [PATIENT]",
		Short: "Repeats whose review date has passed (one patient, or the practice)",
		Args:  cobra.MaximumNArgs(1),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			ms, err := s.OverdueReviews(cmd.Context(), ref)
			if err != nil {
				return err
			}
			io := colIO(f)
			cols := append([]Column[*record.Medication]{{"patientId", func(m *record.Medication) string { return m.PatientID }}}, medColumns(io)...)
			return printList(f.IO, f.Output, ms, cols)
		}),
	}
}

func newMedPrintCmd(f *Factory) *cobra.Command {
	var ro clinical.ReadOptions
	cmd := &cobra.Command{
		Use:   "print PATIENT [--reason T]",
		Short: "The current medication list the patient takes home (plain text)",
		Long: `Print the patient's current medication as a plain-text list to take home:
each medicine with its instructions in words (common abbreviations such as
"1 od" written out as "Take ONE tablet once a day"), the quantity, the
prescriber and their professional registration number. -o json gives the
same as data.`,
		Args: cobra.ExactArgs(1),
		RunE: medRunE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			mp, err := s.PrintMedications(cmd.Context(), args[0], ro)
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, mp, nil)
			}
			w := f.IO.Out
			pt := mp.Patient
			fmt.Fprintf(w, "%s (%s)\n", mp.Practice, mp.ODS)
			fmt.Fprintf(w, "Current medication for %s, born %s", pt.Name(), pt.BirthDate)
			if pt.NHSNumber != "" {
				fmt.Fprintf(w, ", NHS number %s", pt.NHSNumber)
			}
			fmt.Fprintf(w, "\nPrinted %s\n\n", mp.Printed.In(UKTime()).Format("2 January 2006"))
			if len(mp.Items) == 0 {
				fmt.Fprintln(w, "No current medication.")
				return nil
			}
			for i, it := range mp.Items {
				fmt.Fprintf(w, "%d. %s\n", i+1, it.Drug)
				fmt.Fprintf(w, "   %s\n", it.Instructions)
				fmt.Fprintf(w, "   Quantity: %s", qtyUnit(it.Quantity, it.Unit))
				if it.Type == "repeat" {
					fmt.Fprintf(w, " (repeat, %d issue(s) left", it.IssuesLeft)
					if it.ReviewDate != "" {
						fmt.Fprintf(w, ", review by %s", it.ReviewDate)
					}
					fmt.Fprint(w, ")")
				}
				fmt.Fprintln(w)
				pres := it.Prescriber
				if it.RegNumber != "" {
					pres += ", registration number " + it.RegNumber
				}
				fmt.Fprintf(w, "   Prescriber: %s\n\n", pres)
			}
			fmt.Fprintln(w, "Keep this list with you and show it to anyone who treats you.")
			return nil
		}),
	}
	addReason(cmd, &ro.Reason)
	return cmd
}

func newMedImportCmd(f *Factory) *cobra.Command {
	cmd := newEntryImportCmd(f, record.KindMedication, "med")
	cmd.Long += `

Imported medication is history: it is written as it was recorded elsewhere
and the prescribing safety checks do not run on it (nothing is being
prescribed). Check a patient's current medication with gpsoc med list.`
	return cmd
}
