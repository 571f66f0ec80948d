package commands

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newConsultCmd, newProblemCmd, newObsCmd, newAllergyCmd, newImmCmd)
}

// newEntryImportCmd is `gpsoc NOUN import FILE|-` for one kind.
func newEntryImportCmd(f *Factory, kind record.Kind, noun string) *cobra.Command {
	var dry bool
	return func() *cobra.Command {
		cmd := &cobra.Command{
			Use:   "import FILE|-",
			Short: fmt.Sprintf("Import %s records in bulk from NDJSON (admins and GPs)", kind),
			Long: fmt.Sprintf(`Import %[1]s records from NDJSON: the JSON "gpsoc %[2]s list -o ndjson" prints
(docs/json.md), one record a line; patientId may be an NHS number. Valid
lines are written, each with its own audit event; each rejected line writes
nothing and is reported on stderr as: line N: FIELD "VALUE": reason. A line
already in the record (same id and content, or without an id the same content
for the same patient) counts as unchanged, so running the same import again
changes nothing. Exit 1 when any line was rejected.`, kind, noun),
			Example: fmt.Sprintf("  gpsoc %[1]s import %[2]ss.ndjson\n  gpsoc %[1]s list … -o ndjson | gpsoc --data-dir other %[1]s import --dry-run -", noun, kind),
			Args:    cobra.ExactArgs(1),
			RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
				in, err := openInput(f, args[0])
				if err != nil {
					return err
				}
				defer in.Close()
				batchGC()
				sum, err := s.ImportEntries(cmd.Context(), kind, in, clinical.ImportOptions{DryRun: dry,
					OnReject: func(r clinical.Rejection) { fmt.Fprintln(f.IO.ErrOut, r.String()) }})
				if err != nil {
					return err
				}
				return printImportSummary(f, sum, dry)
			}),
		}
		cmd.Flags().BoolVar(&dry, "dry-run", false, "check and count, write nothing")
		return cmd
	}()
}

// ConsultAddOptions are `gpsoc consult add`'s.
type ConsultAddOptions struct {
	Type, Text, History, Examination, Plan string
	Codes                                  []string
	System                                 string
	BP                                     string
	Obs                                    []string
	Problem                                string
	New, Ongoing                           bool
	Location                               string
	Start, End                             string
	Confirm                                bool
}

func newConsultCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "consult", Short: "Write and read consultations (gp, nurse)"}
	cmd.AddCommand(newConsultAddCmd(f, nil), newConsultListCmd(f), newEntryImportCmd(f, record.KindConsultation, "consult"))
	return cmd
}

// parseObsFlag reads CODE=VALUE[UNIT], e.g. 27113001=82.5kg or 1000731000000107=48mmol/mol.
func parseObsFlag(s string) (code string, val *float64, text, unit string, err error) {
	i := strings.IndexByte(s, '=')
	if i <= 0 || i == len(s)-1 {
		return "", nil, "", "", invalidFlag("obs", s, "must be CODE=VALUE[UNIT], e.g. 27113001=82.5kg")
	}
	code, v := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	n, rest, err := parseValue("obs", s, v)
	if err != nil {
		return "", nil, "", "", err
	}
	if n == nil {
		return code, nil, v, "", nil
	}
	return code, n, "", rest, nil
}

// numberPrefix is a number as people and programs write it, exponent included
// (so 1e308kg is 1e308 kg, never 1 with unit "e308kg").
var numberPrefix = regexp.MustCompile(`^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?`)

// parseValue reads a number and what follows it (the unit); nil when v does
// not start with a number (a text value). A decimal comma (82,5) is refused
// with a hint rather than read as 82.
func parseValue(flag, raw, v string) (*float64, string, error) {
	m := numberPrefix.FindString(v)
	if m == "" {
		if len(v) > 1 && v[0] == ',' {
			return nil, "", invalidFlag(flag, raw, "use a decimal point, not a comma")
		}
		return nil, "", nil
	}
	rest := v[len(m):]
	if len(rest) > 1 && rest[0] == ',' && rest[1] >= '0' && rest[1] <= '9' {
		frac := rest[1:]
		frac = frac[:len(frac)-len(strings.TrimLeft(frac, "0123456789"))]
		return nil, "", invalidFlag(flag, raw, "use a decimal point, not a comma (%s.%s)", m, frac)
	}
	if rest != "" && strings.ContainsRune(".,0123456789", rune(rest[0])) {
		return nil, "", invalidFlag(flag, raw, "the value must be a number followed by an optional unit")
	}
	n, err := strconv.ParseFloat(m, 64)
	if err != nil || math.IsInf(n, 0) {
		return nil, "", invalidFlag(flag, raw, "%s is not a number a measurement can be", m)
	}
	return &n, strings.TrimSpace(rest), nil
}

