package commands

import (
	"strings"

	"github.com/opengpsoc/gpsoc/store"
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

// openRemote opens the remote store (remote mode); create (init, restore) is local only.
func openRemote(f *Factory, create bool) (store.Store, error) {
	u, _ := remoteConfig(f)
	return nil, usagef("remote mode (remote.url %s) is not available in this build", u)
}
