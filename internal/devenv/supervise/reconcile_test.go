package supervise

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/project"
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

func isRebuildReady(m any) bool { r, ok := m.(devmsg.ReadyMsg); return ok && r.Rebuild }

func isServicesMsg(m any) bool { _, ok := m.(devmsg.ServicesMsg); return ok }

// runningPIDs returns the PID of each unit's last "running" state in msgs.
func runningPIDs(msgs []any) map[string]int {
	pids := map[string]int{}
	for _, m := range msgs {
		if s, ok := m.(devmsg.UnitStateMsg); ok && s.State == devmsg.StateRunning {
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
			_, i := rec.next(t, 0, "first ReadyMsg", func(m any) bool { _, ok := m.(devmsg.ReadyMsg); return ok }, time.Minute)
			current := runningPIDs(rec.between(0, i)) // unit → PID of the set that runs
			all := map[int]string{}                   // every PID seen → its unit
			for unit, pid := range current {
				all[pid] = unit
			}
			for _, st := range steps {
				before := current
				save(st.services...)
				msg, j := rec.next(t, i, "ServicesMsg", isServicesMsg, time.Minute)
				sm := msg.(devmsg.ServicesMsg)
				wantUnits := []string{devmsg.MonolithUnit}
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
					if devtest.PIDAlive(pid) {
						t.Errorf("process %d of %s still runs after the change", pid, unit)
					}
				}
				after := runningPIDs(rec.between(j, i))
				current = after
				for _, u := range wantUnits {
					if after[u] == 0 || !devtest.PIDAlive(after[u]) {
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
				msg, j := rec.next(t, i, "error about "+bad.name, func(m any) bool { im, ok := m.(devmsg.InfoMsg); return ok && im.Error }, time.Minute)
				text := msg.(devmsg.InfoMsg).Text
				for _, w := range []string{bad.want, "keep running with the last valid set of services", "fix purista.yaml and save"} {
					if !strings.Contains(text, w) {
						t.Errorf("%s: error %q lacks %q", bad.name, text, w)
					}
				}
				for unit, pid := range current {
					if !devtest.PIDAlive(pid) {
						t.Errorf("%s: process %d of %s stopped", bad.name, pid, unit)
					}
				}
				i = j + 1
			}
			for _, m := range rec.between(invalidFrom, i) {
				switch v := m.(type) {
				case devmsg.BuildMsg:
					t.Errorf("built while purista.yaml was invalid: %+v", v)
				case devmsg.UnitStateMsg:
					t.Errorf("a process changed while purista.yaml was invalid: %+v", v)
				}
			}
			save("Billing", "Fake") // the fix
			msg, j := rec.next(t, i, "ServicesMsg after the fix", isServicesMsg, time.Minute)
			if sm := msg.(devmsg.ServicesMsg); !slices.Equal(sm.Added, []string{"Fake v1"}) || len(sm.Removed) != 0 {
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
				if devtest.PIDAlive(pid) {
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
		{"monolith keeps its unit", false, "127.0.0.1:8080", svcs("A"), svcs("A", "B"), []want{{devmsg.MonolithUnit, "127.0.0.1:8080"}}},
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
