package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newSearchCmd, newRegisterCmd)
}

// searchFlags are the flags every search and register command shares.
type searchFlags struct {
	on        string
	reason    string
	registers string
}

func (o *searchFlags) add(cmd *cobra.Command, withReason bool) {
	cmd.Flags().StringVar(&o.on, "on", "", "reference date YYYY-MM-DD (or today, qof-year-end); default: the definition's own reference line")
	cmd.Flags().StringVar(&o.registers, "registers", "", "a directory of register and indicator definitions (*.search) beside the shipped ones; default: config search.registers")
	if withReason {
		cmd.Flags().StringVar(&o.reason, "reason", "", "why you need the values of sensitive records (audited); without it they are listed flagged, values withheld")
	}
}

// searchEnv is what a search run needs: the definitions, the resolver, the service.
type searchEnv struct {
	f    *Factory
	s    *clinical.Service
	defs []*cohort.Def
	res  cohort.Resolver
	o    *searchFlags
}

func newSearchEnv(f *Factory, cmd *cobra.Command, o *searchFlags) (*searchEnv, error) {
	if o.on != "" {
		if _, err := cohort.ReferenceDate(&cohort.Def{}, f.Now(), o.on); err != nil {
			return nil, err
		}
	}
	dir := o.registers
	if dir == "" {
		dir = f.Config.GetString("search.registers")
	}
	defs, err := cohort.LoadDefs(dir)
	if err != nil {
		return nil, err
	}
	tm, err := f.Terminology()
	if err != nil {
		return nil, err
	}
	s, err := f.Service(cmd.Context())
	if err != nil {
		return nil, err
	}
	return &searchEnv{f: f, s: s, defs: defs, res: cohort.NewTermResolver(tm), o: o}, nil
}

// check resolves every code set of d before any patient is read.
func (e *searchEnv) check(d *cohort.Def) error {
	return cohort.NewEngine(cohort.NewBuilder(false).Build(), e.res, e.defs).Check(d)
}

// run evaluates d over the whole practice, audits the run and returns its
// rows. In remote mode against gpsoc serve the search runs on the server,
// where the data is (res is then nil); against another vendor's server it
// runs here over standard FHIR search, and says so.
func (e *searchEnv) run(ctx context.Context, d *cohort.Def, action string) (*cohort.Result, []cohort.Row, error) {
	if err := e.check(d); err != nil {
		return nil, nil, err
	}
	R, err := cohort.ReferenceDate(d, e.f.Now(), e.o.on)
	if err != nil {
		return nil, nil, err
	}
	if remoteConfigured(e.f) {
		sr, ok, err := e.s.SearchOnServer(ctx, cohort.ServerText(d, e.defs), cohort.DayString(R), e.o.reason, action)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			return nil, cohort.ServerRows(sr), nil
		}
	}
	ix, err := e.build(ctx, d.Kinds(e.defs))
	if err != nil {
		return nil, nil, err
	}
	run := cohort.NewEngine(ix, e.res, e.defs).NewRun(R)
	res, err := run.Evaluate(d)
	if err != nil {
		return nil, nil, err
	}
	rows := run.Rows(res, strings.TrimSpace(e.o.reason) != "")
	q := cohort.Query(d, R)
	if action != "" {
		q = action + " " + q
	}
	if err := e.s.AuditSearch(ctx, clinical.SearchRun{Query: q, Count: len(rows), Reason: e.o.reason}); err != nil {
		return nil, nil, err
	}
	return res, rows, nil
}

// build reads what a search evaluated here needs (kinds; nil: every kind).
// In remote mode the server could not run it (it does not declare gpsoc's
// Group/$search: another vendor's), so the records came over standard FHIR
// search: said on stderr, with what was fetched and how long it took.
func (e *searchEnv) build(ctx context.Context, kinds []record.Kind) (*cohort.Index, error) {
	t0 := time.Now()
	ix, err := cohort.BuildKinds(ctx, e.s, kinds)
	if err != nil {
		return nil, err
	}
	if remoteConfigured(e.f) {
		fmt.Fprintln(e.f.IO.ErrOut, "gpsoc: "+cohort.FetchedNote(ix, time.Since(t0)))
	}
	return ix, nil
}

