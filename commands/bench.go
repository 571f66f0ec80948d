package commands

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/internal/findbench"
	"github.com/opengpsoc/gpsoc/internal/findcorpus"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
	"github.com/spf13/cobra"
)

// processStart approximates when the process started (package init), for loadMs.
var processStart = time.Now()

func init() { extraCommands = append(extraCommands, newBenchCmd) }

func newBenchCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure gpsoc's speed (see make bench)"}
	var corpus, queriesFile string
	var size, runs int
	var seed int64
	var anchors bool
	fc := &cobra.Command{
		Use:   "find --corpus patients|codes --size N [--seed S] --queries FILE",
		Short: "Time find queries over a synthetic corpus, or the open practice with --size 0",
		Long: `Build a deterministic synthetic corpus of --size entries (or, with --size 0,
load the open practice's patient index as at start-up) and time each query of
FILE (one per line; each run cold) --runs times. With --anchors, also time
sahilm/fuzzy.Find and fzf --filter (Debian's fzf: apt-get install fzf; the
column is skipped when it is missing) over the same strings and print ratios.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if corpus != "patients" && corpus != "codes" {
				return &record.ValidationError{Field: "--corpus", Value: corpus, Reason: "must be patients or codes"}
			}
			if size < 0 {
				return &record.ValidationError{Field: "--size", Value: fmt.Sprint(size), Reason: "must be 0 or more"}
			}
			opt := findbench.BenchOptions{Corpus: corpus, Size: size, Seed: seed, Runs: runs, Anchors: anchors}
			if queriesFile != "" {
				fh, err := os.Open(queriesFile)
				if err != nil {
					return &record.ValidationError{Field: "--queries", Value: queriesFile, Reason: "cannot be read"}
				}
				opt.Queries, err = findcorpus.ParseQueries(fh)
				fh.Close()
				if err != nil {
					return err
				}
			}
			if size == 0 {
				if corpus == "codes" {
					return usagef("--size 0 works with --corpus patients (the open practice); give a size for codes")
				}
				st, err := f.Store()
				if err != nil {
					return err
				}
				p, err := f.Practice()
				if err != nil {
					return err
				}
				if _, err := p.Index(cmd.Context()); err != nil {
					return err
				}
				opt.LoadMs = float64(time.Since(processStart).Microseconds()) / 1000
				err = st.View(cmd.Context(), func(tx store.Tx) error {
					return tx.SearchRows(func(id string, row []byte) error {
						d, err := find.DecodePatientRow(id, row)
						if err == nil {
							opt.Patients = append(opt.Patients, d)
						}
						return err
					})
				})
				if err != nil {
					return err
				}
			}
			rep, err := findbench.RunBench(cmd.Context(), opt)
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, rep, nil)
			}
			fmt.Fprintf(f.IO.Out, "find %s, %d queries: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms; %.0f bytes/entry; build %.0f ms",
				corpus, len(rep.Queries), rep.P50Ms, rep.P95Ms, rep.P99Ms, rep.BytesPerEntry, rep.BuildMs)
			if rep.LoadMs > 0 {
				fmt.Fprintf(f.IO.Out, "; load %.0f ms", rep.LoadMs)
			}
			fmt.Fprintln(f.IO.Out)
			if a := rep.Anchors; a != nil {
				fmt.Fprintf(f.IO.Out, "anchors: sahilm/fuzzy p95 %.1f ms (%.0fx slower)", a.SahilmP95Ms, a.RatioSahilm)
				if a.FzfSkipped != "" {
					fmt.Fprintf(f.IO.Out, "; fzf skipped: %s\n", a.FzfSkipped)
				} else {
					fmt.Fprintf(f.IO.Out, "; fzf --filter p95 %.1f ms (%.0fx slower)\n", a.FzfP95Ms, a.RatioFzf)
				}
			}
			for _, q := range rep.Queries {
				top := ""
				if len(q.Results) > 0 {
					top = q.Results[0].Display
				}
				fmt.Fprintf(f.IO.Out, "  %-22q p95 %7.3f ms  %s\n", q.Query, q.P95Ms, top)
			}
			return nil
		},
	}
	fc.Flags().StringVar(&corpus, "corpus", "patients", "patients or codes")
	fc.Flags().IntVar(&size, "size", 100000, "synthetic corpus size (0: the open practice)")
	fc.Flags().Int64Var(&seed, "seed", 1, "corpus seed")
	fc.Flags().StringVar(&queriesFile, "queries", "", "file of queries, one a line (default: the standard set of every query class)")
	fc.Flags().IntVar(&runs, "runs", 20, "timed runs of each query")
	fc.Flags().BoolVar(&anchors, "anchors", false, "also time sahilm/fuzzy and fzf --filter and print ratios")
	cmd.AddCommand(fc, newBenchCodesQualityCmd(f))
	return cmd
}

func newBenchCodesQualityCmd(f *Factory) *cobra.Command {
	var queriesFile string
	var misses bool
	cmd := &cobra.Command{
		Use:   "codes-quality --queries FILE [--misses]",
		Short: "Score the code pickers on judged GP queries: top-1, top-3, MRR",
		Long: `Read judged queries (one a line, tab-separated: query, picker
(problem, consultation, drug or all), acceptable codes separated by spaces,
class (full term, prefix, shorthand, typo, colloquial); # starts a comment),
search each as its picker does, and print top-1, top-3 and mean reciprocal
rank overall and by class. The shipped set is terminology/testdata/gp-queries.tsv.`,
		Example: `  gpsoc bench codes-quality --queries terminology/testdata/gp-queries.tsv`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if queriesFile == "" {
				return &record.ValidationError{Field: "--queries", Value: "", Reason: "a judged query file is required"}
			}
			fh, err := os.Open(queriesFile)
			if err != nil {
				return &record.ValidationError{Field: "--queries", Value: queriesFile, Reason: "cannot be read"}
			}
			qs, err := terminology.ParseJudged(fh, queriesFile)
			fh.Close()
			if err != nil {
				return &record.ValidationError{Field: "--queries", Value: queriesFile, Reason: err.Error()}
			}
			tm, err := f.Terminology()
			if err != nil {
				return err
			}
			rep, err := tm.RunQuality(cmd.Context(), qs)
			if err != nil {
				return err
			}
			if f.Output == "json" || f.Output == "ndjson" {
				return printOne(f.IO, f.Output, rep, nil)
			}
			line := func(name string, s terminology.QualityScore) {
				fmt.Fprintf(f.IO.Out, "%-12s %4d queries  top-1 %5.1f%%  top-3 %5.1f%%  MRR %.3f\n", name, s.Queries, 100*s.Top1, 100*s.Top3, s.MRR)
			}
			line("overall", rep.Overall)
			for _, c := range terminology.QueryClasses {
				line(c, rep.ByClass[c])
			}
			if misses {
				for _, m := range rep.Misses {
					fmt.Fprintf(f.IO.Out, "  line %d %q (%s, %s): rank %d; got %s\n", m.Line, m.Query, m.Picker, m.Class, m.Rank, strings.Join(m.Got, " | "))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&queriesFile, "queries", "", "judged query file (query, picker, acceptable codes, class; tab-separated)")
	cmd.Flags().BoolVar(&misses, "misses", false, "also list every query whose right concept was not first")
	return cmd
}
