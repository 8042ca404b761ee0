package iostreams_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/purista-go/purista/internal/cli/iostreams"
)

func TestTestStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		stdin, stdout, stderr bool
		wantPrompt            bool
	}{
		{name: "all pipes"},
		{name: "interactive terminal", stdin: true, stdout: true, stderr: true, wantPrompt: true},
		{name: "stdout piped", stdin: true, stderr: true},
		{name: "stdin piped", stdout: true, stderr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, errOut := iostreams.Test()
			ios.SetStdinTTY(tt.stdin)
			ios.SetStdoutTTY(tt.stdout)
			ios.SetStderrTTY(tt.stderr)
			if ios.IsStdinTTY() != tt.stdin || ios.IsStdoutTTY() != tt.stdout || ios.IsStderrTTY() != tt.stderr {
				t.Fatalf("TTY state not kept: %v %v %v", ios.IsStdinTTY(), ios.IsStdoutTTY(), ios.IsStderrTTY())
			}
			if got := ios.CanPrompt(); got != tt.wantPrompt {
				t.Errorf("CanPrompt() = %v, want %v", got, tt.wantPrompt)
			}
			if _, err := ios.Out.Write([]byte("o")); err != nil {
				t.Fatal(err)
			}
			if _, err := ios.ErrOut.Write([]byte("e")); err != nil {
				t.Fatal(err)
			}
			if out.String() != "o" || errOut.String() != "e" {
				t.Errorf("buffers got out=%q err=%q", out.String(), errOut.String())
			}
		})
	}
}

func TestSystemDetectsFilesAsNotTTY(t *testing.T) {
	// Not parallel: it swaps the process's standard streams.
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	saved := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	os.Stdin, os.Stdout, os.Stderr = f, f, f
	t.Cleanup(func() { os.Stdin, os.Stdout, os.Stderr = saved[0], saved[1], saved[2] })

	ios := iostreams.System()
	if ios.IsStdinTTY() || ios.IsStdoutTTY() || ios.IsStderrTTY() || ios.CanPrompt() {
		t.Errorf("a regular file was detected as a terminal")
	}
}
