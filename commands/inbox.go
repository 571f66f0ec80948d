package commands

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop/pathology"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newInboxCmd)
}

func newInboxCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "The results inbox: laboratory reports to match, read and file",
		Long: `The results inbox. Laboratory reports arrive (inbox import, or a laboratory's
feed posting to gpsoc serve's $process-message as an interface user), are
matched to a patient by NHS number and date of birth, and their values enter
the record at once marked unreviewed. A name or sex that differs, or no
patient with that NHS number, puts the report in the unmatched queue, which
admins and managers see as headers only and may match (inbox match). A report
leaves the inbox only when a clinician files it (inbox file). A corrected
report supersedes the earlier values and comes back marked CORRECTED.`,
	}
	cmd.AddCommand(newInboxListCmd(f), newInboxShowCmd(f), newInboxFileCmd(f), newInboxMatchCmd(f),
		newInboxImportCmd(f), newInboxRulesCmd(f))
	return cmd
}

func inboxColumns(ios *IOStreams) []Column[clinical.InboxItem] {
	return []Column[clinical.InboxItem]{
		{"id", func(it clinical.InboxItem) string { return it.Report.ID }},
		{"received", func(it clinical.InboxItem) string { return showTime(ios, it.Report.ReceivedAt) }},
		{"flag", func(it clinical.InboxItem) string { return inboxFlag(it) }},
		{"status", func(it clinical.InboxItem) string { return it.Report.Status }},
		{"to", func(it clinical.InboxItem) string { return it.Report.To }},
		{"patient", func(it clinical.InboxItem) string {
			if it.Patient != nil {
				return it.Patient.Name + " " + record.FormatNHS(it.Patient.NHSNumber)
			}
			sp := it.Report.SentPatient
			return "(sent) " + sp.Name() + " " + sp.NHSNumber + " " + sp.BirthDate
		}},
		{"sender", func(it clinical.InboxItem) string { return it.Report.Sender.Name }},
		{"report", func(it clinical.InboxItem) string { return inboxTitle(it.Report) }},
	}
}

// inboxFlag marks what the clinician must see first.
func inboxFlag(it clinical.InboxItem) string {
	var fs []string
	if it.Report.Corrected {
		fs = append(fs, "CORRECTED")
	}
	if it.Abnormal {
		fs = append(fs, "ABNORMAL")
	}
	if it.Report.Status == record.ReportUnmatched {
		fs = append(fs, "UNMATCHED")
	}
	return strings.Join(fs, " ")
}

func inboxTitle(r *record.Report) string {
	if r.Title.Display != "" {
		return r.Title.Display
	}
	var ns []string
	for _, t := range r.Tests {
		ns = append(ns, t.Name)
	}
	return strings.Join(ns, ", ")
}

func newInboxListCmd(f *Factory) *cobra.Command {
	var fl clinical.InboxFilter
	var mine bool
	cmd := &cobra.Command{
		Use:   "list [--to USER | --mine] [--unmatched]",
		Short: "List the reports waiting: abnormal first, then oldest",
		Long: `List the reports waiting in the inbox, abnormal first, then oldest first.
Clinicians see unfiled and unmatched reports; admins and managers see the
unmatched queue, headers only (no values).`,
		Example: "  gpsoc inbox list --mine\n  gpsoc inbox list --unmatched -o json",
		Args:    cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if mine {
				fl.To = s.User().Name
			}
			items, err := s.Inbox(cmd.Context(), fl)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, items, inboxColumns(colIO(f)))
		}),
	}
	cmd.Flags().StringVar(&fl.To, "to", "", "only reports addressed to this clinician (and the unmatched queue)")
	cmd.Flags().BoolVar(&mine, "mine", false, "only reports addressed to me (and the unmatched queue)")
	cmd.Flags().BoolVar(&fl.Unmatched, "unmatched", false, "only the unmatched queue")
	return cmd
}

func newInboxShowCmd(f *Factory) *cobra.Command {
	var ro clinical.ReadOptions
	cmd := &cobra.Command{
		Use:     "show REPORT [--reason T]",
		Short:   "Show a report: its results with units, ranges and flags, and earlier values",
		Example: "  gpsoc inbox show 0193…",
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			v, err := s.OpenReport(cmd.Context(), args[0], ro)
			if err != nil {
				return err
			}
			if f.Output != "table" {
				return printOne(f.IO, f.Output, v, nil)
			}
			return printReportView(f, v)
		}),
	}
	cmd.Flags().StringVar(&ro.Reason, "reason", "", "why you open it: needed for a sensitive record (audited)")
	return cmd
}

