// Package iostreams gives CLI commands their input and output streams together with what
// they are attached to (a terminal or a pipe/file), so a command can decide whether to
// prompt, colour or add hints for humans, and tests can fake either case.
//
// Modelled on GitHub CLI's iostreams: commands never touch os.Stdin/os.Stdout directly.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/charmbracelet/x/term"
)

// IOStreams are the standard streams of one command invocation plus their TTY state.
type IOStreams struct {
	// In is standard input.
	In io.Reader
	// Out is standard output: the command's result (what a script would capture).
	Out io.Writer
	// ErrOut is standard error: errors, hints and progress meant for a human.
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
}

// System returns the process's standard streams with their TTY state detected.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
}

// Test returns streams backed by buffers (stdin, stdout, stderr, in that order), all
// reporting "not a terminal". Use the Set…TTY methods to simulate a terminal.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the command may ask the user questions: both standard input
// and standard output are terminals. Commands must never prompt otherwise (CI, pipes).
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY }

// SetStdinTTY overrides the detected TTY state of standard input (for tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY overrides the detected TTY state of standard output (for tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY overrides the detected TTY state of standard error (for tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// isTerminal reports whether f is an interactive terminal. A character-device test is
// not enough: /dev/null is a character device too, and `purista new </dev/null` must not
// prompt. term.IsTerminal asks the terminal driver itself.
func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	return term.IsTerminal(f.Fd())
}
