package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/wire"
)

type fakeInvoker struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeInvoker) Invoke(_ context.Context, svc, ver, cmd string, payload json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, svc+"/"+ver+"/"+cmd+" "+string(payload))
	if strings.Contains(string(payload), "long") {
		return nil, &runtime.InvokeError{Status: 404, Message: `{"type":"about:blank","title":"Not Found","status":404,` +
			`"detail":"no endpoint at this path","instance":"/api/User/v1/signUp","hint":"GET /api lists the commands of this process"}`}
	}
	if strings.Contains(string(payload), "invalid") {
		return nil, &runtime.InvokeError{Status: 422, Message: "mailbox does not exist", TraceID: "9e2d4c1b7a6f48e0b3c5d7f9a1e2c4b6"}
	}
	return json.RawMessage(`{"id":"42","email":"a@example.com"}`), nil
}

// press turns a key name ("enter", "ctrl+s", "a") into a key press.
func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// send feeds msgs to m and runs the command of an invoke (ctrl+s), as the runtime would.
func send(t *testing.T, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		nm, cmd := m.Update(msg)
		m = nm.(Model)
		// Only the send key's command is run: others are cursor blinks that wait.
		if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "ctrl+s" && cmd != nil {
			if out, ok := cmd().(invokeResultMsg); ok {
				nm, _ = m.Update(out)
				m = nm.(Model)
			}
		}
	}
	return m
}

// clearEditor deletes the prefilled payload of the invoke dialog.
func clearEditor() []tea.Msg {
	return slices.Repeat([]tea.Msg{press("backspace")}, 100)
}

func typeText(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, press(string(r)))
	}
	return out
}

func screen(m Model) string { return ansi.Strip(m.View().Content) }