func printReportView(f *Factory, v *clinical.ReportView) error {
	ios, r, w := colIO(f), v.Report, f.IO.Out
	fields := [][2]string{
		{"id", r.ID}, {"version", strconv.Itoa(r.Version)}, {"status", r.Status}, {"flag", inboxFlag(v.InboxItem)},
		{"report", inboxTitle(r)}, {"lab report", fmt.Sprintf("%s version %d (%s)", r.LabReportID, r.LabVersion, r.LabStatus)},
		{"sender", strings.TrimSpace(r.Sender.Name + " " + r.Sender.ODS)},
		{"requester", strings.TrimSpace(r.Requester.Name + " " + r.Requester.Code)},
		{"specimen", strings.TrimSpace(r.Specimen.Type + " " + r.Specimen.ID + " taken " + showTime(ios, r.Specimen.Collected))},
		{"issued", showTime(ios, r.Issued)}, {"received", showTime(ios, r.ReceivedAt)},
		{"sent patient", strings.TrimSpace(r.SentPatient.Name() + " " + r.SentPatient.NHSNumber + " " + r.SentPatient.BirthDate + " " + r.SentPatient.Sex)},
		{"unmatched", r.Unmatched}, {"to", r.To},
	}
	if v.Patient != nil {
		fields = append(fields, [2]string{"patient", v.Patient.Name + " " + record.FormatNHS(v.Patient.NHSNumber) + " " + v.Patient.BirthDate})
	}
	if r.Filing != nil {
		fields = append(fields, [2]string{"filed", strings.TrimSpace(r.Filing.Action + " by " + r.Filing.By + " " + showTime(ios, r.Filing.At) + " " + r.Filing.Comment)})
	}
	if err := printOne(ios, "table", nil, fields); err != nil {
		return err
	}
	cols := []Column[int]{
		{"test", func(i int) string { return r.Tests[i].Name }},
		{"value", func(i int) string { return testValue(&r.Tests[i]) }},
		{"range", func(i int) string { return r.Tests[i].Range.String() }},
		{"flag", func(i int) string { return r.Tests[i].Flag }},
		{"previous", func(i int) string {
			if i >= len(v.Previous) {
				return ""
			}
			var ps []string
			for j, o := range v.Previous[i] {
				if j == 3 {
					break
				}
				ps = append(ps, obsValueText(o)+" ("+o.Effective.In(ukTime).Format("02-Jan-2006")+")")
			}
			return strings.Join(ps, "; ")
		}},
		{"comment", func(i int) string { return strings.Join(r.Tests[i].Comments, " / ") }},
	}
	idx := make([]int, len(r.Tests))
	for i := range idx {
		idx[i] = i
	}
	fmt.Fprintln(w)
	if err := printList(ios, "table", idx, cols); err != nil {
		return err
	}
	for _, c := range r.Comments {
		fmt.Fprintf(w, "\ncomment: %s\n", record.ShowControls(c))
	}
	return nil
}

func testValue(t *record.ReportTest) string {
	s := t.ValueText
	if t.Value != nil {
		s = t.Comparator + strconv.FormatFloat(*t.Value, 'g', -1, 64)
	}
	if t.Unit != "" {
		s += " " + t.Unit
	}
	return s
}

func obsValueText(o *record.Observation) string {
	s := o.ValueText
	if o.Value != nil {
		s = o.Comparator + strconv.FormatFloat(*o.Value, 'g', -1, 64)
	}
	if o.Unit != "" {
		s += " " + o.Unit
	}
	return s
}

