package headless

import (
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/runtime"
)

// TestPrinterLines: what the headless printer says for builds and log attributes.
func TestPrinterLines(t *testing.T) {
	logMsg := func(attrs map[string]any) devmsg.UnitEventMsg {
		return devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "log", Level: "INFO", Message: "m", Attrs: attrs}}
	}
	running := devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateRunning, PID: 7, HTTPAddr: "127.0.0.1:3000"}
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
		{name: "the development-mode note", msg: devmsg.HTTPModeNote(false), want: "dev  | WARNING: HTTP DEVELOPMENT MODE: no credentials needed"},
		{name: "the secure note", msg: devmsg.HTTPModeNote(true), want: "--secure-http", notWant: "WARNING"},
		{name: "rebuild fails while the app runs", msg: devmsg.BuildMsg{Err: "x.go:1: bad"}, want: "build failed (the previous process keeps running):"},
		{name: "first build fails, watching", msg: devmsg.BuildMsg{Err: "x.go:1: bad", Idle: true, Watch: true},
			want: "build failed; fix the error and save to rebuild:", notWant: "previous process"},
		{name: "first build fails, no watch", msg: devmsg.BuildMsg{Err: "x.go:1: bad", Idle: true}, want: "dev  | build failed:", notWant: "previous process"},
		{name: "build cancelled", msg: devmsg.BuildMsg{Cancelled: true}, want: "dev  | build cancelled\n", notWant: "failed"},
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
			p := NewPrinter(&b, Options{Units: []string{devmsg.MonolithUnit}, SecureHTTP: tt.secure})
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
	p := NewPrinter(&b, Options{Units: []string{"User", "Email"}})
	p.Sink(devmsg.UnitStateMsg{Unit: "Email", State: devmsg.StateExited, PID: 7, ExitCode: 1,
		Err: "exited with code 1:\nWARN retrying\nError: start nats bridge: no connection"})
	p.Sink(devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "state", Service: "Inventory", State: "ready"}})
	p.Sink(devmsg.InfoMsg{Text: "hello"})
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