// explain explains d for one patient where the data is (cohort.ExplainFor):
// on gpsoc serve in remote mode, else here over the patient read on their own.
// The TUI's explain and reveal keys go the same way (cohort.Reveal).
func (e *searchEnv) explain(ctx context.Context, d *cohort.Def, ref string) (*cohort.Explanation, error) {
	if err := e.check(d); err != nil {
		return nil, err
	}
	R, err := cohort.ReferenceDate(d, e.f.Now(), e.o.on)
	if err != nil {
		return nil, err
	}
	x, err := cohort.ExplainFor(ctx, e.s, e.res, e.defs, d, R, ref, e.o.reason)
	if err != nil {
		return nil, err
	}
	if x.Withheld {
		fmt.Fprintln(e.f.IO.ErrOut, "gpsoc: this record is sensitive: the entries are withheld; give --reason to see them (audited)")
	}
	return x, nil
}

func newSearchCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Population searches written as text: run, explain, recall (manager, gp, nurse)",
		Long: `Population searches written in the search language (docs/search.md): a
text file a practice manager writes and keeps in git. Each run is audited
with the search and the count. A sensitive record is listed flagged, its
values withheld, unless --reason says why they are needed (audited).`,
	}
	cmd.AddCommand(newSearchRunCmd(f), newSearchExplainCmd(f), newSearchCheckCmd(f),
		newSearchRecallCmd(f), newSearchTaskCmd(f))
	return cmd
}

