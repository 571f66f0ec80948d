package commands

import (
	"bytes"
	"io"
	"os"

	"github.com/charmbracelet/x/term"

	"github.com/opengpsoc/gpsoc/clinical"
)

// IOStreams is all terminal I/O: commands never touch os.Stdout directly.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY   bool
	inTTY    bool
	colorOff bool
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		outTTY:   term.IsTerminal(os.Stdout.Fd()),
		inTTY:    term.IsTerminal(os.Stdin.Fd()),
		colorOff: os.Getenv("NO_COLOR") != ""}
}

// Test returns captured streams; tty says whether to behave as on a terminal.
func Test(in string, tty bool) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: bytes.NewBufferString(in), Out: out, ErrOut: errOut, outTTY: tty, inTTY: tty, colorOff: true}, out, errOut
}

// IsTerminal reports whether output goes to a terminal.
func (s *IOStreams) IsTerminal() bool { return s.outTTY }

// Interactive reports whether both input and output are a terminal.
func (s *IOStreams) Interactive() bool { return s.outTTY && s.inTTY }

// Color reports whether to use colour.
func (s *IOStreams) Color() bool { return s.outTTY && !s.colorOff }

// SetTerminal forces terminal behaviour (tests).
func (s *IOStreams) SetTerminal(tty bool) { s.outTTY, s.inTTY = tty, tty }

// batchGC lets a batch command (imports, the generator) collect garbage
// less often for the rest of the process, as clinical's bulk runs do for
// themselves (clinical.BatchGC): collecting half as often took a tenth off
// generating and loading a 100k-patient practice.
func batchGC() { clinical.BatchGC() }
