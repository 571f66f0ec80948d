package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

// Helpers shared by the record commands (issue 5): flag parsing that names
// the flag and the value, and the columns and fields each record prints.

// invalidFlag is a refused flag value (exit 2).
func invalidFlag(flag, value, reason string, args ...any) error {
	return &record.ValidationError{Field: "--" + flag, Value: value, Reason: fmt.Sprintf(reason, args...)}
}

// flagNames renames a validation error's field to the flag that carried it
// (e.g. "at" -> "--at"), so every refusal names the flag and the value.
func flagNames(cmd *cobra.Command, err error) error {
	var ve *record.ValidationError
	if errors.As(err, &ve) && !strings.HasPrefix(ve.Field, "--") {
		name := ve.Field
		if alias, ok := fieldFlags[name]; ok {
			name = alias
		}
		if cmd.Flags().Lookup(name) != nil {
			ve.Field = "--" + name
		}
	}
	return err
}

// fieldFlags maps record field names to the flags that set them.
var fieldFlags = map[string]string{
	"slot": "slot", "length": "length", "usualGp": "usual-gp", "systolic": "bp", "diastolic": "bp",
	"effective": "date", "resolvedOn": "date", "registration.leftOn": "date", "registration.deceasedOn": "date",
	"registration.leftReason": "reason", "agent": "code", "onset": "onset", "problem": "problem",
}

// runE wraps a command's run: the service, and flag names on refusals.
func runE(f *Factory, fn func(cmd *cobra.Command, s *clinical.Service, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := f.Service(cmd.Context())
		if err != nil {
			return err
		}
		return flagNames(cmd, fn(cmd, s, args))
	}
}

// parseWhen reads TIME: RFC 3339, or "YYYY-MM-DD HH:MM" (or a "T" between) in UK local time.
func parseWhen(flag, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(l, s, UKTime()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalidFlag(flag, s, "must be RFC 3339 or YYYY-MM-DD HH:MM (UK local time)")
}

// parseDay reads D (YYYY-MM-DD).
func parseDay(flag, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	d, err := record.ParseDate(flag, s)
	if err != nil {
		return "", invalidFlag(flag, s, "must be a date YYYY-MM-DD")
	}
	return d, nil
}

// parseMinutes reads a length such as 10m, 1h or 15.
func parseMinutes(flag, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d%time.Minute != 0 {
		return 0, invalidFlag(flag, s, "must be whole minutes such as 10m or 1h")
	}
	return int(d / time.Minute), nil
}

// checkIfVersion refuses a negative --if-version.
func checkIfVersion(n int) error {
	if n < 0 {
		return invalidFlag("if-version", strconv.Itoa(n), "must be a version number (1 or more)")
	}
	return nil
}

func addIfVersion(cmd *cobra.Command, p *int) {
	cmd.Flags().IntVar(p, "if-version", 0, "refuse (exit 5) unless the record is still at this version")
}

func addReason(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "reason", "", "why you are opening a sensitive record (audited)")
}

// noteListed flags, on stderr, a patient who has left or died and sensitive
// entries held back, so a script's stdout stays pure data.
func noteListed(f *Factory, p *record.Patient, hidden int) {
	notePatientStatus(f, p)
	noteHidden(f, hidden)
}

func notePatientStatus(f *Factory, p *record.Patient) {
	switch {
	case p == nil:
	case p.Status == record.PatientDeceased:
		fmt.Fprintf(f.IO.ErrOut, "note: %s died on %s\n", p.Name(), p.Registration.DeceasedOn)
	case p.Status == record.PatientLeft:
		fmt.Fprintf(f.IO.ErrOut, "note: %s left the practice on %s\n", p.Name(), p.Registration.LeftOn)
	}
}

