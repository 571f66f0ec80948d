package commands

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/spf13/cobra"
)

// The top-level `export` and `import` commands live here; other files add
// their formats as children by appending to these hooks from an init().
var (
	exportSubcommands []func(f *Factory) *cobra.Command
	importSubcommands []func(f *Factory) *cobra.Command
)

func init() {
	exportSubcommands = append(exportSubcommands, newExportFHIRCmd)
	importSubcommands = append(importSubcommands, newImportFHIRCmd)
	extraCommands = append(extraCommands, newExportCmd, newImportCmd)
}

func newExportCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export FORMAT",
		Short: "Export records in a national standard format (admins and GPs; audited)",
	}
	for _, mk := range exportSubcommands {
		cmd.AddCommand(mk(f))
	}
	return cmd
}

func newImportCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FORMAT",
		Short: "Import records from a national standard format (admins and GPs; audited)",
	}
	for _, mk := range importSubcommands {
		cmd.AddCommand(mk(f))
	}
	return cmd
}

func newExportFHIRCmd(f *Factory) *cobra.Command {
	var patient, out, reason string
	var all bool
	cmd := &cobra.Command{
		Use:   "fhir (--patient PATIENT [--out FILE] | --all --out DIR)",
		Short: "Export a patient's record as a FHIR R4 Bundle, or the whole practice as FHIR Bulk NDJSON",
		Long: `Export FHIR R4 (UK Core).

With --patient, the patient's whole record is one "collection" Bundle (with
the practice's Organization and its users as Practitioners), written to
--out FILE or stdout.

With --all, the whole practice is written to DIR as FHIR Bulk Data NDJSON,
one <Type>.ndjson file per resource type: the practice (Organization), its
users (Practitioner), patients, consultations (Encounter, with coded entries
as Observation or Procedure), problems (Condition), results (Observation;
blood pressure with systolic and diastolic components), medication
(MedicationRequest: the authorisation as intent "plan" with UK Core repeat
information, each issue as intent "order"), allergies (AllergyIntolerance),
immunisations (Immunization), appointments (Appointment), the clinicians'
sessions (Schedule: planningHorizon the session, its slot length in the
slot-minutes extension; in a practice export only), tasks and recalls
(Task; a recall has the recall code), who marked what entered in error
(Provenance) and the whole audit trail (AuditEvent). gpsoc import fhir reads
it back without loss: a complete, vendor-free exit.

A demo practice's resources carry the meta.tag HTEST (test health data).
Admins and GPs only; audited. Exporting a sensitive record needs --reason.`,
		Example: `  gpsoc export fhir --patient 9434765919 --out smith.json
  gpsoc export fhir --all --out /srv/exit/$(date +%F)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (patient == "") == !all {
				return usagef("give --patient PATIENT or --all")
			}
			if all && out == "" {
				return usagef("--all writes one file per resource type: give --out DIR")
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			if patient != "" {
				b, err := interop.ExportFHIRPatientFor(cmd.Context(), s, patient, clinical.ReadOptions{Reason: reason})
				if err != nil {
					return err
				}
				data, err := fhir.Marshal(b)
				if err != nil {
					return err
				}
				data = append(data, '\n')
				if out == "" || out == "-" {
					_, err = f.IO.Out.Write(data)
					return err
				}
				if err := writeNew(out, data); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.ErrOut, "Exported %d resources to %s\n", len(b.Entry), out)
				return nil
			}
			counts, err := exportBulk(cmd, s, out)
			if err != nil {
				return err
			}
			return printExportCounts(f, counts, out)
		},
	}
	cmd.Flags().StringVar(&patient, "patient", "", "the patient (id or NHS number)")
	cmd.Flags().BoolVar(&all, "all", false, "the whole practice, as FHIR Bulk NDJSON")
	cmd.Flags().StringVar(&out, "out", "", "FILE for --patient (default stdout), DIR for --all")
	cmd.Flags().StringVar(&reason, "reason", "", "why a sensitive record is exported (required for one; audited)")
	return cmd
}

// writeNew writes a file readable by its owner only, refusing to overwrite one.
func writeNew(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func exportBulk(cmd *cobra.Command, s *clinical.Service, dir string) (interop.ExportCounts, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if filepath.Ext(e.Name()) == ".ndjson" {
				return nil, usagef("%s already holds %s: export into an empty directory", dir, e.Name())
			}
		}
	}
	type file struct {
		fh *os.File
		w  *bufio.Writer
	}
	files := map[string]*file{}
	closeAll := func() error {
		var first error
		for _, fl := range files {
			if err := fl.w.Flush(); err != nil && first == nil {
				first = err
			}
			if err := fl.fh.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	counts, err := interop.ExportFHIRAll(cmd.Context(), s, func(r fhir.Resource) error {
		fl := files[r.FHIRType()]
		if fl == nil {
			fh, err := os.OpenFile(filepath.Join(dir, r.FHIRType()+".ndjson"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			fl = &file{fh: fh, w: bufio.NewWriterSize(fh, 1<<16)}
			files[r.FHIRType()] = fl
		}
		b, err := fhir.Marshal(r)
		if err != nil {
			return err
		}
		fl.w.Write(b)
		return fl.w.WriteByte('\n')
	})
	if cerr := closeAll(); err == nil {
		err = cerr
	}
	return counts, err
}

func printExportCounts(f *Factory, counts interop.ExportCounts, dir string) error {
	if f.Output == "json" || f.Output == "ndjson" {
		return writeJSON(f.IO.Out, map[string]any{"dir": dir, "byType": counts})
	}
	types := make([]string, 0, len(counts))
	total := 0
	for t, n := range counts {
		types = append(types, t)
		total += n
	}
	sort.Strings(types)
	fmt.Fprintf(f.IO.Out, "exported %d resources to %s\n", total, dir)
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	for _, t := range types {
		fmt.Fprintf(tw, "  %s\t%d\n", t, counts[t])
	}
	return tw.Flush()
}

func newImportFHIRCmd(f *Factory) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "fhir FILE|DIR|-... [--dry-run]",
		Short: "Import FHIR R4 Bundles or FHIR Bulk NDJSON",
		Long: `Import FHIR R4 (UK Core or not): Bundles of type transaction, batch,
collection or searchset, and FHIR Bulk Data NDJSON (one resource a line), gzipped
or not. A DIR is every *.json, *.ndjson (and .gz) in it. References resolve
across all the files of one import: urn:uuid: full URLs, Type/id, absolute
URLs, conditional references (Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919)
and logical references by identifier.

Each Bundle is written all or nothing, in one transaction, with one audit
event per record written; bulk NDJSON is written per patient. Patients are
matched by NHS number, id and other identifiers, records by id, so running
the same import again changes nothing. Records from abroad keep what they
have: no NHS number (noNhsReason "imported-record"), foreign addresses, and
codes outside the UK terminologies (LOINC, RxNorm, CVX…) kept as given and
flagged. A resource type the record has no place for is skipped, and the
summary says why.

Prints "imported N, skipped N, rejected N" and the counts per resource type;
each rejection goes to stderr as FILE: entry N: PATH: reason. Exit 1 when
any bundle was rejected. Admins and GPs only; audited.`,
		Example: `  gpsoc import fhir smith.json
  gpsoc import fhir --dry-run /srv/exit/2026-11-24
  zcat bundle.json.gz | gpsoc import fhir -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var stdin io.Reader = f.IO.In
			ins, err := interop.LoadFHIRInputs(args, stdin)
			if err != nil {
				return err
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			batchGC()
			sum, err := interop.ImportFHIR(cmd.Context(), s, ins, interop.FHIRImportOptions{DryRun: dry,
				OnReject: func(r interop.FHIRRejection) { fmt.Fprintln(f.IO.ErrOut, r.String()) }})
			if err != nil {
				return err
			}
			if err := printFHIRImport(f, sum, dry); err != nil {
				return err
			}
			if sum.RejectedBundles > 0 {
				return &ExitError{Code: ExitFailure, Msg: ""}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "check and count, write nothing")
	return cmd
}

func printFHIRImport(f *Factory, sum *interop.FHIRImportSummary, dry bool) error {
	if f.Output == "json" || f.Output == "ndjson" {
		return writeJSON(f.IO.Out, sum)
	}
	w := f.IO.Out
	note := ""
	if dry {
		note = " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "imported %d, skipped %d, rejected %d%s\n", sum.Imported, sum.Skipped, sum.Rejected, note)
	types := make([]string, 0, len(sum.ByType))
	for t := range sum.ByType {
		types = append(types, t)
	}
	sort.Strings(types)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range types {
		c := sum.ByType[t]
		fmt.Fprintf(tw, "  %s\timported %d\tskipped %d\trejected %d\n", t, c.Imported, c.Skipped, c.Rejected)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(sum.Skips) > 0 {
		fmt.Fprintln(w, "skipped:")
		for _, s := range sum.Skips {
			fmt.Fprintf(w, "  %d %s: %s\n", s.Count, s.Type, s.Reason)
		}
	}
	if len(sum.Flagged) > 0 {
		fmt.Fprintln(w, "kept but flagged:")
		keys := make([]string, 0, len(sum.Flagged))
		for k := range sum.Flagged {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %d %s\n", sum.Flagged[k], k)
		}
	}
	return nil
}
