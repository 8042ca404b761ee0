package supervise

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/headless"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// fakeApp is a tiny stand-in for a project binary (standard library only, so it builds
// in a second). FAKE_MODE picks its behaviour:
//
//	exit     writes "invalid service definition" to stderr and exits 2 at once;
//	leak     prints PURISTA_BRIDGE to stdout and, in an error, to stderr and exits 1;
//	serve    answers /readyz on PURISTA_HEALTH_ADDR and exits 0 on SIGTERM;
//	stubborn like serve, but ignores SIGTERM (the runner has to kill it).
const fakeApp = `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	switch os.Getenv("FAKE_MODE") {
	case "exit":
		fmt.Fprintln(os.Stderr, "invalid service definition")
		os.Exit(2)
	case "leak":
		fmt.Println("connecting to", os.Getenv("PURISTA_BRIDGE"))
		fmt.Fprintln(os.Stderr, "Error: dial", os.Getenv("PURISTA_BRIDGE"), "refused")
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	if os.Getenv("FAKE_MODE") == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sig, syscall.SIGTERM)
	}
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, ` + "`" + `{"status":"ok"}` + "`" + `)
	})
	go func() { _ = http.ListenAndServe(os.Getenv("PURISTA_HEALTH_ADDR"), nil) }()
	<-sig
}
`

// fakeProject writes a project with the fake app (or, broken, a compile error) and its
// purista.yaml, and returns its root and manifest.
func fakeProject(t *testing.T, broken bool) (string, *project.Manifest) {
	t.Helper()
	root := t.TempDir()
	src := fakeApp
	if broken {
		src = "package main\n\nfunc main() { undefinedThing() }\n"
	}
	files := map[string]string{"go.mod": "module fake\n\ngo 1.26\n", "cmd/fake/main.go": src}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &project.Manifest{Name: "fake", Module: "fake", Main: "./cmd/fake",
		Services: []project.Service{{Name: "Fake", Version: "1", Path: "services/fake/v1"}}}
	if err := project.Save(root, m); err != nil { // read again on every change
		t.Fatal(err)
	}
	return root, m
}

// recorder collects runner messages.
type recorder struct {
	mu   sync.Mutex
	msgs []any
}

func (r *recorder) sink(m any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

// printed renders the messages as the headless printer does.
func (r *recorder) printed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	p := headless.NewPrinter(&b, headless.Options{Units: []string{devmsg.MonolithUnit}})
	for _, m := range r.msgs {
		p.Sink(m)
	}
	return b.String()
}

// waitFor polls until the printed output contains want.
func (r *recorder) waitFor(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(r.printed(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q within %v; output:\n%s", want, d, r.printed())
}

// runAsync runs the runner and returns its result channel.
func runAsync(ctx context.Context, r *Runner) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	return errc
}

func waitErr(t *testing.T, errc <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

// TestRunnerAppExit: an app that exits at start-up ends Run with its error when nothing
// watches; with watch on, Run says so and keeps waiting for a change.
func TestRunnerAppExit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fake app")
	}
	tests := []struct {
		name     string
		watch    bool
		wantErr  string // "" means Run keeps running until cancelled and returns nil
		wantLine string
	}{
		{name: "no watch exits with the app's error", watch: false,
			wantErr: "app exited with code 2:\ninvalid service definition", wantLine: "exited pid="},
		{name: "watch waits for a change", watch: true,
			wantLine: "app exited with code 2; waiting for a change to rebuild (Ctrl-C to quit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, m := fakeProject(t, false)
			rec := &recorder{}
			r := NewRunner(Options{Root: root, Manifest: m, Watch: tt.watch, Env: []string{"FAKE_MODE=exit"},
				BinaryPath: filepath.Join(t.TempDir(), "fake"), Sink: rec.sink, ReadyTimeout: 30 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runAsync(ctx, r)
			if tt.wantErr != "" {
				rec.waitFor(t, tt.wantLine, time.Minute)
				err := waitErr(t, errc, 10*time.Second)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run() = %v, want an error containing %q", err, tt.wantErr)
				}
				if !strings.Contains(rec.printed(), tt.wantLine) {
					t.Errorf("output lacks %q:\n%s", tt.wantLine, rec.printed())
				}
				return
			}
			rec.waitFor(t, tt.wantLine, time.Minute)
			select {
			case err := <-errc:
				t.Fatalf("Run returned %v while watching", err)
			case <-time.After(300 * time.Millisecond):
			}
			cancel()
			if err := waitErr(t, errc, 30*time.Second); err != nil {
				t.Errorf("Run() after cancel = %v, want nil", err)
			}
		})
	}
}

