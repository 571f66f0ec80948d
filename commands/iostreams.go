package commands

import (
	"bytes"
	"io"
	"os"

	"github.com/charmbracelet/x/term"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
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
// What goes to a terminal passes through a TerminalWriter, so a value that
// holds an escape sequence is shown, not obeyed.
func System() *IOStreams {
	ios := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		outTTY:   term.IsTerminal(os.Stdout.Fd()),
		inTTY:    term.IsTerminal(os.Stdin.Fd()),
		colorOff: os.Getenv("NO_COLOR") != ""}
	if ios.outTTY {
		ios.Out = &TerminalWriter{W: os.Stdout}
	}
	if term.IsTerminal(os.Stderr.Fd()) {
		ios.ErrOut = &TerminalWriter{W: os.Stderr}
	}
	return ios
}

// TerminalWriter shows the control characters written through it as
// escapes (ESC as \x1b; see record.ShowControlsText), keeping newlines and
// tabs. Commands print no escape sequences of their own (no colour), and the
// TUI writes to the terminal through Bubble Tea, not through this.
type TerminalWriter struct {
	W       io.Writer
	pending []byte // an incomplete UTF-8 sequence at the end of the last write
}

func (t *TerminalWriter) Write(p []byte) (int, error) {
	b := append(t.pending, p...)
	t.pending = nil
	// Keep an incomplete UTF-8 sequence for the next write.
	if cut := incompleteUTF8Tail(b); cut < len(b) {
		t.pending = append([]byte(nil), b[cut:]...)
		b = b[:cut]
	}
	if _, err := io.WriteString(t.W, record.ShowControlsText(string(b))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// RawOut is standard output without the TerminalWriter: for the TUI, whose
// Bubble Tea program writes the terminal's escape sequences itself.
func (s *IOStreams) RawOut() io.Writer {
	if t, ok := s.Out.(*TerminalWriter); ok {
		return t.W
	}
	return s.Out
}

// incompleteUTF8Tail is where a trailing incomplete UTF-8 sequence starts
// (len(b) if there is none).
func incompleteUTF8Tail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		c := b[i]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xc0 { // a lead byte: is its sequence complete?
			need := 2
			switch {
			case c >= 0xf0:
				need = 4
			case c >= 0xe0:
				need = 3
			}
			if len(b)-i < need {
				return i
			}
			return len(b)
		}
	}
	return len(b)
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
