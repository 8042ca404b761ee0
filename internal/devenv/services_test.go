package devenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// next waits for the first message at index >= from that match accepts and returns it
// and its index; what names it in the failure.
func (r *recorder) next(t *testing.T, from int, what string, match func(any) bool, d time.Duration) (any, int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		for i := from; i < len(r.msgs); i++ {
			if match(r.msgs[i]) {
				m := r.msgs[i]
				r.mu.Unlock()
				return m, i
			}
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v; output:\n%s", what, d, r.printed())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// between returns the messages from index from up to (not including) to.
func (r *recorder) between(from, to int) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs[from:min(to, len(r.msgs))])
}

func isRebuildReady(m any) bool { r, ok := m.(ReadyMsg); return ok && r.Rebuild }

func isServicesMsg(m any) bool { _, ok := m.(ServicesMsg); return ok }

// runningPIDs returns the PID of each unit's last "running" state in msgs.
func runningPIDs(msgs []any) map[string]int {
	pids := map[string]int{}
	for _, m := range msgs {
		if s, ok := m.(UnitStateMsg); ok && s.State == StateRunning {
			pids[s.Unit] = s.PID
		}
	}
	return pids
}

// TestRunnerFollowsServices: while Run watches, services added to, renamed in and
// removed from purista.yaml are followed: distributed, a process starts for each new
// service and the process of a removed one stops; the monolith restarts its one process.
// Each change is reported once as a ServicesMsg. An invalid purista.yaml (or one without
// services) is reported and the last valid set keeps running untouched until a fix.
func TestRunnerFollowsServices(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fake app")
	}
	type step struct {
		services       []string
		added, removed []string
	}
	steps := []step{
		{services: []string{"Fake", "Shipping"}, added: []string{"Shipping v1"}},
		{services: []string{"Fake", "Billing"}, added: []string{"Billing v1"}, removed: []string{"Shipping v1"}}, // a rename
		{services: []string{"Billing"}, removed: []string{"Fake v1"}},
	}
	invalid := []struct {
		name, content, want string
	}{
		{"broken yaml", "name: fake\nservices: [\n", "purista.yaml"},
		{"no services", "name: fake\nmodule: fake\nmain: ./cmd/fake\nservices: []\n", "lists no services"},
	}
	for _, distributed := range []bool{false, true} {
		t.Run(fmt.Sprintf("distributed=%v", distributed), func(t *testing.T) {
			root, m := fakeProject(t, false)
			save := func(names ...string) {
				t.Helper()
				next := *m
				next.Services = nil
				for _, n := range names {
					next.Services = append(next.Services, project.Service{Name: n, Version: "1", Path: "services/" + strings.ToLower(n) + "/v1"})
				}
				if err := project.Save(root, &next); err != nil {
					t.Fatal(err)
				}
			}
			rec := &recorder{}
			r := NewRunner(Options{Root: root, Manifest: m, Distributed: distributed, Watch: true, Debounce: 50 * time.Millisecond,
				Env: []string{"FAKE_MODE=serve"}, Grace: 5 * time.Second, BinaryPath: filepath.Join(t.TempDir(), "fake"), Sink: rec.sink})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runAsync(ctx, r)
			_, i := rec.next(t, 0, "first ReadyMsg", func(m any) bool { _, ok := m.(ReadyMsg); return ok }, time.Minute)
			current := runningPIDs(rec.between(0, i)) // unit → PID of the set that runs
			all := map[int]string{}                   // every PID seen → its unit
			for unit, pid := range current {
				all[pid] = unit
			}
			for _, st := range steps {
				before := current
				save(st.services...)
				msg, j := rec.next(t, i, "ServicesMsg", isServicesMsg, time.Minute)
				sm := msg.(ServicesMsg)
				wantUnits := []string{MonolithUnit}
				if distributed {
					wantUnits = st.services
				}
				if !slices.Equal(sm.Added, st.added) || !slices.Equal(sm.Removed, st.removed) || !slices.Equal(sm.Units, wantUnits) {
					t.Errorf("ServicesMsg added %v removed %v units %v, want %v %v %v", sm.Added, sm.Removed, sm.Units, st.added, st.removed, wantUnits)
				}
				_, i = rec.next(t, j, "ReadyMsg after the rebuild", isRebuildReady, time.Minute)
				if got := r.Units(); !slices.Equal(got, wantUnits) {
					t.Errorf("Units() = %v, want %v", got, wantUnits)
				}
				// Every old process stopped before the ServicesMsg, every unit of the
				// new set runs a new one.
				for unit, pid := range before {
					if pidAlive(pid) {
						t.Errorf("process %d of %s still runs after the change", pid, unit)
					}
				}
				after := runningPIDs(rec.between(j, i))
				current = after
				for _, u := range wantUnits {
					if after[u] == 0 || !pidAlive(after[u]) {
						t.Errorf("unit %s runs no process after the change (running: %v)", u, after)
					}
					all[after[u]] = u
				}
				if len(after) != len(wantUnits) {
					t.Errorf("processes started for %v, want %v", after, wantUnits)
				}
			}
			invalidFrom := i
			for _, bad := range invalid {
				if err := os.WriteFile(filepath.Join(root, project.FileName), []byte(bad.content), 0o644); err != nil {
					t.Fatal(err)
				}
				msg, j := rec.next(t, i, "error about "+bad.name, func(m any) bool { im, ok := m.(InfoMsg); return ok && im.Error }, time.Minute)
				text := msg.(InfoMsg).Text
				for _, w := range []string{bad.want, "keep running with the last valid set of services", "fix purista.yaml and save"} {
					if !strings.Contains(text, w) {
						t.Errorf("%s: error %q lacks %q", bad.name, text, w)
					}
				}
				for unit, pid := range current {
					if !pidAlive(pid) {
						t.Errorf("%s: process %d of %s stopped", bad.name, pid, unit)
					}
				}
				i = j + 1
			}
			for _, m := range rec.between(invalidFrom, i) {
				switch v := m.(type) {
				case BuildMsg:
					t.Errorf("built while purista.yaml was invalid: %+v", v)
				case UnitStateMsg:
					t.Errorf("a process changed while purista.yaml was invalid: %+v", v)
				}
			}
			save("Billing", "Fake") // the fix
			msg, j := rec.next(t, i, "ServicesMsg after the fix", isServicesMsg, time.Minute)
			if sm := msg.(ServicesMsg); !slices.Equal(sm.Added, []string{"Fake v1"}) || len(sm.Removed) != 0 {
				t.Errorf("after the fix added %v removed %v, want [Fake v1] []", sm.Added, sm.Removed)
			}
			_, i = rec.next(t, j, "ReadyMsg after the fix", isRebuildReady, time.Minute)
			for unit, pid := range runningPIDs(rec.between(j, i)) {
				all[pid] = unit
			}
			cancel()
			if err := waitErr(t, errc, 30*time.Second); err != nil {
				t.Errorf("Run() = %v", err)
			}
			for pid, unit := range all {
				if pidAlive(pid) {
					t.Errorf("process %d of %s still alive after teardown", pid, unit)
				}
			}
		})
	}
}

