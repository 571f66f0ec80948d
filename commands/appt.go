package commands

import (
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newApptCmd)
}

func newApptCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "appt",
		Short: "Sessions, slots and appointments",
		Long: `Sessions, slots and appointments. TIME is RFC 3339 or "YYYY-MM-DD HH:MM" in UK
local time; D is YYYY-MM-DD. Appointment statuses: booked, arrived, seen,
did-not-attend, cancelled.`,
	}
	session := &cobra.Command{Use: "session", Short: "Clinicians' sessions of bookable slots"}
	var si clinical.SessionInput
	var slot string
	sessionAdd := &cobra.Command{
		Use:     "add --clinician U --date D --start HH:MM --end HH:MM --slot 10m",
		Short:   "Set up a session",
		Example: `  gpsoc appt session add --clinician dr.patel --date 2026-11-25 --start 09:00 --end 12:00 --slot 10m`,
		Args:    cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			n, err := parseMinutes("slot", slot)
			if err != nil {
				return err
			}
			si.SlotMinutes = n
			if _, err := parseDay("date", si.Date); err != nil {
				return err
			}
			se, err := s.AddSession(cmd.Context(), si)
			if err != nil {
				return err
			}
			return printOneRow(f, se, sessionColumns(colIO(f)))
		}),
	}
	fl := sessionAdd.Flags()
	fl.StringVar(&si.Clinician, "clinician", "", "the clinician (a gp or nurse user)")
	fl.StringVar(&si.Date, "date", "", "the day YYYY-MM-DD")
	fl.StringVar(&si.Start, "start", "", "start HH:MM (UK local time)")
	fl.StringVar(&si.End, "end", "", "end HH:MM")
	fl.StringVar(&slot, "slot", "10m", "slot length, e.g. 10m or 15m")
	for _, n := range []string{"clinician", "date", "start", "end"} {
		_ = sessionAdd.MarkFlagRequired(n)
	}
	var ld, lc string
	sessionList := &cobra.Command{
		Use:   "list [--date D] [--clinician U]",
		Short: "List sessions",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := parseDay("date", ld); err != nil {
				return err
			}
			ses, err := s.Sessions(cmd.Context(), ld, lc)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, ses, sessionColumns(colIO(f)))
		}),
	}
	sessionList.Flags().StringVar(&ld, "date", "", "only this day YYYY-MM-DD")
	sessionList.Flags().StringVar(&lc, "clinician", "", "only this clinician")
	session.AddCommand(sessionAdd, sessionList, newEntryImportCmd(f, record.KindSession, "appt session"))

	var sd, sc string
	var free bool
	slots := &cobra.Command{
		Use:     "slots --date D [--clinician U] [--free]",
		Short:   "List the slots of a day's sessions",
		Example: `  gpsoc appt slots --date 2026-11-25 --clinician dr.patel --free`,
		Args:    cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := parseDay("date", sd); err != nil {
				return err
			}
			sl, err := s.Slots(cmd.Context(), sd, sc, free)
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, sl, slotColumns(colIO(f)))
		}),
	}
	slots.Flags().StringVar(&sd, "date", "", "the day YYYY-MM-DD (required)")
	slots.Flags().StringVar(&sc, "clinician", "", "only this clinician")
	slots.Flags().BoolVar(&free, "free", false, "only free slots")
	_ = slots.MarkFlagRequired("date")

	var bi clinical.BookInput
	var at, length string
	book := &cobra.Command{
		Use:   "book PATIENT --clinician U --at TIME [--length 10m] [--mode in-person|telephone|video|home] [--reason T]",
		Short: "Book an appointment",
		Long: `Book an appointment: into the clinician's session when TIME is the start of a
slot in one (the length defaults to the slot), or as an extra outside their
sessions (default 10 minutes). A clash with the clinician's other bookings is
refused (exit 5) naming the appointment in the way.`,
		Example: `  gpsoc appt book 9434765919 --clinician dr.patel --at "2026-11-25 09:10"
  gpsoc appt book 9434765919 --clinician dr.patel --at 2026-11-25T17:30:00Z --mode telephone --reason "results"`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			t, err := parseWhen("at", at)
			if err != nil {
				return err
			}
			if bi.Minutes, err = parseMinutes("length", length); err != nil {
				return err
			}
			if bi.Mode != "" && !oneOf(bi.Mode, "in-person", "telephone", "video", "home") {
				return invalidFlag("mode", bi.Mode, "must be in-person, telephone, video or home")
			}
			bi.PatientRef, bi.At = args[0], t
			a, err := s.Book(cmd.Context(), bi)
			if err != nil {
				return err
			}
			return printOneRow(f, a, apptColumns(colIO(f)))
		}),
	}
	fl = book.Flags()
	fl.StringVar(&bi.Clinician, "clinician", "", "the clinician (required)")
	fl.StringVar(&at, "at", "", "start TIME (required)")
	fl.StringVar(&length, "length", "", "length, e.g. 10m (default the slot, or 10m)")
	fl.StringVar(&bi.Mode, "mode", "in-person", "in-person, telephone, video or home")
	fl.StringVar(&bi.Reason, "reason", "", "why the patient is coming")
	_ = book.MarkFlagRequired("clinician")
	_ = book.MarkFlagRequired("at")

	cmd.AddCommand(session, slots, book)
	for _, st := range []struct{ verb, status, short string }{
		{"arrive", "arrived", "Mark that the patient has arrived (on the day)"},
		{"seen", "seen", "Mark the appointment seen (on the day)"},
		{"dna", "did-not-attend", "Mark that the patient did not attend (once the slot has started)"},
		{"cancel", "cancelled", "Cancel the appointment"},
	} {
		var ifv int
		c := &cobra.Command{
			Use:   st.verb + " ID [--if-version N]",
			Short: st.short,
			Args:  cobra.ExactArgs(1),
			RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
				if err := checkIfVersion(ifv); err != nil {
					return err
				}
				a, err := s.SetAppointmentStatus(cmd.Context(), args[0], st.status, ifv)
				if err != nil {
					return err
				}
				return printOneRow(f, a, apptColumns(colIO(f)))
			}),
		}
		addIfVersion(c, &ifv)
		cmd.AddCommand(c)
	}
	var undoIfv int
	var undoWhy string
	undo := &cobra.Command{
		Use:   "undo ID --reason T [--if-version N]",
		Short: "Undo the last status change of an appointment, with a reason",
		Long: `Undo an appointment's last status change (arrived, seen, did-not-attend or
cancelled made by mistake): a new version with the status it had before; the
reason is audited. A freed slot that has been booked since is a conflict (exit 5).`,
		Example: `  gpsoc appt undo 01a2... --reason "marked DNA by mistake: patient was in the waiting room"`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(undoIfv); err != nil {
				return err
			}
			a, err := s.RevertAppointmentStatus(cmd.Context(), args[0], undoWhy, undoIfv)
			if err != nil {
				return err
			}
			return printOneRow(f, a, apptColumns(colIO(f)))
		}),
	}
	undo.Flags().StringVar(&undoWhy, "reason", "", "why the status change is undone (required)")
	addIfVersion(undo, &undoIfv)
	cmd.AddCommand(undo)

	var af clinical.ApptFilter
	list := &cobra.Command{
		Use:   "list [--date D] [--clinician U] [--patient PATIENT] [--all]",
		Short: "List appointments in time order (default today's)",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := parseDay("date", af.Date); err != nil {
				return err
			}
			if af.Date == "" && af.PatientRef == "" {
				af.Date = f.Now().In(UKTime()).Format(record.DateLayout)
			}
			as, err := s.Appointments(cmd.Context(), af)
			if err != nil {
				return err
			}
			return listWithPatients(cmd.Context(), f, s, as, apptColumns(colIO(f)), func(a *record.Appointment) string { return a.PatientID })
		}),
	}
	list.Flags().StringVar(&af.Date, "date", "", "the day YYYY-MM-DD (default today, unless --patient)")
	list.Flags().StringVar(&af.Clinician, "clinician", "", "only this clinician")
	list.Flags().StringVar(&af.PatientRef, "patient", "", "only this patient (every date)")
	list.Flags().BoolVar(&af.All, "all", false, "include cancelled appointments and entries entered in error")
	cmd.AddCommand(list, newEntryImportCmd(f, record.KindAppointment, "appt"))
	return cmd
}