func newSearchRunCmd(f *Factory) *cobra.Command {
	var o searchFlags
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a search: the patients, with the values that matched",
		Example: `  gpsoc search run diabetes-high-hba1c.search
  gpsoc search run diabetes-high-hba1c.search --on 2026-03-31 -o csv > list.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := cohort.ParseFile(args[0])
			if err != nil {
				return err
			}
			e, err := newSearchEnv(f, cmd, &o)
			if err != nil {
				return err
			}
			_, rows, err := e.run(cmd.Context(), d, "")
			if err != nil {
				return err
			}
			return printRows(f, rows, d.Kind == cohort.KindIndicator)
		},
	}
	o.add(cmd, true)
	return cmd
}

func newSearchExplainCmd(f *Factory) *cobra.Command {
	var o searchFlags
	cmd := &cobra.Command{
		Use:     "explain FILE PATIENT",
		Short:   "Why a patient is in or out of a search, rule by rule",
		Example: `  gpsoc search explain diabetes-high-hba1c.search 9434765919`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := cohort.ParseFile(args[0])
			if err != nil {
				return err
			}
			e, err := newSearchEnv(f, cmd, &o)
			if err != nil {
				return err
			}
			x, err := e.explain(cmd.Context(), d, args[1])
			if err != nil {
				return err
			}
			return printExplanation(f, x)
		},
	}
	o.add(cmd, true)
	return cmd
}

func newSearchCheckCmd(f *Factory) *cobra.Command {
	var o searchFlags
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check searches: parse them and resolve every code set; no patient is read",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := o.registers
			if dir == "" {
				dir = f.Config.GetString("search.registers")
			}
			defs, err := cohort.LoadDefs(dir)
			if err != nil {
				return err
			}
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			eng := cohort.NewEngine(cohort.NewBuilder(false).Build(), cohort.NewTermResolver(tm), defs)
			for _, a := range args {
				d, err := cohort.ParseFile(a)
				if err != nil {
					return err
				}
				if err := eng.Check(d); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "%s: ok (%s %s)\n", a, d.Kind, d.ID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.registers, "registers", "", "a directory of register and indicator definitions beside the shipped ones")
	return cmd
}

// printRows prints a search result.
func printRows(f *Factory, rows []cohort.Row, indicator bool) error {
	switch f.Output {
	case "json", "ndjson":
		return printList(f.IO, f.Output, rows, nil)
	}
	ios := colIO(f)
	cols := []Column[cohort.Row]{
		{"name", func(r cohort.Row) string { return r.Name }},
		{"nhsNumber", func(r cohort.Row) string {
			if ios.IsTerminal() {
				return record.FormatNHS(r.NHSNumber)
			}
			return r.NHSNumber
		}},
	}
	if indicator {
		cols = append(cols, Column[cohort.Row]{"status", func(r cohort.Row) string { return r.Status }})
	}
	cols = append(cols,
		Column[cohort.Row]{"matched", func(r cohort.Row) string {
			if r.Sensitive && len(r.Matched) == 0 {
				return "(sensitive record: values withheld; give --reason)"
			}
			return matchedCell(ios, r.Matched)
		}},
		Column[cohort.Row]{"patientId", func(r cohort.Row) string { return r.PatientID }})
	return printList(f.IO, f.Output, rows, cols)
}

func matchedCell(ios *IOStreams, ev []cohort.Evidence) string {
	var parts []string
	for _, e := range ev {
		if e.Code.Code == "" && e.Note != "" { // a server's match, as it wrote it
			parts = append(parts, e.Note)
			continue
		}
		s := e.Code.Display
		if s == "" {
			s = e.Code.Code
		}
		if s == "" { // a score
			s = e.Role
		}
		if e.Value != "" {
			s += " " + e.Value
		}
		if e.Date != "" {
			s += " " + UKDate(ios, e.Date)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// printExplanation prints why a patient is in or out.
func printExplanation(f *Factory, x *cohort.Explanation) error {
	switch f.Output {
	case "json", "ndjson":
		return printOne(f.IO, f.Output, x, nil)
	case "csv":
		return usagef("explain prints table or JSON, not csv")
	}
	ios := colIO(f)
	w := f.IO.Out
	verdict := "OUT"
	if x.In {
		verdict = "IN"
	}
	if x.Status != "" {
		verdict += " (" + x.Status + ")"
	}
	if x.ID == x.Title {
		fmt.Fprintf(w, "%s %q on %s\n", x.Kind, x.Title, UKDate(ios, x.Reference))
	} else {
		fmt.Fprintf(w, "%s %s %q on %s\n", x.Kind, x.ID, x.Title, UKDate(ios, x.Reference))
	}
	fmt.Fprintf(w, "%s  %s: %s\n\n", x.Name, record.FormatNHS(x.NHSNumber), verdict)
	writeExplanationLines(w, ios, x.Lines)
	for _, n := range x.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	return nil
}

func writeExplanationLines(w io.Writer, ios *IOStreams, lines []cohort.Line) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, l := range lines {
		mark := "no "
		if l.Holds {
			mark = "yes"
		}
		ind := strings.Repeat("  ", l.Depth)
		text := l.Text
		if l.Rule != "" {
			text = l.Rule + ": " + text
		}
		fmt.Fprintf(tw, "%s%s  %s\n", ind, mark, record.ShowControls(text))
		for _, e := range l.Evidence {
			fmt.Fprintf(tw, "%s       %s\n", ind, record.ShowControls(evidenceText(ios, e)))
		}
	}
	_ = tw.Flush()
}

func evidenceText(ios *IOStreams, e cohort.Evidence) string {
	var b []string
	b = append(b, e.Role+":")
	if e.Code.Code != "" {
		b = append(b, e.Code.Code)
		if e.Code.Display != "" {
			b = append(b, "|"+e.Code.Display+"|")
		}
	}
	if e.Value != "" {
		b = append(b, e.Value)
	}
	if e.Date != "" {
		b = append(b, UKDate(ios, e.Date))
	}
	if e.Kind != "" {
		k := string(e.Kind)
		if e.ID != "" {
			k += " " + e.ID
		}
		b = append(b, "("+k+")")
	}
	if e.Note != "" && len(b) == 1 {
		b = append(b, e.Note) // a note alone: "latest bp: none recorded in the period"
	} else if e.Note != "" {
		b = append(b, "- "+e.Note)
	}
	return strings.Join(b, " ")
}

// patientsWith is the patients of the items that match (an open recall of
// the code, an open task of the text): a rerun leaves them unchanged.
func patientsWith[T any](items []T, match func(T) bool, patient func(T) string) map[string]bool {
	out := map[string]bool{}
	for _, it := range items {
		if match(it) {
			out[patient(it)] = true
		}
	}
	return out
}

// actionOutcome is one patient of a recall or task run.
type actionOutcome struct {
	PatientID string `json:"patientId"`
	Name      string `json:"name"`
	NHSNumber string `json:"nhsNumber,omitempty"`
	Outcome   string `json:"outcome"` // created, would create, unchanged, rejected
	ID        string `json:"id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// actOnSearch runs a search and applies fn to every patient; one audit event
// per record written (the services' own). It prints one row a patient and
// the bulk summary; exit 1 when any patient was rejected.
func actOnSearch[T record.Entity](cmd *cobra.Command, f *Factory, o *searchFlags, file string, dry bool,
	skip func(e *searchEnv) (map[string]bool, error), fn func(e *searchEnv, pid string) (T, error)) error {
	d, err := cohort.ParseFile(file)
	if err != nil {
		return err
	}
	e, err := newSearchEnv(f, cmd, o)
	if err != nil {
		return err
	}
	action := "recall/task from"
	if dry {
		action = "dry run of recall/task from"
	}
	_, rows, err := e.run(cmd.Context(), d, action)
	if err != nil {
		return err
	}
	has, err := skip(e)
	if err != nil {
		return err
	}
	sum := clinical.ImportSummary{Rejections: []clinical.Rejection{}}
	var out []actionOutcome
	for i, r := range rows {
		sum.Read++
		oc := actionOutcome{PatientID: r.PatientID, Name: r.Name, NHSNumber: r.NHSNumber}
		switch {
		case has[r.PatientID]:
			oc.Outcome = "unchanged"
			oc.Reason = "already has an open one"
			sum.Unchanged++
		case dry:
			oc.Outcome = "would create"
			sum.Written++
		default:
			made, err := fn(e, r.PatientID)
			if err != nil {
				if ExitCode(err) == ExitForbidden {
					return err // a role refusal applies to every patient: stop
				}
				oc.Outcome, oc.Reason = "rejected", err.Error()
				sum.Rejected++
				sum.Rejections = append(sum.Rejections, clinical.Rejection{Line: i + 1, Field: "patient", Value: r.NHSNumber, Reason: err.Error()})
				fmt.Fprintf(f.IO.ErrOut, "patient %s %s: %s\n", r.Name, record.FormatNHS(r.NHSNumber), err)
			} else {
				oc.Outcome, oc.ID = "created", made.Head().ID
				sum.Written++
			}
		}
		out = append(out, oc)
	}
	switch f.Output {
	case "json", "ndjson":
		if err := printList(f.IO, f.Output, out, nil); err != nil {
			return err
		}
		if sum.Rejected > 0 {
			return &ExitError{Code: ExitFailure}
		}
		return nil
	}
	if err := printList(f.IO, f.Output, out, []Column[actionOutcome]{
		{"name", func(a actionOutcome) string { return a.Name }},
		{"nhsNumber", func(a actionOutcome) string { return record.FormatNHS(a.NHSNumber) }},
		{"outcome", func(a actionOutcome) string { return a.Outcome }},
		{"id", func(a actionOutcome) string { return a.ID }},
		{"reason", func(a actionOutcome) string { return a.Reason }},
	}); err != nil {
		return err
	}
	if f.Output == "csv" {
		fmt.Fprintf(f.IO.ErrOut, "read %d, written %d, unchanged %d, rejected %d\n", sum.Read, sum.Written, sum.Unchanged, sum.Rejected)
		if sum.Rejected > 0 {
			return &ExitError{Code: ExitFailure}
		}
		return nil
	}
	return printImportSummary(f, &sum, dry)
}

func newSearchRecallCmd(f *Factory) *cobra.Command {
	var o searchFlags
	var in clinical.RecallInput
	var dry bool
	cmd := &cobra.Command{
		Use:   "recall FILE --code C --due D [--dry-run]",
		Short: "Set up a recall for every patient of a search (one audit event each)",
		Long: `Set up a recall for every patient of a search, through the same service as
recall add (its checks, and one audit event per recall). A patient who already
has an open recall of that code is left unchanged. --dry-run lists what would
be created and writes nothing but the audit of the search run.`,
		Example: `  gpsoc search recall diabetes-high.search --code 1003671000000109 --due 2027-01-31 --dry-run   # an HbA1c due`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parseDay("due", in.Due); err != nil {
				return err
			}
			return actOnSearch(cmd, f, &o, args[0], dry, func(e *searchEnv) (map[string]bool, error) {
				open, err := e.s.Recalls(cmd.Context(), clinical.RecallFilter{})
				if err != nil {
					return nil, err
				}
				c, err := e.s.Code("code", in.System, in.Code)
				return patientsWith(open, func(r *record.Recall) bool { return r.Code.Code == c.Code && r.Code.System == c.System },
					func(r *record.Recall) string { return r.PatientID }), err
			}, func(e *searchEnv, pid string) (record.Entity, error) {
				x := in
				x.PatientRef = pid
				return e.s.AddRecall(cmd.Context(), x)
			})
		},
	}
	cmd.Flags().StringVar(&in.Code, "code", "", "what is due, a SNOMED CT code (required)")
	cmd.Flags().StringVar(&in.System, "system", "", "code system: sct (default) or a URI")
	cmd.Flags().StringVar(&in.Due, "due", "", "due date YYYY-MM-DD (required)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "list what would be created; write nothing")
	_ = cmd.MarkFlagRequired("code")
	_ = cmd.MarkFlagRequired("due")
	o.add(cmd, false)
	return cmd
}

func newSearchTaskCmd(f *Factory) *cobra.Command {
	var o searchFlags
	var in clinical.TaskInput
	var dry bool
	cmd := &cobra.Command{
		Use:   "task FILE --text T [--due D] [--to USER] [--dry-run]",
		Short: "Add a task about every patient of a search (one audit event each)",
		Long: `Add a task about every patient of a search, through the same service as task
add. A patient who already has an open task with the same text is left
unchanged. --dry-run lists what would be created and writes nothing but the
audit of the search run.`,
		Example: `  gpsoc search task no-bp-recorded.search --text "Invite for a blood pressure check" --to reception --dry-run`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parseDay("due", in.Due); err != nil {
				return err
			}
			in.Text = strings.TrimSpace(in.Text)
			if in.Text == "" {
				return invalidFlag("text", in.Text, "task text is required")
			}
			return actOnSearch(cmd, f, &o, args[0], dry, func(e *searchEnv) (map[string]bool, error) {
				open, err := e.s.Tasks(cmd.Context(), clinical.TaskFilter{})
				return patientsWith(open, func(t *record.Task) bool { return t.Text == in.Text },
					func(t *record.Task) string { return t.PatientID }), err
			}, func(e *searchEnv, pid string) (record.Entity, error) {
				x := in
				x.PatientRef = pid
				return e.s.AddTask(cmd.Context(), x)
			})
		},
	}
	cmd.Flags().StringVar(&in.Text, "text", "", "what needs doing (required)")
	cmd.Flags().StringVar(&in.Due, "due", "", "due date YYYY-MM-DD")
	cmd.Flags().StringVar(&in.To, "to", "", "the user it is for (default anyone)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "list what would be created; write nothing")
	_ = cmd.MarkFlagRequired("text")
	o.add(cmd, false)
	return cmd
}

// registerSummary is one line of register list.
type registerSummary struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	Reference   string   `json:"reference"`
	Count       int      `json:"count"`                 // register size, or indicator denominator
	Prevalence  *float64 `json:"prevalence,omitempty"`  // registers: count / registered patients
	Numerator   *int     `json:"numerator,omitempty"`   // indicators
	Exceptions  *int     `json:"exceptions,omitempty"`  // indicators
	Achievement *float64 `json:"achievement,omitempty"` // indicators: numerator / (denominator - exceptions)
}

func newRegisterCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Disease registers and QOF indicators: list, show, explain, export (manager, gp, nurse)",
		Long: `Disease registers and indicators, defined in the search language
(docs/search.md): the shipped QOF definitions (fixtures/embedded/registers)
and a practice's own (--registers DIR, or config search.registers). Each run
is audited with the definition and the count.`,
	}
	cmd.AddCommand(newRegisterListCmd(f), newRegisterShowCmd(f, "show"), newRegisterExplainCmd(f), newRegisterShowCmd(f, "export"))
	return cmd
}

func newRegisterListCmd(f *Factory) *cobra.Command {
	var o searchFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Every register (count, prevalence) and indicator (numerator, denominator, exceptions, achievement)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := newSearchEnv(f, cmd, &o)
			if err != nil {
				return err
			}
			out, err := e.summaries(cmd.Context())
			if err != nil {
				return err
			}
			pct := func(p *float64) string {
				if p == nil {
					return "-"
				}
				return fmt.Sprintf("%.1f%%", *p*100)
			}
			num := func(p *int) string {
				if p == nil {
					return ""
				}
				return fmt.Sprint(*p)
			}
			return printList(f.IO, f.Output, out, []Column[registerSummary]{
				{"id", func(s registerSummary) string { return s.ID }},
				{"kind", func(s registerSummary) string { return s.Kind }},
				{"count", func(s registerSummary) string { return fmt.Sprint(s.Count) }},
				{"prevalence", func(s registerSummary) string {
					if s.Kind != "register" {
						return ""
					}
					return pct(s.Prevalence)
				}},
				{"numerator", func(s registerSummary) string { return num(s.Numerator) }},
				{"exceptions", func(s registerSummary) string { return num(s.Exceptions) }},
				{"achievement", func(s registerSummary) string {
					if s.Kind != "indicator" {
						return ""
					}
					return pct(s.Achievement)
				}},
				{"title", func(s registerSummary) string { return s.Title }},
			})
		},
	}
	o.add(cmd, false)
	return cmd
}

