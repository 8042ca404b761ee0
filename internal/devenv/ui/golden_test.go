package ui

import (
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// goldenT0 is the fixed time of the golden screens' data.
var goldenT0 = time.Date(2026, 1, 2, 10, 0, 0, 85_000_000, time.UTC)

// checkGolden compares got with testdata/<name>.golden, or writes it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	devtest.CheckGolden(t, filepath.Join("testdata", name+".golden"), got, *update)
}

// clock is a settable fixed time for the model.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// goldenRecord is a record of the message stream at goldenT0 + ms milliseconds.
func goldenRecord(ms int, from, to wire.Address, status int, latency time.Duration, trace string) RunnerMsg {
	return RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "record",
		Time: goldenT0.Add(time.Duration(ms) * time.Millisecond), Record: &app.Record{Kind: "command", From: from, To: to,
			Status: status, Latency: latency, TraceID: trace}}}}
}

func addr(service, target string) wire.Address {
	return wire.Address{ServiceName: service, ServiceVersion: "1", ServiceTarget: target}
}

// goldenModel is the signup project as the TUI shows it after a few calls, with fixed
// times, PIDs and traces, at 100×30 without colours.
func goldenModel(t *testing.T, c *clock) Model {
	t.Helper()
	m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", Units: []string{devmsg.MonolithUnit},
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Email", Version: "1"}},
		Invoker:  &fakeInvoker{}, NoColor: true, Now: c.now})
	logAt := func(ms int, svc, level, msg string, attrs map[string]any) RunnerMsg {
		return RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "log", Time: goldenT0.Add(time.Duration(ms) * time.Millisecond),
			Level: level, Service: svc, Message: msg, Attrs: attrs}}}
	}
	return send(t, m,
		tea.WindowSizeMsg{Width: 100, Height: 30},
		RunnerMsg{devmsg.BuildMsg{Started: true}},
		RunnerMsg{devmsg.BuildMsg{Took: 1234 * time.Millisecond}},
		RunnerMsg{devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateRunning, PID: 4242}},
		RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "state", Service: "User", State: "ready",
			Commands: []framework.CommandInfo{{Service: "User", Version: "1", Name: "signUp", Description: "registers a user",
				Example: json.RawMessage(`{"email":"alice@example.com","name":"Alice"}`)}}}}},
		RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "state", Service: "Email", State: "ready",
			Commands: []framework.CommandInfo{{Service: "Email", Version: "1", Name: "sendWelcome", Description: "sends the welcome e-mail",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"email":{"type":"string"},"name":{"type":"string"}}}`)}}}}},
		RunnerMsg{devmsg.HealthMsg{Unit: devmsg.MonolithUnit, OK: true}},
		RunnerMsg{devmsg.ReadyMsg{Took: 1890 * time.Millisecond}},
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
// compares them with testdata/*.golden, so that layout changes show in review.
func TestGoldenScreens(t *testing.T) {
	tests := []struct {
		name  string
		start func(*testing.T, *clock) Model // nil: goldenModel
		msgs  []tea.Msg
	}{
		{"overview", nil, nil},
		{"cold-build", coldBuildModel, nil},
		{"build-error", nil, []tea.Msg{RunnerMsg{devmsg.BuildMsg{Started: true, Files: []string{"service.go"}}},
			RunnerMsg{devmsg.BuildMsg{Err: "./service.go:3:1: syntax error: non-declaration statement outside function body",
				Files: []string{"service.go"}}}}},
		{"app-exited", nil, []tea.Msg{RunnerMsg{devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateExited, PID: 4242, ExitCode: 2,
			Err: "exited with code 2:\ntime=2026-01-02T10:00:59Z level=INFO msg=\"health endpoint listening\"\n" +
				"Error: invalid service definition: User.signUp has no handler"}},
			RunnerMsg{devmsg.InfoMsg{Text: "app exited with code 2; waiting for a change to rebuild (Ctrl-C to quit)", Error: true}}}},
		{"http-dev-mode", nil, []tea.Msg{RunnerMsg{devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateRunning, PID: 4242, HTTPAddr: "127.0.0.1:3000"}},
			RunnerMsg{devmsg.HTTPModeNote(false)}}},
		{"filter", nil, append([]tea.Msg{press("/")}, typeText("sendwel")...)},
		{"help", nil, []tea.Msg{press("?")}},
		{"dialog-picker", nil, []tea.Msg{press("i"), press("down")}},
		{"dialog-ok", nil, []tea.Msg{press("i"), press("down"), press("enter"), press("ctrl+s"),
			goldenRecord(60_010, addr("client", "invoke"), addr("User", "signUp"), 200, time.Millisecond, "5c3a8e1d9f0b4a7c8e2d6b1a3f9c7e05")}},
		{"dialog-error", nil, append([]tea.Msg{press("i"), press("down"), press("enter")}, append(append(clearEditor(), typeText(`{"invalid":true}`)...), press("ctrl+s"))...)},
		{"dialog-long-error", nil, append([]tea.Msg{press("i"), press("down"), press("enter")},
			append(append(clearEditor(), typeText(`{"long":true}`)...), press("ctrl+s"))...)},
		{"narrow", nil, []tea.Msg{tea.WindowSizeMsg{Width: 60, Height: 16}}},
		// the session's line when the user's own OTEL endpoint turns the trace view off:
		// it wraps, so its advice shows
		{"info-wrapped", nil, []tea.Msg{RunnerMsg{devmsg.InfoMsg{Text: "trace view off: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set in the " +
			"environment, so the processes export as it says; unset it to see traces in purista dev"}}}},
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
	m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", Units: []string{devmsg.MonolithUnit},
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Email", Version: "1"}}, NoColor: true, Now: c.now})
	m = send(t, m, tea.WindowSizeMsg{Width: 100, Height: 30}, RunnerMsg{devmsg.BuildMsg{Started: true}})
	c.t = started.Add(42 * time.Second)
	return m
}
