package commands

import (
	"fmt"
	"os/user"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/spf13/cobra"
)

// InitOptions are `gpsoc init`'s.
type InitOptions struct {
	Practice string
	ODS      string
	Admin    string
}

func newInitCmd(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{}
	cmd := &cobra.Command{
		Use:   "init --practice NAME --ods CODE [--admin NAME]",
		Short: "Create a practice in the data dir (or in a PostgreSQL store)",
		Long: `Create a practice file in the data dir, with its first admin user
(named after your login name unless --admin is given). Your OS login is
bound to that admin, so you act as them without a passphrase; bind other
logins to other users with gpsoc user bind.

With --store postgres://… (config store.url) the practice is created in that
database, which may hold many practices; later commands name it with
--practice ODS (config store.practice). See docs/postgres.md.`,
		Example: `  gpsoc init --practice "Leeds Road Surgery" --ods B86001 --admin admin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Admin == "" {
				if u, err := user.Current(); err == nil {
					opts.Admin = strings.ToLower(u.Username)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return initRun(f, cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Practice, "practice", "", "practice name (required)")
	cmd.Flags().StringVar(&opts.ODS, "ods", "", "the practice's ODS code, e.g. B86001 (required)")
	cmd.Flags().StringVar(&opts.Admin, "admin", "", "name of the first admin user (default: your login name)")
	_ = cmd.MarkFlagRequired("practice")
	_ = cmd.MarkFlagRequired("ods")
	return cmd
}

func initRun(f *Factory, cmd *cobra.Command, opts *InitOptions) error {
	f.createODS = opts.ODS // the practice to create, in a PostgreSQL store
	st, err := f.CreateStore()
	if err != nil {
		return err
	}
	p := clinical.New(clinical.Options{Store: st, Now: f.Now})
	login := f.OSLogin()
	pr, err := p.Init(cmd.Context(), opts.Practice, opts.ODS, opts.Admin, login, false)
	if err != nil {
		return err
	}
	where, whereKey := f.DataDir(), "dataDir"
	if postgresConfigured(f) {
		where, whereKey = postgres.Redact(f.StoreURL()), "store"
	}
	if f.Output == "json" || f.Output == "ndjson" {
		return printOne(f.IO, f.Output, map[string]any{"practice": pr.Name, "odsCode": pr.ODS, "admin": opts.Admin, whereKey: where}, nil)
	}
	fmt.Fprintf(f.IO.Out, "Created %s (%s) in %s; admin user %s, bound to your login %s.\n", pr.Name, pr.ODS, where, opts.Admin, login)
	return nil
}
