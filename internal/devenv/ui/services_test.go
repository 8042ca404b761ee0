package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestServicesMsgShown: the TUI's Services table and process rows follow a
// ServicesMsg; rows that stay keep their counters, the commands of a removed service
// leave the invoke dialog.
func TestServicesMsgShown(t *testing.T) {
	change := devmsg.ServicesMsg{
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Shipping", Version: "1"}},
		Added:    []string{"Shipping v1"}, Removed: []string{"Email v1"},
	}
	for _, distributed := range []bool{false, true} {
		t.Run(fmt.Sprintf("distributed=%v", distributed), func(t *testing.T) {
			units, next := []string{devmsg.MonolithUnit}, []string{devmsg.MonolithUnit}
			if distributed {
				units, next = []string{"User", "Email"}, []string{"User", "Shipping"}
			}
			c := change
			c.Units = next
			m := NewModel(ModelOptions{Project: "signup", Mode: "test", Units: units, NoColor: true,
				Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Email", Version: "1"}}})
			nm, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
			m = nm.(Model)
			ready := func(unit, svc, cmd string) tea.Msg {
				return RunnerMsg{devmsg.UnitEventMsg{Unit: unit, Event: runtime.Event{Type: "state", Service: svc, State: "ready",
					Commands: []framework.CommandInfo{{Service: svc, Version: "1", Name: cmd}}}}}
			}
			msgs := []tea.Msg{RunnerMsg{devmsg.UnitStateMsg{Unit: units[0], State: devmsg.StateRunning, PID: 4242}},
				ready(units[0], "User", "signUp"), ready(units[len(units)-1], "Email", "sendWelcome"),
				RunnerMsg{devmsg.UnitEventMsg{Unit: units[0], Event: runtime.Event{Type: "record", Time: time.Now(),
					Record: &app.Record{Kind: "command", To: wire.Address{ServiceName: "User", ServiceTarget: "signUp"}, Status: 200}}}},
				press("s"), press("s"), // log filter on Email
				RunnerMsg{c}}
			for _, msg := range msgs {
				nm, _ := m.Update(msg)
				m = nm.(Model)
			}
			s := screen(m)
			for _, w := range []string{"Shipping     1    pending", "User         1    ready", "services changed (added Shipping v1; removed Email v1): now User, Shipping"} {
				if !strings.Contains(s, w) {
					t.Errorf("screen lacks %q:\n%s", w, s)
				}
			}
			if strings.Contains(s, "Email        1") {
				t.Errorf("screen still lists Email:\n%s", s)
			}
			if row := m.service("User"); row == nil || row.invokes != 1 {
				t.Errorf("User row %+v, want its invocation kept", row)
			}
			var rows []string
			for _, u := range m.units {
				rows = append(rows, u.name)
			}
			if !slices.Equal(rows, next) {
				t.Errorf("process rows %v, want %v", rows, next)
			}
			if m.units[0].pid != 4242 {
				t.Errorf("kept row lost its PID: %+v", m.units[0])
			}
			if len(m.commands) != 1 || m.commands[0].Name != "signUp" {
				t.Errorf("commands %+v, want only signUp", m.commands)
			}
			if m.logService != "" {
				t.Errorf("log filter %q, want all services after Email left", m.logService)
			}
		})
	}
}

// TestInvokesCountCommandCalls: the Services table's INVOKES, ERRORS and P50 count the
// calls of a service's commands; a subscription delivery to the service is not one.
func TestInvokesCountCommandCalls(t *testing.T) {
	c := &clock{t: goldenT0.Add(time.Minute)}
	record := func(kind, target string, status int) tea.Msg {
		return RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "record", Time: goldenT0,
			Record: &app.Record{Kind: kind, From: addr("User", "signUp"), To: addr("Email", target), Status: status,
				Latency: time.Millisecond}}}}
	}
	m := goldenModel(t, c) // one call of Email.sendWelcome
	m = send(t, m, record("subscription", "onUserSignedUp", 200), record("subscription", "onUserSignedUp", 500),
		record("event", "", 0))
	if s := m.service("Email"); s == nil || s.invokes != 1 || s.errors != 0 || len(s.lat) != 1 {
		t.Fatalf("Email row %+v, want 1 invoke, 0 errors, 1 latency (its one command call)", s)
	}
	m = send(t, m, record("command", "sendWelcome", 500))
	if s := m.service("Email"); s.invokes != 2 || s.errors != 1 || len(s.lat) != 2 {
		t.Errorf("Email row %+v after a failed command call, want 2 invokes, 1 error, 2 latencies", s)
	}
}
