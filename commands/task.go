package commands

import (
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newTaskCmd, newRecallCmd)
}

func newTaskCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Tasks for people in the practice"}
	var in clinical.TaskInput
	add := &cobra.Command{
		Use:     "add PATIENT --text T [--due D] [--to USER]",
		Short:   "Add a task about a patient",
		Example: `  gpsoc task add 9434765919 --text "Chase HbA1c result" --due 2026-12-01 --to dr.patel`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := parseDay("due", in.Due); err != nil {
				return err
			}
			in.PatientRef = args[0]
			t, err := s.AddTask(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printOneRow(f, t, taskColumns(colIO(f)))
		}),
	}
	add.Flags().StringVar(&in.Text, "text", "", "what needs doing (required)")
	add.Flags().StringVar(&in.Due, "due", "", "due date YYYY-MM-DD")
	add.Flags().StringVar(&in.To, "to", "", "the user it is for (default anyone)")
	_ = add.MarkFlagRequired("text")

	var tf clinical.TaskFilter
	list := &cobra.Command{
		Use:   "list [--to USER] [--patient PATIENT] [--all]",
		Short: "List open tasks by due date",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			ts, err := s.Tasks(cmd.Context(), tf)
			if err != nil {
				return err
			}
			return listWithPatients(cmd.Context(), f, s, ts, taskColumns(colIO(f)), func(t *record.Task) string { return t.PatientID })
		}),
	}
	list.Flags().StringVar(&tf.To, "to", "", "only tasks for this user")
	list.Flags().StringVar(&tf.PatientRef, "patient", "", "only tasks about this patient")
	list.Flags().BoolVar(&tf.All, "all", false, "include done and cancelled tasks")

	var ifv int
	done := &cobra.Command{
		Use:   "done ID [--if-version N]",
		Short: "Mark a task done",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			t, err := s.DoneTask(cmd.Context(), args[0], ifv)
			if err != nil {
				return err
			}
			return printOneRow(f, t, taskColumns(colIO(f)))
		}),
	}
	addIfVersion(done, &ifv)

	var to string
	var rifv int
	reassign := &cobra.Command{
		Use:     "reassign ID --to USER [--if-version N]",
		Short:   "Give an open task to another user (--to \"\" for anyone)",
		Example: `  gpsoc task reassign 0193a1b2-... --to nurse.jones`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(rifv); err != nil {
				return err
			}
			t, err := s.ReassignTask(cmd.Context(), args[0], to, rifv)
			if err != nil {
				return err
			}
			return printOneRow(f, t, taskColumns(colIO(f)))
		}),
	}
	reassign.Flags().StringVar(&to, "to", "", "the user it is for now (empty: anyone) (required)")
	_ = reassign.MarkFlagRequired("to")
	addIfVersion(reassign, &rifv)

	var reason string
	var cifv int
	cancel := &cobra.Command{
		Use:   "cancel ID --reason T [--if-version N]",
		Short: "Cancel an open task that will not be done, with the reason",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(cifv); err != nil {
				return err
			}
			t, err := s.CancelTask(cmd.Context(), args[0], reason, cifv)
			if err != nil {
				return err
			}
			return printOneRow(f, t, taskColumns(colIO(f)))
		}),
	}
	cancel.Flags().StringVar(&reason, "reason", "", "why it will not be done (required)")
	_ = cancel.MarkFlagRequired("reason")
	addIfVersion(cancel, &cifv)
	cmd.AddCommand(add, list, done, reassign, cancel, newEntryImportCmd(f, record.KindTask, "task"))
	return cmd
}

func newRecallCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recall",
		Short: "Recalls: coded reminders that a patient is due something",
		Long: `Recalls: coded reminders that a patient is due something (a review, a
test). Clinicians set them up; everyone can list them and mark them done
(reception runs the invitations).`,
	}
	var in clinical.RecallInput
	add := &cobra.Command{
		Use:     "add PATIENT --code C --due D",
		Short:   "Set up a recall (gp, nurse)",
		Example: `  gpsoc recall add 9434765919 --code 182836005 --due 2027-05-01`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := parseDay("due", in.Due); err != nil {
				return err
			}
			in.PatientRef = args[0]
			r, err := s.AddRecall(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printOneRow(f, r, recallColumns(colIO(f)))
		}),
	}
	add.Flags().StringVar(&in.Code, "code", "", "what is due (required)")
	add.Flags().StringVar(&in.System, "system", "", "code system: sct (default) or a URI")
	add.Flags().StringVar(&in.Due, "due", "", "due date YYYY-MM-DD (required)")
	_ = add.MarkFlagRequired("code")
	_ = add.MarkFlagRequired("due")

	var rf clinical.RecallFilter
	list := &cobra.Command{
		Use:   "list [--overdue] [--patient PATIENT] [--all]",
		Short: "List open recalls by due date",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			rs, err := s.Recalls(cmd.Context(), rf)
			if err != nil {
				return err
			}
			return listWithPatients(cmd.Context(), f, s, rs, recallColumns(colIO(f)), func(r *record.Recall) string { return r.PatientID })
		}),
	}
	list.Flags().BoolVar(&rf.Overdue, "overdue", false, "only open recalls due before today")
	list.Flags().StringVar(&rf.PatientRef, "patient", "", "only this patient's recalls")
	list.Flags().BoolVar(&rf.All, "all", false, "include done and cancelled recalls")

	var ifv int
	done := &cobra.Command{
		Use:   "done ID [--if-version N]",
		Short: "Mark a recall done",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if err := checkIfVersion(ifv); err != nil {
				return err
			}
			r, err := s.DoneRecall(cmd.Context(), args[0], ifv)
			if err != nil {
				return err
			}
			return printOneRow(f, r, recallColumns(colIO(f)))
		}),
	}
	addIfVersion(done, &ifv)
	cmd.AddCommand(add, list, done, newEntryImportCmd(f, record.KindRecall, "recall"))
	return cmd
}
