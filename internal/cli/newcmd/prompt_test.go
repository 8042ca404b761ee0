package newcmd_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/cli/root"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/newcmd"
)

// keys turns a script into key presses: "enter", "esc", "up", "down", "backspace" are
// special keys, anything else is typed text.
func keys(script ...string) []tea.Msg {
	var msgs []tea.Msg
	for _, s := range script {
		switch s {
		case "enter":
			msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyEnter})
		case "esc":
			msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyEscape})
		case "up":
			msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyUp})
		case "down":
			msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyDown})
		case "backspace":
			msgs = append(msgs, tea.KeyPressMsg{Code: tea.KeyBackspace})
		default:
			for _, r := range s {
				msgs = append(msgs, tea.KeyPressMsg{Code: r, Text: string(r)})
			}
		}
	}
	return msgs
}

// drive feeds msgs to m through Update, as the bubbletea runtime would, checking that
// every frame renders.
func drive(t *testing.T, m *newcmd.PromptModel, msgs []tea.Msg) {
	t.Helper()
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(*newcmd.PromptModel)
		_ = m.View()
	}
}

// scripted returns a PromptFunc that answers with the key script instead of a terminal.
func scripted(t *testing.T, script ...string) newcmd.PromptFunc {
	return func(_ context.Context, _ *iostreams.IOStreams, a newcmd.Answers, qs ...newcmd.Question) (newcmd.Answers, error) {
		m := newcmd.NewPromptModel(a, qs...)
		drive(t, m, keys(script...))
		if m.Cancelled() {
			return a, newcmd.ErrCancelled
		}
		if !m.Done() {
			t.Fatalf("prompt not done after the script; screen:\n%s", m.View().Content)
		}
		return m.Answers(), nil
	}
}

func TestPromptModel(t *testing.T) {
	t.Parallel()
	all := []newcmd.Question{newcmd.AskName, newcmd.AskModule, newcmd.AskBridge, newcmd.AskHTTP}
	tests := []struct {
		name      string
		script    []string
		want      newcmd.Answers
		cancelled bool
		wantError string // shown on screen, prompt not done
	}{
		{name: "defaults", script: []string{"shop", "enter", "enter", "enter", "enter"},
			want: newcmd.Answers{Name: "shop", Module: "shop", Bridge: "memory"}},
		{name: "every choice", script: []string{"shop", "enter", "example.com/shop", "enter", "down", "enter", "y"},
			want: newcmd.Answers{Name: "shop", Module: "example.com/shop", Bridge: "nats", HTTP: true}},
		{name: "wraps around to mqtt", script: []string{"shop", "enter", "enter", "up", "enter", "n"},
			want: newcmd.Answers{Name: "shop", Module: "shop", Bridge: "mqtt"}},
		{name: "invalid name is refused, then fixed", script: []string{"my-shop", "enter", "backspace", "backspace", "backspace", "backspace", "backspace", "shop", "enter", "enter", "enter", "enter"},
			want: newcmd.Answers{Name: "myshop", Module: "myshop", Bridge: "memory"}},
		{name: "invalid name shows an example", script: []string{"1shop", "enter"}, wantError: `e.g. "shop"`},
		{name: "esc cancels", script: []string{"sh", "esc"}, cancelled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newcmd.NewPromptModel(newcmd.Answers{Bridge: "memory"}, all...)
			drive(t, m, keys(tt.script...))
			switch {
			case tt.cancelled:
				if !m.Cancelled() {
					t.Fatal("not cancelled")
				}
			case tt.wantError != "":
				if m.Done() || !strings.Contains(m.View().Content, tt.wantError) {
					t.Fatalf("done=%v, screen %q, want the error %q", m.Done(), m.View().Content, tt.wantError)
				}
			default:
				if !m.Done() || m.Answers() != tt.want {
					t.Fatalf("done=%v answers %+v, want %+v", m.Done(), m.Answers(), tt.want)
				}
			}
		})
	}
}