// noteHidden tells stderr that sensitive entries were held back.
func noteHidden(f *Factory, n int) {
	if n > 0 {
		fmt.Fprintf(f.IO.ErrOut, "note: %d sensitive entr%s not shown; give --reason to see them (audited)\n", n, map[bool]string{true: "y", false: "ies"}[n == 1])
	}
}

func codeCell(c record.Code) string {
	if c.Code == "" {
		return ""
	}
	return c.Code
}

func termCell(c record.Code) string { return c.Display }

func fnum(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func obsValue(o *record.Observation) string {
	v := o.ValueText
	if o.IsBP() {
		v = fnum(o.Systolic) + "/" + fnum(o.Diastolic)
	} else if o.Value != nil {
		v = fnum(o.Value)
	} else if o.ValueCode != nil {
		v = strings.TrimSpace(o.ValueCode.Display + " (" + o.ValueCode.Code + ")")
		if o.ValueText != "" {
			v += " " + o.ValueText
		}
	}
	if o.Unit != "" {
		v += " " + o.Unit
	}
	// A flagged value says so wherever it is listed (the reasons are in -o json).
	return v + clinical.FlagText(o)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func problemColumns(ios *IOStreams) []Column[*record.Problem] {
	return []Column[*record.Problem]{
		{"id", func(p *record.Problem) string { return p.ID }},
		{"code", func(p *record.Problem) string { return codeCell(p.Code) }},
		{"term", func(p *record.Problem) string { return termCell(p.Code) }},
		{"onset", func(p *record.Problem) string { return UKDate(ios, p.Onset) }},
		{"significance", func(p *record.Problem) string { return p.Significance }},
		{"status", func(p *record.Problem) string { return p.Status }},
		{"resolvedOn", func(p *record.Problem) string { return UKDate(ios, p.ResolvedOn) }},
	}
}

func obsColumns(ios *IOStreams) []Column[*record.Observation] {
	return []Column[*record.Observation]{
		{"id", func(o *record.Observation) string { return o.ID }},
		{"effective", func(o *record.Observation) string { return showTime(ios, o.Effective) }},
		{"code", func(o *record.Observation) string { return codeCell(o.Code) }},
		{"term", func(o *record.Observation) string { return termCell(o.Code) }},
		{"value", obsValue},
		{"status", func(o *record.Observation) string { return o.Status }},
		// the abnormal flag and the range it rests on: the laboratory's, or
		// the observables table's cited reference interval (marked so)
		{"flag", clinical.ResultFlag},
		{"range", func(o *record.Observation) string { return clinical.RangeOf(o).Label() }},
	}
}

func allergyColumns(ios *IOStreams) []Column[*record.Allergy] {
	return []Column[*record.Allergy]{
		{"id", func(a *record.Allergy) string { return a.ID }},
		{"agent", func(a *record.Allergy) string { return codeCell(a.Agent) }},
		{"term", func(a *record.Allergy) string {
			if a.NKDA {
				return "No known drug allergy"
			}
			return termCell(a.Agent)
		}},
		{"finding", func(a *record.Allergy) string {
			if a.Finding == nil {
				return ""
			}
			return a.Finding.Code
		}},
		{"reaction", func(a *record.Allergy) string { return a.Reaction }},
		{"severity", func(a *record.Allergy) string { return a.Severity }},
		{"status", func(a *record.Allergy) string { return a.Status }},
		{"recordedAt", func(a *record.Allergy) string { return showTime(ios, a.RecordedAt) }},
	}
}

func immColumns(ios *IOStreams) []Column[*record.Immunisation] {
	return []Column[*record.Immunisation]{
		{"id", func(i *record.Immunisation) string { return i.ID }},
		{"date", func(i *record.Immunisation) string { return UKDate(ios, i.Date) }},
		{"code", func(i *record.Immunisation) string { return codeCell(i.Code) }},
		{"term", func(i *record.Immunisation) string { return termCell(i.Code) }},
		{"batch", func(i *record.Immunisation) string { return i.Batch }},
		{"by", func(i *record.Immunisation) string { return i.By }},
		{"status", func(i *record.Immunisation) string { return i.Status }},
	}
}

func consultColumns(ios *IOStreams) []Column[*record.Consultation] {
	return []Column[*record.Consultation]{
		{"id", func(c *record.Consultation) string { return c.ID }},
		{"start", func(c *record.Consultation) string { return showTime(ios, c.Start) }},
		{"type", func(c *record.Consultation) string { return c.Type }},
		{"clinician", func(c *record.Consultation) string { return c.Clinician }},
		{"codes", func(c *record.Consultation) string {
			var cs []string
			for _, e := range c.Entries {
				cs = append(cs, e.Code.Code)
			}
			return strings.Join(cs, " ")
		}},
		{"problemId", func(c *record.Consultation) string { return c.ProblemID }},
		{"text", func(c *record.Consultation) string {
			t := c.Text
			if t == "" {
				t = strings.TrimSpace(strings.Join([]string{c.History, c.Examination, c.Plan}, " "))
			}
			if ios.IsTerminal() {
				return clip(t, 40)
			}
			return strings.Join(strings.Fields(t), " ")
		}},
		{"status", func(c *record.Consultation) string { return c.Status }},
	}
}

func apptColumns(ios *IOStreams) []Column[*record.Appointment] {
	return []Column[*record.Appointment]{
		{"id", func(a *record.Appointment) string { return a.ID }},
		{"start", func(a *record.Appointment) string { return showTime(ios, a.Start) }},
		{"minutes", func(a *record.Appointment) string { return strconv.Itoa(a.Minutes) }},
		{"clinician", func(a *record.Appointment) string { return a.Clinician }},
		{"patientId", func(a *record.Appointment) string { return a.PatientID }},
		{"mode", func(a *record.Appointment) string { return a.Mode }},
		{"status", func(a *record.Appointment) string { return a.Status }},
		{"extra", func(a *record.Appointment) string {
			if a.Extra {
				return "extra"
			}
			return ""
		}},
		{"reason", func(a *record.Appointment) string { return a.Reason }},
	}
}

func slotColumns(ios *IOStreams) []Column[clinical.Slot] {
	return []Column[clinical.Slot]{
		{"start", func(s clinical.Slot) string { return showTime(ios, s.Start) }},
		{"end", func(s clinical.Slot) string { return showTime(ios, s.End) }},
		{"clinician", func(s clinical.Slot) string { return s.Clinician }},
		{"free", func(s clinical.Slot) string { return map[bool]string{true: "free", false: "booked"}[s.Free] }},
		{"appointmentId", func(s clinical.Slot) string { return s.AppointmentID }},
	}
}

func sessionColumns(ios *IOStreams) []Column[*record.Session] {
	return []Column[*record.Session]{
		{"id", func(s *record.Session) string { return s.ID }},
		{"clinician", func(s *record.Session) string { return s.Clinician }},
		{"date", func(s *record.Session) string { return UKDate(ios, s.Date) }},
		{"start", func(s *record.Session) string { return s.Start }},
		{"end", func(s *record.Session) string { return s.End }},
		{"slotMinutes", func(s *record.Session) string { return strconv.Itoa(s.SlotMinutes) }},
	}
}

func taskColumns(ios *IOStreams) []Column[*record.Task] {
	return []Column[*record.Task]{
		{"id", func(t *record.Task) string { return t.ID }},
		{"due", func(t *record.Task) string { return UKDate(ios, t.Due) }},
		{"to", func(t *record.Task) string { return t.To }},
		{"patientId", func(t *record.Task) string { return t.PatientID }},
		{"text", func(t *record.Task) string { return t.Text }},
		{"status", func(t *record.Task) string { return t.Status }},
	}
}

func recallColumns(ios *IOStreams) []Column[*record.Recall] {
	return []Column[*record.Recall]{
		{"id", func(r *record.Recall) string { return r.ID }},
		{"due", func(r *record.Recall) string { return UKDate(ios, r.Due) }},
		{"patientId", func(r *record.Recall) string { return r.PatientID }},
		{"code", func(r *record.Recall) string { return codeCell(r.Code) }},
		{"term", func(r *record.Recall) string { return termCell(r.Code) }},
		{"status", func(r *record.Recall) string { return r.Status }},
	}
}

// printEntity prints one record of any kind: JSON, or its one-row table.
func printEntity(f *Factory, e record.Entity) error {
	switch x := e.(type) {
	case *record.Patient:
		return printPatient(f, x)
	case *record.Problem:
		return printOneRow(f, x, problemColumns(colIO(f)))
	case *record.Observation:
		return printOneRow(f, x, obsColumns(colIO(f)))
	case *record.Allergy:
		return printOneRow(f, x, allergyColumns(colIO(f)))
	case *record.Immunisation:
		return printOneRow(f, x, immColumns(colIO(f)))
	case *record.Consultation:
		return printOneRow(f, x, consultColumns(colIO(f)))
	case *record.Appointment:
		return printOneRow(f, x, apptColumns(colIO(f)))
	case *record.Session:
		return printOneRow(f, x, sessionColumns(colIO(f)))
	case *record.Task:
		return printOneRow(f, x, taskColumns(colIO(f)))
	case *record.Recall:
		return printOneRow(f, x, recallColumns(colIO(f)))
	}
	return printOne(f.IO, f.Output, e, [][2]string{{"id", e.Head().ID}, {"kind", string(e.Kind())}, {"status", e.Head().Status}})
}

// printOneRow prints one record as label: value lines (or JSON), from its list columns plus its version.
func printOneRow[T record.Entity](f *Factory, x T, cols []Column[T]) error {
	var fields [][2]string
	for _, c := range cols {
		fields = append(fields, [2]string{c.Header, c.Value(x)})
	}
	fields = append(fields, [2]string{"version", strconv.Itoa(x.Head().Version)})
	if imp := x.Head().Imported; imp != nil {
		// History from another system: recordedBy is who imported it.
		fields = append(fields, [2]string{"imported", imp.String()})
	}
	return printOne(f.IO, f.Output, x, fields)
}

// colIO is the streams a record's columns are formatted for: terminal
// niceties (UK dates, local times) only for a table on a terminal; CSV and
// JSON always get YYYY-MM-DD and RFC 3339.
func colIO(f *Factory) *IOStreams {
	if f.Output == "table" {
		return f.IO
	}
	c := *f.IO
	c.outTTY = false
	return &c
}

// withPatientColumns puts the patient's name and NHS number after the
// patientId column of a list: scripts keep the id, people read the name.
func withPatientColumns[T any](cols []Column[T], patientID func(T) string, labels map[string]clinical.PatientLabel) []Column[T] {
	out := make([]Column[T], 0, len(cols)+2)
	for _, c := range cols {
		out = append(out, c)
		if c.Header == "patientId" {
			out = append(out,
				Column[T]{"patient", func(v T) string { return labels[patientID(v)].Name }},
				Column[T]{"nhsNumber", func(v T) string { return record.FormatNHS(labels[patientID(v)].NHSNumber) }})
		}
	}
	return out
}

// listWithPatients prints a list of a patient's records with each patient named.
func listWithPatients[T any](ctx context.Context, f *Factory, s *clinical.Service, items []T, cols []Column[T], patientID func(T) string) error {
	if f.Output == "json" || f.Output == "ndjson" {
		return printList(f.IO, f.Output, items, cols) // the records as they are: what import reads
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = patientID(it)
	}
	labels, err := s.PatientLabels(ctx, ids)
	if err != nil {
		return err
	}
	return printList(f.IO, f.Output, items, withPatientColumns(cols, patientID, labels))
}
