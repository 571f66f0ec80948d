package commands

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
)

// serveAnchors signs the audit head into the anchor dir when the server
// starts, every interval while the trail grows, and when it stops, so an
// attacker with the practice file can rewrite at most what was written
// since the last anchor. It returns a function that writes the last anchor
// and waits for the loop to end. The first anchor is written before it
// returns: a server told to anchor that cannot does not start.
func serveAnchors(ctx context.Context, p *clinical.Practice, key ed25519.PrivateKey, dir, dataDir string, every time.Duration, log *slog.Logger) (stop func(), err error) {
	a, err := p.WriteAnchor(ctx, key, dir, dataDir)
	if err != nil {
		return nil, fmt.Errorf("--anchor-dir: %w", err)
	}
	last := a.Seq
	anchor := func() {
		seq, _ := p.AuditHead(context.WithoutCancel(ctx))
		if seq == last {
			return // nothing new to vouch for
		}
		a, err := p.WriteAnchor(context.WithoutCancel(ctx), key, dir, dataDir)
		if err != nil {
			log.Error("audit anchor failed", "dir", dir, "err", err)
			return
		}
		last = a.Seq
	}
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				anchor()
			case <-quit:
				anchor()
				return
			}
		}
	}()
	return func() { close(quit); <-done }, nil
}

// serveAnchorSetup reads the anchoring flags and config; nil key when off.
func serveAnchorSetup(opts *ServeOptions) (ed25519.PrivateKey, string, time.Duration, error) {
	f := opts.F
	dir := configured(f, opts.AnchorDir, cfgAnchorDir)
	if dir == "" {
		return nil, "", 0, nil
	}
	every := opts.AnchorEvery
	if every == 0 {
		if s := f.Config.GetString(cfgAnchorEvery); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, "", 0, usagef("config %s %q: not a duration (e.g. 15m)", cfgAnchorEvery, s)
			}
			every = d
		} else {
			every = 15 * time.Minute
		}
	}
	if every < time.Second {
		return nil, "", 0, usagef("--anchor-every %s: at least 1s", every)
	}
	key, err := clinical.LoadAnchorKey(configured(f, opts.AnchorKey, cfgAnchorKey), f.DataDir())
	if err != nil {
		return nil, "", 0, fmt.Errorf("--anchor-key: %w", err)
	}
	return key, dir, every, nil
}
