package devenv

import (
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/runtime"
)

// TestPrinterLines: what the headless printer says for builds and log attributes.
func TestPrinterLines(t *testing.T) {
	logMsg := func(attrs map[string]any) UnitEventMsg {
		return UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "log", Level: "INFO", Message: "m", Attrs: attrs}}
	}
	running := UnitStateMsg{Unit: MonolithUnit, State: StateRunning, PID: 7, HTTPAddr: "127.0.0.1:3000"}
	tests := []struct {
		name    string
		msg     any
		secure  bool
		want    string
		notWant string
	}{
		{name: "running in HTTP development mode", msg: running,
			want: "http=http://127.0.0.1:3000/api openapi=http://127.0.0.1:3000/openapi.json (HTTP development mode)"},
		{name: "running with the project's authentication", msg: running, secure: true,
			want: "openapi=http://127.0.0.1:3000/openapi.json\n", notWant: "development"},
		{name: "the development-mode note", msg: httpModeNote(false), want: "dev  | WARNING: HTTP DEVELOPMENT MODE: no credentials needed"},
		{name: "the secure note", msg: httpModeNote(true), want: "--secure-http", notWant: "WARNING"},
		{name: "rebuild fails while the app runs", msg: BuildMsg{Err: "x.go:1: bad"}, want: "build failed (the previous process keeps running):"},
		{name: "first build fails, watching", msg: BuildMsg{Err: "x.go:1: bad", Idle: true, Watch: true},
			want: "build failed; fix the error and save to rebuild:", notWant: "previous process"},
		{name: "first build fails, no watch", msg: BuildMsg{Err: "x.go:1: bad", Idle: true}, want: "dev  | build failed:", notWant: "previous process"},
		{name: "build cancelled", msg: BuildMsg{Cancelled: true}, want: "dev  | build cancelled\n", notWant: "failed"},
		{name: "duration attribute", msg: logMsg(map[string]any{"timeout": float64(15e9)}), want: "timeout=15s", notWant: "e+"},
		{name: "camel-case duration", msg: logMsg(map[string]any{"retryDelay": float64(1.5e9)}), want: "retryDelay=1.5s", notWant: "e+"},
		{name: "snake-case duration", msg: logMsg(map[string]any{"grace_period": float64(250e6)}), want: "grace_period=250ms"},
		{name: "large count stays a number", msg: logMsg(map[string]any{"bytes": float64(2e10)}), want: "bytes=20000000000", notWant: "e+"},
		{name: "a key that only ends like a word", msg: logMsg(map[string]any{"page": float64(3)}), want: "page=3", notWant: "ns"},
		{name: "fraction stays a fraction", msg: logMsg(map[string]any{"ratio": 0.5}), want: "ratio=0.5"},
		{name: "string stays a string", msg: logMsg(map[string]any{"timeout": "soon"}), want: "timeout=soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			p := NewPrinter(&b, false, []string{MonolithUnit})
			p.secureHTTP = tt.secure
			p.Sink(tt.msg)
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("printed %q, want %q", b.String(), tt.want)
			}
			if tt.notWant != "" && strings.Contains(b.String(), tt.notWant) {
				t.Errorf("printed %q, must not contain %q", b.String(), tt.notWant)
			}
		})
	}
}

// TestPrinterCrashAndWidth: a crashed unit's stderr tail is printed line by line under
// its prefix (the "unit | text" shape holds for every line), and a unit longer than
// those known at start (a service added while dev runs) widens the column.
func TestPrinterCrashAndWidth(t *testing.T) {
	var b strings.Builder
	p := NewPrinter(&b, false, []string{"User", "Email"})
	p.Sink(UnitStateMsg{Unit: "Email", State: StateExited, PID: 7, ExitCode: 1,
		Err: "exited with code 1:\nWARN retrying\nError: start nats bridge: no connection"})
	p.Sink(UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "state", Service: "Inventory", State: "ready"}})
	p.Sink(InfoMsg{Text: "hello"})
	want := []string{
		"Email | exited pid=7 restarts=0 code=1 error=exited with code 1:",
		"Email |   WARN retrying",
		"Email |   Error: start nats bridge: no connection",
		"Inventory | service ready",
		"dev       | hello",
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTailBufferWholeLines: once the front of a process's stderr was dropped, the
// tail starts at a whole line.
func TestTailBufferWholeLines(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 100, []string{"a\n", "b\n"}, "a\nb\n"},
		{"cut mid-line drops the partial line", 10, []string{"first line\n", "second\n", "third\n"}, "third\n"},
		{"cut at a line start keeps the line", 13, []string{"aaaa\n", "second\n", "third\n"}, "second\nthird\n"},
		{"one long line without newline is kept", 4, []string{"abcdefgh"}, "efgh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &tailBuffer{max: tt.max}
			for _, w := range tt.writes {
				_, _ = tb.Write([]byte(w))
			}
			if got := tb.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

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
	_, i = out.wait(t, i, "| building; "+firstBuildNote, 3*time.Minute)
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
