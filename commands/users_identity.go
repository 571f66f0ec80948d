package commands

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newLoginCmd, newLogoutCmd, newPassphraseCmd)
}

// The user lifecycle and credentials: bind, disable, enable, role, tokens.
func newUserIdentityCmds(f *Factory) []*cobra.Command {
	var login string
	bind := &cobra.Command{
		Use:   "bind USER --login LOGIN",
		Short: "Let an OS login act as a user without a passphrase (admins)",
		Long: `Bind an OS login (the output of id -un on the machine that holds the
practice file) to a user: a process running as that login may then act as
that user without a prompt, as scripts and a shared workstation need. One
login may be bound to several users; --as picks among them. Audited.`,
		Example: `  gpsoc user bind dr.patel --login patel
  gpsoc user bind reception --login frontdesk`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			u, err := s.BindLogin(cmd.Context(), args[0], login, true)
			return printUser(f, u, err)
		}),
	}
	bind.Flags().StringVar(&login, "login", "", "the OS login to bind (required)")
	_ = bind.MarkFlagRequired("login")
	var unlogin string
	unbind := &cobra.Command{
		Use:   "unbind USER --login LOGIN",
		Short: "Remove a binding of an OS login to a user (admins)",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			u, err := s.BindLogin(cmd.Context(), args[0], unlogin, false)
			return printUser(f, u, err)
		}),
	}
	unbind.Flags().StringVar(&unlogin, "login", "", "the OS login to unbind (required)")
	_ = unbind.MarkFlagRequired("login")

	var reason string
	disable := &cobra.Command{
		Use:   "disable USER [--reason TEXT]",
		Short: "Stop a user at once: a leaver, a suspension (admins)",
		Long: `Disable a user: from now on they cannot act, locally or on the API, and
every API token and login session of theirs is revoked (a running gpsoc
serve refuses them within a second). Nothing they recorded changes.
Audited, with the reason. gpsoc user enable undoes it.`,
		Example: `  gpsoc user disable dr.locum --reason "locum contract ended"`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			u, err := s.DisableUser(cmd.Context(), args[0], reason)
			return printUser(f, u, err)
		}),
	}
	disable.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit trail)")
	enable := &cobra.Command{
		Use:   "enable USER",
		Short: "Let a disabled user act again (admins)",
		Long:  "Enable a disabled user. Their old tokens stay revoked: make new ones.",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			u, err := s.EnableUser(cmd.Context(), args[0])
			return printUser(f, u, err)
		}),
	}
	role := &cobra.Command{
		Use:     "role USER ROLE",
		Short:   "Change a user's role (admins)",
		Long:    "Change a user's role: " + record.RoleNames + ". Audited.",
		Example: `  gpsoc user role mrs.khan manager`,
		Args:    cobra.ExactArgs(2),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			r, err := record.ParseRole(args[1])
			if err != nil {
				return err
			}
			u, err := s.SetRole(cmd.Context(), args[0], r)
			return printUser(f, u, err)
		}),
	}
	reset := &cobra.Command{
		Use:   "reset-passphrase USER",
		Short: "Clear a user's forgotten passphrase (admins)",
		Long: `Clear a user's passphrase, so they set a new one on first use (through
a binding of their login, then gpsoc passphrase or the workstation). Audited.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			u, err := s.ResetPassphrase(cmd.Context(), args[0])
			return printUser(f, u, err)
		}),
	}
	tokens := &cobra.Command{
		Use:   "tokens USER",
		Short: "List a user's live API tokens and login sessions",
		Long:  "List a user's live tokens and sessions (admins; anyone their own): the id to revoke one by, its kind, when it was issued and when it expires. The secrets are never shown again.",
		Args:  cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			ts, err := s.Tokens(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(f.IO, f.Output, tokenViews(ts), tokenColumns)
		}),
	}
	var id string
	revoke := &cobra.Command{
		Use:   "revoke USER [--token ID]",
		Short: "Revoke a user's API tokens and login sessions",
		Long: `Revoke all of a user's tokens and sessions, or one by the id gpsoc user
tokens lists (admins; anyone their own). A running gpsoc serve refuses them
within a second. On the API: POST /revoke (RFC 7009). Audited.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			n, err := s.RevokeTokens(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, map[string]any{"user": args[0], "revoked": n}, nil)
			}
			fmt.Fprintf(f.IO.Out, "revoked %d token(s) of %s\n", n, args[0])
			return nil
		}),
	}
	revoke.Flags().StringVar(&id, "token", "", "the id of one token (gpsoc user tokens USER)")
	return []*cobra.Command{bind, unbind, disable, enable, role, reset, tokens, revoke}
}

func printUser(f *Factory, u *record.User, err error) error {
	if err != nil {
		return err
	}
	fields := [][2]string{}
	for _, c := range userColumns {
		fields = append(fields, [2]string{c.Header, c.Value(*u)})
	}
	fields = append(fields, [2]string{"version", strconv.Itoa(u.Version)})
	return printOne(f.IO, f.Output, u, fields)
}

