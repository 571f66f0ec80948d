package commands

// Remote mode (design.md §3, §5): with remote.url and remote.token in config
// (or GPSOC_REMOTE_URL, GPSOC_REMOTE_TOKEN) every command uses a FHIR R4
// server through store/remote instead of the local practice file; the
// commands that only make sense locally exit 2 and say so.

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/remote"
)

// remoteConfig is remote.url and remote.token (env GPSOC_REMOTE_URL, GPSOC_REMOTE_TOKEN).
func remoteConfig(f *Factory) (url, token string) {
	if f.Config == nil {
		return "", ""
	}
	return strings.TrimSpace(f.Config.GetString("remote.url")), strings.TrimSpace(f.Config.GetString("remote.token"))
}

func remoteConfigured(f *Factory) bool {
	u, _ := remoteConfig(f)
	return u != ""
}

// localOnly are the commands that act on the practice file itself.
var localOnly = map[string]bool{"init": true, "backup": true, "restore": true, "check": true, "demo": true,
	"audit verify": true, "audit anchor": true, "codes import": true, "user token": true,
	"user tokens": true, "login": true, "logout": true, "user bind": true, "user unbind": true, "user reset-passphrase": true, "migrate": true}

// checkRemoteMode refuses a local-only command in remote mode (called before every command).
func checkRemoteMode(f *Factory, cmd *cobra.Command) error {
	if !remoteConfigured(f) {
		return nil
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if localOnly[path] {
		u, _ := remoteConfig(f)
		return usagef("gpsoc %s works on a local practice file only; remote mode is on (remote.url %s): unset GPSOC_REMOTE_URL, or run it on the server's machine", path, u)
	}
	return nil
}

// openRemote opens the remote store; create (init, restore, demo) is local only.
func openRemote(f *Factory, create bool) (store.Store, error) {
	u, tok := remoteConfig(f)
	if create {
		return nil, usagef("creating a practice works on a local data dir only; remote mode is on (remote.url %s)", u)
	}
	if tok == "" {
		return nil, usagef("remote mode needs a token: set remote.token or GPSOC_REMOTE_TOKEN (make one on the server with `gpsoc user token NAME`)")
	}
	name, _ := f.ActingUser()
	role := record.Role(strings.TrimSpace(f.Config.GetString("remote.role")))
	if role == "" {
		role = record.RoleGP
	}
	ods := strings.TrimSpace(f.Config.GetString("remote.ods"))
	pname := strings.TrimSpace(f.Config.GetString("remote.practice"))
	if pname == "" {
		pname = u
	}
	st, err := remote.Open(context.Background(), remote.Options{URL: u, Token: tok, User: name, Role: role,
		Practice:  record.Practice{Name: pname, ODS: ods},
		SearchRow: clinical.FindRow})
	if err != nil {
		return nil, err
	}
	// The token decides who is acting: a server that says whose it is
	// (`gpsoc serve` does) makes its holder the acting user, and a user named
	// otherwise (--as, GPSOC_USER, config user) who is someone else is a
	// usage error, never silently ignored.
	if tu, ok := st.TokenUser(); ok {
		if name, explicit := f.ActingUser(); explicit && name != tu {
			return nil, usagef("in remote mode the token decides who is acting: this token (remote.token / GPSOC_REMOTE_TOKEN) is %s's, not %s's; use %s's token, or leave out --as", tu, name, name)
		}
		f.remoteUser = tu
	}
	if st.KeepsOwnAudit() {
		// Said once per session (the store is opened once per run): the
		// trail is that server's, which records the standard requests it is
		// sent and knows nothing of what only this workstation knows.
		fmt.Fprintf(f.IO.ErrOut, "gpsoc: note: %s is not gpsoc serve: it keeps its own audit trail of the requests it answers; the reason a sensitive record is opened and the finds typed here are not recorded in it\n", u)
	}
	return st, nil
}