func newInboxFileCmd(f *Factory) *cobra.Command {
	var in clinical.FilingInput
	cmd := &cobra.Command{
		Use:   "file REPORT --action ACTION [--comment T [--for patient|team]] [--weeks N] [--if-version N]",
		Short: "File a report (gp, nurse): it leaves the inbox",
		Long: `File a report: it leaves the inbox and its values are marked reviewed, in one
audited action. ACTION is one of:
  normal               normal, no action
  comment              file with a comment (--comment) for the patient or the team (--for)
  routine-appointment  makes a task: book a routine appointment (due in 14 days)
  urgent               makes a task: contact the patient today
  speak-to-gp          makes a task: ask the patient to speak to the GP (due in 2 days)
  repeat               makes a recall: repeat the test in --weeks N (1-104); coded by the
                       report's SNOMED CT code, or --code`,
		Example: "  gpsoc inbox file 0193… --action urgent --comment \"K+ 6.2: recheck today\"\n  gpsoc inbox file 0193… --action repeat --weeks 6",
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(in.IfVersion); err != nil {
				return err
			}
			in.ReportID = args[0]
			res, err := s.FileReport(cmd.Context(), in)
			if err != nil {
				return err
			}
			if f.Output != "table" {
				return printOne(f.IO, f.Output, res, nil)
			}
			fields := [][2]string{{"id", res.Report.ID}, {"status", res.Report.Status}, {"action", res.Report.Filing.Action},
				{"comment", res.Report.Filing.Comment}, {"version", strconv.Itoa(res.Report.Version)}}
			if res.Task != nil {
				fields = append(fields, [2]string{"task", res.Task.ID + " due " + res.Task.Due + ": " + res.Task.Text})
			}
			if res.Recall != nil {
				fields = append(fields, [2]string{"recall", res.Recall.ID + " due " + res.Recall.Due})
			}
			return printOne(colIO(f), "table", nil, fields)
		}),
	}
	cmd.Flags().StringVar(&in.Action, "action", "", "normal, comment, routine-appointment, urgent, speak-to-gp or repeat (required)")
	cmd.Flags().StringVar(&in.Comment, "comment", "", "a comment for the patient or the team")
	cmd.Flags().StringVar(&in.For, "for", "", "who the comment is for: patient or team (default team)")
	cmd.Flags().IntVar(&in.Weeks, "weeks", 0, "repeat: in how many weeks (1-104)")
	cmd.Flags().StringVar(&in.RecallCode, "code", "", "repeat: the recall's code (default the report's SNOMED CT code)")
	cmd.Flags().StringVar(&in.RecallSystem, "system", "", "repeat: the code's system (sct by default)")
	addIfVersion(cmd, &in.IfVersion)
	return cmd
}

func newInboxMatchCmd(f *Factory) *cobra.Command {
	var reason string
	var ifv int
	cmd := &cobra.Command{
		Use:   "match REPORT PATIENT --reason T [--if-version N]",
		Short: "Match an unmatched report to a patient, with the reason (audited)",
		Long: `Match an unmatched report to a patient (an id or NHS number), saying what
confirmed the identity. Its values enter the record, unreviewed, and it waits
in the inbox of the requester (or the patient's usual GP) to be filed.`,
		Example: `  gpsoc inbox match 0193… 9434765919 --reason "lab confirmed NHS number by phone"`,
		Args:    cobra.ExactArgs(2),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			r, err := s.MatchReport(cmd.Context(), args[0], args[1], reason, ifv)
			if err != nil {
				return err
			}
			if f.Output != "table" {
				return printOne(f.IO, f.Output, r, nil)
			}
			return printOne(colIO(f), "table", nil, [][2]string{{"id", r.ID}, {"status", r.Status}, {"patientId", r.MatchedPatient},
				{"to", r.To}, {"version", strconv.Itoa(r.Version)}})
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "what confirmed the patient's identity (required)")
	addIfVersion(cmd, &ifv)
	return cmd
}

func newInboxImportCmd(f *Factory) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "import FILE|DIR|-",
		Short: "Take laboratory reports into the inbox (admins, clinicians; a feed is an interface user)",
		Long: `Take laboratory reports into the inbox: a FHIR UK Core pathology message
Bundle (.json), NDJSON of such Bundles, an HL7 v2 ORU^R01 message or batch in
ER7 (a file starting MSH|, FHS| or BHS|, whatever its name), or a directory
of them (each .json, .ndjson, .hl7 and .er7 file, in name order). An HL7 v2
file is read strictly and whole: one error refuses the file, naming the
line, the field (OBX-5) and the value. Each report is matched and delivered as the
interface would deliver it; a report already held (same laboratory, report
id and version) counts as unchanged. A file that cannot be read as a report
writes nothing and is reported on stderr as: line N: FILE "NAME": reason.
Exit 1 when any was rejected.`,
		Example: "  gpsoc inbox import reports/\n  gpsoc inbox import - < message.json",
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			names, err := inboxInputs(args[0])
			if err != nil {
				return err
			}
			inputs := make([]pathology.Input, len(names))
			for i, name := range names {
				inputs[i] = pathology.Input{Name: name, Read: func() ([]byte, error) { return readInboxInput(f, name) }}
			}
			sum, err := pathology.Import(cmd.Context(), s, inputs, pathology.ImportOptions{DryRun: dry,
				OnReject: func(r clinical.Rejection) { fmt.Fprintln(f.IO.ErrOut, r.String()) }})
			if err != nil {
				return err
			}
			switch f.Output {
			case "json", "ndjson":
				if err := printOne(f.IO, f.Output, sum, nil); err != nil {
					return err
				}
			default:
				prefix := ""
				if dry {
					prefix = "dry run: "
				}
				fmt.Fprintf(f.IO.Out, "%sread %d, written %d, unchanged %d, rejected %d (matched %d, unmatched %d, auto-filed %d, corrected %d)\n",
					prefix, sum.Read, sum.Written, sum.Unchanged, sum.Rejected, sum.Matched, sum.Unmatched, sum.AutoFiled, sum.Corrected)
			}
			if sum.Rejected > 0 {
				return &ExitError{Code: ExitFailure, Msg: ""}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "read and check the messages, write nothing")
	return cmd
}

