// Command mangen writes gpsoc's man pages and shell completions from the real
// command tree, reproducibly (a fixed date), for `make man`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opengpsoc/gpsoc/commands"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func main() {
	out := flag.String("out", "man", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	ios, _, _ := commands.Test("", false)
	root := commands.NewRootCmd(commands.NewFactory(ios))
	root.DisableAutoGenTag = true
	addExitCodes(root)
	date := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.MkdirAll(filepath.Join(out, "man1"), 0o755); err != nil {
		return err
	}
	hdr := &doc.GenManHeader{Title: "GPSOC", Section: "1", Source: "openGPSoC", Manual: "openGPSoC manual", Date: &date}
	if err := doc.GenManTree(root, hdr, filepath.Join(out, "man1")); err != nil {
		return err
	}
	// The workstation's keys, from the same registry that drives dispatch and help.
	if err := os.MkdirAll(filepath.Join(out, "man7"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "man7", "gpsoc-keys.7"), []byte(keymaps.Default().ManPage("2026-01-01")), 0o644); err != nil {
		return err
	}
	comp := filepath.Join(out, "completions")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := root.GenBashCompletionV2(&b, true); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(comp, "gpsoc.bash"), b.Bytes(), 0o644); err != nil {
		return err
	}
	b.Reset()
	if err := root.GenZshCompletion(&b); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(comp, "_gpsoc"), b.Bytes(), 0o644); err != nil {
		return err
	}
	b.Reset()
	if err := root.GenFishCompletion(&b, true); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(comp, "gpsoc.fish"), b.Bytes(), 0o644)
}

// addExitCodes puts the exit-code table in every page.
func addExitCodes(c *cobra.Command) {
	if c.Long == "" {
		c.Long = c.Short
	}
	c.Long += "\n\nEXIT STATUS\n\n" + commands.ExitCodesText()
	for _, sub := range c.Commands() {
		addExitCodes(sub)
	}
}
