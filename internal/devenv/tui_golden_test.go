package devenv

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/tui from the current output")

// goldenT0 is the fixed time of the golden screens' data.
var goldenT0 = time.Date(2026, 1, 2, 10, 0, 0, 85_000_000, time.UTC)

// checkGolden compares got with testdata/tui/<name>.golden (trailing blanks of each line
// ignored), or writes it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	got = trimLines(got) + "\n"
	path := filepath.Join("testdata", "tui", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/devenv -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("screen %s differs from %s (go test -run Golden -update rewrites it after a deliberate change)\n%s",
			name, path, lineDiff(string(want), got))
	}
}

// trimLines drops the trailing blanks of every line and trailing empty lines.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// lineDiff lists the lines that differ, numbered, as want/got pairs.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// clock is a settable fixed time for the model.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// goldenRecord is a record of the message stream at goldenT0 + ms milliseconds.
func goldenRecord(ms int, from, to wire.Address, status int, latency time.Duration, trace string) RunnerMsg {
	return RunnerMsg{UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "record",
		Time: goldenT0.Add(time.Duration(ms) * time.Millisecond), Record: &framework.Record{Kind: "command", From: from, To: to,
			Status: status, Latency: latency, TraceID: trace}}}}
}

func addr(service, target string) wire.Address {
	return wire.Address{ServiceName: service, ServiceVersion: "1", ServiceTarget: target}
}

// goldenModel is the signup project as the TUI shows it after a few calls, with fixed
// times, PIDs and traces, at 100×30 without colours.
func goldenModel(t *testing.T, c *clock) Model {
	t.Helper()
	m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", Units: []string{MonolithUnit},
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Email", Version: "1"}},
		Invoker:  &fakeInvoker{}, NoColor: true, Now: c.now})
	logAt := func(ms int, svc, level, msg string, attrs map[string]any) RunnerMsg {
		return RunnerMsg{UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "log", Time: goldenT0.Add(time.Duration(ms) * time.Millisecond),
			Level: level, Service: svc, Message: msg, Attrs: attrs}}}
	}
	return send(t, m,
		tea.WindowSizeMsg{Width: 100, Height: 30},
		RunnerMsg{BuildMsg{Started: true}},
		RunnerMsg{BuildMsg{Took: 1234 * time.Millisecond}},
		RunnerMsg{UnitStateMsg{Unit: MonolithUnit, State: StateRunning, PID: 4242}},
		RunnerMsg{UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "state", Service: "User", State: "ready",
			Commands: []framework.CommandInfo{{Service: "User", Version: "1", Name: "signUp", Description: "registers a user",
				Example: json.RawMessage(`{"email":"alice@example.com","name":"Alice"}`)}}}}},
		RunnerMsg{UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "state", Service: "Email", State: "ready",
			Commands: []framework.CommandInfo{{Service: "Email", Version: "1", Name: "sendWelcome", Description: "sends the welcome e-mail",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"email":{"type":"string"},"name":{"type":"string"}}}`)}}}}},
		RunnerMsg{HealthMsg{Unit: MonolithUnit, OK: true}},
		RunnerMsg{ReadyMsg{Took: 1890 * time.Millisecond}},
		logAt(2, "User", "INFO", "service ready", nil),
		logAt(3, "Email", "INFO", "service ready", nil),
		// The outer call is written when it ends, after the call it made.
		goldenRecord(1, addr("User", "signUp"), addr("Email", "sendWelcome"), 200, 310*time.Microsecond, "4bf92f3577b34da6a3ce929d0e0e4736"),
		logAt(1, "Email", "INFO", "welcome e-mail sent", map[string]any{"to": "alice@example.com", "took": float64(250_000)}),
		goldenRecord(0, addr("client", "invoke"), addr("User", "signUp"), 200, 1450*time.Microsecond, "4bf92f3577b34da6a3ce929d0e0e4736"),
		goldenRecord(5, addr("client", "invoke"), addr("User", "signUp"), 422, 800*time.Microsecond, "00f067aa0ba902b7a3ce929d0e0e4736"),
		logAt(5, "User", "WARN", "sign-up refused", map[string]any{"reason": "e-mail taken"}),
	)
}

// TestGoldenScreens renders the main TUI screens at a fixed size with fixed data and
// compares them with testdata/tui/*.golden, so that layout changes show in review.
func TestGoldenScreens(t *testing.T) {
	tests := []struct {
		name  string
		start func(*testing.T, *clock) Model // nil: goldenModel
		msgs  []tea.Msg
	}{
		{"overview", nil, nil},
		{"cold-build", coldBuildModel, nil},
		{"build-error", nil, []tea.Msg{RunnerMsg{BuildMsg{Started: true, Files: []string{"service.go"}}},
			RunnerMsg{BuildMsg{Err: "./service.go:3:1: syntax error: non-declaration statement outside function body",
				Files: []string{"service.go"}}}}},
		{"app-exited", nil, []tea.Msg{RunnerMsg{UnitStateMsg{Unit: MonolithUnit, State: StateExited, PID: 4242, ExitCode: 2,
			Err: "exited with code 2:\ntime=2026-01-02T10:00:59Z level=INFO msg=\"health endpoint listening\"\n" +
				"Error: invalid service definition: User.signUp has no handler"}},
			RunnerMsg{InfoMsg{Text: "app exited with code 2; waiting for a change to rebuild (Ctrl-C to quit)", Error: true}}}},
		{"http-dev-mode", nil, []tea.Msg{RunnerMsg{UnitStateMsg{Unit: MonolithUnit, State: StateRunning, PID: 4242, HTTPAddr: "127.0.0.1:3000"}},
			RunnerMsg{httpModeNote(false)}}},
		{"filter", nil, append([]tea.Msg{key("/")}, typeText("sendwel")...)},
		{"help", nil, []tea.Msg{key("?")}},
		{"dialog-picker", nil, []tea.Msg{key("i"), key("down")}},
		{"dialog-ok", nil, []tea.Msg{key("i"), key("down"), key("enter"), key("ctrl+s"),
			goldenRecord(60_010, addr("client", "invoke"), addr("User", "signUp"), 200, time.Millisecond, "5c3a8e1d9f0b4a7c8e2d6b1a3f9c7e05")}},
		{"dialog-error", nil, append([]tea.Msg{key("i"), key("down"), key("enter")}, append(append(clearEditor(), typeText(`{"invalid":true}`)...), key("ctrl+s"))...)},
		{"dialog-long-error", nil, append([]tea.Msg{key("i"), key("down"), key("enter")},
			append(append(clearEditor(), typeText(`{"long":true}`)...), key("ctrl+s"))...)},
		{"narrow", nil, []tea.Msg{tea.WindowSizeMsg{Width: 60, Height: 16}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: goldenT0.Add(time.Minute)}
			start := tt.start
			if start == nil {
				start = goldenModel
			}
			m := send(t, start(t, c), tt.msgs...)
			checkGolden(t, tt.name, screen(m))
		})
	}
}

// coldBuildModel is the TUI 42 s into the first build of a project.
func coldBuildModel(t *testing.T, c *clock) Model {
	t.Helper()
	started := c.t
	m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", Units: []string{MonolithUnit},
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Email", Version: "1"}}, NoColor: true, Now: c.now})
	m = send(t, m, tea.WindowSizeMsg{Width: 100, Height: 30}, RunnerMsg{BuildMsg{Started: true}})
	c.t = started.Add(42 * time.Second)
	return m
}