// TestUnitsFor: distributed, one unit per service name; kept units stay the same slot;
// a new unit gets the profile's port + its position, or the next port no unit uses.
func TestUnitsFor(t *testing.T) {
	svcs := func(names ...string) *project.Manifest {
		m := &project.Manifest{}
		for _, n := range names {
			m.Services = append(m.Services, project.Service{Name: n, Version: "1"})
		}
		return m
	}
	type want struct{ name, http string }
	tests := []struct {
		name        string
		distributed bool
		httpAddr    string
		start, next *project.Manifest
		want        []want
	}{
		{"monolith keeps its unit", false, "127.0.0.1:8080", svcs("A"), svcs("A", "B"), []want{{MonolithUnit, "127.0.0.1:8080"}}},
		{"added at the end", true, "127.0.0.1:8080", svcs("A", "B"), svcs("A", "B", "C"),
			[]want{{"A", "127.0.0.1:8080"}, {"B", "127.0.0.1:8081"}, {"C", "127.0.0.1:8082"}}},
		{"removed in the middle, added: next free port", true, "127.0.0.1:8080", svcs("A", "B", "C"), svcs("A", "C", "D"),
			[]want{{"A", "127.0.0.1:8080"}, {"C", "127.0.0.1:8082"}, {"D", "127.0.0.1:8083"}}},
		{"renamed takes the free port", true, "127.0.0.1:8080", svcs("A", "B"), svcs("A", "Z"),
			[]want{{"A", "127.0.0.1:8080"}, {"Z", "127.0.0.1:8081"}}},
		{"two versions, one process", true, "", svcs("A"), &project.Manifest{Services: []project.Service{{Name: "A", Version: "1"}, {Name: "A", Version: "2"}, {Name: "B", Version: "1"}}},
			[]want{{"A", ""}, {"B", ""}}},
		{"no numeric port", true, "localhost:http", svcs("A"), svcs("A", "B"), []want{{"A", "localhost:http"}, {"B", "localhost:http"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRunner(Options{Manifest: tt.start, Distributed: tt.distributed, HTTPAddr: tt.httpAddr})
			old := r.units
			got := r.unitsFor(tt.next, old)
			var gw []want
			for _, u := range got {
				gw = append(gw, want{u.name, u.fixedHTTP})
				for _, o := range old {
					if o.name == u.name && o != u {
						t.Errorf("unit %s is a new slot, want the kept one", u.name)
					}
				}
			}
			if !slices.Equal(gw, tt.want) {
				t.Errorf("units %v, want %v", gw, tt.want)
			}
		})
	}
}

// TestServicesMsgShown: the TUI's Services table and process rows and the headless
// output (text and JSON) follow a ServicesMsg; rows that stay keep their counters, the
// commands of a removed service leave the invoke dialog.
func TestServicesMsgShown(t *testing.T) {
	change := ServicesMsg{
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Shipping", Version: "1"}},
		Added:    []string{"Shipping v1"}, Removed: []string{"Email v1"},
	}
	for _, distributed := range []bool{false, true} {
		t.Run(fmt.Sprintf("distributed=%v", distributed), func(t *testing.T) {
			units, next := []string{MonolithUnit}, []string{MonolithUnit}
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
				return RunnerMsg{UnitEventMsg{Unit: unit, Event: runtime.Event{Type: "state", Service: svc, State: "ready",
					Commands: []framework.CommandInfo{{Service: svc, Version: "1", Name: cmd}}}}}
			}
			msgs := []tea.Msg{RunnerMsg{UnitStateMsg{Unit: units[0], State: StateRunning, PID: 4242}},
				ready(units[0], "User", "signUp"), ready(units[len(units)-1], "Email", "sendWelcome"),
				RunnerMsg{UnitEventMsg{Unit: units[0], Event: runtime.Event{Type: "record", Time: time.Now(),
					Record: &framework.Record{Kind: "command", To: wire.Address{ServiceName: "User", ServiceTarget: "signUp"}, Status: 200}}}},
				key("s"), key("s"), // log filter on Email
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

	var text, lines strings.Builder
	NewPrinter(&text, false, []string{MonolithUnit}).Sink(change)
	if want := "dev  | services changed (added Shipping v1; removed Email v1): now User, Shipping\n"; text.String() != want {
		t.Errorf("headless line %q, want %q", text.String(), want)
	}
	c := change
	c.Units = []string{MonolithUnit}
	NewPrinter(&lines, true, nil).Sink(c)
	var got map[string]any
	if err := json.Unmarshal([]byte(lines.String()), &got); err != nil {
		t.Fatalf("JSON line %q: %v", lines.String(), err)
	}
	if got["kind"] != "services" || fmt.Sprint(got["services"]) != "[map[name:User version:1] map[name:Shipping version:1]]" ||
		fmt.Sprint(got["added"]) != "[Shipping v1]" || fmt.Sprint(got["removed"]) != "[Email v1]" || fmt.Sprint(got["units"]) != "[app]" {
		t.Errorf("JSON line %s", lines.String())
	}
}