// TestNewInteractive runs `purista new` on a (simulated) terminal without arguments:
// the keys answer the prompt and the project's files appear.
func TestNewInteractive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ios, _, out, _ := iostreams.Test()
	ios.SetStdinTTY(true)
	ios.SetStdoutTTY(true)
	opts := &newcmd.Options{IO: ios, Dir: filepath.Join(dir, "shop"), Service: "Greeter", Answers: newcmd.Answers{Bridge: "memory"},
		Prompt:   scripted(t, "shop", "enter", "example.com/shop", "enter", "down", "down", "enter", "y"),
		Scaffold: root.NewFactory(ios).Scaffold}
	if err := newcmd.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "purista.yaml", "cmd/shop/main.go", "services/greeter/v1/greet.go", "services/greeter/v1/service/greet_test.go"} {
		if _, err := os.Stat(filepath.Join(dir, "shop", f)); err != nil {
			t.Errorf("missing %s: %v\n%s", f, err, out)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "shop", "purista.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"module: example.com/shop", "amqp://", "serverless:"} {
		if !strings.Contains(string(manifest), want) {
			t.Errorf("purista.yaml lacks %q:\n%s", want, manifest)
		}
	}
}

func TestNewNeverPromptsWithoutTerminal(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := iostreams.Test()
	opts := &newcmd.Options{IO: ios, Dir: t.TempDir(), Answers: newcmd.Answers{Bridge: "memory"}, Scaffold: root.NewFactory(ios).Scaffold,
		Prompt: func(context.Context, *iostreams.IOStreams, newcmd.Answers, ...newcmd.Question) (newcmd.Answers, error) {
			t.Fatal("prompted without a terminal")
			return newcmd.Answers{}, nil
		}}
	err := newcmd.Run(context.Background(), opts)
	if !cmdutil.IsUsageError(err) || !strings.Contains(err.Error(), "purista new shop") {
		t.Fatalf("err = %v, want a usage error with an example", err)
	}
}

func TestNewFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want newcmd.Options
	}{
		{name: "defaults", args: []string{"shop"},
			want: newcmd.Options{Answers: newcmd.Answers{Name: "shop", Bridge: "memory"}, Service: "Greeter"}},
		{name: "all flags", args: []string{"shop", "--module", "m.io/x", "--bridge", "nats", "--http", "--dry-run", "--force", "--dir", "d",
			"--framework", "fw", "--service", "Billing", "--no-prompt"},
			want: newcmd.Options{Answers: newcmd.Answers{Name: "shop", Module: "m.io/x", Bridge: "nats", HTTP: true}, BridgeSet: true, HTTPSet: true,
				Dir: "d", Framework: "fw", Service: "Billing", DryRun: true, Force: true, NoPrompt: true}},
		{name: "explicit default bridge counts as given", args: []string{"shop", "--bridge", "memory", "--http=false"},
			want: newcmd.Options{Answers: newcmd.Answers{Name: "shop", Bridge: "memory"}, BridgeSet: true, HTTPSet: true, Service: "Greeter"}},
		{name: "no name", want: newcmd.Options{Answers: newcmd.Answers{Bridge: "memory"}, Service: "Greeter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *newcmd.Options
			cmd := newcmd.NewCmdNew(&cmdutil.Factory{IOStreams: ios}, func(o *newcmd.Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.IO != ios {
				t.Errorf("IO is not the Factory's")
			}
			g := *got
			g.IO = nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("options\n got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

// TestRunPromptProgram runs the prompt in the real bubbletea runtime, with bytes as the
// keyboard (a carriage return is Enter) and a buffer as the screen. (The runtime may
// consume all keys before its first frame, so the screen is checked in TestPromptModel.)
func TestRunPromptProgram(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	var screen bytes.Buffer
	got, err := newcmd.RunPrompt(ctx, strings.NewReader("shop\rexample.com/shop\rj\ry"), &screen, newcmd.Answers{Bridge: "memory"},
		newcmd.AskName, newcmd.AskModule, newcmd.AskBridge, newcmd.AskHTTP)
	if err != nil {
		t.Fatal(err)
	}
	want := newcmd.Answers{Name: "shop", Module: "example.com/shop", Bridge: "nats", HTTP: true}
	if got != want {
		t.Fatalf("answers %+v, want %+v", got, want)
	}
}

// TestPromptPlaceholder checks that the text questions show their whole placeholder
// (the default) while nothing is typed.
func TestPromptPlaceholder(t *testing.T) {
	t.Parallel()
	m := newcmd.NewPromptModel(newcmd.Answers{Module: ""}, newcmd.AskName, newcmd.AskModule)
	if got := ansi.Strip(m.View().Content); !strings.Contains(got, "shop") {
		t.Errorf("name question shows %q, want the placeholder shop", got)
	}
	drive(t, m, keys("inventory", "enter"))
	if got := ansi.Strip(m.View().Content); !strings.Contains(got, "> inventory") {
		t.Errorf("module question shows %q, want the placeholder inventory (the name)", got)
	}
}
