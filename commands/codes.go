package commands

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newCodesCmd)
	// The terminology is opened on first use, not with the practice: most
	// commands (and the find index at start-up) never need it.
	termsHook = func(f *Factory) clinical.Terminology { return lazyTerms{f} }
	problemECLHook = patientsWithProblemIn
}

var termOnce struct {
	sync.Mutex
	tm  map[*Factory]*terminology.Terminology
	err map[*Factory]error
}

// Terminology opens the terminology file of the data dir (always local), once per factory.
func (f *Factory) Terminology() (*terminology.Terminology, error) {
	termOnce.Lock()
	defer termOnce.Unlock()
	if termOnce.tm == nil {
		termOnce.tm, termOnce.err = map[*Factory]*terminology.Terminology{}, map[*Factory]error{}
	}
	if tm, ok := termOnce.tm[f]; ok {
		return tm, termOnce.err[f]
	}
	tm, err := terminology.Open(f.DataDir())
	if err != nil && errors.Is(err, terminology.ErrBusy) {
		err = &record.BusyError{Path: f.DataDir() + "/terminology.db", Msg: "another gpsoc holds the terminology file"}
	}
	termOnce.tm[f], termOnce.err[f] = tm, err
	if tm != nil {
		f.closers = append(f.closers, tm.Close)
	}
	return tm, err
}

// termAdapter gives clinical the terminology check it needs.
type termAdapter struct{ tm *terminology.Terminology }

func (a termAdapter) Lookup(system, code string) (string, error) {
	if err := a.tm.Validate(system, code); err != nil {
		var ie *terminology.InactiveError
		if errors.As(err, &ie) {
			reason := "is inactive"
			if len(ie.Replacements) > 0 {
				var rs []string
				for _, r := range ie.Replacements {
					rs = append(rs, r.Code+" |"+r.Term+"|")
				}
				reason += "; use " + strings.Join(rs, " or ")
			}
			return "", &record.ValidationError{Field: "code", Value: code, Reason: reason}
		}
		if errors.Is(err, terminology.ErrNotFound) {
			return "", &record.ValidationError{Field: "code", Value: code, Reason: "unknown " + record.SystemShort(system) + " code (search with gpsoc codes search)"}
		}
		return "", err
	}
	d, err := a.tm.Concept(system, code)
	if err != nil {
		return "", err
	}
	return d.PreferredTerm, nil
}

// Hierarchies places a concept for the record's field rules (clinical.Classifier).
func (a termAdapter) Hierarchies(system, code string) ([]string, error) {
	return a.tm.Hierarchies(system, code)
}

// Drugs hands the dm+d dictionary to the prescribing checks, so every face gets them.
func (a termAdapter) Drugs() clinical.Drugs { return a.tm }

// MapLegacy maps a Read v2 or CTV3 code to its SNOMED CT concept (assured maps first).
func (a termAdapter) MapLegacy(system, code string) (*record.Code, error) {
	ms, err := a.tm.MapLegacy(system, code)
	if err != nil {
		if errors.Is(err, terminology.ErrNoMap) {
			return nil, nil // recorded as given; the map can be imported later
		}
		return nil, err
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return &record.Code{System: record.SystemSNOMED, Code: ms[0].Code, Display: ms[0].Term}, nil
}

// lazyTerms opens the terminology when a code is first checked.
type lazyTerms struct{ f *Factory }

func (l lazyTerms) open() (clinical.Terminology, error) {
	tm, err := l.f.Terminology()
	if err != nil {
		return termsUnavailable{err}, err
	}
	return termAdapter{tm}, nil
}

func (l lazyTerms) Lookup(system, code string) (string, error) {
	t, _ := l.open()
	return t.Lookup(system, code)
}

func (l lazyTerms) MapLegacy(system, code string) (*record.Code, error) {
	t, err := l.open()
	if err != nil {
		return nil, err
	}
	return t.(termAdapter).MapLegacy(system, code)
}

func (l lazyTerms) Hierarchies(system, code string) ([]string, error) {
	t, err := l.open()
	if err != nil {
		return nil, err
	}
	return t.(termAdapter).Hierarchies(system, code)
}

func (l lazyTerms) Drugs() clinical.Drugs {
	t, err := l.open()
	if err != nil {
		return nil
	}
	return t.(termAdapter).Drugs()
}

// termsUnavailable refuses codes when the terminology cannot be opened, rather than writing unchecked codes.
type termsUnavailable struct{ err error }

func (t termsUnavailable) Lookup(system, code string) (string, error) {
	return "", fmt.Errorf("cannot check code %s: terminology unavailable: %w", code, t.err)
}

// patientsWithProblemIn resolves --problem-ecl: patients with an active problem in the set.
func patientsWithProblemIn(f *Factory, cmd *cobra.Command, s *clinical.Service, expr string) (map[string]bool, error) {
	tm, err := f.Terminology()
	if err != nil {
		return nil, err
	}
	m, err := tm.CompileECL(expr)
	if err != nil {
		return nil, &record.ValidationError{Field: "--problem-ecl", Value: expr, Reason: strings.TrimPrefix(err.Error(), "ecl: ")}
	}
	return s.PatientsWithProblemIn(cmd.Context(), m, expr)
}

func newCodesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "codes",
		Short: "Search and import clinical terminology: SNOMED CT, dm+d, CTV3, Read v2, code lists",
		Long: `Search and import clinical terminology. Out of the box gpsoc ships the
SNOMED CT IPS free set, the dm+d extracts and common medicines (see
gpsoc codes about); import the real NHS releases with gpsoc codes import.
--system takes sct, dmd, ctv3, read2 or a URI.`,
	}
	cmd.AddCommand(newCodesImportCmd(f), newCodesSearchCmd(f), newCodesShowCmd(f), newCodesECLCmd(f),
		newCodesSubsumesCmd(f), newCodesAboutCmd(f), newCodesShorthandCmd(f))
	return cmd
}

func newCodesShorthandCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shorthand",
		Short: "GP shorthand and colloquial terms the pickers understand (htn, af, water infection)",
		Long: `The pickers read GP shorthand and colloquial terms through a table: the
built-in one, written for gpsoc, and a practice's own file, shorthand.csv in
the data directory (the folder of the practice file), which adds rows or
replaces built-in ones. Its format is CSV with the header shorthand,codes,meaning;
codes are SNOMED CT or dm+d ids separated by spaces, best first, for example:

  shorthand,codes,meaning
  bigbp,38341003,our word for hypertension

Keys ignore case, punctuation and "and" (U&E, u+e and "u and e" are one key).
A practice file with any bad row is not used, and every search says why.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the shorthand table in use (built-in and the practice's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			rows, warn := tm.Shorthands()
			if warn != "" {
				fmt.Fprintln(f.IO.ErrOut, "warning: "+warn)
			}
			return printList(f.IO, f.Output, rows, []Column[terminology.Shorthand]{
				{"shorthand", func(r terminology.Shorthand) string { return r.Key }},
				{"codes", func(r terminology.Shorthand) string {
					if len(r.Codes) == 0 {
						return "(not in the terminology in use)"
					}
					return strings.Join(r.Codes, " ")
				}},
				{"meaning", func(r terminology.Shorthand) string { return r.Meaning }},
				{"source", func(r terminology.Shorthand) string {
					if r.Practice {
						return "practice"
					}
					return "built-in"
				}},
			})
		},
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a practice shorthand file against the terminology in use",
		Long: `Check a practice shorthand file: every row needs a key and codes that are
active concepts of the terminology in use; a key may appear once. Each problem
is printed as FILE:LINE: reason and the exit is 2. Copy a file that passes to
shorthand.csv in the data directory to use it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fh, err := os.Open(args[0])
			if err != nil {
				return &record.ValidationError{Field: "FILE", Value: args[0], Reason: "cannot be read"}
			}
			defer fh.Close()
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			rows, err := tm.CheckShorthand(fh, args[0])
			if err != nil {
				return &record.ValidationError{Field: "FILE", Value: args[0], Reason: err.Error()}
			}
			fmt.Fprintf(f.IO.Out, "%s: %d rows, all valid\n", args[0], len(rows))
			return nil
		},
	}
	cmd.AddCommand(list, check)
	return cmd
}

func newCodesImportCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import rf2|ctv3|read2|read-map|dmd PATH... | import codelist NAME FILE",
		Short: "Import a terminology release or a code list",
		Long: `Import a terminology release. Each source is replaced on its own, and only
once the new release has loaded completely: a bad row fails the import with
file:line: reason, and the release in use before stays in use.

  rf2       SNOMED CT RF2 Snapshot packages (folders or zips; several at once)
  ctv3      a CTV3 release (Concept.v3, Descrip.v3, Terms.v3, V3hier.v3)
  read2     a Read v2 release (Unified CSV layout)
  read-map  the NHS Read to SNOMED maps (rcsctmap2_uk, ctv3sctmap2_uk)
  dmd       dm+d XML (f_vtm2, f_vmp2, f_amp2, …; folders, files or zips); with the BNF
            supplementary file (f_bnf1) too, products get their BNF code from it
  codelist  a code list CSV, stored under NAME for searches`,
		Example: `  gpsoc codes import rf2 uk_sct2cl_*.zip uk_sct2dr_*.zip
  gpsoc codes import dmd nhsbsa_dmd_*.zip
  gpsoc codes import codelist diabetes opensafely-diabetes.csv`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Config.GetString("remote.url") != "" {
				return usagef("codes import works on the local terminology only; terminology is always local")
			}
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			var info terminology.SourceInfo
			switch args[0] {
			case "rf2":
				info, err = tm.ImportRF2(args[1:]...)
			case "ctv3":
				info, err = tm.ImportCTV3(args[1])
			case "read2":
				info, err = tm.ImportRead2(args[1])
			case "read-map":
				info, err = tm.ImportReadMap(args[1:]...)
			case "dmd":
				info, err = tm.ImportDMD(args[1:]...)
			case "codelist":
				if len(args) != 3 {
					return usagef("usage: gpsoc codes import codelist NAME FILE")
				}
				info, err = tm.ImportCodelist(args[1], args[2])
			default:
				return &record.ValidationError{Field: "source", Value: args[0], Reason: "must be rf2, ctv3, read2, read-map, dmd or codelist"}
			}
			if err != nil {
				var ve *terminology.ValueError
				if errors.As(err, &ve) {
					return &record.ValidationError{Field: ve.Field, Value: ve.Value, Reason: ve.Reason}
				}
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, info, nil)
			}
			var counts []string
			for k, v := range info.Counts {
				counts = append(counts, fmt.Sprintf("%s %d", k, v))
			}
			fmt.Fprintf(f.IO.Out, "imported %s release %s: %s\n", info.Name, info.Release, strings.Join(sortStrings(counts), ", "))
			for _, w := range info.Warnings {
				fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
			}
			return nil
		},
	}
	return cmd
}

func termErr(err error) error {
	var ve *terminology.ValueError
	if errors.As(err, &ve) {
		return &record.ValidationError{Field: ve.Field, Value: ve.Value, Reason: ve.Reason}
	}
	if errors.Is(err, terminology.ErrNotFound) {
		return &record.ValidationError{Field: "code", Value: "", Reason: err.Error()}
	}
	return err
}

func newCodesSearchCmd(f *Factory) *cobra.Command {
	var o terminology.SearchOptions
	cmd := &cobra.Command{
		Use:   "search TEXT [--picker P] [--system S] [--ecl EXPR] [--limit N] [--include-inactive]",
		Short: "Search codes by term, synonym, GP shorthand or code",
		Long: `Search codes as the pickers do: a code typed, then GP shorthand and colloquial
terms (htn, af, "water infection"; gpsoc codes shorthand list), then descriptions
that are the query, start with it, contain its words, or match with a typo.
--picker ranks for a field: problem and consultation put disorders and
findings first and "screening", "FH:", "H/O:" last unless asked for; drug puts
generic products (VMPs) and common medicines first and shows a brand's generic.
When the embedded terminology has nothing but typo matches, a note on stderr
says so.`,
		Example: `  gpsoc codes search t2dm
  gpsoc codes search "penicillin" --ecl '<< 105590001'
  gpsoc codes search amoxicillin --system dmd`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Limit < 1 || o.Limit > 1000 {
				return &record.ValidationError{Field: "--limit", Value: fmt.Sprint(o.Limit), Reason: "must be between 1 and 1000"}
			}
			if !terminology.ValidPicker(o.Picker) {
				return &record.ValidationError{Field: "--picker", Value: o.Picker, Reason: "must be problem, consultation or drug"}
			}
			if o.Picker == terminology.PickerDrug && o.System == "" {
				o.System = "dmd"
			}
			if o.System != "" {
				if _, err := terminology.SystemURI(o.System); err != nil {
					return &record.ValidationError{Field: "--system", Value: o.System, Reason: "must be sct, dmd, ctv3, read2 or a URI"}
				}
			}
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			rs, err := tm.Search(cmd.Context(), strings.Join(args, " "), o)
			if err != nil {
				return termErr(err)
			}
			isDMD := o.System == "dmd" || o.System == terminology.SystemDMD
			if note := tm.SearchNote(rs); note != "" && !isDMD {
				fmt.Fprintln(f.IO.ErrOut, note)
			}
			if _, warn := tm.Shorthands(); warn != "" {
				fmt.Fprintln(f.IO.ErrOut, "warning: "+warn)
			}
			if isDMD {
				if gap := tm.DMDGap(strings.Join(args, " "), rs); gap != "" {
					fmt.Fprintln(f.IO.ErrOut, "note: "+gap)
					if terminology.GapNamesAProduct(gap) {
						rs = nil // never another product in its place
					}
				}
			}
			return printList(f.IO, f.Output, rs, []Column[terminology.Result]{
				{"system", func(r terminology.Result) string { return record.SystemShort(r.System) }},
				{"code", func(r terminology.Result) string { return r.Code }},
				{"term", func(r terminology.Result) string {
					if r.Generic != "" {
						return r.Term + " (generic: " + r.Generic + ")"
					}
					return r.Term
				}},
				{"active", func(r terminology.Result) string { return fmt.Sprint(r.Active) }},
			})
		},
	}
	cmd.Flags().StringVar(&o.Picker, "picker", "", "rank for a picker: problem, consultation or drug (default: every system)")
	cmd.Flags().StringVar(&o.System, "system", "", "only this code system: sct, dmd, ctv3, read2 or a URI")
	cmd.Flags().StringVar(&o.ECL, "ecl", "", "only codes in this ECL expression, e.g. '<< 404684003'")
	cmd.Flags().StringVar(&o.Codelist, "codelist", "", "only codes in this imported code list")
	cmd.Flags().IntVar(&o.Limit, "limit", 20, "at most this many results")
	cmd.Flags().BoolVar(&o.IncludeInactive, "include-inactive", false, "include inactive codes")
	return cmd
}