// inboxInputs lists the files an import reads: "-", a file, or a directory's
// .json and .ndjson files in name order.
func inboxInputs(arg string) ([]string, error) {
	if arg == "-" {
		return []string{"-"}, nil
	}
	st, err := os.Stat(arg)
	if err != nil {
		return nil, &record.ValidationError{Field: "FILE", Value: arg, Reason: "cannot be read: " + strings.TrimPrefix(err.Error(), "stat "+arg+": ")}
	}
	if !st.IsDir() {
		return []string{arg}, nil
	}
	es, err := os.ReadDir(arg)
	if err != nil {
		return nil, &record.ValidationError{Field: "DIR", Value: arg, Reason: err.Error()}
	}
	var out []string
	for _, e := range es {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".ndjson") || strings.HasSuffix(n, ".hl7") || strings.HasSuffix(n, ".er7")) {
			out = append(out, filepath.Join(arg, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

func readInboxInput(f *Factory, name string) ([]byte, error) {
	in, err := openInput(f, name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return io.ReadAll(io.LimitReader(in, 256<<20))
}

func newInboxRulesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Filing rules: test, enable and show them (GPs)",
		Long: `Filing rules file normal reports without a clinician, under the rule's id
(audited). A rules file is YAML:

  rules:
    - id: fbc-normal
      description: normal full blood counts from the hospital laboratory
      enabled: true
      sender: RR8                  # the laboratory's ODS code or name as sent
      tests: [Haemoglobin, "White cell count", Platelets]   # codes or names
      unlessProblem: [414022008]   # not for patients with this problem or below

No rule can file an abnormal result, a result or report that carries a
comment, a corrected report or an unmatched one: that is enforced in code,
whatever the file says; "action" may only be normal.`,
	}
	test := &cobra.Command{
		Use:   "test FILE",
		Short: "Show what each rule of FILE would do to today's inbox (files nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			data, err := readInboxInput(f, args[0])
			if err != nil {
				return err
			}
			vs, err := s.TestFilingRules(cmd.Context(), data)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, vs, []Column[clinical.RuleVerdict]{
				{"id", func(v clinical.RuleVerdict) string { return v.Report.ID }},
				{"report", func(v clinical.RuleVerdict) string { return inboxTitle(v.Report) }},
				{"sender", func(v clinical.RuleVerdict) string { return v.Report.Sender.Name }},
				{"rule", func(v clinical.RuleVerdict) string { return v.Rule }},
				{"outcome", func(v clinical.RuleVerdict) string { return v.Why }},
			})
		}),
	}
	enable := &cobra.Command{
		Use:   "enable FILE",
		Short: "Validate FILE and make its enabled rules the practice's (GPs; audited)",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			data, err := readInboxInput(f, args[0])
			if err != nil {
				return err
			}
			fr, err := s.SetFilingRules(cmd.Context(), data)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, fr.Rules, ruleColumns())
		}),
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the practice's rules file",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			text, err := s.FilingRulesText(cmd.Context())
			if err != nil {
				return err
			}
			if f.Output == "table" {
				_, err = io.WriteString(f.IO.Out, text)
				return err
			}
			fr := &clinical.FilingRules{}
			if text != "" {
				if fr, err = clinical.ParseFilingRules([]byte(text)); err != nil {
					return err
				}
			}
			return printList(f.IO, f.Output, fr.Rules, ruleColumns())
		}),
	}
	cmd.AddCommand(test, enable, show)
	return cmd
}

func ruleColumns() []Column[clinical.FilingRule] {
	return []Column[clinical.FilingRule]{
		{"id", func(r clinical.FilingRule) string { return r.ID }},
		{"enabled", func(r clinical.FilingRule) string { return strconv.FormatBool(r.Enabled) }},
		{"sender", func(r clinical.FilingRule) string { return r.Sender }},
		{"tests", func(r clinical.FilingRule) string { return strings.Join(r.Tests, ", ") }},
		{"description", func(r clinical.FilingRule) string { return r.Description }},
	}
}
