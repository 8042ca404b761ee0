package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/runtime"
)

// TestTmux runs the real `purista dev` TUI on examples/signup inside tmux: the services
// show, an invoke through the dialog puts User.signUp → Email.sendWelcome in the
// message stream, and q stops everything.
func TestTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and runs it in tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux): the terminal test needs it")
	}
	bin := buildPurista(t)
	proj := filepath.Join(repoRoot(t), "examples", "signup")
	sock := fmt.Sprintf("purista-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil && args[0] != "kill-server" {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cache, err := runtime.CacheDir(proj) // where purista dev builds the app binary
	if err != nil {
		t.Fatal(err)
	}
	tmux("new-session", "-d", "-s", "dev", "-x", "150", "-y", "45", "-c", proj,
		fmt.Sprintf("env NO_COLOR=1 %s dev --grace 5s; sleep 30", bin))
	t.Cleanup(func() { tmux("kill-server") })
	waitScreen := func(want string, d time.Duration) string {
		t.Helper()
		deadline := time.Now().Add(d)
		var s string
		for time.Now().Before(deadline) {
			s = tmux("capture-pane", "-p", "-t", "dev")
			if strings.Contains(s, want) {
				return s
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, s)
		return ""
	}
	s := waitScreen("ready in", 2*time.Minute)
	for _, w := range []string{"Processes", "Services", "User", "Email", "running"} {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
	tmux("send-keys", "-t", "dev", "i")
	waitScreen("Invoke a command", 10*time.Second)
	tmux("send-keys", "-t", "dev", "Down")
	tmux("send-keys", "-t", "dev", "Enter")
	waitScreen("User.signUp (v1) payload", 10*time.Second)
	tmux("send-keys", "-t", "dev", "C-s")
	waitScreen(`"email": "alice@example.com"`, 10*time.Second)
	tmux("send-keys", "-t", "dev", "Escape")
	waitScreen("enter edit payload", 10*time.Second)
	time.Sleep(300 * time.Millisecond) // two quick ESCs would read as one alt+esc
	tmux("send-keys", "-t", "dev", "Escape")
	s = waitScreen("User.signUp → Email.sendWelcome 200", 10*time.Second)
	t.Logf("screen after the invoke:\n%s", s)
	tmux("send-keys", "-t", "dev", "q")
	waitScreen("purista dev: stopped", 30*time.Second)
	if pids := processesMentioning(cache); len(pids) > 0 { // the app binaries
		t.Errorf("processes left behind: %v", pids)
	}
}
