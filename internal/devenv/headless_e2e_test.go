package devenv

import (
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/runtime"
)

// TestHeadlessMakeDev runs `make dev` on a copy of examples/signup with stdin and stdout
// no terminals (stdin /dev/null, stdout a pipe, as in CI): purista dev prints prefixed
// log lines, not the TUI, says what it does during the first build, and stops cleanly
// on SIGTERM.
func TestHeadlessMakeDev(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and the example")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	proj := copyTree(t)
	cache, err := runtime.CacheDir(proj)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", makeDevArgs(t, proj, t.TempDir())...)
	out := startGroup(t, cmd)

	// In order: make's note before its own build, dev's first build with its note,
	// the process with its endpoint, all services ready.
	_, i := out.wait(t, 0, "make build: compiling", time.Minute)
	_, i = out.wait(t, i, "| building; "+devmsg.FirstBuildNote, 3*time.Minute)
	_, i = out.wait(t, i, " | built in ", 3*time.Minute)
	_, i = out.wait(t, i, " | running pid=", time.Minute)
	_, _ = out.wait(t, i, " | all services ready in ", time.Minute)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-out.done: // every writer of the pipe (make, purista dev) has exited
	case <-time.After(time.Minute):
		t.Fatalf("make dev did not end within a minute of SIGTERM; output:\n%s", out)
	}
	_ = cmd.Wait() // make itself dies of the SIGTERM; purista dev's outcome is its last line
	if !regexp.MustCompile(`(?m)^dev +\| stopped$`).MatchString(out.String()) {
		t.Errorf("no \"dev | stopped\" line after SIGTERM; output:\n%s", out)
	}
	if s := out.String(); strings.Contains(s, "\x1b[") {
		t.Errorf("headless output has terminal escape sequences:\n%q", s)
	}
	if pids := processesMentioning(cache); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
	}
}
