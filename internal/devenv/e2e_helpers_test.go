package devenv

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/internal/scaffold"
)

// repoRoot is the module root.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// buildPurista builds the purista CLI into a temporary folder.
func buildPurista(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "purista")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/purista")
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build purista: %v\n%s", err, b)
	}
	return out
}

// copyTree copies the parts of the repository the signup example needs (go.mod, go.sum,
// pkg/, examples/signup) into a temporary folder, so tests can edit it, and returns the
// copy's examples/signup. It builds offline: same module, same dependencies.
func copyTree(t *testing.T) string {
	t.Helper()
	src, dst := repoRoot(t), t.TempDir()
	for _, p := range []string{"go.mod", "go.sum", "pkg", "examples/signup"} {
		if err := copyPath(filepath.Join(src, p), filepath.Join(dst, p)); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, "examples", "signup")
}

func copyPath(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(p, "_test.go") {
			return nil // tests of the copy are not needed
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// lines collects a reader's lines and lets a test wait for one.
type lines struct {
	mu   sync.Mutex
	all  []string
	done chan struct{}
}

func collect(r io.Reader) *lines {
	l := &lines{done: make(chan struct{})}
	go func() { // ends at EOF of r
		defer close(l.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
		}
	}()
	return l
}

// wait returns the first line at index >= from containing want, and its index.
func (l *lines) wait(t *testing.T, from int, want string, d time.Duration) (string, int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			if strings.Contains(l.all[i], want) {
				s := l.all[i]
				l.mu.Unlock()
				return s, i
			}
		}
		l.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no line with %q within %v; output:\n%s", want, d, l.String())
	return "", 0
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// field returns the value of key=value in line.
func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// processesMentioning returns the pids of live processes whose command line contains s.
func processesMentioning(s string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.Contains(string(stat), ") Z ") {
			continue // a zombie is already dead
		}
		if strings.Contains(string(b), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// scaffoldProject writes a new project called name with the scaffold code (as `purista
// new` does), depending on this checkout of the framework, and returns its root.
func scaffoldProject(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	applyPlan(t)(scaffold.NewProject(scaffold.ProjectOptions{Name: name, Dir: root, Framework: repoRoot(t)}))
	return root
}

// applyPlan returns a function that writes a scaffold plan (or fails on its error).
func applyPlan(t *testing.T) func(*scaffold.Plan, error) {
	return func(p *scaffold.Plan, err error) {
		t.Helper()
		if err == nil {
			err = p.Apply()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// devRun is a running `purista dev --no-tui` and its output.
type devRun struct {
	cmd  *exec.Cmd
	out  *lines
	done chan error
}

// startDev starts `purista dev --no-tui --grace 5s args…` in root. The go commands it
// runs work offline from the module cache. The process group is killed at cleanup.
func startDev(t *testing.T, bin, root string, args ...string) *devRun {
	t.Helper()
	return startDevEnv(t, bin, root, nil, args...)
}

// startDevEnv is startDev with env (KEY=VALUE) added to purista dev's environment,
// which its processes inherit.
func startDevEnv(t *testing.T, bin, root string, env []string, args ...string) *devRun {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dev", "--no-tui", "--grace", "5s"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off"), env...)
	d := &devRun{cmd: cmd, out: startGroup(t, cmd), done: make(chan error, 1)}
	go func() { // ends when purista dev exits
		<-d.out.done // Wait closes the pipe: read it all first
		d.done <- cmd.Wait()
	}()
	return d
}

// startGroup starts cmd in a process group of its own, killed at cleanup, and collects
// its stdout and stderr.
func startGroup(t *testing.T, cmd *exec.Cmd) *lines {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return collect(stdout)
}

// lastRunningLine returns the last "<unit> | running pid=…" line, or "".
func (d *devRun) lastRunningLine(unit string) string {
	d.out.mu.Lock()
	defer d.out.mu.Unlock()
	for i := len(d.out.all) - 1; i >= 0; i-- {
		prefix, text, ok := strings.Cut(d.out.all[i], " | ")
		if ok && strings.TrimSpace(prefix) == unit && strings.HasPrefix(text, "running pid=") {
			return d.out.all[i]
		}
	}
	return ""
}

// httpAddr returns the HTTP address of unit's last running process ("" before one).
func (d *devRun) httpAddr(unit string) string {
	return strings.TrimSuffix(strings.TrimPrefix(field(d.lastRunningLine(unit), "http"), "http://"), "/api")
}

// runningPID returns the PID of unit's last running process (0 before one).
func (d *devRun) runningPID(unit string) int {
	pid, _ := strconv.Atoi(field(d.lastRunningLine(unit), "pid"))
	return pid
}

// invokeUntil calls service.command (version 1) with {"name":"Bob"} on unit's last
// running process until it answers, within two minutes, and returns the answer.
func (d *devRun) invokeUntil(t *testing.T, unit, service, command string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		if addr := d.httpAddr(unit); addr != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, err := runtime.InvokeHTTP(ctx, addr, service, "1", command, json.RawMessage(`{"name":"Bob"}`))
			cancel()
			if err == nil {
				return string(out)
			}
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s.%s did not answer on %s within 2m (last error %v); output:\n%s", service, command, unit, last, d.out.String())
	return ""
}

// stop sends SIGTERM and expects purista dev to exit 0 with no process of the project
// left (every PID it reported running is gone).
func (d *devRun) stop(t *testing.T) {
	t.Helper()
	var pids []int
	d.out.mu.Lock()
	for _, l := range d.out.all {
		if pid, err := strconv.Atoi(field(l, "pid")); err == nil && strings.Contains(l, "| running pid=") {
			pids = append(pids, pid)
		}
	}
	d.out.mu.Unlock()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("purista dev exited with %v after SIGTERM\n%s", err, d.out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("purista dev did not exit within 60s of SIGTERM\n%s", d.out.String())
	}
	for _, pid := range pids {
		if devtest.PIDAlive(pid) {
			t.Errorf("process %d left behind", pid)
		}
	}
}