// TestRunnerStopOutcome: the end of ctx is a request to stop: a clean shutdown returns
// nil whether the app runs, the build failed or a build is under way; a teardown that
// has to kill the app returns an error. A failed first build says there is no previous
// process, a cancelled build says "build cancelled".
func TestRunnerStopOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fake app")
	}
	tests := []struct {
		name     string
		broken   bool
		mode     string
		waitLine string        // cancel once this is printed
		delay    time.Duration // cancel this long after the start instead
		wantErr  string
		want     []string
		notWant  []string
	}{
		{name: "running app stops cleanly", mode: "serve", waitLine: "all services ready"},
		{name: "after a failed build", broken: true, waitLine: "undefinedThing",
			want:    []string{"build failed; fix the error and save to rebuild:"},
			notWant: []string{"previous process"}},
		{name: "during the build", delay: 50 * time.Millisecond, mode: "serve",
			want: []string{"build cancelled"}, notWant: []string{"build failed", "context canceled"}},
		{name: "app that must be killed", mode: "stubborn", waitLine: "all services ready",
			wantErr: "did not stop within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, m := fakeProject(t, tt.broken)
			rec := &recorder{}
			r := NewRunner(Options{Root: root, Manifest: m, Watch: true, Env: []string{"FAKE_MODE=" + tt.mode},
				Grace: 300 * time.Millisecond, BinaryPath: filepath.Join(t.TempDir(), "fake"), Sink: rec.sink})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runAsync(ctx, r)
			if tt.waitLine != "" {
				rec.waitFor(t, tt.waitLine, time.Minute)
			} else {
				time.Sleep(tt.delay)
			}
			cancel()
			err := waitErr(t, errc, 30*time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Run() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Run() = %v, want an error containing %q", err, tt.wantErr)
			}
			out := rec.printed()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestRunnerKeepsPorts: a restart of a process slot keeps its HTTP and health ports; a
// fixed HTTP address (a profile's http) is used as it is.
func TestRunnerKeepsPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fake app")
	}
	fixed, err := runtime.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, httpAddr := range []string{"", fixed} {
		t.Run(fmt.Sprintf("http=%q", httpAddr), func(t *testing.T) {
			root, m := fakeProject(t, false)
			rec := &recorder{}
			r := NewRunner(Options{Root: root, Manifest: m, Env: []string{"FAKE_MODE=serve"}, HTTPAddr: httpAddr,
				BinaryPath: filepath.Join(t.TempDir(), "fake"), Sink: rec.sink})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runAsync(ctx, r)
			rec.waitFor(t, "all services ready", time.Minute)
			first := r.units[0]
			r.mu.Lock()
			http1, health1 := first.httpAddr, first.healthAddr
			r.mu.Unlock()
			if httpAddr != "" && http1 != httpAddr {
				t.Errorf("HTTP address %s, want the fixed %s", http1, httpAddr)
			}
			r.Restart(devmsg.MonolithUnit)
			rec.waitFor(t, "restarts=1 http=", 30*time.Second) // running again
			r.mu.Lock()
			http2, health2 := first.httpAddr, first.healthAddr
			r.mu.Unlock()
			if http2 != http1 || health2 != health1 {
				t.Errorf("after a restart http %s health %s, want http %s health %s", http2, health2, http1, health1)
			}
			if !strings.Contains(lastRunning(rec.printed()), "http=http://"+http1+"/api") {
				t.Errorf("the running line does not show %s:\n%s", http1, rec.printed())
			}
			cancel()
			if err := waitErr(t, errc, 30*time.Second); err != nil {
				t.Errorf("Run() = %v", err)
			}
		})
	}
}

func lastRunning(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "running pid=") {
			return lines[i]
		}
	}
	return ""
}

// TestOffsetAddr: the n-th process of a distributed run gets the profile's port + n.
func TestOffsetAddr(t *testing.T) {
	tests := []struct {
		addr string
		n    int
		want string
	}{
		{"", 2, ""},
		{"127.0.0.1:8080", 0, "127.0.0.1:8080"},
		{"127.0.0.1:8080", 2, "127.0.0.1:8082"},
		{":8080", 1, ":8081"},
		{"localhost:http", 1, "localhost:http"},
	}
	for _, tt := range tests {
		if got := offsetAddr(tt.addr, tt.n); got != tt.want {
			t.Errorf("offsetAddr(%q, %d) = %q, want %q", tt.addr, tt.n, got, tt.want)
		}
	}
}
