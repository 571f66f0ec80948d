package commands

import (
	"encoding/csv"
	"encoding/json"
	"fmt"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	patientSubcommands = append(patientSubcommands, newPatientUpdateCmd, newPatientLeaveCmd,
		newPatientDeceasedCmd, newPatientFlagCmd, newPatientExportCmd)
}

// PatientUpdateOptions are `gpsoc patient update`'s.
type PatientUpdateOptions struct {
	IfVersion    int
	Sensitive    bool
	NotSensitive bool
}

func newPatientUpdateCmd(f *Factory) *cobra.Command {
	o := &PatientUpdateOptions{}
	var family, dob, sex, postcode, phone, email, usualGP, nhs, nhsStatus string
	var given, lines []string
	var town, county, country string
	cmd := &cobra.Command{
		Use:   "update PATIENT [--family F] [--given G] [--dob D] [--sex S] [--postcode P] [--address-line L]... [--town T] [--county C] [--country C] [--phone N] [--email E] [--usual-gp U] [--nhs N] [--nhs-status S] [--sensitive|--not-sensitive] [--if-version N]",
		Short: "Change a patient's demographics",
		Long: `Change a patient's demographics: only the flags given change. A new version
is written; the old one stays in the history. With --if-version N the change
is refused (exit 5) if someone else changed the patient since version N.
--address-line replaces every line of the address (repeat it for each line);
--town, --county and --country change only that part.`,
		Example: `  gpsoc patient update 9434765919 --postcode "LS6 3AB" --phone 0113 496 0000
  gpsoc patient update 9434765919 --address-line "3 Cardigan Road" --town Leeds --postcode "LS6 3AB"
  gpsoc patient update 9434765919 --sensitive --if-version 2`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if o.Sensitive && o.NotSensitive {
				return usagef("--sensitive and --not-sensitive cannot be used together")
			}
			if err := checkIfVersion(o.IfVersion); err != nil {
				return err
			}
			u := clinical.PatientUpdate{IfVersion: o.IfVersion}
			str := func(name string, v *string) *string {
				if cmd.Flags().Changed(name) {
					return v
				}
				return nil
			}
			u.Family, u.BirthDate, u.Sex, u.Postcode = str("family", &family), str("dob", &dob), str("sex", &sex), str("postcode", &postcode)
			u.Phone, u.Email, u.UsualGP, u.NHSNumber, u.NHSNumberStatus = str("phone", &phone), str("email", &email), str("usual-gp", &usualGP), str("nhs", &nhs), str("nhs-status", &nhsStatus)
			if cmd.Flags().Changed("given") {
				u.Given = &given
			}
			if o.Sensitive || o.NotSensitive {
				v := o.Sensitive
				u.Sensitive = &v
			}
			if fl := cmd.Flags(); fl.Changed("address-line") || fl.Changed("town") || fl.Changed("county") || fl.Changed("country") {
				u.Mutate = func(p *record.Patient) error {
					a := record.Address{}
					if p.Address != nil {
						a = *p.Address
						a.Lines = append([]string(nil), a.Lines...)
					}
					if fl.Changed("address-line") {
						a.Lines = lines
					}
					for _, c := range []struct {
						flag string
						dst  *string
						v    string
					}{{"town", &a.Town, town}, {"county", &a.County, county}, {"country", &a.Country, country}} {
						if fl.Changed(c.flag) {
							*c.dst = c.v
						}
					}
					p.Address = &a
					if len(a.Lines) == 0 && a.Town == "" && a.County == "" && a.Country == "" {
						p.Address = nil
					}
					return nil
				}
			}
			p, err := s.UpdatePatient(cmd.Context(), args[0], u)
			if err != nil {
				return renameField(err, map[string]string{"birthDate": "--dob", "nhsNumber": "--nhs", "nhsNumberStatus": "--nhs-status", "usualGp": "--usual-gp"})
			}
			return printPatient(f, p)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&family, "family", "", "family name")
	fl.StringSliceVar(&given, "given", nil, "given name(s)")
	fl.StringVar(&dob, "dob", "", "date of birth YYYY-MM-DD")
	fl.StringVar(&sex, "sex", "", "female, male, other or unknown")
	fl.StringVar(&postcode, "postcode", "", "UK postcode")
	fl.StringArrayVar(&lines, "address-line", nil, "a line of the address (repeat for each line; replaces every line)")
	fl.StringVar(&town, "town", "", "town or city of the address")
	fl.StringVar(&county, "county", "", "county of the address")
	fl.StringVar(&country, "country", "", "country of the address when not the UK")
	fl.StringVar(&phone, "phone", "", "phone number")
	fl.StringVar(&email, "email", "", "email address")
	fl.StringVar(&usualGP, "usual-gp", "", "usual GP (a gpsoc user)")
	fl.StringVar(&nhs, "nhs", "", "NHS number")
	fl.StringVar(&nhsStatus, "nhs-status", "", "NHS number verification status 01-08")
	fl.BoolVar(&o.Sensitive, "sensitive", false, "mark the record sensitive: a reason is needed to open it")
	fl.BoolVar(&o.NotSensitive, "not-sensitive", false, "clear the sensitive mark")
	addIfVersion(cmd, &o.IfVersion)
	return cmd
}

