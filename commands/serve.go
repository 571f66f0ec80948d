package commands

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/terminology"
)

func init() { extraCommands = append(extraCommands, newServeCmd) }

// ServeOptions are `gpsoc serve`'s flags.
type ServeOptions struct {
	F        *Factory
	Addr     string
	CertFile string
	KeyFile  string
	Insecure bool
	MaxBody  int64
	// BaseURL is the base of the API's links (config serve.base-url).
	BaseURL string
	// Signed audit heads (commands/serve_anchor.go).
	AnchorDir   string
	AnchorKey   string
	AnchorEvery time.Duration
	// Ready is told the address once listening (tests).
	Ready func(addr string)
}

func newServeCmd(f *Factory) *cobra.Command { return NewCmdServe(f, nil) }

// NewCmdServe makes `gpsoc serve`.
func NewCmdServe(f *Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{F: f}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the practice as a FHIR R4 API",
		Long: `Serve the practice as a FHIR R4 REST API (see /metadata for what it implements).

Every request needs a bearer token made by ` + "`gpsoc user token NAME`" + `; it acts as that
user, with that user's role, and is audited (refused requests too).

While it runs the server owns the practice file: it writes serve.lock in the data dir,
and local commands on that data dir exit 3 naming the server's address.

Plain HTTP is refused on any address but loopback unless --insecure is given; give
--tls-cert and --tls-key to serve HTTPS. SIGINT or SIGTERM stops it after the requests
in flight have finished.

With --anchor-dir DIR and --anchor-key FILE (both outside the data dir) the server signs
the audit trail's head into DIR when it starts, every --anchor-every while the trail
grows, and when it stops; ` + "`gpsoc audit verify --anchors DIR --public-key FILE.pub`" + ` checks
the trail against them.

Links in responses (Bundle links, fullUrl, Location) are built from --base-url (config
serve.base-url), by default from the address the client connected to; never from the
Host header, which the client writes. Give --base-url behind a proxy or a DNS name.

Failed and unauthenticated requests are rate-limited per client (429 with Retry-After);
their audit events keep a short summary of the request, and a flood from one client is
written as one event a minute with its count. A client is its network address (never a
header it sends), so behind a reverse proxy every client shares the proxy's: a token
already in use keeps working when the address is over its limit. Every response but /metadata carries
Cache-Control: no-store.

A record marked sensitive is opened only with a reason, sent in the X-Access-Reason
header (audited, as --reason is on the command line).

Remote mode: on another machine, set remote.url and remote.token in the config (or
GPSOC_REMOTE_URL and GPSOC_REMOTE_TOKEN) and every command uses this server, or any
FHIR R4 server, instead of a local practice file. The token decides who is acting:
against this server the workstation asks whose it is (POST /introspect) and acts as
that user with that user's role, and --as (or GPSOC_USER, config user) naming anyone
else exits 2. remote.role (default gp) is the role the local screens assume on a server
that does not say (its rules decide), remote.practice and remote.ods name its practice. init, backup, restore, check, audit verify, codes import and user
token are local only and exit 2 in remote mode.`,
		Example: `  gpsoc serve
  gpsoc serve --addr 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT)")
	fl.StringVar(&opts.CertFile, "tls-cert", "", "TLS certificate file (PEM)")
	fl.StringVar(&opts.KeyFile, "tls-key", "", "TLS private key file (PEM)")
	fl.BoolVar(&opts.Insecure, "insecure", false, "allow plain HTTP on an address that is not loopback")
	fl.Int64Var(&opts.MaxBody, "max-body", 8<<20, "largest request body in bytes")
	fl.StringVar(&opts.BaseURL, "base-url", "", "the API's public base URL, used in every link it writes (config serve.base-url; default: the address a client connected to)")
	fl.StringVar(&opts.AnchorDir, "anchor-dir", "", "sign the audit head into this folder periodically (config audit.anchor-dir; outside the data dir)")
	fl.StringVar(&opts.AnchorKey, "anchor-key", "", "Ed25519 key that signs the audit heads (config audit.anchor-key; outside the data dir)")
	fl.DurationVar(&opts.AnchorEvery, "anchor-every", 0, "how often to sign the audit head while it grows (config audit.anchor-every; default 15m)")
	return cmd
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	f := opts.F
	if ctx == nil {
		ctx = context.Background()
	}
	lo := server.ListenOptions{Addr: opts.Addr, CertFile: opts.CertFile, KeyFile: opts.KeyFile, Insecure: opts.Insecure}
	if err := server.CheckListen(lo); err != nil {
		return &UsageError{err.Error()}
	}
	if remoteConfigured(f) {
		return &UsageError{"gpsoc serve serves a local practice file; it cannot run in remote mode (unset remote.url / GPSOC_REMOTE_URL)"}
	}
	dir := f.DataDir()
	if !bolt.Exists(dir) {
		return &UsageError{fmt.Sprintf("no practice in %s: create one with `gpsoc init --practice NAME --ods CODE`, or pass --data-dir", dir)}
	}
	if err := checkServeLock(dir); err != nil {
		return err
	}
	anchorKey, anchorDir, anchorEvery, err := serveAnchorSetup(opts)
	if err != nil {
		return err
	}
	base, err := server.NormalizeBaseURL(configured(f, opts.BaseURL, "serve.base-url"))
	if err != nil {
		return err
	}
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{Hold: true, BusyTimeout: 10 * time.Second,
		OnBusy: func() {
			fmt.Fprintln(f.IO.ErrOut, "gpsoc serve: the practice file is busy (another gpsoc is writing); waiting…")
		}})
	if err != nil {
		return err
	}
	defer st.Close()
	p := clinical.New(clinical.Options{Store: server.GroupCommit(st), Terms: f.terms(), Now: f.Now, Source: "api",
		IndexSnapshot: filepath.Join(f.DataDir(), "find-index.snap")})
	pr := p.PracticeRecord(ctx)
	if pr == nil {
		return &UsageError{fmt.Sprintf("no practice in %s", dir)}
	}
	// Load the find index before the first request, not during it.
	if _, err := p.Index(ctx); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var co *server.Cohort
	if defs, err := cohort.LoadDefs(f.Config.GetString("search.registers")); err == nil {
		co = &server.Cohort{Resolver: &lazyResolver{open: f.Terminology}, Defs: defs}
	} else {
		logger.Warn("registers not available", "err", err)
	}
	srv := server.New(server.Options{Practice: p, MaxBody: opts.MaxBody, Version: Version, Logger: logger, BaseURL: base,
		Codes: f.codeSearch(), Cohort: co})
	if anchorKey != nil {
		stopAnchors, err := serveAnchors(ctx, p, anchorKey, anchorDir, dir, anchorEvery, logger)
		if err != nil {
			return err
		}
		defer stopAnchors()
	}
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var release func()
	var lockErr error
	lo.Ready = func(addr string) {
		scheme := "http"
		if opts.CertFile != "" {
			scheme = "https"
		}
		url := scheme + "://" + addr + "/"
		release, lockErr = writeServeLock(dir, ServeLock{PID: os.Getpid(), Addr: addr, URL: url, Started: time.Now().UTC()})
		if lockErr != nil {
			stop()
			return
		}
		fmt.Fprintf(f.IO.ErrOut, "gpsoc serve: %s (%s) at %s — Ctrl-C to stop\n", pr.Name, pr.ODS, url)
		if opts.Ready != nil {
			opts.Ready(addr)
		}
	}
	err = srv.ListenAndServe(sctx, lo)
	if release != nil {
		release()
	}
	if lockErr != nil {
		return lockErr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.ErrOut, "gpsoc serve: stopped")
	return nil
}

// codeSearch gives gpsoc serve's ValueSet/$expand the pickers' search over the local
// terminology (opened on the first request).
func (f *Factory) codeSearch() server.CodeSearch {
	return func(ctx context.Context, filter, picker, system string, count int) ([]server.ExpandedCode, string, error) {
		tm, err := f.Terminology()
		if err != nil {
			return nil, "", err
		}
		if picker == terminology.PickerDrug && system == "" {
			system = "dmd"
		}
		rs, err := tm.Search(ctx, filter, terminology.SearchOptions{Picker: picker, System: system, Limit: count})
		if err != nil {
			return nil, "", err
		}
		out := make([]server.ExpandedCode, len(rs))
		for i, r := range rs {
			out[i] = server.ExpandedCode{System: r.System, Code: r.Code, Display: r.Term}
		}
		return out, tm.SearchNote(rs), nil
	}
}
