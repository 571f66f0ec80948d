package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opengpsoc/gpsoc/clinical"
)

// Config keys of the signed audit heads (flags win over them).
const (
	cfgAnchorKey   = "audit.anchor-key"
	cfgAnchorDir   = "audit.anchor-dir"
	cfgAnchorEvery = "audit.anchor-every"
	cfgPublicKey   = "audit.public-key"
)

// configured is a flag's value, else the config key's.
func configured(f *Factory, flag, key string) string {
	if flag != "" {
		return flag
	}
	return f.Config.GetString(key)
}

func newAuditVerifyCmd(f *Factory) *cobra.Command {
	var anchors, pubFile string
	cmd := &cobra.Command{
		Use:   "verify [--anchors DIR --public-key FILE]",
		Short: "Verify the audit trail: its hash chain, the records it wrote and its signed heads",
		Long: `Recompute the audit trail's hash chain, and check each record version an event
wrote against the record hash the event carries (an edit to a consultation's text or
a dose after it was written is named). Events written before record hashing carry
none: their number is printed, and their records are not checked.

With --anchors DIR and --public-key FILE (or config audit.anchor-dir and
audit.public-key), also check the trail against the signed heads in DIR (written by
` + "`gpsoc audit anchor`" + ` or ` + "`gpsoc serve --anchor-dir`" + `): a trail that ends before an
anchor's event was truncated, and one whose hash there differs was rewritten and
re-chained. Only the public key is needed. Events after the last anchor are vouched
for by the chain alone.

Exit 1, with ` + "`WHERE: reason`" + ` on stderr for each problem found.`,
		Example: `  gpsoc audit verify
  gpsoc audit verify --anchors /mnt/anchors --public-key /etc/gpsoc/anchor.key.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := localStore(f)
			if err != nil {
				return err
			}
			anchors, pubFile := configured(f, anchors, cfgAnchorDir), configured(f, pubFile, cfgPublicKey)
			if cmd.Flags().Changed("anchors") && pubFile == "" {
				return usagef("--anchors needs --public-key FILE (the .pub file `gpsoc audit keygen` wrote)")
			}
			rep, err := b.VerifyAudit()
			if err != nil {
				return err
			}
			probs := make([]string, 0, len(rep.Problems))
			for _, p := range rep.Problems {
				probs = append(probs, p.String())
			}
			var ar *clinical.AnchorReport
			if anchors != "" && pubFile == "" {
				fmt.Fprintf(f.IO.ErrOut, "note: the anchors in %s are not checked: give --public-key (or config %s)\n", anchors, cfgPublicKey)
			}
			if anchors != "" && pubFile != "" {
				pub, err := clinical.LoadAnchorPublicKey(pubFile)
				if err != nil {
					return err
				}
				if ar, err = clinical.VerifyAnchors(cmd.Context(), b, pub, anchors); err != nil {
					return err
				}
				probs = append(probs, ar.Problems...)
			}
			for _, p := range probs {
				fmt.Fprintln(f.IO.ErrOut, p)
			}
			if rep.Unhashed > 0 {
				fmt.Fprintf(f.IO.ErrOut, "note: %d events wrote a record before record hashing began; those records are not checked\n", rep.Unhashed)
			}
			if len(probs) > 0 {
				return &ExitError{Code: ExitFailure, Msg: fmt.Sprintf("audit trail fails verification (%d problem(s) in %d events)", len(probs), rep.Events)}
			}
			msg := fmt.Sprintf("ok: %d events, chain intact, records match their hashes", rep.Events)
			if im := rep.Imported; im.Events > 0 {
				msg += fmt.Sprintf("; imported from other systems and kept apart: %d events (%s), unchanged since import",
					im.Events, strings.Join(im.Sources, ", "))
				if im.Unverified > 0 {
					msg += fmt.Sprintf(", %d of which did not verify in their own chain when imported (labelled; see audit list --imported)", im.Unverified)
				}
			}
			if ar != nil && ar.Last != nil {
				msg += fmt.Sprintf("; anchors verified: %d, the last at event %d signed %s", ar.Anchors, ar.Last.Seq, ar.Last.At.UTC().Format(time.RFC3339))
				if ar.Head > ar.Last.Seq {
					msg += fmt.Sprintf(" (events %d to %d are after it)", ar.Last.Seq+1, ar.Head)
				}
			}
			fmt.Fprintln(f.IO.Out, msg)
			return nil
		},
	}
	cmd.Flags().StringVar(&anchors, "anchors", "", "folder of signed audit heads to check the trail against")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "public key that verifies the anchors (PEM)")
	return cmd
}

func newAuditAnchorCmd(f *Factory) *cobra.Command {
	var keyFile, dir string
	cmd := &cobra.Command{
		Use:   "anchor --key FILE --dir DIR",
		Short: "Sign the audit trail's head and write it to a folder you choose (admin)",
		Long: `Sign the audit trail's head (its last event's sequence and chain hash, with the
time) with an Ed25519 key and write it to DIR as anchor-SEQ-TIME.json. Keep DIR and
the key away from the practice file (both are refused inside the data dir): on
another disk, another machine's mount, or write-once storage. ` + "`gpsoc audit verify\n--anchors DIR`" + ` then finds events deleted from the trail's end and a trail rewritten
and re-chained up to any anchor. ` + "`gpsoc serve --anchor-dir`" + ` anchors periodically.

--key and --dir default to config audit.anchor-key and audit.anchor-dir.`,
		Example: `  gpsoc audit keygen --out /etc/gpsoc/anchor.key
  gpsoc audit anchor --key /etc/gpsoc/anchor.key --dir /mnt/anchors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := localStore(f); err != nil {
				return err
			}
			key, err := clinical.LoadAnchorKey(configured(f, keyFile, cfgAnchorKey), f.DataDir())
			if err != nil {
				return err
			}
			s, err := f.Service(cmd.Context())
			if err != nil {
				return err
			}
			a, err := s.Anchor(cmd.Context(), key, configured(f, dir, cfgAnchorDir), f.DataDir())
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "%s\n", a.File)
			fmt.Fprintf(f.IO.ErrOut, "Signed the audit head at event %d (key %s)\n", a.Seq, a.Key)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "Ed25519 signing key (PEM, from gpsoc audit keygen; outside the data dir)")
	cmd.Flags().StringVar(&dir, "dir", "", "folder to write the signed head to (outside the data dir)")
	return cmd
}

func newAuditKeygenCmd(f *Factory) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Make the Ed25519 key that signs audit heads",
		Long: `Write a new Ed25519 signing key to FILE (readable by its owner only) and its
public key to FILE.pub. FILE must be outside the data dir, and neither file may exist.
Give the public key to whoever verifies the trail: verification needs nothing else.`,
		Example: `  gpsoc audit keygen --out /etc/gpsoc/anchor.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out FILE is required")
			}
			pub, err := clinical.GenerateAnchorKey(out, f.DataDir())
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "%s\n%s\n", out, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the signing key to (FILE.pub gets the public key)")
	return cmd
}
