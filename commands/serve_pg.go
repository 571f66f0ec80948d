package commands

import (
	"context"
	"fmt"
	"github.com/opengpsoc/gpsoc/cohort"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
)

// servePostgres serves every practice in a PostgreSQL database: any number
// of these processes may run on one database (replicas). The token of each
// request decides its practice; --practice names the home practice, which
// answers /metadata and refuses (and audits) requests whose token no
// practice holds.
func servePostgres(ctx context.Context, opts *ServeOptions, lo server.ListenOptions) error {
	f := opts.F
	if opts.AnchorDir != "" || opts.AnchorKey != "" {
		return usagef("signed audit anchors (--anchor-dir) are written by a server of a practice file; on PostgreSQL sign each practice's head with `gpsoc audit anchor --store URL --practice ODS` (see docs/deploy.md)")
	}
	home := f.PracticeODS()
	if home == "" {
		return usagef("gpsoc serve on PostgreSQL serves every practice in the database, and needs a home practice for requests that name none: give --practice ODS (or config store.practice)")
	}
	base, err := server.NormalizeBaseURL(configured(f, opts.BaseURL, "serve.base-url"))
	if err != nil {
		return err
	}
	db, err := f.pgDB(ctx)
	if err != nil {
		return err
	}
	release := ""
	if tm, err := f.Terminology(); err == nil {
		release = terminologyRelease(tm)
	} else {
		return fmt.Errorf("open the terminology (each replica records its release): %w", err)
	}
	logger := slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Population searches run here, where the data is, as on a practice
	// file's server: the same definitions for every practice, each
	// practice's search index its own (the Cohort's cache).
	defs, defsErr := cohort.LoadDefs(f.Config.GetString("search.registers"))
	if defsErr != nil {
		logger.Warn("registers not available", "err", defsErr)
	}
	resolver := &lazyResolver{open: f.Terminology}
	open := func(ctx context.Context, ods string) (*server.Server, error) {
		st, err := db.Practice(ods)
		if err != nil {
			return nil, err
		}
		if err := st.PinTerminology(ctx, release); err != nil {
			return nil, err // another release: this replica refuses the practice
		}
		p := clinical.New(clinical.Options{Store: server.GroupCommit(st), Terms: f.terms(), Now: f.Now, Source: "api"})
		if p.PracticeRecord(ctx) == nil {
			return nil, &record.NotFoundError{Kind: "practice", ID: ods}
		}
		if _, err := p.Index(ctx); err != nil {
			return nil, err
		}
		var co *server.Cohort
		if defsErr == nil {
			co = &server.Cohort{Resolver: resolver, Defs: defs}
		}
		return server.New(server.Options{Practice: p, MaxBody: opts.MaxBody, Version: Version, Logger: logger, BaseURL: base,
			Codes: f.codeSearch(), Cohort: co}), nil
	}
	hs, err := open(ctx, home)
	if record.IsNotFound(err) {
		return usagef("no practice %s in %s: create it with `gpsoc init --store URL --practice NAME --ods %s`", home, db.URL(), home)
	}
	if err != nil {
		return err
	}
	m := server.NewPractices(server.PracticesOptions{Route: db.TokenPractice, Open: open, Home: hs})
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	lo.Ready = func(addr string) {
		scheme := "http"
		if opts.CertFile != "" {
			scheme = "https"
		}
		fmt.Fprintf(f.IO.ErrOut, "gpsoc serve: every practice in %s (home %s) at %s://%s/ — Ctrl-C to stop\n", db.URL(), home, scheme, addr)
		if opts.Ready != nil {
			opts.Ready(addr)
		}
	}
	if err := m.ListenAndServe(sctx, lo); err != nil {
		return err
	}
	fmt.Fprintln(f.IO.ErrOut, "gpsoc serve: stopped")
	return nil
}
