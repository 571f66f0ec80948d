package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/spf13/cobra"
)

// localStore is the bolt store, for the commands that only make sense locally.
func localStore(f *Factory) (*bolt.Store, error) {
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	b, ok := st.(*bolt.Store)
	if !ok {
		return nil, usagef("this command works only on a local practice file, not in remote mode")
	}
	return b, nil
}

func newBackupCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a hot, consistent backup of the practice",
		Long: `Write a consistent copy of the practice file to FILE (created readable by
its owner only; an existing FILE is never overwritten). Other gpsoc processes
may go on working while it runs.`,
		Example: "  gpsoc backup /srv/backups/practice-$(date +%F).db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := localStore(f); err != nil {
				return err
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			n, err := s.Backup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "Backed up %d bytes to %s\n", n, args[0])
			return nil
		},
	}
}

func newRestoreCmd(f *Factory) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE [--force]",
		Short: "Restore a practice from a backup",
		Long: `Restore the practice from a backup made by gpsoc backup. The backup is
checked first. Into an empty data dir it is simply put in place; over an
existing practice it needs --force, and what is there is backed up first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := f.DataDir()
			if bolt.Exists(dir) {
				if !force {
					return usagef("data dir %s already holds a practice: use --force to replace it (it is backed up first)", dir)
				}
				s, err := f.Service(cmd.Context())
				if err != nil {
					return err
				}
				old, err := s.Restore(cmd.Context(), args[0])
				f.Close()
				if err != nil {
					return err
				}
				return restored(f, dir, args[0], old)
			}
			if _, err := bolt.Restore(args[0], dir, false); err != nil {
				return err
			}
			return restored(f, dir, args[0], "")
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace the practice in the data dir (backed up first)")
	return cmd
}

// restored finishes a restore: the find index snapshot described the
// practice that was there.
func restored(f *Factory, dir, src, old string) error {
	_ = os.Remove(filepath.Join(dir, "find-index.snap"))
	if old != "" {
		fmt.Fprintf(f.IO.ErrOut, "The practice that was there is backed up to %s\n", old)
	}
	fmt.Fprintf(f.IO.ErrOut, "Restored %s into %s\n", src, dir)
	return nil
}

func newCheckCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the practice file: structure, indexes and the audit chain",
		Long:  "Verify the practice file. Exit 0 when clean, else 1 with each problem on stderr.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var probs []bolt.Problem
			b, err := localStore(f)
			var de *bolt.DamagedError
			switch {
			case errors.As(err, &de) && len(de.Problems) > 0:
				probs = de.Problems // too damaged to open: the pages, read directly
			case err != nil:
				return err
			default:
				if probs, err = b.Check(); err != nil {
					return err
				}
			}
			for _, p := range probs {
				fmt.Fprintln(f.IO.ErrOut, p.String())
			}
			if len(probs) > 0 {
				return &ExitError{Code: ExitFailure, Msg: fmt.Sprintf("%d problem(s) found", len(probs))}
			}
			fmt.Fprintln(f.IO.Out, "ok")
			return nil
		},
	}
}

func newAuditCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the audit trail"}
	var after uint64
	var patient, user string
	var limit int
	var imported bool
	list := &cobra.Command{
		Use:   "list [--patient PATIENT] [--user NAME] [--after SEQ] [--limit N] [--imported]",
		Short: "List audit events",
		Long: `List the practice's own audit events, or with --imported the audit trails
imported with a practice from another system: kept apart from the practice's
own chain as history, each event as the other system recorded it, with its
source and whether its own chain verified when imported.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			if imported {
				if patient != "" || after != 0 || limit != 0 {
					return usagef("--imported lists every imported event: give --user alone to narrow it")
				}
				ies, err := s.ImportedAuditEvents(cmd.Context())
				if err != nil {
					return err
				}
				if user != "" {
					ies = slices.DeleteFunc(ies, func(ie *record.ImportedAuditEvent) bool { return ie.Event.User != user })
				}
				return printList(f.IO, f.Output, ies, []Column[*record.ImportedAuditEvent]{
					{"source", func(e *record.ImportedAuditEvent) string { return e.Source }},
					{"seq", func(e *record.ImportedAuditEvent) string { return fmt.Sprint(e.Event.Seq) }},
					{"at", func(e *record.ImportedAuditEvent) string { return showTime(f.IO, e.Event.At) }},
					{"user", func(e *record.ImportedAuditEvent) string { return e.Event.User }},
					{"action", func(e *record.ImportedAuditEvent) string { return e.Event.Action }},
					{"kind", func(e *record.ImportedAuditEvent) string { return string(e.Event.Kind) }},
					{"entityId", func(e *record.ImportedAuditEvent) string { return e.Event.EntityID }},
					{"patientId", func(e *record.ImportedAuditEvent) string { return e.Event.PatientID }},
					{"outcome", func(e *record.ImportedAuditEvent) string { return e.Event.Outcome }},
					{"verified", func(e *record.ImportedAuditEvent) string {
						if e.Problem != "" {
							return "no: " + e.Problem
						}
						return "yes"
					}},
				})
			}
			evs, err := s.AuditEvents(cmd.Context(), clinical.AuditFilter{After: after, PatientID: patient, User: user, Limit: limit})
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, evs, []Column[*record.AuditEvent]{
				{"seq", func(e *record.AuditEvent) string { return fmt.Sprint(e.Seq) }},
				{"at", func(e *record.AuditEvent) string { return showTime(f.IO, e.At) }},
				{"user", func(e *record.AuditEvent) string { return e.User }},
				{"login", func(e *record.AuditEvent) string { return e.Login }},
				{"action", func(e *record.AuditEvent) string { return e.Action }},
				{"kind", func(e *record.AuditEvent) string { return string(e.Kind) }},
				{"entityId", func(e *record.AuditEvent) string { return e.EntityID }},
				{"patientId", func(e *record.AuditEvent) string { return e.PatientID }},
				{"outcome", func(e *record.AuditEvent) string { return e.Outcome }},
				{"detail", func(e *record.AuditEvent) string { return strings.TrimSpace(e.Query + " " + e.Reason) }},
			})
		},
	}
	list.Flags().Uint64Var(&after, "after", 0, "only events after this sequence number")
	list.Flags().StringVar(&patient, "patient", "", "only events about this patient (NHS number or id)")
	list.Flags().StringVar(&user, "user", "", "only events by this user")
	list.Flags().IntVar(&limit, "limit", 0, "at most the last N events (0: all)")
	list.Flags().BoolVar(&imported, "imported", false, "list the audit trails imported from other systems (kept apart, labelled)")
	cmd.AddCommand(list, newAuditVerifyCmd(f), newAuditAnchorCmd(f), newAuditKeygenCmd(f))
	return cmd
}
