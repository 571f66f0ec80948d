package commands

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newDemoCmd, newFixturesCmd)
}

// DemoSummary is what `gpsoc demo` prints without a terminal.
type DemoSummary struct {
	DataDir       string `json:"dataDir"`
	Practice      string `json:"practice"`
	User          string `json:"user"`
	Created       bool   `json:"created"`
	Patients      int    `json:"patients"`
	Consultations int    `json:"consultations"`
	Problems      int    `json:"problems"`
	Medications   int    `json:"medications"`
	Appointments  int    `json:"appointments"`
	// Results is the morning's inbox: reports waiting to be filed or matched.
	Results int `json:"results"`
}

func newDemoCmd(f *Factory) *cobra.Command {
	var patients int
	var reset bool
	cmd := &cobra.Command{
		Use:   "demo [--patients N] [--reset]",
		Short: "Open the workstation on a generated demo practice (created once)",
		Long: `Create a synthetic demo practice, once, and open the workstation on it.

The demo lives in --data-dir (or GPSOC_DATA_DIR) when given, else in
$XDG_DATA_HOME/gpsoc/demo. It is made on the first run (default 2,000
patients with believable histories) and reused after that whatever
--patients says; --reset rebuilds it. gpsoc never writes a demo into a
data dir that holds a practice that is not a demo.

Your login name becomes a GP prescriber in the demo (its admin is "admin"),
so the workstation opens on a full record. Your OS login is bound to every
demo user, and each has the passphrase "gpsoc-demo", which unlocks the
workstation when it locks after being idle. Without a terminal, the data dir
and a summary are printed instead. Every patient is synthetic.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if patients < 1 || patients > 2_000_000 {
				return &record.ValidationError{Field: "--patients", Value: fmt.Sprint(patients), Reason: "must be between 1 and 2000000"}
			}
			if f.DataDirFlag == "" && f.Config.GetString("data-dir") == "" {
				f.DataDirFlag = filepath.Join(dataHome(), "gpsoc", "demo")
			}
			sum, err := ensureDemo(cmd.Context(), f, patients, reset)
			if err != nil {
				return err
			}
			if tuiHook != nil && f.IO.Interactive() && f.Output == "table" {
				f.AsFlag = sum.User
				return tuiHook(f, cmd)
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, sum, nil)
			}
			verb := "Using the demo practice"
			if sum.Created {
				verb = "Created the demo practice"
			}
			fmt.Fprintf(f.IO.Out, "%s %s in %s\n", verb, sum.Practice, sum.DataDir)
			fmt.Fprintf(f.IO.Out, "  patients %d, consultations %d, problems %d, medications %d, appointments %d, results waiting %d\n",
				sum.Patients, sum.Consultations, sum.Problems, sum.Medications, sum.Appointments, sum.Results)
			fmt.Fprintf(f.IO.Out, "  you are %s (a GP prescriber; passphrase %q when the screen locks); try: gpsoc --data-dir %s patient find smith\n", sum.User, DemoPassphrase, sum.DataDir)
			return nil
		},
	}
	cmd.Flags().IntVar(&patients, "patients", 2000, "how many patients a new demo practice has")
	cmd.Flags().BoolVar(&reset, "reset", false, "rebuild the demo practice from scratch")
	return cmd
}

func loginName() string {
	if u, err := user.Current(); err == nil && record.ValidUserName(strings.ToLower(u.Username)) == nil {
		return strings.ToLower(u.Username)
	}
	return "demo.gp"
}

// ensureDemo creates the demo practice in f's data dir unless it is there.
func ensureDemo(ctx context.Context, f *Factory, patients int, reset bool) (*DemoSummary, error) {
	dir := f.DataDir()
	me := loginName()
	if name, _ := f.ActingUser(); f.AsFlag != "" || f.Config.GetString("user") != "" {
		me = name
	}
	if bolt.Exists(dir) {
		st, err := f.Store()
		if err != nil {
			return nil, err
		}
		var pr *record.Practice
		if err := st.View(ctx, func(tx store.Tx) error { var err error; pr, err = tx.Practice(); return err }); err != nil {
			return nil, err
		}
		if !pr.Demo {
			return nil, usagef("%s holds the practice %s (%s), which is not a demo: gpsoc demo never writes there; pass another --data-dir", dir, pr.Name, pr.ODS)
		}
		if !reset {
			if err := bindDemo(ctx, f, st); err != nil {
				return nil, err
			}
			return demoSummary(ctx, f, st, pr, me, false)
		}
		f.Close()
		f.once = newOnce()
		path := filepath.Join(dir, bolt.FileName)
		if err := os.Rename(path, path+".reset-"+time.Now().UTC().Format("20060102T150405Z")+".bak"); err != nil {
			return nil, err
		}
		_ = os.Remove(filepath.Join(dir, "find-index.snap"))
	}
	today := f.Now()
	opt := fixtures.Options{Patients: patients, Seed: 1, Today: today}
	tmp, err := os.MkdirTemp("", "gpsoc-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(f.IO.ErrOut, "Generating a demo practice of %d synthetic patients…\n", patients)
	batchGC()
	_, users, err := fixtures.WriteNDJSON(tmp, opt)
	if err != nil {
		return nil, err
	}
	// Built beside the data dir and moved into place when complete, so an
	// interrupted build never leaves half a demo.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	build, err := os.MkdirTemp(dir, ".demo-building-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(build)
	bst, err := bolt.Open(filepath.Join(build, bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		return nil, err
	}
	defer bst.Close()
	p := clinical.New(clinical.Options{Store: bst, Terms: f.terms(), Now: f.Now, Source: "demo"})
	login := f.OSLogin()
	if _, err := p.Init(ctx, fixtures.PracticeName, fixtures.PracticeODS, "admin", login, true); err != nil {
		return nil, err
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		return nil, err
	}
	haveMe := me == "admin"
	for _, u := range users {
		if u.Name == "admin" {
			continue
		}
		haveMe = haveMe || u.Name == me
		if _, err := admin.AddUser(ctx, record.User{Name: u.Name, Role: u.Role, RegNumber: u.RegNumber, Prescriber: u.Prescriber}); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.Name, err)
		}
	}
	if !haveMe {
		if _, err := admin.AddUser(ctx, record.User{Name: me, Role: record.RoleGP, RegNumber: "7099999", Prescriber: true}); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", me, err)
		}
	}
	if err := bindDemoUsers(ctx, admin, login); err != nil {
		return nil, err
	}
	// Reports come through the inbox (below), never as records.
	importable := map[record.Kind]bool{record.KindPatient: true, record.KindReport: true}
	for _, k := range clinical.ImportKinds {
		importable[k] = true
	}
	for _, k := range record.Kinds {
		if k == record.KindReport {
			continue // laboratory reports reach a practice through the inbox, not NDJSON
		}
		if !importable[k] {
			fmt.Fprintf(f.IO.ErrOut, "warning: this build cannot import %s records yet; the demo has none\n", k)
			continue
		}
		if k == record.KindReport {
			continue
		}
		fh, err := os.Open(filepath.Join(tmp, string(k)+".ndjson"))
		if err != nil {
			return nil, err
		}
		var sum *clinical.ImportSummary
		if k == record.KindPatient {
			sum, err = admin.ImportPatients(ctx, fh, clinical.ImportOptions{Format: "ndjson"})
		} else {
			sum, err = admin.ImportEntries(ctx, k, fh, clinical.ImportOptions{})
		}
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("load demo %s: %w", k, err)
		}
		if sum.Rejected > 0 {
			return nil, fmt.Errorf("load demo %s: %d rejected, first: %s", k, sum.Rejected, sum.Rejections[0])
		}
	}
	if err := demoInbox(ctx, p, admin, me, today); err != nil {
		return nil, err
	}
	if err := bst.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(build, bolt.FileName), filepath.Join(dir, bolt.FileName)); err != nil {
		return nil, err
	}
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	pr := clinical.New(clinical.Options{Store: st}).PracticeRecord(ctx)
	return demoSummary(ctx, f, st, pr, me, true)
}

func demoSummary(ctx context.Context, f *Factory, st store.Store, pr *record.Practice, me string, created bool) (*DemoSummary, error) {
	s := &DemoSummary{DataDir: f.DataDir(), Practice: pr.Name, User: me, Created: created}
	err := st.View(ctx, func(tx store.Tx) error {
		s.Patients = tx.Count(record.KindPatient)
		s.Consultations = tx.Count(record.KindConsultation)
		s.Problems = tx.Count(record.KindProblem)
		s.Medications = tx.Count(record.KindMedication)
		s.Appointments = tx.Count(record.KindAppointment)
		_ = tx.ForEach(record.KindReport, func(e record.Entity) error {
			if r, ok := e.(*record.Report); ok && r.InInbox() {
				s.Results++
			}
			return nil
		})
		if _, err := tx.User(me); err != nil {
			s.User = "dr.patel"
		}
		return nil
	})
	return s, err
}

func newFixturesCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "fixtures", Short: "Generate synthetic practices for tests, benchmarks and demos"}
	var n int
	var seed int64
	var out, today string
	gen := &cobra.Command{
		Use:   "generate --patients N [--seed S] --out DIR",
		Short: "Write a synthetic practice with histories as NDJSON, one file per noun",
		Long: `Write a deterministic synthetic practice: one <noun>.ndjson per noun
(patient.ndjson first, then what refers to them), ids and references kept,
ready for the import commands in that order. The same seed and --today
give byte-identical output. Every patient is synthetic (NHS numbers in the
999 test range).`,
		Example: `  gpsoc fixtures generate --patients 1000 --seed 7 --out /tmp/practice
  for k in patient session consultation problem observation medication allergy immunisation appointment task recall; do
    gpsoc $k import /tmp/practice/$k.ndjson
  done`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 {
				return &record.ValidationError{Field: "--patients", Value: fmt.Sprint(n), Reason: "must be at least 1"}
			}
			if out == "" {
				return usagef("--out DIR is required")
			}
			day := f.Now()
			if today != "" {
				d, err := time.Parse(record.DateLayout, today)
				if err != nil {
					return &record.ValidationError{Field: "--today", Value: today, Reason: "must be a date YYYY-MM-DD"}
				}
				day = d
			}
			t0 := time.Now()
			batchGC()
			sum, _, err := fixtures.WriteNDJSON(out, fixtures.Options{Patients: n, Seed: seed, Today: day})
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, sum, nil)
			}
			var parts []string
			for _, k := range record.Kinds {
				parts = append(parts, fmt.Sprintf("%s %d", k, sum[k]))
			}
			fmt.Fprintf(f.IO.Out, "wrote %s in %s: %s\n", out, time.Since(t0).Round(time.Millisecond), strings.Join(parts, ", "))
			return nil
		},
	}
	gen.Flags().IntVar(&n, "patients", 1000, "how many patients")
	gen.Flags().Int64Var(&seed, "seed", 1, "random seed (same seed, same practice)")
	gen.Flags().StringVar(&out, "out", "", "output directory (required)")
	gen.Flags().StringVar(&today, "today", "", "reference date YYYY-MM-DD (default today)")
	cmd.AddCommand(gen)
	return cmd
}

// DemoPassphrase is every demo user's passphrase: it unlocks the demo
// workstation when it locks after being idle. Only ever in a demo practice,
// whose patients are all synthetic.
const DemoPassphrase = "gpsoc-demo"

// bindDemoUsers binds the OS login to every demo user, so the demo (and
// make demo, and CI) acts as any of them without a prompt, and gives each
// the demo passphrase so the workstation opens without asking for one.
func bindDemoUsers(ctx context.Context, admin *clinical.Service, login string) error {
	us, err := admin.Users(ctx)
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Role == record.RoleInterface {
			continue
		}
		if login != "" && !clinical.LoginBound(u, login) {
			if _, err := admin.BindLogin(ctx, u.Name, login, true); err != nil {
				return fmt.Errorf("bind %s to demo user %s: %w", login, u.Name, err)
			}
		}
		us, err := admin.Practice().As(ctx, u.Name)
		if err != nil {
			return err
		}
		if !us.HasPassphrase(ctx) {
			if err := us.SetPassphrase(ctx, DemoPassphrase); err != nil {
				return fmt.Errorf("demo user %s: %w", u.Name, err)
			}
		}
	}
	return nil
}

// bindDemo binds the OS login in a demo made before bindings (or by another login).
func bindDemo(ctx context.Context, f *Factory, st store.Store) error {
	p := clinical.New(clinical.Options{Store: st, Now: f.Now, Source: "demo"})
	admin, err := p.As(ctx, "admin")
	if err != nil {
		return err
	}
	return bindDemoUsers(ctx, admin, f.OSLogin())
}

// demoInbox delivers the morning's results (fixtures.MorningInbox) through
// the inbox service, as the demo laboratory's interface user: the one door,
// with matching, corrections and audit, never written to the store directly.
func demoInbox(ctx context.Context, p *clinical.Practice, admin *clinical.Service, me string, today time.Time) error {
	if _, err := admin.AddUser(ctx, record.User{Name: fixtures.InboxUser, Role: record.RoleInterface}); err != nil {
		return fmt.Errorf("demo laboratory user: %w", err)
	}
	ps, err := admin.Patients(ctx, clinical.PatientFilter{})
	if err != nil {
		return err
	}
	reports := fixtures.MorningInbox(ps, me, today, 1)
	if len(reports) == 0 {
		return nil // too few adults for a morning's results
	}
	feed, err := p.As(ctx, fixtures.InboxUser)
	if err != nil {
		return err
	}
	_, errs, err := feed.DeliverReports(ctx, reports)
	if err != nil {
		return fmt.Errorf("demo results: %w", err)
	}
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("demo result %d (%s): %w", i+1, reports[i].LabReportID, e)
		}
	}
	return nil
}