// confirmHint tells the user how to keep an implausible value they mean.
func confirmHint(err error) error {
	var ve *record.ValidationError
	if errors.As(err, &ve) && ve.Confirm {
		ve.Reason += ": check it; if it is right, pass --confirm"
	}
	return err
}

func newConsultAddCmd(f *Factory, runF func(*ConsultAddOptions) error) *cobra.Command {
	o := &ConsultAddOptions{}
	cmd := &cobra.Command{
		Use:   "add PATIENT [--type surgery|telephone|video|home] [--text T] [--code C]... [--bp 140/90] [--obs CODE=VALUE[UNIT]]... [--problem CODE|ID --new|--ongoing] [--start TIME --end TIME]",
		Short: "Write a consultation with its coded entries and values",
		Long: `Write a consultation: free text (or history, examination and plan), coded
entries (--code, repeatable), a blood pressure (--bp) and other values (--obs
CODE=VALUE[UNIT], repeatable), and a problem link (--problem CODE --new starts
a problem; --problem ID|CODE --ongoing links an existing one). Everything is
written in one go, with one audit event per record, or nothing at all.
Codes are checked against the terminology; an unknown or inactive code is
refused with its replacement suggested. TIME is RFC 3339 or "YYYY-MM-DD HH:MM"
in UK local time; the start defaults to now.

Each value is checked against its observable's units and ranges (see gpsoc obs
add --help): an impossible value or a wrong unit is refused (exit 2); an
implausible one is refused unless --confirm, and then stored flagged.`,
		Example: `  gpsoc consult add 9434765919 --text "BP review, well" --code 38341003 --bp 148/92 --problem 38341003 --ongoing
  gpsoc consult add 9434765919 --type telephone --history "thirsty, tired" --plan "HbA1c" --problem 44054006 --new`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.New && o.Ongoing {
				return usagef("--new and --ongoing cannot be used together")
			}
			if (o.New || o.Ongoing) && o.Problem == "" {
				return usagef("--new and --ongoing need --problem CODE|ID")
			}
			if o.Type != "" && !oneOf(o.Type, record.ConsultationTypes...) {
				return invalidFlag("type", o.Type, "must be one of %s", strings.Join(record.ConsultationTypes, ", "))
			}
			if runF != nil {
				return runF(o)
			}
			return runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
				return consultAddRun(f, cmd, s, args[0], o)
			})(cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Type, "type", "surgery", "surgery, telephone, video or home")
	fl.StringVar(&o.Text, "text", "", "free text")
	fl.StringVar(&o.History, "history", "", "history")
	fl.StringVar(&o.Examination, "examination", "", "examination")
	fl.StringVar(&o.Plan, "plan", "", "plan")
	fl.StringArrayVar(&o.Codes, "code", nil, "a coded entry (repeatable); SNOMED CT unless --system")
	fl.StringVar(&o.System, "system", "", "code system of --code: sct (default), ctv3, read2 or a URI")
	fl.StringVar(&o.BP, "bp", "", "blood pressure systolic/diastolic, e.g. 140/90")
	fl.StringArrayVar(&o.Obs, "obs", nil, "a value CODE=VALUE[UNIT], e.g. 27113001=82.5kg (repeatable)")
	fl.StringVar(&o.Problem, "problem", "", "link a problem: a code with --new, or a problem id or code with --ongoing")
	fl.BoolVar(&o.New, "new", false, "--problem starts a new problem")
	fl.BoolVar(&o.Ongoing, "ongoing", false, "--problem is an existing problem (the default)")
	fl.StringVar(&o.Location, "location", "", "where it took place")
	fl.StringVar(&o.Start, "start", "", "start TIME (default now)")
	fl.StringVar(&o.End, "end", "", "end TIME")
	fl.BoolVar(&o.Confirm, "confirm", false, "keep values outside their plausible range (flagged); impossible values are refused whatever")
	return cmd
}