// summaries runs every definition over one index (one scan), auditing each.
func (e *searchEnv) summaries(ctx context.Context) ([]registerSummary, error) {
	for _, d := range e.defs {
		if err := e.check(d); err != nil {
			return nil, err
		}
	}
	if remoteConfigured(e.f) {
		if out, ok, err := e.serverSummaries(ctx); ok || err != nil {
			return out, err
		}
	}
	ix, err := e.build(ctx, nil)
	if err != nil {
		return nil, err
	}
	eng := cohort.NewEngine(ix, e.res, e.defs)
	runs := map[int32]*cohort.Run{}
	out := []registerSummary{}
	var audits []clinical.SearchRun
	for _, d := range e.defs {
		R, err := cohort.ReferenceDate(d, e.f.Now(), e.o.on)
		if err != nil {
			return nil, err
		}
		if runs[R] == nil {
			runs[R] = eng.NewRun(R)
		}
		res, err := runs[R].Evaluate(d)
		if err != nil {
			return nil, err
		}
		s := registerSummary{ID: d.ID, Kind: string(d.Kind), Title: d.Title, Reference: res.Reference, Count: res.Count()}
		if d.Kind == cohort.KindIndicator {
			n, x := res.Numerator.Count(), res.Exceptions.Count()
			s.Numerator, s.Exceptions = &n, &x
			if a, ok := res.Achievement(); ok {
				s.Achievement = &a
			}
		} else if res.Registered > 0 {
			p := float64(res.Count()) / float64(res.Registered)
			s.Prevalence = &p
		}
		audits = append(audits, clinical.SearchRun{Query: cohort.Query(d, R), Count: res.Count()})
		out = append(out, s)
	}
	return out, e.s.AuditSearches(ctx, audits)
}

