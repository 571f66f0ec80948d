// Package commands is the cobra command tree: flags -> options -> service call -> printer.
package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	_ "time/tzdata" // UK local time on machines without a zoneinfo database

	"github.com/spf13/cobra"

	"github.com/opengpsoc/gpsoc/record"
)

// Version is set at build time.
var Version = "dev"

// Main runs gpsoc and returns the process exit code.
func Main() (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	f := NewFactory(System())
	// The last line of defence, not the fix: a bug that panics on this
	// goroutine prints a plain error and exits 1, not a stack trace (each
	// known panic is fixed at its cause, with a test). GPSOC_TRACEBACK=1
	// keeps the trace for a developer.
	defer func() {
		if r := recover(); r != nil {
			if os.Getenv("GPSOC_TRACEBACK") != "" {
				panic(r)
			}
			fmt.Fprintf(f.IO.ErrOut, "gpsoc: internal error: %s\n", record.ShowControls(fmt.Sprint(r)))
			fmt.Fprintln(f.IO.ErrOut, "gpsoc: please report this (GPSOC_TRACEBACK=1 shows the details)")
			code = ExitFailure
		}
	}()
	defer f.Close()
	root := NewRootCmd(f)
	err := cobraUsage(root.ExecuteContext(ctx))
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Msg == "") {
			fmt.Fprintln(f.IO.ErrOut, "gpsoc: "+record.ShowControls(err.Error()))
		}
	}
	return ExitCode(err)
}

// cobraUsage types cobra's own command-line errors (missing required flags,
// wrong argument counts, unknown commands) as usage errors: exit 2.
func cobraUsage(err error) error {
	if err == nil {
		return nil
	}
	if ExitCode(err) != ExitFailure {
		return err // already typed
	}
	msg := err.Error()
	for _, p := range []string{"required flag(s)", "unknown command", "unknown flag", "unknown shorthand flag",
		"accepts ", "requires at least", "requires at most", "received ", "flag needs an argument", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return &UsageError{msg}
		}
	}
	return err
}

// tuiHook opens the workstation when gpsoc runs with no subcommand on a terminal.
var tuiHook func(f *Factory, cmd *cobra.Command) error

// extraCommands are added by other files of this package (one per noun).
var extraCommands []func(f *Factory) *cobra.Command

// NewRootCmd builds the whole tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "gpsoc",
		Short: "openGPSoC: a keyboard-driven clinical system for UK general practice",
		Long: `gpsoc is an open clinical system for UK general practice: a terminal
workstation for GPs and nurses, scriptable subcommands for practice admins,
and a FHIR R4 UK Core API, over one practice file.

Run it with no subcommand on a terminal to open the workstation.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRemoteMode(f, cmd); err != nil { // commands/remote.go
				return err
			}
			return checkFormat(f.Output)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if tuiHook != nil && f.IO.Interactive() {
				return tuiHook(f, cmd)
			}
			return cmd.Help()
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetIn(f.IO.In)
	pf := root.PersistentFlags()
	pf.StringVar(&f.DataDirFlag, "data-dir", "", "directory of the practice file (env GPSOC_DATA_DIR; default $XDG_DATA_HOME/gpsoc)")
	pf.StringVarP(&f.Output, "output", "o", "table", "output format: table, json, ndjson or csv")
	pf.StringVar(&f.AsFlag, "as", "", "act as this gpsoc user (env GPSOC_USER; default the login name)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{flagErrorMessage(err)}
	})
	root.AddCommand(
		newInitCmd(f, nil),
		newPatientCmd(f),
		newBackupCmd(f),
		newRestoreCmd(f),
		newCheckCmd(f),
		newAuditCmd(f),
		newMigrateCmd(f, nil),
	)
	for _, mk := range extraCommands {
		root.AddCommand(mk(f))
	}
	addHelpTopics(root)
	unknownSubcommands(root)
	return root
}

// unknownSubcommands makes every parent command refuse an unknown subcommand
// (exit 2, "unknown command") instead of printing its help and exiting 0, as
// cobra does for a command that has no Run of its own: a script that mistypes
// `gpsoc appt bogus` must not be told it succeeded.
func unknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		unknownSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() || !c.HasParent() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return &UsageError{fmt.Sprintf("unknown command %q for %q; see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())}
		}
		return nil
	}
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
}

// flagErrorMessage names the flag and value of pflag's parse errors.
func flagErrorMessage(err error) string {
	msg := err.Error()
	// pflag: `invalid argument "abc" for "--issues" flag: strconv.ParseInt: ...`
	if strings.HasPrefix(msg, "invalid argument ") {
		if i := strings.Index(msg, ": "); i > 0 {
			return msg[:i] + ": " + strings.TrimPrefix(strings.TrimPrefix(msg[i+2:], "strconv.ParseInt: "), "strconv.ParseFloat: ")
		}
	}
	return msg
}

func addHelpTopics(root *cobra.Command) {
	var b strings.Builder
	b.WriteString("gpsoc exits with one of these codes:\n\n")
	for _, c := range ExitCodes {
		fmt.Fprintf(&b, "  %3d  %s\n", c.Code, c.Meaning)
	}
	b.WriteString("\nErrors are printed on stderr as plain text, naming the field and the value.\n")
	root.AddCommand(&cobra.Command{
		Use:   "exit-codes",
		Short: "What gpsoc's exit codes mean",
		Long:  b.String(),
		// No Run: a help topic, read with `gpsoc help exit-codes`.
	})
}

// ExitCodesText is the exit-code table for man pages.
func ExitCodesText() string {
	var b strings.Builder
	for _, c := range ExitCodes {
		fmt.Fprintf(&b, "%d  %s\n", c.Code, c.Meaning)
	}
	return b.String()
}