func oneOf(v string, xs ...string) bool {
	for _, x := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func consultAddRun(f *Factory, cmd *cobra.Command, s *clinical.Service, ref string, o *ConsultAddOptions) error {
	in := clinical.ConsultInput{PatientRef: ref, Type: o.Type, Location: o.Location, History: o.History,
		Examination: o.Examination, Plan: o.Plan, Text: o.Text, Problem: o.Problem, ProblemNew: o.New, Confirm: o.Confirm}
	var err error
	if o.Start != "" {
		if in.Start, err = parseWhen("start", o.Start); err != nil {
			return err
		}
	}
	if o.End != "" {
		if in.End, err = parseWhen("end", o.End); err != nil {
			return err
		}
		if in.Start.IsZero() {
			return usagef("--end needs --start")
		}
		if in.End.Before(in.Start) {
			return invalidFlag("end", o.End, "is before --start %s", o.Start)
		}
	}
	if in.Start.IsZero() {
		in.Start = f.Now().UTC().Truncate(time.Second)
	}
	if in.Start.After(f.Now().Add(time.Minute)) {
		return invalidFlag("start", o.Start, "is in the future")
	}
	for _, c := range o.Codes {
		entry, err := s.CodedEntry("code", o.System, c)
		if err != nil {
			return flagNames(cmd, err)
		}
		in.Codes = append(in.Codes, entry)
	}
	if o.BP != "" {
		ob, err := s.ObsFromInput(clinical.ObservationInput{BP: o.BP})
		if err != nil {
			return flagNames(cmd, err)
		}
		in.Obs = append(in.Obs, ob)
	}
	for _, x := range o.Obs {
		code, val, text, unit, err := parseObsFlag(x)
		if err != nil {
			return err
		}
		ob, err := s.ObsFromInput(clinical.ObservationInput{Code: code, Value: val, ValueText: text, Unit: unit})
		if err != nil {
			if ve, ok := err.(*record.ValidationError); ok {
				return invalidFlag("obs", x, "%s %q: %s", ve.Field, ve.Value, ve.Reason)
			}
			return err
		}
		in.Obs = append(in.Obs, ob)
	}
	if err := s.EntryAllowed(cmd.Context(), ref, record.KindConsultation, in.Start); err != nil {
		return err
	}
	res, err := s.AddConsultation(cmd.Context(), in)
	if err != nil {
		return confirmHint(flagNames(cmd, err))
	}
	if f.Output == "json" || f.Output == "ndjson" {
		out := struct {
			Consultation *record.Consultation  `json:"consultation"`
			Observations []*record.Observation `json:"observations"`
			Problem      *record.Problem       `json:"problem,omitempty"`
		}{res.Consultation, res.Observations, res.Problem}
		if out.Observations == nil {
			out.Observations = []*record.Observation{}
		}
		return printOne(f.IO, f.Output, out, nil)
	}
	if err := printOneRow(f, res.Consultation, consultColumns(colIO(f))); err != nil {
		return err
	}
	for _, ob := range res.Observations {
		fmt.Fprintf(f.IO.ErrOut, "recorded observation %s: %s %s\n", ob.ID, ob.Code.Code, obsValue(ob))
	}
	if res.Problem != nil {
		fmt.Fprintf(f.IO.ErrOut, "started problem %s: %s\n", res.Problem.ID, res.Problem.Code.Code)
	}
	return nil
}

func newConsultListCmd(f *Factory) *cobra.Command {
	var lo clinical.ListOptions
	cmd := &cobra.Command{
		Use:   "list PATIENT [--all] [--reason T]",
		Short: "List a patient's consultations, newest first (gp, nurse)",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			l, err := s.Consultations(cmd.Context(), args[0], lo)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			return printList(f.IO, f.Output, l.Items, consultColumns(colIO(f)))
		}),
	}
	cmd.Flags().BoolVar(&lo.All, "all", false, "include entries entered in error")
	addReason(cmd, &lo.Reason)
	return cmd
}

func newProblemCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "problem", Short: "The problem list (gp, nurse)"}
	var in clinical.ProblemInput
	add := &cobra.Command{
		Use:   "add PATIENT --code C [--onset D] [--significance major|minor]",
		Short: "Add a problem",
		Long: `Add a problem to the patient's problem list. The same code already active is
refused (exit 5). Codes are checked against the terminology.`,
		Example: `  gpsoc problem add 9434765919 --code 38341003 --onset 2019-05-01 --significance major`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if in.Significance != "" && !oneOf(in.Significance, "major", "minor") {
				return invalidFlag("significance", in.Significance, "must be major or minor")
			}
			if _, err := parseDay("onset", in.Onset); err != nil {
				return err
			}
			in.PatientRef = args[0]
			p, err := s.AddProblem(cmd.Context(), in)
			if err != nil {
				return err
			}
			warnMedicineAlerts(cmd, f, s, p.PatientID)
			return printOneRow(f, p, problemColumns(colIO(f)))
		}),
	}
	add.Flags().StringVar(&in.Code, "code", "", "the problem's code (required)")
	add.Flags().StringVar(&in.System, "system", "", "code system: sct (default), ctv3, read2 or a URI")
	add.Flags().StringVar(&in.Onset, "onset", "", "onset date YYYY-MM-DD")
	add.Flags().StringVar(&in.Significance, "significance", "minor", "major or minor")
	add.Flags().BoolVar(&in.Sensitive, "sensitive", false, "a reason is needed to see this entry")
	_ = add.MarkFlagRequired("code")

	var pf clinical.ProblemFilter
	list := &cobra.Command{
		Use:   "list PATIENT [--status active|past] [--all] [--reason T]",
		Short: "List a patient's problems",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if pf.Status != "" && !oneOf(pf.Status, "active", "past") {
				return invalidFlag("status", pf.Status, "must be active or past")
			}
			l, err := s.Problems(cmd.Context(), args[0], pf)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			return printList(f.IO, f.Output, l.Items, problemColumns(colIO(f)))
		}),
	}
	list.Flags().StringVar(&pf.Status, "status", "", "only active or past problems")
	list.Flags().BoolVar(&pf.All, "all", false, "include entries entered in error")
	addReason(list, &pf.Reason)

	var date string
	var ifv int
	resolve := &cobra.Command{
		Use:   "resolve PATIENT ID [--date D] [--if-version N]",
		Short: "Mark a problem resolved (past)",
		Args:  cobra.ExactArgs(2),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			if _, err := parseDay("date", date); err != nil {
				return err
			}
			p, err := s.ResolveProblem(cmd.Context(), args[0], args[1], date, ifv)
			if err != nil {
				return err
			}
			return printOneRow(f, p, problemColumns(colIO(f)))
		}),
	}
	resolve.Flags().StringVar(&date, "date", "", "resolved on YYYY-MM-DD (default today)")
	addIfVersion(resolve, &ifv)
	var sigIfv int
	significance := &cobra.Command{
		Use:   "significance PATIENT ID major|minor [--if-version N]",
		Short: "Mark a problem major or minor",
		Args:  cobra.ExactArgs(3),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(sigIfv); err != nil {
				return err
			}
			p, err := s.SetProblemSignificance(cmd.Context(), args[0], args[1], args[2], sigIfv)
			if err != nil {
				return err
			}
			return printOneRow(f, p, problemColumns(colIO(f)))
		}),
	}
	addIfVersion(significance, &sigIfv)
	cmd.AddCommand(add, list, resolve, significance, newEntryImportCmd(f, record.KindProblem, "problem"))
	return cmd
}

func newObsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "obs", Short: "Observations: values and blood pressures (gp, nurse)"}
	var code, system, value, valueCode, unit, bp, date string
	var sensitive, confirm bool
	add := &cobra.Command{
		Use:   "add PATIENT (--code C (--value V [--unit U] | --value-code C) | --bp 140/90) [--date TIME]",
		Short: "Record a value or a blood pressure",
		Long: `Record an observation: a coded value with its unit, or a blood pressure as
one observation with systolic and diastolic (code 75367002 unless --code).
--date is D or TIME (default now, and never more than 24 hours ahead; never
before the patient's birth or after their death).

The code must be an observable entity, a procedure or a finding. Values of
the common observables (blood pressure, pulse, temperature, SpO2, weight,
height, BMI, waist, HbA1c, eGFR, creatinine, potassium, sodium, cholesterol,
peak flow…) are checked against the unit(s) and the cited ranges of
clinical/observables/ranges.yaml (gpsoc obs ranges prints it): a wrong unit
or an impossible value is refused (exit 2, naming the unit or the range); an implausible value is
refused unless --confirm, and is then stored with a visible flag. Write
decimals with a point: 82,5 is refused, never read as 82.`,
		Example: `  gpsoc obs add 9434765919 --bp 138/86
  gpsoc obs add 9434765919 --code 27113001 --value 82.5 --unit kg --date 2026-11-20
  gpsoc obs add 9434765919 --code 365981007 --value-code 8517006   # smoking status: ex-smoker
  gpsoc obs add 9434765919 --code 27113001 --value 310 --unit kg --confirm   # implausible, but right`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			in := clinical.ObservationInput{PatientRef: args[0], System: system, Code: code, Unit: unit, BP: bp, Sensitive: sensitive,
				ValueSystem: system, ValueCode: valueCode, Confirm: confirm}
			if bp == "" && code == "" {
				return usagef("give --code C --value V, or --bp SYS/DIA")
			}
			if value != "" {
				n, rest, err := parseValue("value", value, strings.TrimSpace(value))
				switch {
				case err != nil:
					return err
				case n != nil && rest == "":
					in.Value = n
				case n != nil && unit == "":
					in.Value, in.Unit = n, rest // --value 82.5kg
				case n != nil:
					return invalidFlag("value", value, "give the unit once: --value %s --unit %s", strconv.FormatFloat(*n, 'g', -1, 64), unit)
				default:
					in.ValueText = value
				}
			}
			if date != "" {
				t, err := parseWhen("date", date)
				if err != nil {
					d, derr := parseDay("date", date)
					if derr != nil {
						return invalidFlag("date", date, "must be YYYY-MM-DD, YYYY-MM-DD HH:MM or RFC 3339")
					}
					t, _ = time.ParseInLocation(record.DateLayout, d, UKTime())
				}
				in.Effective = t
			}
			o, err := s.AddObservation(cmd.Context(), in)
			if err != nil {
				return confirmHint(flagNames(cmd, err))
			}
			warnMedicineAlerts(cmd, f, s, o.PatientID)
			return printOneRow(f, o, obsColumns(colIO(f)))
		}),
	}
	fl := add.Flags()
	fl.StringVar(&code, "code", "", "what was measured (SNOMED CT unless --system)")
	fl.StringVar(&system, "system", "", "code system: sct (default), ctv3, read2 or a URI")
	fl.StringVar(&value, "value", "", "the value (a number, or text)")
	fl.StringVar(&valueCode, "value-code", "", "a coded value (same code system as --code), e.g. 8517006 |Ex-smoker|")
	fl.StringVar(&unit, "unit", "", "unit (UCUM), e.g. kg, mmol/mol")
	fl.StringVar(&bp, "bp", "", "blood pressure systolic/diastolic, e.g. 140/90")
	fl.StringVar(&date, "date", "", "when: YYYY-MM-DD or TIME (default now)")
	fl.BoolVar(&sensitive, "sensitive", false, "a reason is needed to see this entry")
	fl.BoolVar(&confirm, "confirm", false, "keep a value outside its plausible range (stored flagged); impossible values are refused whatever")

	var of clinical.ObsFilter
	list := &cobra.Command{
		Use:   "list PATIENT [--code C] [--all] [--reason T]",
		Short: "List a patient's observations, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			l, err := s.Observations(cmd.Context(), args[0], of)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			return printList(f.IO, f.Output, l.Items, obsColumns(colIO(f)))
		}),
	}
	list.Flags().StringVar(&of.Code, "code", "", "only this code")
	list.Flags().BoolVar(&of.All, "all", false, "include entries entered in error")
	addReason(list, &of.Reason)
	cmd.AddCommand(add, list, newObsRangesCmd(f), newEntryImportCmd(f, record.KindObservation, "obs"))
	return cmd
}

// rangeRow is one row of the observable table as `obs ranges` prints it.
type rangeRow struct {
	Name  string   `json:"name"`
	Codes []string `json:"codes"`
	clinical.UnitRange
}

func newObsRangesCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "ranges",
		Short: "The units and the impossible and implausible ranges values are checked against, with their sources",
		Long: `Print the table every path checks observation values against
(clinical/observables/ranges.yaml, embedded): each observable's codes, the
units it may be recorded in (with the spellings accepted), the impossible range
(refused everywhere) and the implausible range (needs --confirm at the
keyboard; stored flagged by imports), and the document, section and date each
row rests on. Bounds are exclusive: a value equal to one is inside. Where
the cited source states an adult reference (normal) interval, it is shown
with its own citation: results the laboratory sent without a range are read
against it (obs list and the workstation label it "ref table").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var rows []rangeRow
			for _, o := range clinical.Observables().Observables {
				for _, u := range o.Units {
					rows = append(rows, rangeRow{Name: o.Name, Codes: o.Codes, UnitRange: u})
				}
			}
			return printList(f.IO, f.Output, rows, []Column[rangeRow]{
				{"name", func(r rangeRow) string { return strings.TrimSpace(r.Name + " " + r.Component) }},
				{"codes", func(r rangeRow) string { return strings.Join(r.Codes, " ") }},
				{"unit", func(r rangeRow) string { return r.Unit }},
				{"impossible outside", func(r rangeRow) string { return r.Impossible.String() }},
				{"implausible outside", func(r rangeRow) string { return r.Implausible.String() }},
				{"source", func(r rangeRow) string { return r.Source + " — " + r.Section + " (" + r.Date + ")" }},
				{"reference", func(r rangeRow) string {
					ref := r.Reference
					if ref == nil {
						return ""
					}
					rr := record.ReferenceRange{Low: ref.Low, High: ref.High}
					return rr.String() + " — " + ref.Source + " — " + ref.Section + " (" + ref.Date + ")"
				}},
			})
		},
	}
}

func newAllergyCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "allergy", Short: "Allergies and intolerances (gp, nurse)"}
	var in clinical.AllergyInput
	add := &cobra.Command{
		Use:   "add PATIENT (--code C [--reaction T] [--severity mild|moderate|severe] | --nkda)",
		Short: "Record an allergy, or no known drug allergy",
		Long: `Record an allergy or intolerance. C is the causative agent (a substance or
product), or a finding such as 91936005 |Allergy to penicillin|, which is kept
and mapped to its agent. --nkda records "no known drug allergy" (refused while
an allergy is active); recording an allergy retires an active NKDA.`,
		Example: `  gpsoc allergy add 9434765919 --code 91936005 --reaction rash --severity moderate
  gpsoc allergy add 9434765919 --nkda`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if in.Severity != "" && !oneOf(in.Severity, "mild", "moderate", "severe") {
				return invalidFlag("severity", in.Severity, "must be mild, moderate or severe")
			}
			if in.Type != "" && !oneOf(in.Type, "allergy", "intolerance") {
				return invalidFlag("type", in.Type, "must be allergy or intolerance")
			}
			if in.Code == "" && !in.NKDA {
				return usagef("give --code C or --nkda")
			}
			if in.Code != "" && in.NKDA {
				return usagef("--code and --nkda cannot be used together")
			}
			if _, err := parseDay("onset", in.Onset); err != nil {
				return err
			}
			in.PatientRef = args[0]
			a, err := s.AddAllergy(cmd.Context(), in)
			if err != nil {
				return err
			}
			warnMedicineAlerts(cmd, f, s, a.PatientID)
			return printOneRow(f, a, allergyColumns(colIO(f)))
		}),
	}
	fl := add.Flags()
	fl.StringVar(&in.Code, "code", "", "the causative agent, or an allergy finding")
	fl.StringVar(&in.System, "system", "", "code system: sct (default), dmd, or a URI")
	fl.StringVar(&in.Reaction, "reaction", "", "the reaction, e.g. rash, anaphylaxis")
	fl.StringVar(&in.Severity, "severity", "", "mild, moderate or severe")
	fl.StringVar(&in.Type, "type", "", "allergy (default) or intolerance")
	fl.StringVar(&in.Onset, "onset", "", "onset date YYYY-MM-DD")
	fl.BoolVar(&in.NKDA, "nkda", false, "no known drug allergy")
	fl.StringVar(&in.Category, "category", "", "medication, food, environment or biologic (default: from the agent; food and environment allergies raise no drug alerts)")
	fl.BoolVar(&in.Sensitive, "sensitive", false, "a reason is needed to see this entry")

	var lo clinical.ListOptions
	list := &cobra.Command{
		Use:   "list PATIENT [--all] [--reason T]",
		Short: "List a patient's active allergies",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			l, err := s.Allergies(cmd.Context(), args[0], lo)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			return printList(f.IO, f.Output, l.Items, allergyColumns(colIO(f)))
		}),
	}
	list.Flags().BoolVar(&lo.All, "all", false, "include inactive ones and entries entered in error")
	addReason(list, &lo.Reason)
	cmd.AddCommand(add, list, newAllergyResolveCmd(f), newEntryImportCmd(f, record.KindAllergy, "allergy"))
	return cmd
}

func newAllergyResolveCmd(f *Factory) *cobra.Command {
	var date, why string
	var ifv int
	c := &cobra.Command{
		Use:   "resolve PATIENT ID --reason TEXT [--date D] [--if-version N]",
		Short: "De-label an allergy that is no longer believed (with a reason)",
		Long: `Mark an allergy resolved: it was recorded rightly but is no longer believed
