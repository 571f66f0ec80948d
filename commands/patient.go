package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

// patientSubcommands are added by other files (issue-sized nouns grow here).
var patientSubcommands []func(f *Factory) *cobra.Command

func newPatientCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patient",
		Short: "Register, find, show, update and import patients",
		Long: `Register, find, show, update and import patients.

PATIENT is a patient id or an NHS number, with or without spaces.`,
	}
	cmd.AddCommand(newPatientAddCmd(f, nil), newPatientShowCmd(f), newPatientListCmd(f), newPatientImportCmd(f), newPatientFindCmd(f))
	for _, mk := range patientSubcommands {
		cmd.AddCommand(mk(f))
	}
	return cmd
}

var patientColumns = []Column[*record.Patient]{
	{"id", func(p *record.Patient) string { return p.ID }},
	{"nhsNumber", func(p *record.Patient) string { return record.FormatNHS(p.NHSNumber) }},
	{"name", func(p *record.Patient) string { return p.Name() }},
	{"birthDate", func(p *record.Patient) string { return p.BirthDate }},
	{"sex", func(p *record.Patient) string { return p.Sex }},
	{"postcode", func(p *record.Patient) string { return p.Postcode }},
	{"status", func(p *record.Patient) string { return p.Status }},
}

func patientColumnsFor(ios *IOStreams) []Column[*record.Patient] {
	cols := append([]Column[*record.Patient](nil), patientColumns...)
	cols[3] = Column[*record.Patient]{"birthDate", func(p *record.Patient) string { return UKDate(ios, p.BirthDate) }}
	return cols
}

// PatientAddOptions are `gpsoc patient add`'s.
type PatientAddOptions struct {
	NHS         string
	NHSStatus   string
	NoNHSReason string
	Family      string
	Given       []string
	DOB         string
	Sex         string
	Postcode    string
	Phone       string
	UsualGP     string
	Temporary   bool
	Country     string
	Lines       []string
	Town        string
	County      string
	Sensitive   bool
	Flags       []string
}

