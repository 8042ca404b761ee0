package devenv

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/internal/scaffold"
)

// TestHeadlessE2E runs the real `purista dev --no-tui` on a copy of examples/signup:
// invoke, a compile error (old process keeps answering), an edit of a handler (new
// behaviour after the rebuild), SIGTERM, and no process left behind.
func TestHeadlessE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and the example")
	}
	bin := buildPurista(t)
	proj := copyTree(t)
	tree := filepath.Dir(filepath.Dir(proj))
	cmd := exec.Command(bin, "dev", "--no-tui", "--grace", "5s")
	cmd.Dir = proj
	out := startGroup(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	_, i := out.wait(t, 0, "all services ready in", 2*time.Minute)
	line, _ := out.wait(t, 0, "running pid=", time.Second)
	addr := strings.TrimSuffix(strings.TrimPrefix(field(line, "http"), "http://"), "/api")
	invoke := func(addr string) string {
		t.Helper()
		res, err := runtime.InvokeHTTP(ctx, addr, "User", "1", "signUp", json.RawMessage(`{"email":"bob@example.com","name":"Bob"}`))
		if err != nil {
			t.Fatalf("invoke at %s: %v", addr, err)
		}
		var o struct{ ID string }
		if err := json.Unmarshal(res, &o); err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	if id := invoke(addr); len(id) != 32 {
		t.Fatalf("id %q, want 32 hex", id)
	}
	out.wait(t, i, "msg command User.signUp → Email.sendWelcome 200", 5*time.Second)

	svc := filepath.Join(proj, "services/user/v1/service/service.go")
	orig, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc, append(append([]byte(nil), orig...), []byte("\nfunc broken() { undefinedThing() }\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, i = out.wait(t, i, "build failed (the previous process keeps running)", time.Minute)
	out.wait(t, i, "undefinedThing", time.Second)
	if id := invoke(addr); len(id) != 32 {
		t.Fatalf("after a compile error the old process answered %q", id)
	}

	edited := strings.Replace(string(orig), "ID: userID(in.Email)", `ID: "edited-" + in.Name`, 1)
	if edited == string(orig) {
		t.Fatal("the handler to edit has changed; update this test")
	}
	if err := os.WriteFile(svc, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, i = out.wait(t, i, ": rebuilding", time.Minute)
	line, _ = out.wait(t, i, "restarted: all services ready in", time.Minute)
	t.Logf("save → restarted and ready: %s", line)
	line, _ = out.wait(t, i, "running pid=", time.Second)
	addr = strings.TrimSuffix(strings.TrimPrefix(field(line, "http"), "http://"), "/api")
	if id := invoke(addr); id != "edited-Bob" {
		t.Fatalf("after the edit signUp answered id %q, want edited-Bob", id)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("purista dev exited with %v after SIGTERM\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("purista dev did not exit within 30s of SIGTERM")
	}
	<-out.done
	out.wait(t, 0, "stopped", time.Second)
	if pids := processesMentioning(tree); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
	}
}

// TestDevFollowsServicesE2E runs the real `purista dev --no-tui` (monolith, and
// --distributed on an embedded NATS) on a project made by the scaffold code. While it
// runs, a service with a command is added the way `purista add` does it; the test waits
// until the new command answers. Then the service is removed again; the test waits until
// it is gone: its process stopped (distributed) or its command unknown (monolith).
func TestDevFollowsServicesE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and a generated project")
	}
	bin := buildPurista(t)
	tests := []struct {
		name string
		args []string
		unit func(service string) string // the unit that runs a service
	}{
		{"monolith", nil, func(string) string { return devmsg.MonolithUnit }},
		{"distributed", []string{"--distributed", "--broker", "nats", "--no-containers"}, func(s string) string { return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := scaffoldProject(t, "shop")
			mainGo := filepath.Join(root, "cmd", "shop", "main.go")
			origMain, err := os.ReadFile(mainGo)
			if err != nil {
				t.Fatal(err)
			}
			d := startDev(t, bin, root, tt.args...)
			_, i := d.out.wait(t, 0, "all services ready in", 3*time.Minute)
			if got := d.invokeUntil(t, tt.unit("Greeter"), "Greeter", "greet"); !strings.Contains(got, "Hello, Bob!") {
				t.Fatalf("Greeter.greet = %s", got)
			}

			applyPlan(t)(scaffold.AddService(root, "Shipping", ""))
			applyPlan(t)(scaffold.AddCommand(root, "Shipping", "ship", "", false))
			_, i = d.out.wait(t, i, "services changed (added Shipping v1): now Greeter, Shipping", 2*time.Minute)
			if got := d.invokeUntil(t, tt.unit("Shipping"), "Shipping", "ship"); !strings.Contains(got, "Hello, Bob!") {
				t.Fatalf("Shipping.ship = %s", got)
			}
			shippingPID := d.runningPID(tt.unit("Shipping"))

			m, err := project.Load(root)
			if err != nil {
				t.Fatal(err)
			}
			m.Services = slices.DeleteFunc(m.Services, func(s project.Service) bool { return s.Name == "Shipping" })
			if err := project.Save(root, m); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(mainGo, origMain, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(root, "services", "shipping")); err != nil {
				t.Fatal(err)
			}
			_, i = d.out.wait(t, i, "services changed (removed Shipping v1): now Greeter", 2*time.Minute)
			d.out.wait(t, i, "restarted: all services ready in", 2*time.Minute)
			if tt.unit("Shipping") != devmsg.MonolithUnit {
				d.out.wait(t, 0, "Shipping | stopped pid="+strconv.Itoa(shippingPID), time.Second)
				if devtest.PIDAlive(shippingPID) {
					t.Errorf("the process %d of the removed Shipping still runs", shippingPID)
				}
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := runtime.InvokeHTTP(ctx, d.httpAddr(devmsg.MonolithUnit), "Shipping", "1", "ship", json.RawMessage(`{"name":"Bob"}`))
				var ie *runtime.InvokeError
				if !errors.As(err, &ie) {
					t.Errorf("Shipping.ship after its removal = %v, want an error answer", err)
				}
			}
			if got := d.invokeUntil(t, tt.unit("Greeter"), "Greeter", "greet"); !strings.Contains(got, "Hello, Bob!") {
				t.Fatalf("Greeter.greet after the removal = %s", got)
			}
			d.stop(t)
		})
	}
}