func newRegisterShowCmd(f *Factory, verb string) *cobra.Command {
	var o searchFlags
	short := "One row per patient of a register (name, NHS number, the values that matched); for an indicator, each patient's status"
	if verb == "export" {
		short = "A register as a search result, CSV by default (manager and clinicians; audited like a search, not a bulk export)"
	}
	cmd := &cobra.Command{
		Use:     verb + " ID",
		Short:   short,
		Example: fmt.Sprintf("  gpsoc register %s DM\n  gpsoc register %s DM006 --on 2026-03-31", verb, verb),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if verb == "export" && !cmd.Flags().Changed("output") && !cmd.InheritedFlags().Changed("output") {
				f.Output = "csv"
			}
			e, err := newSearchEnv(f, cmd, &o)
			if err != nil {
				return err
			}
			d, err := cohort.Find(e.defs, args[0])
			if err != nil {
				return err
			}
			action := ""
			if verb == "export" {
				action = "export"
			}
			_, rows, err := e.run(cmd.Context(), d, action)
			if err != nil {
				return err
			}
			return printRows(f, rows, d.Kind == cohort.KindIndicator)
		},
	}
	o.add(cmd, true)
	return cmd
}

func newRegisterExplainCmd(f *Factory) *cobra.Command {
	var o searchFlags
	cmd := &cobra.Command{
		Use:     "explain ID PATIENT",
		Short:   "Why a patient is in or out of a register or indicator, rule by rule",
		Example: `  gpsoc register explain DM 9434765919`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := newSearchEnv(f, cmd, &o)
			if err != nil {
				return err
			}
			d, err := cohort.Find(e.defs, args[0])
			if err != nil {
				return err
			}
			x, err := e.explain(cmd.Context(), d, args[1])
			if err != nil {
				return err
			}
			return printExplanation(f, x)
		},
	}
	o.add(cmd, true)
	return cmd
}

// serverSummaries runs every definition on gpsoc serve (ok false: the server
// cannot, run them here).
func (e *searchEnv) serverSummaries(ctx context.Context) ([]registerSummary, bool, error) {
	out := []registerSummary{}
	for _, d := range e.defs {
		R, err := cohort.ReferenceDate(d, e.f.Now(), e.o.on)
		if err != nil {
			return nil, true, err
		}
		sr, ok, err := e.s.SearchOnServer(ctx, cohort.ServerText(d, e.defs), cohort.DayString(R), "", "")
		if err != nil || !ok {
			return nil, ok, err
		}
		s := registerSummary{ID: d.ID, Kind: string(d.Kind), Title: d.Title, Reference: sr.Reference, Count: len(sr.Members)}
		if d.Kind == cohort.KindIndicator {
			n, x := 0, 0
			for _, m := range sr.Members {
				switch m.Status {
				case "numerator":
					n++
				case "exception":
					x++
				}
			}
			s.Numerator, s.Exceptions, s.Achievement = &n, &x, sr.Achievement
		} else if sr.Registered > 0 {
			p := float64(len(sr.Members)) / float64(sr.Registered)
			s.Prevalence = &p
		}
		out = append(out, s)
	}
	return out, true, nil
}