func newCodesShowCmd(f *Factory) *cobra.Command {
	var system string
	cmd := &cobra.Command{
		Use:   "show CODE [--system S]",
		Short: "Show a code: terms, parents, replacements; a dm+d product: ingredients, BNF, classes, provenance",
		Example: `  gpsoc codes show 73211009
  gpsoc codes show 3915411000001104 --system dmd   # Nurofen Plus: ibuprofen + codeine, from the BNF`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uri, err := terminology.SystemURI(system)
			if err != nil {
				return &record.ValidationError{Field: "--system", Value: system, Reason: "must be sct, dmd, ctv3, read2 or a URI"}
			}
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			if uri == terminology.SystemDMD {
				return showProduct(f, tm, args[0])
			}
			d, err := tm.Concept(uri, args[0])
			if err != nil {
				if errors.Is(err, terminology.ErrNotFound) {
					return &record.ValidationError{Field: "CODE", Value: args[0], Reason: "unknown " + record.SystemShort(uri) + " code"}
				}
				return termErr(err)
			}
			ct := func(cs []terminology.CodeTerm) string {
				var s []string
				for _, c := range cs {
					s = append(s, c.Code+" |"+c.Term+"|")
				}
				return strings.Join(s, "; ")
			}
			return printOne(f.IO, f.Output, d, [][2]string{
				{"code", d.Code}, {"system", record.SystemShort(d.System)}, {"active", fmt.Sprint(d.Active)},
				{"fsn", d.FSN}, {"preferredTerm", d.PreferredTerm}, {"synonyms", strings.Join(d.Synonyms, "; ")},
				{"parents", ct(d.Parents)}, {"replacedBy", ct(d.ReplacedBy)}, {"kind", d.Kind},
			})
		},
	}
	cmd.Flags().StringVar(&system, "system", "sct", "code system: sct, dmd, ctv3, read2 or a URI")
	return cmd
}

// showProduct prints a dm+d product as the medicines model sees it: its
// ingredients and where they came from, its BNF chemical substance and its
// curated classes (the data the prescribing checks use).
func showProduct(f *Factory, tm *terminology.Terminology, code string) error {
	p, err := tm.Product(code)
	if err != nil {
		if errors.Is(err, terminology.ErrNotFound) {
			return &record.ValidationError{Field: "CODE", Value: code, Reason: "unknown dm+d product"}
		}
		return termErr(err)
	}
	ct := func(c *terminology.CodeTerm) string {
		if c == nil {
			return ""
		}
		return c.Code + " |" + c.Term + "|"
	}
	var ings, classes []string
	for _, in := range p.Ingredients {
		s := in.Code + " |" + in.Name + "|"
		if in.Strength != "" {
			s += " " + in.Strength
		}
		ings = append(ings, s)
	}
	for _, c := range p.Classes {
		classes = append(classes, c.Code)
	}
	status := "complete"
	switch {
	case p.Partial:
		status = "partial: the BNF substance does not name every ingredient"
	case !p.IngredientsVerified:
		status = "unverified: not from dm+d or the BNF; the checks say so on every prescription"
	}
	bnfPres, bnfSub, via := "", "", ""
	if p.BNF != nil {
		bnfPres = strings.TrimSpace(p.BNF.Presentation + " " + p.BNF.PresentationName)
		bnfSub = p.BNF.Substance.Code + " " + p.BNF.Substance.Term
		via = p.BNF.Via
	}
	return printOne(f.IO, f.Output, p, [][2]string{
		{"code", p.Code}, {"kind", p.Kind}, {"name", p.Name}, {"vtm", ct(p.VTM)}, {"vmp", ct(p.VMP)},
		{"ingredients", strings.Join(ings, "; ")}, {"ingredientsFrom", p.IngredientsFrom}, {"ingredientsStatus", status},
		{"bnfPresentation", bnfPres}, {"bnfSubstance", bnfSub}, {"bnfLinkedBy", via},
		{"classes", strings.Join(classes, ", ")}, {"note", p.Note}, {"source", p.Source},
	})
}

func newCodesECLCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "ecl EXPR",
		Short:   "Expand an ECL expression (id, <, <<, >, >>, ^refset, AND, OR, MINUS, parentheses)",
		Example: `  gpsoc codes ecl '<< 73211009 |Diabetes mellitus|'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			cs, err := tm.ECL(args[0])
			if err != nil {
				var ve *terminology.ValueError
				if errors.As(err, &ve) {
					return &record.ValidationError{Field: "EXPR", Value: args[0], Reason: ve.Reason}
				}
				return termErr(err)
			}
			type ct struct {
				Code string `json:"code"`
				Term string `json:"term"`
			}
			out := make([]ct, len(cs))
			for i, c := range cs {
				out[i] = ct{c.Code, c.Term}
			}
			return printList(f.IO, f.Output, out, []Column[ct]{
				{"code", func(c ct) string { return c.Code }}, {"term", func(c ct) string { return c.Term }},
			})
		},
	}
}

func newCodesSubsumesCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "subsumes A B",
		Short: "Print true when A is B or an ancestor of B, else false",
		Long:  "Print true when concept A is B or an ancestor of B, else false (exit 0 either way). An unknown code is exit 2.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			ok, err := tm.Subsumes(args[0], args[1])
			if err != nil {
				if errors.Is(err, terminology.ErrNotFound) {
					return &record.ValidationError{Field: "code", Value: notFoundCode(err, args), Reason: "unknown SNOMED CT concept"}
				}
				return termErr(err)
			}
			if f.Output == "json" {
				return writeJSON(f.IO.Out, ok)
			}
			fmt.Fprintln(f.IO.Out, ok)
			return nil
		},
	}
}

func notFoundCode(err error, args []string) string {
	var nf *terminology.NotFoundError
	if errors.As(err, &nf) {
		return nf.Code
	}
	return strings.Join(args, " ")
}

func newCodesAboutCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "about",
		Short: "List the terminology sources in use, their releases, licences and attribution",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			srcs := tm.About()
			if f.Output != "table" {
				return printList(f.IO, f.Output, srcs, []Column[terminology.SourceInfo]{
					{"name", func(s terminology.SourceInfo) string { return s.Name }},
					{"release", func(s terminology.SourceInfo) string { return s.Release }},
					{"licence", func(s terminology.SourceInfo) string { return s.Licence }},
				})
			}
			// The UK reference pack's clusters are one source to a reader: one block, not 32.
			var pack []string
			var packInfo terminology.SourceInfo
			for _, s := range srcs {
				if s.Embedded && strings.HasPrefix(s.Name, "codelist:") {
					pack = append(pack, strings.TrimPrefix(s.Name, "codelist:"))
					packInfo = s
					continue
				}
				emb := ""
				if s.Embedded {
					emb = " (embedded default)"
				}
				fmt.Fprintf(f.IO.Out, "%s%s\n  release: %s\n  licence: %s\n", s.Name, emb, s.Release, s.Licence)
				var counts []string
				for k, v := range s.Counts {
					counts = append(counts, fmt.Sprintf("%s %d", k, v))
				}
				fmt.Fprintf(f.IO.Out, "  rows: %s\n  %s\n\n", strings.Join(sortStrings(counts), ", "), strings.ReplaceAll(strings.TrimSpace(s.Attribution), "\n", "\n  "))
			}
			if len(pack) > 0 {
				fmt.Fprintf(f.IO.Out, "UK reference pack: %d QOF clusters, as code lists (not in the pickers)\n  release: %s\n  licence: %s\n  lists: %s\n  %s\n\n",
					len(pack), packInfo.Release, packInfo.Licence, strings.Join(pack, ", "),
					"NHS England Primary Care Domain reference sets, republished by OpenCodelists (Bennett Institute, University of Oxford). "+
						"This material includes SNOMED Clinical Terms® (SNOMED CT®), used by permission of SNOMED International.")
			}
			return nil
		},
	}
}