// renameField names the flag of a refused value when the field name differs.
func renameField(err error, m map[string]string) error {
	if ve, ok := err.(*record.ValidationError); ok {
		if fl, ok := m[ve.Field]; ok {
			ve.Field = fl
		}
	}
	return err
}

func printEnded(f *Factory, p *record.Patient, also []record.Entity) error {
	for _, e := range also {
		fmt.Fprintf(f.IO.ErrOut, "cancelled %s %s\n", e.Kind(), e.Head().ID)
	}
	return printPatient(f, p)
}

func newPatientLeaveCmd(f *Factory) *cobra.Command {
	var date, reason string
	var ifv int
	cmd := &cobra.Command{
		Use:   "leave PATIENT --reason T [--date D] [--if-version N]",
		Short: "Record that a patient has left the practice",
		Long: `Record that a patient has left the practice (status left). Their future
appointments and open recalls are cancelled in the same write. The record
stays readable; clinical entries dated after leaving are refused.`,
		Example: `  gpsoc patient leave 9434765919 --date 2026-11-20 --reason "moved away"`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			if _, err := parseDay("date", date); err != nil {
				return err
			}
			p, also, err := s.Leave(cmd.Context(), args[0], date, reason, ifv)
			if err != nil {
				return err
			}
			return printEnded(f, p, also)
		}),
	}
	cmd.Flags().StringVar(&date, "date", "", "date of leaving YYYY-MM-DD (default today)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the patient left (required)")
	addIfVersion(cmd, &ifv)
	return cmd
}

func newPatientDeceasedCmd(f *Factory) *cobra.Command {
	var date string
	var ifv int
	cmd := &cobra.Command{
		Use:   "deceased PATIENT [--date D] [--if-version N]",
		Short: "Record a patient's death",
		Long: `Record a patient's death (status deceased). Their future appointments and
open recalls are cancelled in the same write. Clinical entries dated on or
before the date of death may still be added (late results); later ones are refused.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			if _, err := parseDay("date", date); err != nil {
				return err
			}
			p, also, err := s.Deceased(cmd.Context(), args[0], date, ifv)
			if err != nil {
				return err
			}
			return printEnded(f, p, also)
		}),
	}
	cmd.Flags().StringVar(&date, "date", "", "date of death YYYY-MM-DD (default today)")
	addIfVersion(cmd, &ifv)
	return cmd
}

func newPatientFlagCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flag",
		Short: "Add or remove a warning flag",
		Long:  "Add or remove a warning flag (e.g. violence-marker, interpreter-needed, carer, safeguarding).",
	}
	for _, on := range []bool{true, false} {
		var ifv int
		name, short := "add", "Add a warning flag to a patient"
		if !on {
			name, short = "remove", "Remove a warning flag from a patient"
		}
		c := &cobra.Command{
			Use:   name + " PATIENT FLAG [--if-version N]",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
				if err := checkIfVersion(ifv); err != nil {
					return err
				}
				p, err := s.SetFlag(cmd.Context(), args[0], args[1], on, ifv)
				if err != nil {
					return err
				}
				return printPatient(f, p)
			}),
		}
		addIfVersion(c, &ifv)
		cmd.AddCommand(c)
	}
	return cmd
}

func newPatientExportCmd(f *Factory) *cobra.Command {
	var records bool
	cmd := &cobra.Command{
		Use:   "export [PATIENT]... [--records]",
		Short: "Export patients as NDJSON or CSV (admins and GPs; audited)",
		Long: `Export patients as NDJSON, one patient a line: the same JSON "patient import"
reads, so an export can be imported elsewhere. With -o csv, a CSV whose
header names are the JSON field names (dotted for nested ones, lists joined
with ';'), which "patient import" reads back unchanged. With no PATIENT, every patient.
With --records, each line is {"kind": K, "record": {...}} and every record of
each patient follows it (current versions; history with "gpsoc history").
One audit event per patient exported.`,
		Example: `  gpsoc patient export > patients.ndjson
  gpsoc patient export -o csv > patients.csv
  gpsoc patient export 9434765919 --records > smith.ndjson`,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if f.Output != "table" && f.Output != "ndjson" && f.Output != "csv" {
				return invalidFlag("output", f.Output, "export writes NDJSON or CSV")
			}
			if f.Output == "csv" && records {
				return usagef("--records is NDJSON only: a CSV holds patients")
			}
			enc := json.NewEncoder(f.IO.Out)
			header := interop.CSVHeader(record.KindPatient)
			cw := csv.NewWriter(f.IO.Out)
			if f.Output == "csv" {
				if err := cw.Write(header); err != nil {
					return err
				}
			}
			n, err := s.ExportPatients(cmd.Context(), args, records, func(l clinical.ExportLine) error {
				switch {
				case records:
					return enc.Encode(l)
				case f.Output == "csv":
					row, err := interop.CSVRow(l.Record, header)
					if err != nil {
						return err
					}
					return cw.Write(row)
				}
				return enc.Encode(l.Record)
			})
			cw.Flush()
			if err == nil {
				err = cw.Error()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "exported %d patient(s)\n", n)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&records, "records", false, "include every record of each patient")
	return cmd
}
