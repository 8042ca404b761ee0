package devenv

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
)

// credentialURLs are broker URLs with a credential in every form the issue names: a
// password, a token (user-only userinfo that NATS sends as a token), a user-only URL of
// another broker, and a ?token= query parameter. secret is the credential.
var credentialURLs = []struct{ name, url, secret string }{
	{"password", "amqp://guest:S3CRETpassw0rd@127.0.0.1:5672/", "S3CRETpassw0rd"},
	{"token", "nats://S3CRETtoken@127.0.0.1:4222", "S3CRETtoken"},
	{"user-only", "mqtt://S3CRETuser@127.0.0.1:1883", "S3CRETuser"},
	{"query token", "nats://127.0.0.1:4222?token=S3CRETquery", "S3CRETquery"},
}

// noSecret fails t when text holds secret (letters and digits: the same in every
// spelling, escaped or not).
func noSecret(t *testing.T, secret, where, text string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%s shows the credential %s:\n%s", where, secret, text)
	}
}

// leakyMessages are runner messages of every kind whose texts quote rawURL and secret,
// as a process might (a library's dial error on stderr, a log attribute, a health error).
func leakyMessages(rawURL, secret string) []any {
	now := time.Now()
	return []any{
		UnitStateMsg{Unit: MonolithUnit, State: StateRunning, PID: 4242},
		UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "log", Time: now, Level: "ERROR", Service: "User",
			Message: "dial " + rawURL + " refused",
			Attrs: map[string]any{"url": rawURL, "error": "auth " + secret + " refused",
				"conn": map[string]any{"servers": []any{rawURL}}, "n": float64(3)}}},
		UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "record", Time: now, Record: &framework.Record{
			Kind: "command", Status: 503, Error: "could not reach " + rawURL}}},
		HealthMsg{Unit: MonolithUnit, Err: "unavailable: dial " + rawURL + " refused"},
		InfoMsg{Text: "broker " + rawURL + " refused " + secret, Error: true},
		BuildMsg{Err: "main.go:1: " + rawURL},
		UnitStateMsg{Unit: MonolithUnit, State: StateExited, ExitCode: 1,
			Err: "exited with code 1:\nError: start nats bridge: dial " + rawURL + ": token " + secret + " refused"},
	}
}

// TestOutputNeverShowsCredentials: whatever a process says, `purista dev` shows no
// credential of the broker URL: not in the headless lines (text and JSON), not on the
// TUI's screen. Everything the runner reports goes through its Sink, which scrubs it.
func TestOutputNeverShowsCredentials(t *testing.T) {
	for _, c := range credentialURLs {
		t.Run(c.name, func(t *testing.T) {
			outputs := map[string]func(msgs []any) string{
				"headless": func(msgs []any) string { return printAll(msgs, false) },
				"json":     func(msgs []any) string { return printAll(msgs, true) },
				"tui": func(msgs []any) string {
					m := NewModel(ModelOptions{Project: "p", Mode: "monolith", Units: []string{MonolithUnit},
						Services: []project.Service{{Name: "User", Version: "1"}}, NoColor: true})
					nm, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
					m = nm.(Model)
					for _, msg := range msgs {
						nm, _ = m.Update(RunnerMsg{msg})
						m = nm.(Model)
					}
					return screen(m)
				},
			}
			for name, show := range outputs {
				var got []any
				r := NewRunner(Options{Manifest: &project.Manifest{}, Bridge: c.url, Sink: func(m any) { got = append(got, m) }})
				for _, m := range leakyMessages(c.url, c.secret) {
					r.opts.Sink(m)
				}
				out := show(got)
				noSecret(t, c.secret, name, out)
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
	p := NewPrinter(&b, jsonLines, []string{MonolithUnit})
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
	for _, c := range credentialURLs {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			r := NewRunner(Options{Root: root, Manifest: m, Bridge: c.url, Env: []string{"FAKE_MODE=leak"},
				BinaryPath: bin, Sink: rec.sink})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err := r.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("Run() = %v, want the app's error", err)
			}
			noSecret(t, c.secret, "Run's error", err.Error())
			noSecret(t, c.secret, "the output", rec.printed())
			if !strings.Contains(rec.printed(), "connecting to") {
				t.Errorf("the app's stdout is missing:\n%s", rec.printed())
			}
		})
	}
}

// TestBrokerNeverShowsCredentials: Provision's errors and a broker's description show no
// credential, whatever is wrong with the URL.
func TestBrokerNeverShowsCredentials(t *testing.T) {
	for _, c := range credentialURLs {
		u, _ := url.Parse(c.url)
		for _, tt := range []struct {
			name string
			opts ProvisionOptions
		}{
			{"kind mismatch", ProvisionOptions{Kind: map[string]string{"amqp": "nats", "nats": "mqtt", "mqtt": "amqp"}[u.Scheme], URL: c.url}},
			{"unknown scheme", ProvisionOptions{URL: "kafka" + strings.TrimPrefix(c.url, u.Scheme)}},
			{"memory", ProvisionOptions{URL: "memory" + strings.TrimPrefix(c.url, u.Scheme)}},
			{"from the environment", ProvisionOptions{Kind: "kafka", Getenv: func(string) string { return "kafka" + strings.TrimPrefix(c.url, u.Scheme) }}},
		} {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				if tt.opts.Getenv == nil {
					tt.opts.Getenv = func(string) string { return "" }
				}
				_, err := Provision(context.Background(), tt.opts)
				if err == nil {
					t.Fatal("Provision accepted the URL")
				}
				noSecret(t, c.secret, "the error", err.Error())
			})
		}
		t.Run(c.name+"/description", func(t *testing.T) {
			b, err := Provision(context.Background(), ProvisionOptions{URL: c.url, Getenv: func(string) string { return "" }})
			if err != nil {
				t.Fatal(err)
			}
			noSecret(t, c.secret, "the broker's description", b.String())
		})
	}
}