func signupModel(t *testing.T, inv Invoker) Model {
	m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", Units: []string{devmsg.MonolithUnit},
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Email", Version: "1"}}, Invoker: inv, NoColor: true})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m = nm.(Model)
	now := time.Now()
	rec := func(kind, from, fromT, to, toT string, status int) tea.Msg {
		return RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "record", Time: now, Record: &app.Record{
			Kind: kind, From: wire.Address{ServiceName: from, ServiceTarget: fromT}, To: wire.Address{ServiceName: to, ServiceTarget: toT},
			Status: status, Latency: time.Millisecond, TraceID: "t1"}}}}
	}
	return send(t, m,
		RunnerMsg{devmsg.UnitStateMsg{Unit: devmsg.MonolithUnit, State: devmsg.StateRunning, PID: 4242}},
		RunnerMsg{devmsg.HealthMsg{Unit: devmsg.MonolithUnit, OK: true}},
		RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "state", Service: "User", State: "ready",
			Commands: []framework.CommandInfo{{Service: "User", Version: "1", Name: "signUp", Example: json.RawMessage(`{"email":"alice@example.com","name":"Alice"}`)}}}}},
		RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "state", Service: "Email", State: "ready",
			Commands: []framework.CommandInfo{{Service: "Email", Version: "1", Name: "sendWelcome",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"email":{"type":"string"},"name":{"type":"string"}}}`)}}}}},
		rec("command", "User", "signUp", "Email", "sendWelcome", 200),
		rec("command", "client", "invoke", "User", "signUp", 200),
		rec("command", "client", "invoke", "User", "signUp", 500),
		RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "log", Time: now, Level: "INFO", Service: "Email", Message: "welcome e-mail sent"}}},
		RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "log", Time: now, Level: "DEBUG", Service: "User", Message: "debug detail"}}},
	)
}

func TestModelScreen(t *testing.T) {
	tests := []struct {
		name    string
		keys    []tea.Msg
		want    []string
		notWant []string
	}{
		{"overview", nil,
			[]string{"purista dev · signup · monolith · memory", "app", "4242", "running", "User", "Email",
				"User.signUp → Email.sendWelcome 200", "welcome e-mail sent", "Logs (all services, ≥INFO, follow)"},
			[]string{"debug detail"}},
		{"services counts", nil, []string{"User         1    ready     ok             2       1"}, nil},
		{"filter", append([]tea.Msg{press("/")}, append(typeText("sendwel"), press("enter"))...),
			[]string{"Messages (filter: sendwel)", "User.signUp → Email.sendWelcome"}, []string{"client.invoke → User.signUp"}},
		{"filter cleared with esc", append(append([]tea.Msg{press("/")}, typeText("sendwel")...), press("esc")),
			[]string{"client.invoke → User.signUp"}, []string{"filter:"}},
		{"log level", []tea.Msg{press("l"), press("l"), press("l")}, []string{"≥DEBUG", "debug detail"}, nil},
		{"log service", []tea.Msg{press("s"), press("s")}, []string{"Logs (Email,", "welcome e-mail sent"}, nil},
		{"follow off", []tea.Msg{press("f")}, []string{"paused"}, nil},
		{"help", []tea.Msg{press("?")}, []string{"purista dev — keys", "invoke a command"}, []string{"RESTARTS"}},
		{"help closes", []tea.Msg{press("?"), press("x")}, []string{"RESTARTS"}, []string{"purista dev — keys"}},
		{"build error", []tea.Msg{RunnerMsg{devmsg.BuildMsg{Err: "./service.go:3:1: syntax error"}}},
			[]string{"build failed — the previous process keeps running", "syntax error", "4242"}, nil},
		{"first build error", []tea.Msg{RunnerMsg{devmsg.BuildMsg{Err: "./service.go:3:1: syntax error", Idle: true, Watch: true}}},
			[]string{"build failed; fix the error and save to rebuild:", "syntax error"}, []string{"previous process"}},
		{"build cancelled", []tea.Msg{RunnerMsg{devmsg.BuildMsg{Cancelled: true}}},
			[]string{"build cancelled"}, []string{"build failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := send(t, signupModel(t, &fakeInvoker{}), tt.keys...)
			s := screen(m)
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("screen lacks %q:\n%s", w, s)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(s, w) {
					t.Errorf("screen has %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestInvokeDialog(t *testing.T) {
	tests := []struct {
		name      string
		keys      []tea.Msg
		wantCall  string
		wantOnScr []string
	}{
		{"example payload", []tea.Msg{press("i"), press("down"), press("enter"), press("ctrl+s")},
			`User/1/signUp {"email":"alice@example.com","name":"Alice"}`, []string{"ok", `"id": "42"`}},
		{"schema skeleton", []tea.Msg{press("i"), press("enter"), press("ctrl+s")},
			`Email/1/sendWelcome {"email":"","name":""}`, []string{"ok"}},
		{"error answer", append([]tea.Msg{press("i"), press("enter")}, append(typeText(`invalid`), press("ctrl+s"))...),
			"", []string{"payload is not valid JSON"}},
		{"picker lists commands", []tea.Msg{press("i")}, "", []string{"Invoke a command", "Email.sendWelcome", "User.signUp"}},
		{"esc closes", []tea.Msg{press("i"), press("esc")}, "", []string{"Processes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &fakeInvoker{}
			m := send(t, signupModel(t, inv), tt.keys...)
			s := screen(m)
			compact := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if tt.wantCall != "" {
				if len(inv.calls) != 1 || compact(inv.calls[0]) != compact(tt.wantCall) {
					t.Errorf("calls = %q, want %q", inv.calls, tt.wantCall)
				}
			} else if len(inv.calls) != 0 {
				t.Errorf("unexpected calls %q", inv.calls)
			}
			for _, w := range tt.wantOnScr {
				if !strings.Contains(s, w) {
					t.Errorf("screen lacks %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		t.Run(k, func(t *testing.T) {
			nm, cmd := signupModel(t, &fakeInvoker{}).Update(press(k))
			if !nm.(Model).Quitting() || cmd == nil {
				t.Fatalf("%s did not quit", k)
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Errorf("%s: command is not tea.Quit", k)
			}
		})
	}
}

func TestResize(t *testing.T) {
	m := send(t, signupModel(t, &fakeInvoker{}), tea.WindowSizeMsg{Width: 40, Height: 12})
	lines := strings.Split(screen(m), "\n")
	if len(lines) > 12 {
		t.Errorf("%d lines on a 12-line terminal", len(lines))
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 40 {
			t.Errorf("line %q is %d cells wide on a 40-cell terminal", l, w)
		}
	}
}

// TestTUIMessagesInTimeOrder: records reach the TUI in the order their processes write
// them (a call when it ends); the message list shows them in the order of their times.
func TestTUIMessagesInTimeOrder(t *testing.T) {
	tests := []struct {
		name    string
		arrival []int // milliseconds after goldenT0, in arrival order
		limit   int
		want    []int
	}{
		{"seen in the issue", []int{86, 87, 85, 90}, maxRecords, []int{85, 86, 87, 90}},
		{"already in order", []int{1, 2, 3}, maxRecords, []int{1, 2, 3}},
		{"reversed", []int{3, 2, 1}, maxRecords, []int{1, 2, 3}},
		{"cap drops the oldest", []int{5, 1, 4, 2, 3}, 3, []int{3, 4, 5}},
		{"older than all kept is dropped at the cap", []int{5, 6, 7, 1}, 3, []int{5, 6, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows []recordRow
			for _, ms := range tt.arrival {
				rows = insertByTime(rows, recordRow{at: goldenT0.Add(time.Duration(ms) * time.Millisecond)}, tt.limit)
			}
			var got []int
			for _, r := range rows {
				got = append(got, int(r.at.Sub(goldenT0)/time.Millisecond))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("order %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("screen", func(t *testing.T) {
		m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", NoColor: true})
		for i, ms := range []int{1, 2, 0, 5} { // goldenT0 is at .085

			m = send(t, m, goldenRecord(ms, addr("client", "invoke"), addr("User", fmt.Sprintf("cmd%d", i)), 200, time.Millisecond, ""))
		}
		s := screen(m)
		var at []int
		for _, w := range []string{".085 ", ".086 ", ".087 ", ".090 "} {
			at = append(at, strings.Index(s, w))
		}
		if !slices.IsSorted(at) || at[0] < 0 {
			t.Errorf("times not in order (positions %v):\n%s", at, s)
		}
	})
}

// TestTUIInvokeTrace: the invoke dialog shows the trace id of its call: an error answer
// carries it; for a success it is the trace of the first record of a call to that
// command that started after the send, whether it arrives before or after the answer.
func TestTUIInvokeTrace(t *testing.T) {
	const mine, older = "5c3a8e1d9f0b4a7c8e2d6b1a3f9c7e05", "11111111111111111111111111111111"
	sendKeys := []tea.Msg{press("i"), press("down"), press("enter")}
	rec := func(ms int, to, trace string) tea.Msg {
		return goldenRecord(ms, addr("client", "invoke"), addr("User", to), 200, time.Millisecond, trace)
	}
	tests := []struct {
		name      string
		before    []tea.Msg // fed before the send key (the clock is at goldenT0+60s)
		payload   string
		after     []tea.Msg // fed after the answer
		want      string
		wantNoTrc bool
	}{
		{"record after the answer", nil, "", []tea.Msg{rec(60_020, "signUp", mine)}, "trace " + mine, false},
		{"an earlier call is not ours", []tea.Msg{rec(59_000, "signUp", older)}, "", []tea.Msg{rec(60_020, "signUp", mine)}, "trace " + mine, false},
		{"a call to another command is not ours", nil, "", []tea.Msg{rec(60_010, "other", older), rec(60_020, "signUp", mine)}, "trace " + mine, false},
		{"no record yet", []tea.Msg{rec(59_000, "signUp", older)}, "", nil, "", true},
		{"error answer", nil, `{"invalid":true}`, nil, "trace 9e2d4c1b7a6f48e0b3c5d7f9a1e2c4b6", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: goldenT0.Add(time.Minute)}
			m := goldenModel(t, c)
			m = send(t, m, tt.before...)
			m = send(t, m, sendKeys...)
			if tt.payload != "" {
				m = send(t, m, clearEditor()...)
				m = send(t, m, typeText(tt.payload)...)
			}
			m = send(t, m, press("ctrl+s"))
			m = send(t, m, tt.after...)
			s := screen(m)
			if tt.want != "" && !strings.Contains(s, tt.want) {
				t.Errorf("dialog lacks %q:\n%s", tt.want, s)
			}
			if strings.Contains(s, older) {
				t.Errorf("dialog shows the trace of another call:\n%s", s)
			}
			if tt.wantNoTrc && strings.Contains(s, "trace ") {
				t.Errorf("dialog shows a trace before its call was recorded:\n%s", s)
			}
		})
	}
}

// TestTUIBuildTick: while a build runs the title counts its seconds, redrawn by one
// tick a second that stops with the build; a tick of an earlier build does not go on.
func TestTUIBuildTick(t *testing.T) {
	c := &clock{t: goldenT0}
	m := NewModel(ModelOptions{Project: "signup", Mode: "monolith · memory", NoColor: true, Now: c.now, BuildTick: time.Millisecond})
	update := func(msg tea.Msg) tea.Cmd {
		t.Helper()
		nm, cmd := m.Update(msg)
		m = nm.(Model)
		return cmd
	}
	tickOf := func(cmd tea.Cmd) buildTickMsg {
		t.Helper()
		if cmd == nil {
			t.Fatal("no tick scheduled")
		}
		tick, ok := cmd().(buildTickMsg) // tea.Tick's command waits BuildTick
		if !ok {
			t.Fatal("the command is not a build tick")
		}
		return tick
	}
	first := tickOf(update(RunnerMsg{devmsg.BuildMsg{Started: true}}))
	c.t = goldenT0.Add(3 * time.Second)
	next := tickOf(update(first))
	if s := screen(m); !strings.Contains(s, "building… 3s") {
		t.Errorf("title lacks the elapsed time:\n%s", s)
	}
	if cmd := update(RunnerMsg{devmsg.BuildMsg{Took: time.Second}}); cmd != nil {
		t.Error("the end of a build schedules a tick")
	}
	if cmd := update(next); cmd != nil {
		t.Error("a tick after the build ended schedules another")
	}
	second := tickOf(update(RunnerMsg{devmsg.BuildMsg{Started: true, Files: []string{"a.go"}}}))
	if cmd := update(first); cmd != nil {
		t.Error("a tick of the earlier build goes on during the next one")
	}
	if cmd := update(second); cmd == nil {
		t.Error("the running build's tick stopped")
	}
}
