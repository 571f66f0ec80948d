package commands

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/spf13/viper"
)

// Factory hands commands their dependencies lazily, so `gpsoc --help`
// never opens the practice file.
type Factory struct {
	IO     *IOStreams
	Config *viper.Viper
	Now    func() time.Time

	// Flags every command shares (bound in root.go).
	DataDirFlag string
	AsFlag      string
	Output      string
	// StoreFlag and PracticeFlag name a PostgreSQL database and the
	// practice in it (commands/pgstore.go).
	StoreFlag    string
	PracticeFlag string

	// OpenStore opens the practice store (replaced in tests).
	OpenStore func(dir string) (store.Store, error)
	// Login is the OS login of the process (nil: the real one; tests pin it).
	Login func() string

	once     *sync.Once
	closers  []func() error
	st       store.Store
	stErr    error
	practice *clinical.Practice
	// remoteUser is, in remote mode, whose the token is (commands/remote.go).
	remoteUser string
	// pg is the PostgreSQL database, once opened; createODS is the practice
	// init creates in it.
	pg        *postgres.DB
	createODS string
	// notice, when set, takes the store's "practice file busy" notice
	// instead of standard error: while the workstation runs, a line
	// written to the terminal would land in the middle of its screen
	// (scrolling it), so the workstation shows it in its status bar.
	notice atomic.Pointer[func(string)]
}

// NewFactory makes the production factory.
func NewFactory(io *IOStreams) *Factory {
	f := &Factory{IO: io, Config: newConfig(), Now: time.Now, once: newOnce()}
	f.OpenStore = func(dir string) (store.Store, error) {
		told := false
		st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{
			BusyTimeout: f.busyTimeout(),
			OnBusy: func() {
				const msg = "the practice file is busy (another gpsoc is writing); retrying…"
				if n := f.notice.Load(); n != nil {
					(*n)(msg) // each time: the status bar shows the newest
					return
				}
				if !told {
					fmt.Fprintln(f.IO.ErrOut, "gpsoc: "+msg)
					told = true
				}
			},
		})
		if err != nil {
			// Not a nil *bolt.Store inside the interface: Close would call it
			// (the busy timeout panicked and exited 2 instead of 3).
			return nil, err
		}
		return st, nil
	}
	return f
}

func (f *Factory) busyTimeout() time.Duration {
	if d, err := time.ParseDuration(f.Config.GetString("busy-timeout")); err == nil && d > 0 {
		return d
	}
	return 30 * time.Second
}

func newConfig() *viper.Viper {
	v := viper.New()
	v.SetConfigName("config")
	v.SetConfigType("yaml")
	v.AddConfigPath(filepath.Join(configHome(), "gpsoc"))
	v.SetEnvPrefix("GPSOC")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	v.SetDefault("busy-timeout", "30s")
	_ = v.ReadInConfig() // a missing file is fine; a broken one is reported by `config show`
	return v
}

func configHome() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".config")
}

func dataHome() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return d
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".local", "share")
}

// DataDir is --data-dir, else GPSOC_DATA_DIR, else config data-dir, else $XDG_DATA_HOME/gpsoc.
func (f *Factory) DataDir() string {
	if f.DataDirFlag != "" {
		return f.DataDirFlag
	}
	if d := f.Config.GetString("data-dir"); d != "" {
		return d
	}
	return filepath.Join(dataHome(), "gpsoc")
}

// Store opens the practice store, refusing a data dir with no practice.
func (f *Factory) Store() (store.Store, error) {
	f.once.Do(func() {
		if f.st, f.stErr = openHook(f, false); f.st != nil || f.stErr != nil {
			return // remote mode, or a server owns the data dir (commands/servelock.go)
		}
		dir := f.DataDir()
		if !bolt.Exists(dir) {
			f.stErr = &UsageError{fmt.Sprintf("no practice in %s: create one with `gpsoc init --practice NAME --ods CODE` (or `gpsoc demo`), or pass --data-dir", dir)}
			return
		}
		f.st, f.stErr = f.OpenStore(dir)
	})
	return f.st, f.stErr
}

// CreateStore opens (creating) the practice file, for init and restore.
func (f *Factory) CreateStore() (store.Store, error) {
	f.once.Do(func() {
		if f.st, f.stErr = openHook(f, true); f.st == nil && f.stErr == nil {
			f.st, f.stErr = f.OpenStore(f.DataDir())
		}
	})
	return f.st, f.stErr
}

// Practice is the clinical services over the store.
func (f *Factory) Practice() (*clinical.Practice, error) {
	if f.practice != nil {
		return f.practice, nil
	}
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	snap := filepath.Join(f.DataDir(), "find-index.snap")
	if postgresConfigured(f) {
		snap = "" // the data dir is this machine's; the practice is one of many in the database
	}
	f.practice = clinical.New(clinical.Options{Store: st, Terms: f.terms(), Now: f.Now, Source: "cli",
		IndexSnapshot: snap})
	return f.practice, nil
}

// terms is the terminology for code checks (nil until it is wired).
var termsHook func(f *Factory) clinical.Terminology

func (f *Factory) terms() clinical.Terminology {
	if termsHook != nil {
		return termsHook(f)
	}
	return nil
}

// ActingUser is --as, else GPSOC_USER, else config user, else the login name
// (used only if such a gpsoc user exists, checked by Service). In remote mode
// it is the token's holder, once the store is open.
func (f *Factory) ActingUser() (name string, explicit bool) {
	if f.remoteUser != "" { // remote mode: the token's holder, whoever --as names (checked at open)
		return f.remoteUser, true
	}
	if f.AsFlag != "" {
		return f.AsFlag, true
	}
	if u := f.Config.GetString("user"); u != "" {
		return u, true
	}
	if u, err := user.Current(); err == nil {
		return strings.ToLower(u.Username), false
	}
	return "", false
}

// Service is the clinical services acting as the acting user.
func (f *Factory) Service(ctx context.Context) (*clinical.Service, error) {
	p, err := f.Practice()
	if err != nil {
		return nil, err
	}
	name, explicit := f.ActingUser()
	return f.actAs(ctx, p, name, explicit) // identity.go: the credential
}

func newOnce() *sync.Once { return &sync.Once{} }

// Close releases the store.
func (f *Factory) Close() error {
	for _, c := range f.closers {
		c()
	}
	f.closers = nil
	if f.st != nil {
		err := f.st.Close()
		f.st, f.practice = nil, nil
		return err
	}
	return nil
}