func newPatientAddCmd(f *Factory, runF func(*PatientAddOptions) error) *cobra.Command {
	o := &PatientAddOptions{}
	cmd := &cobra.Command{
		Use:   "add [--nhs N [--nhs-status S] | --no-nhs-reason R] --family F --given G --dob YYYY-MM-DD --sex S",
		Short: "Register a patient",
		Long: `Register a patient. The NHS number is checked (Modulus 11) and may be
typed with or without the 3-3-4 spaces; without one, give the reason
(temporary-resident, newborn, imported-record, overseas-visitor, not-known).
A second patient with the same NHS number is refused (exit 5); a close
match on name, date of birth and postcode is a warning.`,
		Example: `  gpsoc patient add --nhs "943 476 5919" --family Smith --given John --dob 1961-03-12 --sex male --postcode "LS6 2QT"
  gpsoc patient add --nhs "943 476 5919" --family Smith --given John --dob 1961-03-12 --sex male \
      --address-line "12 Leeds Road" --address-line "Headingley" --town Leeds --postcode "LS6 2QT"
  gpsoc patient add --no-nhs-reason temporary-resident --family Nowak --given Anna --dob 1990-01-02 --sex female --temporary`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.NHS != "" && o.NoNHSReason != "" {
				return usagef("--nhs and --no-nhs-reason cannot be used together")
			}
			if runF != nil {
				return runF(o)
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			p := &record.Patient{NHSNumber: o.NHS, NHSNumberStatus: o.NHSStatus, NoNHSReason: o.NoNHSReason,
				Family: o.Family, Given: o.Given, BirthDate: o.DOB, Sex: o.Sex, Postcode: o.Postcode,
				Phone: o.Phone, UsualGP: o.UsualGP, Flags: o.Flags}
			p.Sensitive = o.Sensitive
			if o.Temporary {
				p.Registration.Type = "temporary"
			}
			if o.Country != "" || len(o.Lines) > 0 || o.Town != "" || o.County != "" {
				p.Address = &record.Address{Lines: o.Lines, Town: o.Town, County: o.County, Country: o.Country}
			}
			warns, err := s.AddPatient(cmd.Context(), p)
			if err != nil {
				return err
			}
			for _, w := range warns {
				fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", w.Message)
			}
			return printPatient(f, p)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.NHS, "nhs", "", "NHS number (10 digits, spaces allowed as 3-3-4)")
	fl.StringVar(&o.NHSStatus, "nhs-status", "", "NHS number verification status, UK Core code 01-08 (default 02, not traced)")
	fl.StringVar(&o.NoNHSReason, "no-nhs-reason", "", "why there is no NHS number: "+strings.Join(record.NoNHSReasons, ", "))
	fl.StringVar(&o.Family, "family", "", "family name (required)")
	fl.StringSliceVar(&o.Given, "given", nil, "given name(s); repeat or comma-separate for middle names (required)")
	fl.StringVar(&o.DOB, "dob", "", "date of birth YYYY-MM-DD (required)")
	fl.StringVar(&o.Sex, "sex", "", "female, male, other or unknown (required)")
	fl.StringVar(&o.Postcode, "postcode", "", "UK postcode (checked), or as given with --country")
	fl.StringVar(&o.Phone, "phone", "", "phone number")
	fl.StringVar(&o.UsualGP, "usual-gp", "", "the patient's usual GP (a gpsoc user name)")
	fl.BoolVar(&o.Temporary, "temporary", false, "register as a temporary resident")
	fl.StringVar(&o.Country, "country", "", "country of the address when not the UK (postcode kept as given)")
	fl.StringArrayVar(&o.Lines, "address-line", nil, "a line of the address, e.g. \"12 Leeds Road\" (repeat for each line)")
	fl.StringVar(&o.Town, "town", "", "town or city of the address")
	fl.StringVar(&o.County, "county", "", "county of the address")
	fl.BoolVar(&o.Sensitive, "sensitive", false, "mark the record sensitive (a reason is needed to open it)")
	fl.StringSliceVar(&o.Flags, "flag", nil, "warning flag, e.g. violence-marker, interpreter-needed, carer (repeatable)")
	for _, n := range []string{"family", "given", "dob", "sex"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func printPatient(f *Factory, p *record.Patient) error {
	ios := f.IO
	nhs := record.FormatNHS(p.NHSNumber)
	if nhs == "" {
		nhs = "none (" + p.NoNHSReason + ")"
	}
	fields := [][2]string{
		{"id", p.ID}, {"name", p.Name()}, {"nhsNumber", nhs}, {"birthDate", UKDate(ios, p.BirthDate)},
		{"sex", p.Sex}, {"postcode", p.Postcode}, {"phone", p.Phone}, {"usualGp", p.UsualGP},
		{"registration", p.Registration.Type + " since " + UKDate(ios, p.Registration.RegisteredOn)},
		{"status", p.Status}, {"flags", strings.Join(p.Flags, ", ")}, {"version", fmt.Sprint(p.Version)},
	}
	if a := p.Address; a != nil {
		parts := append(append([]string(nil), a.Lines...), a.Town, a.County, a.Country)
		var nonEmpty []string
		for _, s := range parts {
			if s != "" {
				nonEmpty = append(nonEmpty, s)
			}
		}
		fields = append(fields, [2]string{"address", strings.Join(nonEmpty, ", ")})
	}
	if p.Sensitive {
		fields = append(fields, [2]string{"sensitive", "yes"})
	}
	if p.Registration.LeftOn != "" {
		fields = append(fields, [2]string{"left", UKDate(ios, p.Registration.LeftOn) + " (" + p.Registration.LeftReason + ")"})
	}
	if p.Registration.DeceasedOn != "" {
		fields = append(fields, [2]string{"deceased", UKDate(ios, p.Registration.DeceasedOn)})
	}
	return printOne(ios, f.Output, p, fields)
}

func newPatientShowCmd(f *Factory) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "show PATIENT",
		Short: "Show a patient's demographics",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			p, err := s.Patient(cmd.Context(), args[0], clinical.ReadOptions{Reason: reason})
			if err != nil {
				return err
			}
			return printPatient(f, p)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why you are opening a sensitive record (audited)")
	return cmd
}

func newPatientListCmd(f *Factory) *cobra.Command {
	var filt clinical.PatientFilter
	var problemECL string
	cmd := &cobra.Command{
		Use:   "list [--status active|left|deceased] [--limit N]",
		Short: "List patients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			if problemECL != "" {
				ids, err := problemECLHook(f, cmd, s, problemECL)
				if err != nil {
					return err
				}
				filt.IDs = ids
			}
			ps, err := s.Patients(cmd.Context(), filt)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, ps, patientColumnsFor(f.IO))
		},
	}
	cmd.Flags().StringVar(&filt.Status, "status", "", "only active, left or deceased patients")
	cmd.Flags().IntVar(&filt.Limit, "limit", 0, "at most this many (0: all)")
	cmd.Flags().StringVar(&problemECL, "problem-ecl", "", "only patients with an active problem in this ECL set, e.g. '<< 73211009'")
	return cmd
}

