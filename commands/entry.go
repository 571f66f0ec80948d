package commands

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newEntryCmd, newHistoryCmd, newRecordCmd)
}

func newEntryCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "entry", Short: "Any record by its id: show, retract (entered in error)"}
	var reason string
	var ifv int
	retract := &cobra.Command{
		Use:   "retract ID --reason T [--if-version N]",
		Short: "Mark a record entered in error",
		Long: `Mark a record entered in error, with a reason. Nothing is deleted: a new
version with status entered-in-error is written, and every earlier version
stays readable in "gpsoc history". Retracting a consultation retracts what
was written with it (its observations and any problem it started).`,
		Example: `  gpsoc entry retract 0193a1b2-... --reason "wrong patient"`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return invalidFlag("reason", reason, "say why the entry was entered in error")
			}
			res, err := s.Retract(cmd.Context(), args[0], reason, ifv)
			if err != nil {
				return err
			}
			for _, l := range res.Linked {
				fmt.Fprintf(f.IO.ErrOut, "also retracted %s %s\n", l.Kind(), l.Head().ID)
			}
			return printEntity(f, res.Entry)
		}),
	}
	retract.Flags().StringVar(&reason, "reason", "", "why it was entered in error (required)")
	addIfVersion(retract, &ifv)
	var ro clinical.ReadOptions
	show := &cobra.Command{
		Use:   "show ID [--reason T]",
		Short: "Show any record by its id",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			e, err := s.Entry(cmd.Context(), args[0], ro)
			if err != nil {
				return err
			}
			return printEntity(f, e)
		}),
	}
	addReason(show, &ro.Reason)
	cmd.AddCommand(retract, show)
	return cmd
}

func historyColumns(ios *IOStreams) []Column[clinical.HistoryRow] {
	return []Column[clinical.HistoryRow]{
		{"recordedAt", func(h clinical.HistoryRow) string { return showTime(ios, h.RecordedAt) }},
		{"recordedBy", func(h clinical.HistoryRow) string { return h.RecordedBy }},
		{"kind", func(h clinical.HistoryRow) string { return string(h.Kind) }},
		{"id", func(h clinical.HistoryRow) string { return h.ID }},
		{"version", func(h clinical.HistoryRow) string { return strconv.Itoa(h.Version) }},
		{"status", func(h clinical.HistoryRow) string { return h.Status }},
		{"what", func(h clinical.HistoryRow) string { return historyWhat(h.Record) }},
	}
}

// historyWhat is a short description of one version.
func historyWhat(e record.Entity) string {
	var s string
	switch x := e.(type) {
	case *record.Patient:
		s = x.Name()
	case *record.Problem:
		s = x.Code.Code + " " + x.Code.Display
	case *record.Observation:
		s = x.Code.Code + " " + obsValue(x)
	case *record.Allergy:
		s = x.Agent.Code + " " + x.Agent.Display
	case *record.Immunisation:
		s = x.Code.Code + " " + x.Date
	case *record.Consultation:
		s = x.Type + " " + x.Text
	case *record.Appointment:
		s = x.Clinician + " " + x.Start.Format("2006-01-02T15:04Z07:00")
	case *record.Task:
		s = x.Text
	case *record.Recall:
		s = x.Code.Code + " due " + x.Due
	case *record.Medication:
		s = x.Code.Code + " " + x.Code.Display
	}
	if r := e.Head().Retraction; r != nil {
		s += " [entered in error: " + r.Reason + "]"
	}
	if e.Head().Imported != nil {
		s += " [imported]"
	}
	return clip(s, 60)
}