// tokenView is a token as it is listed: never its hash beyond the id.
type tokenView struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Kind      string    `json:"kind"`
	IssuedAt  time.Time `json:"issuedAt"`
	IssuedBy  string    `json:"issuedBy,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
	Login     string    `json:"login,omitempty"`
}

func tokenViews(ts []record.Token) []tokenView {
	out := []tokenView{}
	for _, t := range ts {
		out = append(out, tokenView{ID: t.ID(), User: t.User, Kind: t.Kind, IssuedAt: t.IssuedAt, IssuedBy: t.IssuedBy, ExpiresAt: t.ExpiresAt, Login: t.Login})
	}
	return out
}

var tokenColumns = []Column[tokenView]{
	{"id", func(t tokenView) string { return t.ID }},
	{"kind", func(t tokenView) string { return t.Kind }},
	{"issuedAt", func(t tokenView) string { return t.IssuedAt.Format(time.RFC3339) }},
	{"expiresAt", func(t tokenView) string { return t.ExpiresAt.Format(time.RFC3339) }},
	{"login", func(t tokenView) string { return t.Login }},
}

func newUserTokenCmd(f *Factory) *cobra.Command {
	var expires string
	cmd := &cobra.Command{
		Use:   "token NAME [--expires DURATION]",
		Short: "Make a new API token for a user (shown once)",
		Long: `Make a new bearer token for the FHIR API for a user. It is shown once and
stored only as its SHA-256; a new token replaces the user's old one. It
expires after the practice's token-lifetime (default 12h; gpsoc practice
set token-lifetime), or sooner with --expires. An interface user's token
(a lab feed) may be given longer, up to a year (--expires 90d). Local only.`,
		Example: `  gpsoc user token dr.patel
  gpsoc user token lab.feed --expires 90d`,
		Args: cobra.ExactArgs(1),
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			if _, err := keptHere(f); err != nil {
				return err
			}
			var life time.Duration
			if expires != "" {
				var err error
				if life, err = clinical.ParseLifetime("expires", expires); err != nil {
					return err
				}
			}
			tok, tk, err := s.NewToken(cmd.Context(), args[0], life)
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, map[string]any{"user": args[0], "token": tok, "id": tk.ID(), "expiresAt": tk.ExpiresAt}, nil)
			}
			fmt.Fprintln(f.IO.Out, tok)
			fmt.Fprintf(f.IO.ErrOut, "token %s for %s expires %s\n", tk.ID(), args[0], tk.ExpiresAt.Format(time.RFC3339))
			return nil
		}),
	}
	cmd.Flags().StringVar(&expires, "expires", "", "how long it lasts, e.g. 8h or 90d (default: the practice's token-lifetime)")
	return cmd
}

func newLoginCmd(f *Factory) *cobra.Command {
	var life string
	cmd := &cobra.Command{
		Use:   "login [--as USER] [--for DURATION]",
		Short: "Open a session as a user, so later commands need no passphrase",
		Long: `Prove who you are once (your passphrase, typed or from
GPSOC_PASSPHRASE_FILE, or a binding of your OS login) and open a session:
later gpsoc commands by your OS login on this data dir act as that user
without asking, until it expires (the practice's token-lifetime, default
12h, or --for) or gpsoc logout. The session's secret is kept in an
owner-only file under $XDG_RUNTIME_DIR/gpsoc (else a private gpsoc-UID
directory in the temp dir). A user who has no passphrase yet is asked to
set one. Local only.`,
		Example: `  gpsoc --as dr.patel login
  gpsoc --as dr.patel login --for 4h`,
		Args: cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			var d time.Duration
			if life != "" {
				var err error
				if d, err = clinical.ParseLifetime("for", life); err != nil {
					return err
				}
			}
			if !s.HasPassphrase(cmd.Context()) {
				if pass, err := f.readNewSecret(""); err == nil {
					if err := s.SetPassphrase(cmd.Context(), pass); err != nil {
						return err
					}
				} else if _, usage := err.(*UsageError); !usage {
					return err
				}
			}
			tok, tk, err := s.OpenSession(cmd.Context(), d)
			if err != nil {
				return err
			}
			path, err := writeSession(f, s.User().Name, tok)
			if err != nil {
				_, _ = s.RevokeTokens(cmd.Context(), s.User().Name, tk.Hash)
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, map[string]any{"user": s.User().Name, "id": tk.ID(), "expiresAt": tk.ExpiresAt, "file": path}, nil)
			}
			fmt.Fprintf(f.IO.Out, "logged in as %s until %s (session %s)\n", s.User().Name, tk.ExpiresAt.In(UKTime()).Format("02-Jan-2006 15:04"), tk.ID())
			return nil
		}),
	}
	cmd.Flags().StringVar(&life, "for", "", "how long the session lasts (default: the practice's token-lifetime)")
	return cmd
}

func newLogoutCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [--as USER]",
		Short: "End your session (revoked, and its file removed)",
		Args:  cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			name := s.User().Name
			sec := readSession(f, name)
			if sec == "" {
				fmt.Fprintf(f.IO.Out, "no session of %s here\n", name)
				return nil
			}
			if err := s.RevokeSecret(cmd.Context(), sec); err != nil {
				return err
			}
			if path, err := sessionPath(f, name); err == nil {
				_ = os.Remove(path)
			}
			fmt.Fprintf(f.IO.Out, "logged out %s\n", name)
			return nil
		}),
	}
}

func newPassphraseCmd(f *Factory) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "passphrase [--from-file FILE|-]",
		Short: "Set your own passphrase or PIN",
		Long: `Set the acting user's own passphrase or PIN: at least 8 characters, or a
PIN of at least 6 digits. It is stored only as an argon2id hash. It unlocks
the workstation when it locks after being idle, and lets you act as
yourself where your OS login is not bound to you. Typed twice at a
terminal, or read from --from-file (mode 600) or standard input (-).`,
		Args: cobra.NoArgs,
		RunE: runE(f, func(cmd *cobra.Command, s *clinical.Service, args []string) error {
			pass, err := f.readNewSecret(from)
			if err != nil {
				return err
			}
			if err := s.SetPassphrase(cmd.Context(), pass); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "passphrase set for %s\n", s.User().Name)
			return nil
		}),
	}
	cmd.Flags().StringVar(&from, "from-file", "", "read it from this file's first line (- for standard input)")
	return cmd
}