// problemECLHook resolves --problem-ecl (wired with the terminology).
var problemECLHook = func(f *Factory, cmd *cobra.Command, s *clinical.Service, expr string) (map[string]bool, error) {
	return nil, usagef("--problem-ecl needs the terminology, which this build lacks")
}

func newPatientFindCmd(f *Factory) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "find QUERY",
		Short: "Find patients by name, NHS number, date of birth or postcode",
		Long: `Find patients the way you would type it: name fragments in any order
("jo smi", "smith john"), typos ("brwn"), NHS numbers whole or in part with
or without spaces, dates of birth (12/3/61, 12-Mar-1961, 1961-03-12, 120361)
and postcodes whole or by district (ls6, ls6 2qt). Ranked best first.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			found, err := s.FindPatients(cmd.Context(), strings.Join(args, " "), limit)
			if err != nil {
				return err
			}
			ps := make([]*record.Patient, len(found))
			for i, x := range found {
				ps[i] = x.Patient
			}
			return printList(f.IO, f.Output, ps, patientColumnsFor(f.IO))
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many results")
	return cmd
}

// openInput opens FILE or - for standard input.
func openInput(f *Factory, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(f.IO.In), nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, &record.ValidationError{Field: "FILE", Value: name, Reason: "cannot be read: " + strings.TrimPrefix(err.Error(), "open "+name+": ")}
	}
	return fh, nil
}

// printImportSummary prints the summary and returns exit 1 when lines were rejected.
func printImportSummary(f *Factory, sum *clinical.ImportSummary, dry bool) error {
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
		fmt.Fprintf(f.IO.Out, "%sread %d, written %d, unchanged %d, rejected %d\n", prefix, sum.Read, sum.Written, sum.Unchanged, sum.Rejected)
	}
	if sum.Rejected > 0 {
		return &ExitError{Code: ExitFailure, Msg: ""}
	}
	return nil
}

func newPatientImportCmd(f *Factory) *cobra.Command {
	var dry bool
	var format, from string
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Register patients in bulk from NDJSON or CSV",
		Long: `Register patients in bulk. Input is the NDJSON that "patient list -o ndjson"
prints, or CSV whose header names are the JSON field names (given and flags
split on ';'). Valid lines are written; each rejected line writes nothing
and is reported on stderr as: line N: FIELD "VALUE": reason. Running the
same import again changes nothing (lines count as unchanged). Exit 1 when
any line was rejected. With --from (patients moving from another system),
each new patient is marked imported from it, who registered them there and
when kept as data.`,
		Example: `  gpsoc patient import patients.ndjson
  gpsoc patient import --dry-run new.csv
  gpsoc patient import --from "Old System (EMIS export)" patients.ndjson
  gpsoc patient list -o ndjson | gpsoc --data-dir other patient import -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != "ndjson" && format != "csv" {
				return &record.ValidationError{Field: "--format", Value: format, Reason: "must be ndjson or csv"}
			}
			in, err := openInput(f, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			if format == "" && strings.HasSuffix(strings.ToLower(args[0]), ".csv") {
				format = "csv"
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			batchGC()
			sum, err := interop.ImportPatients(cmd.Context(), s, in, clinical.ImportOptions{Format: format, DryRun: dry, Source: from,
				OnReject: func(r clinical.Rejection) { fmt.Fprintln(f.IO.ErrOut, r.String()) }})
			if err != nil {
				return err
			}
			return printImportSummary(f, sum, dry)
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "check and count, write nothing")
	cmd.Flags().StringVar(&format, "format", "", "ndjson or csv (default: from the file name or its first byte)")
	cmd.Flags().StringVar(&from, "from", "", "the system the patients come from: each is marked imported from it")
	return cmd
}
