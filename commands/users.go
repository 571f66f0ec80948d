package commands

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newUserCmd, newPracticeCmd, newConfigCmd)
}

// UserAddOptions are `gpsoc user add`'s.
type UserAddOptions struct {
	Name         string
	Role         string
	RegNumber    string
	Prescriber   bool
	NoPrescriber bool
}

func newUserCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "The practice's users: add, bind, disable, re-role; their tokens (admins)"}
	cmd.AddCommand(newUserAddCmd(f, nil), newUserListCmd(f), newUserTokenCmd(f))
	cmd.AddCommand(newUserIdentityCmds(f)...)
	return cmd
}

var userColumns = []Column[record.User]{
	{"name", func(u record.User) string { return u.Name }},
	{"role", func(u record.User) string { return string(u.Role) }},
	{"regNumber", func(u record.User) string { return u.RegNumber }},
	{"prescriber", func(u record.User) string { return strconv.FormatBool(u.Prescriber) }},
	{"active", func(u record.User) string { return strconv.FormatBool(!u.Disabled) }},
	{"logins", func(u record.User) string { return strings.Join(u.Logins, ",") }},
}

func newUserAddCmd(f *Factory, runF func(*UserAddOptions) error) *cobra.Command {
	o := &UserAddOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME --role admin|manager|gp|nurse|receptionist|interface [--reg-number N] [--prescriber|--no-prescriber]",
		Short: "Add a user",
		Long: `Add a user. A name is lower-case letters, digits, '.', '-' or '_'.
gp users are prescribers unless --no-prescriber; a nurse prescriber needs
--prescriber and a registration number (and the practice must allow nurse
prescribing: gpsoc practice set nurse-prescribing true). A manager runs
searches, registers and recalls, registers and books, and never sees the
journal; an interface user is another system's feed (a lab) and may only
deliver results. The new user acts once an admin binds their OS login
(gpsoc user bind) or once they have a passphrase.`,
		Example: `  gpsoc user add dr.patel --role gp --reg-number 7012345
  gpsoc user add nurse.jones --role nurse --reg-number 12A3456E --prescriber
  gpsoc user add reception --role receptionist`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if o.Prescriber && o.NoPrescriber {
				return usagef("--prescriber and --no-prescriber cannot be used together")
			}
			role, err := record.ParseRole(o.Role)
			if err != nil {
				return invalidFlag("role", o.Role, "must be "+record.RoleNames)
			}
			o.Role = string(role)
			if runF != nil {
				return runF(o)
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			u := record.User{Name: o.Name, Role: role, RegNumber: o.RegNumber,
				Prescriber: o.Prescriber || (role == record.RoleGP && !o.NoPrescriber)}
			got, err := s.AddUser(cmd.Context(), u)
			if err != nil {
				return flagNames(cmd, err)
			}
			return printOne(f.IO, f.Output, got, [][2]string{{"name", got.Name}, {"role", string(got.Role)},
				{"regNumber", got.RegNumber}, {"prescriber", strconv.FormatBool(got.Prescriber)}})
		},
	}
	cmd.Flags().StringVar(&o.Role, "role", "", record.RoleNames+" (required)")
	cmd.Flags().StringVar(&o.RegNumber, "reg-number", "", "professional registration number (GMC, NMC)")
	cmd.Flags().BoolVar(&o.Prescriber, "prescriber", false, "may prescribe (gp users are by default)")
	cmd.Flags().BoolVar(&o.NoPrescriber, "no-prescriber", false, "may not prescribe (for a gp)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newUserListCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			us, err := s.Users(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
			return printList(f.IO, f.Output, us, userColumns)
		}),
	}
}

func newPracticeCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "practice", Short: "Show and change the practice's settings"}
	var keys []string
	for _, k := range clinical.SettingKeys() {
		keys = append(keys, fmt.Sprintf("  %-18s %s", k, clinical.SettingDoc[k]))
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the practice and its settings",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			return printPractice(f, s.PracticeInfo())
		}),
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change a practice setting (admins)",
		Long:  "Change a practice setting. Keys:\n\n" + strings.Join(keys, "\n") + "\n",
		Example: `  gpsoc practice set nurse-prescribing true
  gpsoc practice set idle-lock 5m`,
		Args: cobra.ExactArgs(2),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			pr, err := s.SetPractice(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return printPractice(f, *pr)
		}),
	}
	cmd.AddCommand(show, set)
	return cmd
}

func printPractice(f *Factory, pr record.Practice) error {
	view := pr
	view.Settings = map[string]string{}
	for k, v := range pr.Settings {
		view.Settings[k] = v
	}
	fields := [][2]string{{"name", pr.Name}, {"odsCode", pr.ODS}}
	for _, k := range clinical.SettingKeys() {
		if k == clinical.SettingName {
			continue
		}
		v := view.Settings[k]
		if v == "" {
			v = "(default)"
		}
		fields = append(fields, [2]string{k, v})
	}
	fields = append(fields, [2]string{"version", strconv.Itoa(pr.Version)})
	return printOne(f.IO, f.Output, view, fields)
}

func newConfigCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the configuration gpsoc is using",
		Long: `Configuration comes from flags, then GPSOC_* environment variables, then
$XDG_CONFIG_HOME/gpsoc/config.yaml. Keys: data-dir, user, busy-timeout,
remote.url, passphrase-file (GPSOC_PASSPHRASE_FILE: a file, mode 600, whose
first line is the acting user's passphrase, for scripts).`,
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the effective configuration and where it came from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := f.Config
			user, explicit := f.ActingUser()
			if !explicit && user != "" {
				user += " (the login name)"
			}
			settings := map[string]any{
				"config-file":  v.ConfigFileUsed(),
				"data-dir":     f.DataDir(),
				"user":         user,
				"busy-timeout": v.GetString("busy-timeout"),
				"remote.url":   v.GetString("remote.url"),
			}
			if settings["config-file"] == "" {
				settings["config-file"] = "(none)"
			}
			switch f.Output {
			case "json", "ndjson":
				return printOne(f.IO, f.Output, settings, nil)
			}
			var fields [][2]string
			for _, k := range []string{"config-file", "data-dir", "user", "busy-timeout", "remote.url"} {
				fields = append(fields, [2]string{k, fmt.Sprint(settings[k])})
			}
			return printOne(f.IO, f.Output, settings, fields)
		},
	}
	cmd.AddCommand(show)
	return cmd
}
