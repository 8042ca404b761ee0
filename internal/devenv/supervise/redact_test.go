package supervise

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/headless"
	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/devenv/ui"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework/app"
)

// leakyMessages are runner messages of every kind whose texts quote rawURL and secret,
// as a process might (a library's dial error on stderr, a log attribute, a health error).
func leakyMessages(rawURL, secret string) []any {
	now := time.Now()
	return []any{
		devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateRunning, PID: 4242},
		devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "log", Time: now, Level: "ERROR", Service: "User",
			Message: "dial " + rawURL + " refused",
			Attrs: map[string]any{"url": rawURL, "error": "auth " + secret + " refused",
				"conn": map[string]any{"servers": []any{rawURL}}, "n": float64(3)}}},
		devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "record", Time: now, Record: &app.Record{
			Kind: "command", Status: 503, Error: "could not reach " + rawURL}}},
		devmsg.HealthMsg{Unit: devmsg.MonolithUnit, Err: "unavailable: dial " + rawURL + " refused"},
		devmsg.InfoMsg{Text: "broker " + rawURL + " refused " + secret, Error: true},
		devmsg.BuildMsg{Err: "main.go:1: " + rawURL},
		devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateExited, ExitCode: 1,
			Err: "exited with code 1:\nError: start nats bridge: dial " + rawURL + ": token " + secret + " refused"},
	}
}

// TestOutputNeverShowsCredentials: whatever a process says, `purista dev` shows no
// credential of the broker URL: not in the headless lines (text and JSON), not on the
// TUI's screen. Everything the runner reports goes through its Sink, which scrubs it.
func TestOutputNeverShowsCredentials(t *testing.T) {
	for _, c := range devtest.CredentialURLs() {
		t.Run(c.Name, func(t *testing.T) {
			outputs := map[string]func(msgs []any) string{
				"headless": func(msgs []any) string { return printAll(msgs, false) },
				"json":     func(msgs []any) string { return printAll(msgs, true) },
				"tui": func(msgs []any) string {
					m := ui.NewModel(ui.ModelOptions{Project: "p", Mode: "monolith", Units: []string{devmsg.MonolithUnit},
						Services: []project.Service{{Name: "User", Version: "1"}}, NoColor: true})
					nm, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
					m = nm.(ui.Model)
					for _, msg := range msgs {
						nm, _ = m.Update(ui.RunnerMsg{Msg: msg})
						m = nm.(ui.Model)
					}
					return ansi.Strip(m.View().Content)
				},
			}
			for name, show := range outputs {
				var got []any
				r := NewRunner(Options{Manifest: &project.Manifest{}, Bridge: c.URL, Sink: func(m any) { got = append(got, m) }})
				for _, m := range leakyMessages(c.URL, c.Secret) {
					r.opts.Sink(m)
				}
				out := show(got)
				devtest.NoSecret(t, c.Secret, name, out)
				if !strings.Contains(out, "refused") {
					t.Errorf("%s lost the messages:\n%s", name, out)
				}
			}
		})
	}
}

// printAll prints msgs as the headless printer does.
func printAll(msgs []any, jsonLines bool) string {
	var b strings.Builder
	p := headless.NewPrinter(&b, headless.Options{JSON: jsonLines, Units: []string{devmsg.MonolithUnit}})
	for _, m := range msgs {
		p.Sink(m)
	}
	return b.String()
}

// TestRunnerNeverShowsCredentials runs a fake app that prints PURISTA_BRIDGE to stdout
// and stderr and exits: neither the runner's output nor Run's error (the stderr tail)
// shows the credential.
func TestRunnerNeverShowsCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fake app")
	}
	root, m := fakeProject(t, false)
	bin := filepath.Join(t.TempDir(), "fake")
	for _, c := range devtest.CredentialURLs() {
		t.Run(c.Name, func(t *testing.T) {
			rec := &recorder{}
			r := NewRunner(Options{Root: root, Manifest: m, Bridge: c.URL, Env: []string{"FAKE_MODE=leak"},
				BinaryPath: bin, Sink: rec.sink})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err := r.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("Run() = %v, want the app's error", err)
			}
			devtest.NoSecret(t, c.Secret, "Run's error", err.Error())
			devtest.NoSecret(t, c.Secret, "the output", rec.printed())
			if !strings.Contains(rec.printed(), "connecting to") {
				t.Errorf("the app's stdout is missing:\n%s", rec.printed())
			}
		})
	}
}
