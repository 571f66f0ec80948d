package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/terminology"
	"github.com/opengpsoc/gpsoc/tui"
	"github.com/spf13/cobra"
)

func init() {
	tuiHook = runTUI
	extraCommands = append(extraCommands, newTUICmd)
}

// TUIOptions are the workstation's flags.
type TUIOptions struct {
	Keymap string // default | vim
	Open   string // a patient to open at start
}

func newTUICmd(f *Factory) *cobra.Command {
	var o TUIOptions
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Open the keyboard-driven workstation (also: gpsoc with no subcommand on a terminal)",
		Long: `Open the workstation on the configured practice: find a patient, read the
record, write a coded consultation, run the appointment book.

Keys come from the embedded default keymap (or --keymap vim), overridden by
$XDG_CONFIG_HOME/gpsoc/keys.yaml; ` + "`gpsoc tui keys`" + ` lists them. Drafts of
consultations are kept under the data dir (drafts/) until saved.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !f.IO.Interactive() {
				return usagef("gpsoc tui needs a terminal on stdin and stdout")
			}
			if o.Keymap != "" {
				f.Config.Set("keymap", o.Keymap)
			}
			tuiOpen = o.Open
			return runTUI(f, cmd)
		},
	}
	cmd.Flags().StringVar(&o.Keymap, "keymap", "", "keymap preset: default or vim (config: keymap)")
	cmd.Flags().StringVar(&o.Open, "open", "", "open this patient's record (id or NHS number) at start")
	var man bool
	keys := &cobra.Command{
		Use:   "keys",
		Short: "List the workstation's keys (after your keys.yaml), or print them as a man page",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			km, err := loadKeymap(f, o.Keymap)
			if err != nil {
				return err
			}
			if man {
				fmt.Fprint(f.IO.Out, km.ManPage("2026-11-24"))
				return nil
			}
			// A terminal gets an aligned table; a pipe gets tab-separated lines.
			var out io.Writer = f.IO.Out
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			if f.IO.IsTerminal() {
				out = tw
				fmt.Fprintln(out, "CONTEXT\tACTION\tKEYS\tWHAT")
			}
			for _, ctx := range keymaps.Contexts {
				for _, b := range km.Bindings(ctx) {
					fmt.Fprintf(out, "%s\t%s\t%s\t%s\n", ctx, b.Name, strings.Join(b.Keys, " "), b.Help)
				}
			}
			return tw.Flush()
		},
	}
	keys.Flags().BoolVar(&man, "man", false, "print the keys as a roff man page (gpsoc-keys(7))")
	keys.Flags().StringVar(&o.Keymap, "keymap", "", "keymap preset: default or vim")
	cmd.AddCommand(keys)
	return cmd
}

var tuiOpen string

func loadKeymap(f *Factory, preset string) (*keymaps.Keymap, error) {
	if preset == "" {
		preset = f.Config.GetString("keymap")
	}
	km, err := keymaps.Load(keymaps.Options{Preset: preset, UserFile: keymaps.UserFile()})
	if err != nil {
		return nil, &UsageError{"keymap: " + err.Error()}
	}
	return km, nil
}

// termsAdapter gives the TUI's pickers the terminology, opened on first use
// (in a command, never before the first frame).
type termsAdapter struct {
	once sync.Once
	open func() (*terminology.Terminology, error)
	tm   *terminology.Terminology
	err  error

	mu     sync.Mutex
	recent []string // codes this user picked in this session, most recent first
	// practice counts the codes this practice records (clinical.CodeUsage),
	// read once in the background: until it has come, searches rank without it.
	practice  map[string]int
	usageOf   func() (map[string]int, error)
	usageOnce sync.Once
}

// maxRecent is how many of the user's picks lift later searches.
const maxRecent = 50

// Picked remembers a code the user chose: it rises within its match class (rank.go).
func (a *termsAdapter) Picked(code string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []string{code}
	for _, c := range a.recent {
		if c != code && len(out) < maxRecent {
			out = append(out, c)
		}
	}
	a.recent = out
}

func (a *termsAdapter) usage() *terminology.Usage {
	if a.usageOf != nil {
		a.usageOnce.Do(func() {
			go func() {
				m, err := a.usageOf()
				if err == nil {
					a.mu.Lock()
					a.practice = m
					a.mu.Unlock()
				}
			}()
		})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.recent) == 0 && len(a.practice) == 0 {
		return nil
	}
	return &terminology.Usage{Recent: append([]string(nil), a.recent...), Practice: a.practice}
}

func (a *termsAdapter) get() (*terminology.Terminology, error) {
	a.once.Do(func() {
		a.tm, a.err = a.open()
		if a.err == nil {
			a.tm.Warm()
		}
	})
	return a.tm, a.err
}

func (a *termsAdapter) Search(ctx context.Context, text, picker, system, ecl string, limit int) ([]tui.Code, error) {
	tm, err := a.get()
	if err != nil {
		return nil, err
	}
	rs, err := tm.Search(ctx, text, terminology.SearchOptions{Picker: picker, System: system, ECL: ecl, Limit: limit, Usage: a.usage()})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 && (system == "" || system == "sct") {
		if note := tm.SearchNote(rs); note != "" {
			return nil, errors.New(note)
		}
	}
	if system == "dmd" && terminology.GapNamesAProduct(tm.DMDGap(text, rs)) {
		rs = nil // a product the dictionary lacks: never another in its place (the picker says why)
	}
	out := make([]tui.Code, len(rs))
	for i, r := range rs {
		out[i] = tui.Code{System: r.System, Code: r.Code, Term: r.Term}
	}
	return out, nil
}

// DMDGap: the embedded dictionary lacks the product searched for.
func (a *termsAdapter) DMDGap(query string, results []tui.Code) string {
	tm, err := a.get()
	if err != nil {
		return ""
	}
	rs := make([]terminology.Result, len(results))
	for i, c := range results {
		rs[i] = terminology.Result{System: c.System, Code: c.Code, Term: c.Term}
	}
	return tm.DMDGap(query, rs)
}

func (a *termsAdapter) MapLegacy(system, code string) ([]tui.Code, error) {
	tm, err := a.get()
	if err != nil {
		return nil, err
	}
	ms, err := tm.MapLegacy(system, code)
	if err != nil {
		return nil, err
	}
	out := make([]tui.Code, len(ms))
	for i, m := range ms {
		out[i] = tui.Code{System: terminology.SystemSNOMED, Code: m.Code, Term: m.Term}
	}
	return out, nil
}

// Product, Subsumes and CompileECL make the adapter the clinical.Drugs the
// prescribing checks need.
func (a *termsAdapter) Product(code string) (terminology.Product, error) {
	tm, err := a.get()
	if err != nil {
		return terminology.Product{}, err
	}
	return tm.Product(code)
}

func (a *termsAdapter) Subsumes(x, y string) (bool, error) {
	tm, err := a.get()
	if err != nil {
		return false, err
	}
	return tm.Subsumes(x, y)
}

func (a *termsAdapter) CompileECL(expr string) (*terminology.Matcher, error) {
	tm, err := a.get()
	if err != nil {
		return nil, err
	}
	return tm.CompileECL(expr)
}

// lazyResolver opens the terminology the first time a register needs a
// code set, so the workstation's first frame never waits for it.
type lazyResolver struct {
	open func() (*terminology.Terminology, error)
	mu   sync.Mutex
	r    cohort.Resolver
}

func (l *lazyResolver) get() (cohort.Resolver, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r == nil {
		tm, err := l.open()
		if err != nil {
			return nil, err
		}
		l.r = cohort.NewTermResolver(tm)
	}
	return l.r, nil
}

func (l *lazyResolver) CodeSet(kind, text string) (cohort.CodeSet, error) {
	r, err := l.get()
	if err != nil {
		return nil, err
	}
	return r.CodeSet(kind, text)
}

func (l *lazyResolver) MedicineSet(kind, text string) (cohort.CodeSet, error) {
	r, err := l.get()
	if err != nil {
		return nil, err
	}
	return r.MedicineSet(kind, text)
}

// runTUI opens the workstation on the configured practice.
func runTUI(f *Factory, cmd *cobra.Command) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	km, err := loadKeymap(f, "")
	if err != nil {
		return err
	}
	svc, err := f.Service(ctx)
	if err != nil {
		return err
	}
	terms := &termsAdapter{open: f.Terminology, usageOf: func() (map[string]int, error) { return svc.CodeUsage(ctx, 0) }}
	if p, err := f.Practice(); err == nil {
		p.SetDrugs(terms) // prescribing's safety checks, on the same lazily opened terminology
	}
	// Neither the terminology nor the find index is loaded before the first
	// frame: pages ask for them in commands.
	var co *tui.Cohort
	if defs, err := cohort.LoadDefs(f.Config.GetString("search.registers")); err == nil {
		co = &tui.Cohort{Resolver: &lazyResolver{open: f.Terminology}, Defs: defs}
	} else {
		fmt.Fprintf(f.IO.ErrOut, "gpsoc: the registers are not available: %v\n", err)
	}
	m := tui.New(tui.Options{Svc: svc, Terms: terms, Keys: km, Now: f.Now, DataDir: f.DataDir(), Cohort: co,
		Dark: true, Plain: os.Getenv("NO_COLOR") != "", OpenID: tuiOpen, Watch: 500 * time.Millisecond})
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(f.IO.In), tea.WithOutput(f.IO.RawOut()))
	// The store's busy notice goes to the status bar while the screen is
	// up (a store call can come from the program's own loop: never wait
	// on Send there).
	show := func(msg string) { go p.Send(tui.Notice(msg)) }
	f.notice.Store(&show)
	defer f.notice.Store(nil)
	if _, err := p.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("workstation: %w", err)
	}
	return nil
}