func newHistoryCmd(f *Factory) *cobra.Command {
	var ro clinical.ReadOptions
	cmd := &cobra.Command{
		Use:   "history PATIENT [--reason T]",
		Short: "Every version of every record of a patient, with who and when",
		Long: `Every version of every record of a patient, oldest first, with who wrote it
and when: nothing is ever overwritten, so this is the whole story, including
entries later marked entered in error. Users who may not read the clinical
record (reception, admin) see the history of demographics, appointments,
tasks and recalls only.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			rows, err := s.History(cmd.Context(), args[0], ro)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, rows, historyColumns(colIO(f)))
		}),
	}
	addReason(cmd, &ro.Reason)
	return cmd
}

func newRecordCmd(f *Factory) *cobra.Command {
	var ro clinical.ReadOptions
	cmd := &cobra.Command{
		Use:   "record PATIENT [--reason T]",
		Short: "What a GP reads first: the record at a glance",
		Long: `The record at a glance: demographics, warning flags and alerts, active
problems, current medication, allergies, the latest value of each
observation, upcoming appointments, open tasks and recalls that are due.
-o json has the keys patient, flags, alerts, problems, medications,
allergies, latest, appointments, tasks and recalls. Reception and admin
users see patient, flags and appointments only. A sensitive record needs
--reason (audited).`,
		Example: `  gpsoc record 9434765919
  gpsoc record 9434765919 -o json | jq .latest`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			sm, err := s.RecordSummary(cmd.Context(), args[0], ro)
			if err != nil {
				return err
			}
			noteHidden(f, sm.Hidden)
			return printSummary(f, sm)
		}),
	}
	addReason(cmd, &ro.Reason)
	return cmd
}

// printSummary prints the record: JSON, or sections. On a terminal each
// section has a heading; in a pipe (and CSV) every line starts with its section.
func printSummary(f *Factory, sm *clinical.Summary) error {
	switch f.Output {
	case "json", "ndjson":
		return printOne(f.IO, f.Output, sm, nil)
	}
	ios := colIO(f)
	p := sm.Patient
	nhs := record.FormatNHS(p.NHSNumber)
	if nhs == "" {
		nhs = "none (" + p.NoNHSReason + ")"
	}
	type section struct {
		name string
		rows [][]string
	}
	var secs []section
	if sm.Demo {
		secs = append(secs, section{"demo", [][]string{{"DEMO PRACTICE: every patient is synthetic"}}})
	}
	secs = append(secs, section{"patient", [][]string{{p.Name(), nhs, UKDate(ios, p.BirthDate), p.Sex, p.Postcode, p.Status, p.ID}}})
	var flags [][]string
	for _, fl := range sm.Flags {
		flags = append(flags, []string{fl})
	}
	secs = append(secs, section{"flags", flags})
	if sm.Clinical() {
		var rows [][]string
		for _, a := range *sm.Alerts {
			rows = append(rows, []string{a.Kind, a.Message})
		}
		secs = append(secs, section{"alerts", rows})
		rows = nil
		for _, x := range *sm.Allergies {
			term := x.Agent.Display
			if x.NKDA {
				term = "No known drug allergy"
			}
			rows = append(rows, []string{x.Agent.Code, term, x.Reaction, x.Severity})
		}
		secs = append(secs, section{"allergies", rows})
		rows = nil
		for _, x := range *sm.Problems {
			rows = append(rows, []string{x.Code.Code, x.Code.Display, x.Significance, UKDate(ios, x.Onset)})
		}
		secs = append(secs, section{"problems", rows})
		rows = nil
		for _, x := range *sm.Medications {
			rows = append(rows, []string{x.Code.Code, x.Code.Display, x.Dose, x.Type})
		}
		secs = append(secs, section{"medications", rows})
		rows = nil
		for _, x := range *sm.Latest {
			// the abnormal flag and its range (the laboratory's, or the table's marked "ref table")
			rows = append(rows, []string{x.Code.Code, x.Code.Display, obsValue(x), showTime(ios, x.Effective),
				clinical.ResultFlag(x), clinical.RangeOf(x).Label()})
		}
		secs = append(secs, section{"latest", rows})
	}
	var rows [][]string
	for _, a := range sm.Appointments {
		rows = append(rows, []string{showTime(ios, a.Start), a.Clinician, a.Mode, a.Status, a.ID})
	}
	secs = append(secs, section{"appointments", rows})
	if sm.Clinical() {
		rows = nil
		for _, t := range *sm.Tasks {
			rows = append(rows, []string{UKDate(ios, t.Due), t.To, t.Text, t.ID})
		}
		secs = append(secs, section{"tasks", rows})
		rows = nil
		for _, r := range *sm.Recalls {
			rows = append(rows, []string{UKDate(ios, r.Due), r.Code.Code, r.Code.Display, r.ID})
		}
		secs = append(secs, section{"recalls", rows})
	}
	if f.Output == "csv" || !ios.IsTerminal() {
		var out [][]string
		for _, s := range secs {
			for _, r := range s.rows {
				out = append(out, append([]string{s.name}, r...))
			}
		}
		cols := make([]Column[[]string], 0, 8)
		cols = append(cols, Column[[]string]{"section", func(r []string) string { return r[0] }})
		for i := 1; i <= 7; i++ {
			cols = append(cols, Column[[]string]{"c" + strconv.Itoa(i), func(r []string) string {
				if i < len(r) {
					return r[i]
				}
				return ""
			}})
		}
		if f.Output == "csv" {
			return printList(ios, "csv", out, cols)
		}
		for _, r := range out {
			for i := range r {
				r[i] = strings.ReplaceAll(r[i], "\t", " ")
			}
			fmt.Fprintln(ios.Out, strings.Join(r, "\t"))
		}
		return nil
	}
	for i, s := range secs {
		if i > 0 {
			fmt.Fprintln(ios.Out)
		}
		fmt.Fprintln(ios.Out, strings.ToUpper(s.name))
		if len(s.rows) == 0 {
			fmt.Fprintln(ios.Out, "  none")
			continue
		}
		cols := 0
		for _, r := range s.rows {
			cols = max(cols, len(r))
		}
		var tcols []Column[[]string]
		for c := 0; c < cols; c++ {
			tcols = append(tcols, Column[[]string]{"", func(r []string) string { return r[c] }})
		}
		var b strings.Builder
		tmp := &IOStreams{Out: &b, outTTY: true}
		_ = printList(tmp, "table", s.rows, tcols)
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		for _, l := range lines[1:] { // drop the empty header row
			fmt.Fprintln(ios.Out, "  "+strings.TrimRight(l, " "))
		}
	}
	return nil
}
