package devenv

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/runtime"
)

// makeDevArgs are the arguments of `make dev` on the project at proj with bin/purista
// built into binDir (the repository's bin/ is left alone): the Makefile's own build and
// run, with nothing that chooses TUI or headless.
func makeDevArgs(t *testing.T, proj, binDir string) []string {
	t.Helper()
	root := repoRoot(t)
	rel, err := filepath.Rel(root, binDir) // BIN_DIR is relative to the repository
	if err != nil {
		t.Fatal(err)
	}
	return []string{"-C", root, "dev", "BIN_DIR=" + rel, "DEV_DIR=" + proj, "DEV_FLAGS=--grace 5s"}
}

var update = flag.Bool("update", false, "rewrite testdata/tmux-ready.golden from the current screen")

// tmuxSession is a private tmux server running one program in a pane.
type tmuxSession struct {
	t    *testing.T
	sock string
}

// requireTmux skips the test when tmux is missing, or fails it when
// PURISTA_REQUIRE_TMUX=1 (CI, where the terminal tests must run).
func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		const why = "tmux is not installed (apt-get install tmux): the terminal tests need it"
		if os.Getenv("PURISTA_REQUIRE_TMUX") == "1" {
			t.Fatal(why + "; PURISTA_REQUIRE_TMUX=1 makes that an error")
		}
		t.Skip(why)
	}
}

// startTmux runs command (a shell command line) in a w×h pane of a private tmux server
// that the test's cleanup kills (see requireTmux when tmux is missing).
func startTmux(t *testing.T, dir, command string, w, h int) *tmuxSession {
	t.Helper()
	requireTmux(t)
	s := &tmuxSession{t: t, sock: fmt.Sprintf("purista-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))}
	s.run("new-session", "-d", "-s", "dev", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", dir, command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys sends tmux key names to the pane.
func (s *tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", "dev"}, keys...)...)
}

// screen is the pane's text.
func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-t", "dev") }

// wait returns the screen once it matches every pattern (regular expressions), or fails
// the test after d.
func (s *tmuxSession) wait(d time.Duration, patterns ...string) string {
	s.t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	deadline := time.Now().Add(d)
	for {
		sc := s.screen()
		all := true
		for _, re := range res {
			all = all && re.MatchString(sc)
		}
		if all {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never matched %q within %v:\n%s", patterns, d, sc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenNormalizers make a captured screen of the real program comparable: times,
// durations, PIDs, ports and ids vary from run to run, log attributes are the app's;
// the column padding around them is folded to two spaces.
var screenNormalizers = []normalizer{
	{regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}\.\d{3}\b`), "hh:mm:ss.mmm"},
	{regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}\b`), "hh:mm:ss"},
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "<hex32>"},
	{regexp.MustCompile(`\b(\d+(\.\d+)?(h|ns|µs|ms|s|m))+\b`), "<dur>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<port>"},
	// A log row keeps its message; its attributes are the app's, cut at the width.
	{regexp.MustCompile(`(?m)^(  hh:mm:ss \S+\s+[A-Z]+\s+[^=\n]*?) [\w.]+=.*$`), "$1 …"},
	{regexp.MustCompile(`(?m)^(  app\s+)\d+`), "${1}<pid>"},
	{regexp.MustCompile(`[^\S\n]{2,}`), "  "},
}

func normalizeScreen(s string) string { return normalize(s, screenNormalizers) }

// normalizer replaces what re matches in a captured screen with with.
type normalizer struct {
	re   *regexp.Regexp
	with string
}

// normalize applies ns to s in order.
func normalize(s string, ns []normalizer) string {
	for _, n := range ns {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// TestTmux runs `make dev` on a copy of examples/signup in a terminal (tmux): the
// Makefile leaves the choice to purista dev, which shows the TUI there. The title and
// the Services table show (compared with a golden screen), an invoke through the dialog
// answers with a trace id and puts User.signUp → Email.sendWelcome in the stream, and
// q stops everything.
func TestTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and runs make dev in tmux")
	}
	requireTmux(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	proj := copyTree(t)
	cache, err := runtime.CacheDir(proj) // where purista dev builds the app binary
	if err != nil {
		t.Fatal(err)
	}
	cmdline := "env NO_COLOR=1 make " + shellQuote(makeDevArgs(t, proj, t.TempDir())) + "; sleep 600" // the pane stays to be read; cleanup kills it
	tm := startTmux(t, proj, cmdline, 120, 40)

	// The app row shows its health after the first probe (every 2 s).
	s := tm.wait(3*time.Minute, `purista dev · signup · monolith · memory · ready in`, `(?m)^Services$`,
		`(?m)^  app\s+\d+\s+running\s+0\s+ok`, `(?m)^  User\s+1\s+ready\s+ok`, `(?m)^  Email\s+1\s+ready\s+ok`)
	devtest.CheckGolden(t, filepath.Join("testdata", "tmux-ready.golden"), normalizeScreen(s), *update)

	tm.keys("i")
	tm.wait(10*time.Second, "Invoke a command")
	tm.keys("Down")
	tm.keys("Enter")
	tm.wait(10*time.Second, `User\.signUp \(v1\) payload`)
	tm.keys("C-s")
	tm.wait(10*time.Second, `(?m)^│ ok`, `"email": "alice@example.com"`, `(?m)^│ trace [0-9a-f]{32}`)
	tm.keys("Escape")
	tm.wait(10*time.Second, "enter edit payload")
	time.Sleep(300 * time.Millisecond) // two quick ESCs would read as one alt+esc
	tm.keys("Escape")
	s = tm.wait(10*time.Second, `User\.signUp → Email\.sendWelcome 200`)
	t.Logf("screen after the invoke:\n%s", s)
	tm.keys("q")
	tm.wait(30*time.Second, "purista dev: stopped")
	if pids := processesMentioning(cache); len(pids) > 0 { // the app binaries
		t.Errorf("processes left behind: %v", pids)
	}
}

// shellQuote joins args for a POSIX shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// TestTmuxNormalize: two captures that differ only in what varies between runs
// normalise to the same text, and what is the program's own stays.
func TestTmuxNormalize(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{"title", "purista dev · signup · ready in 3.72s", "purista dev · signup · ready in 12.1s",
			"purista dev · signup · ready in <dur>"},
		{"process row", "  app        12637    running    0        ok", "  app        987      running    0        ok",
			"  app  <pid>  running  0  ok"},
		{"log row with attributes cut at different widths",
			"  22:23:15 app      INFO  http endpoint listening addr=127.0.0.1:41881 idleTimeout=1m0s maxConc…",
			"  09:00:01 app      INFO  http endpoint listening addr=127.0.0.1:4188 idleTimeout=1m0s maxConcu…",
			"  hh:mm:ss app  INFO  http endpoint listening …"},
		{"message row", "  22:23:15.085 command client.invoke → User.signUp 200 1.45ms trace=4bf92f3577b34da6a3ce929d0e0e4736",
			"  01:02:03.999 command client.invoke → User.signUp 200 310µs trace=00f067aa0ba902b7a3ce929d0e0e4736",
			"  hh:mm:ss.mmm command client.invoke → User.signUp 200 <dur> trace=<hex32>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := normalizeScreen(tt.a), normalizeScreen(tt.b)
			if a != b {
				t.Errorf("normalised differently:\n%q\n%q", a, b)
			}
			if a != tt.want {
				t.Errorf("normalised to %q, want %q", a, tt.want)
			}
		})
	}
}