(a negative challenge test, a side effect mislabelled as an allergy). It stays
on the record, with who, when and why, and no longer raises prescribing alerts.
An allergy that was never true of this patient is retracted instead
("gpsoc entry retract").`,
		Example: `  gpsoc allergy resolve 9434765919 01a2... --reason "negative oral amoxicillin challenge, allergy clinic"`,
		Args:    cobra.ExactArgs(2),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			if _, err := parseDay("date", date); err != nil {
				return err
			}
			a, err := s.ResolveAllergy(cmd.Context(), args[0], args[1], why, date, ifv)
			if err != nil {
				return err
			}
			return printOneRow(f, a, allergyColumns(colIO(f)))
		}),
	}
	c.Flags().StringVar(&why, "reason", "", "why the allergy is no longer believed (required)")
	c.Flags().StringVar(&date, "date", "", "resolved on YYYY-MM-DD (default today)")
	addIfVersion(c, &ifv)
	return c
}

func newImmCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "imm", Short: "Immunisations (gp, nurse)"}
	var in clinical.ImmunisationInput
	add := &cobra.Command{
		Use:     "add PATIENT --code C [--date D] [--batch B] [--site S]",
		Short:   "Record an immunisation given",
		Example: `  gpsoc imm add 9434765919 --code 1181000221105 --date 2026-10-14 --batch FLU123`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := parseDay("date", in.Date); err != nil {
				return err
			}
			in.PatientRef = args[0]
			im, err := s.AddImmunisation(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printOneRow(f, im, immColumns(colIO(f)))
		}),
	}
	add.Flags().StringVar(&in.Code, "code", "", "the vaccine or immunisation procedure (required)")
	add.Flags().StringVar(&in.System, "system", "", "code system: sct (default), dmd, or a URI")
	add.Flags().StringVar(&in.Date, "date", "", "date given YYYY-MM-DD (default today)")
	add.Flags().StringVar(&in.Batch, "batch", "", "batch number")
	add.Flags().StringVar(&in.Site, "site", "", "site, e.g. left deltoid")
	_ = add.MarkFlagRequired("code")
	var lo clinical.ListOptions
	list := &cobra.Command{
		Use:   "list PATIENT [--all] [--reason T]",
		Short: "List a patient's immunisations",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			l, err := s.Immunisations(cmd.Context(), args[0], lo)
			if err != nil {
				return err
			}
			noteListed(f, l.Patient, l.Hidden)
			return printList(f.IO, f.Output, l.Items, immColumns(colIO(f)))
		}),
	}
	list.Flags().BoolVar(&lo.All, "all", false, "include entries entered in error")
	addReason(list, &lo.Reason)
	cmd.AddCommand(add, list, newEntryImportCmd(f, record.KindImmunisation, "imm"))
	return cmd
}

// warnMedicineAlerts says on stderr which current medicines what was just
// recorded (an allergy, a problem, a result) makes unsafe: each alert is on
// the record's banner and is raised again at the medicine's next issue. A
// re-check that cannot run (no dm+d dictionary) says nothing here: the
// banner and the next issue say it.
func warnMedicineAlerts(cmd *cobra.Command, f *Factory, s *clinical.Service, pid string) {
	as, err := s.MedicineAlerts(cmd.Context(), pid, clinical.ReadOptions{})
	if err != nil {
		return
	}
	for _, a := range as {
		fmt.Fprintf(f.IO.ErrOut, "alert: %s (%s): %s [%s %s] — on the record, and raised again at its next issue\n",
			a.Drug, a.MedicationID, a.Alert.Message, a.Alert.Severity, a.Alert.ID)
	}
}
