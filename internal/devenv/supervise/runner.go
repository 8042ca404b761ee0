// Package supervise runs a project for `purista dev`: it builds the binary, starts one
// process (monolith) or one per service (distributed), watches their health, restarts
// them on changes, follows the services of purista.yaml and tears everything down.
package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/watch"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// Options configure a Runner.
type Options struct {
	// Root is the project root (the folder with purista.yaml).
	Root string
	// Manifest is the project's manifest at the start. With Watch, every change reads
	// purista.yaml under Root again and the processes follow its services (see
	// ServicesMsg).
	Manifest *project.Manifest
	// Bridge is PURISTA_BRIDGE for every process: "memory" for the monolith, the broker
	// URL in distributed mode.
	Bridge string
	// Distributed runs one process per service instead of one with all services.
	Distributed bool
	// Watch rebuilds and restarts on changes of Go files, go.mod and go.sum.
	Watch bool
	// Debounce is the quiet time that ends a burst of saves (0: watch.DefaultDebounce).
	Debounce time.Duration
	// Grace is the SIGTERM → SIGKILL grace period of a stop (0: 10s).
	Grace time.Duration
	// ReadyTimeout bounds the wait for a started process to be ready (0: 60s).
	ReadyTimeout time.Duration
	// BinaryPath is where the project's binary is built ("": the user cache).
	BinaryPath string
	// Env is added to every process's environment (KEY=VALUE).
	Env []string
	// HTTPAddr is the PURISTA_HTTP_ADDR of the app (a profile's http). In distributed
	// mode the n-th service's process gets its port + n (a service added while dev runs:
	// the next port no other process uses). "" picks a free loopback port
	// at the first start and keeps it across restarts while it is free.
	HTTPAddr string
	// SecureHTTP runs the HTTP endpoint with the project's own authentication
	// (runtime.Profile.SecureHTTP); false runs it in the framework's HTTP development mode.
	SecureHTTP bool
	// Build compiles the project (nil: runtime.Build); Start starts one of its
	// processes (nil: runtime.Start).
	Build func(context.Context, runtime.BuildOptions) (*runtime.Binary, error)
	Start func(context.Context, runtime.StartOptions) (*runtime.Process, error)
	// Sink receives the runner's messages (UnitEventMsg, UnitStateMsg, HealthMsg,
	// BuildMsg, ReadyMsg, ServicesMsg, InfoMsg), in order per unit, from the runner's
	// goroutines. It must not block for long. No message holds a credential of Bridge:
	// their texts are scrubbed before Sink sees them, and so are the errors Run and
	// Invoke return.
	Sink func(msg any)
}

// Runner builds a project, runs it as one process (monolith) or one process per service
// (distributed), restarts it on changes, follows the services of purista.yaml as they are
// added, removed or renamed, and tears it down. Create it with NewRunner and drive it
// with Run; Units, Invoke, Restart and Stop may be called from other goroutines.
type Runner struct {
	opts Options
	red  redactor // scrubs the broker URL's credentials (opts.Sink is wrapped with it)
	reqs chan request
	wg   sync.WaitGroup // exit watchers and the health prober
	mu   sync.Mutex
	// units is the set of process slots; Run replaces it (under mu) when the services
	// change, and a unit's fields are guarded by mu.
	units []*unit
	// manifest is the last valid manifest; only Run's goroutine uses it.
	manifest *project.Manifest
	// exited is signalled (without blocking, coalescing) when a process exits on its own.
	exited chan struct{}
}

type request struct {
	unit    string
	restart bool
}

// NewRunner returns a Runner for opts.
func NewRunner(opts Options) *Runner {
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if opts.Bridge == "" {
		opts.Bridge = "memory"
	}
	if opts.Sink == nil {
		opts.Sink = func(any) {}
	}
	if opts.Build == nil {
		opts.Build = runtime.Build
	}
	if opts.Start == nil {
		opts.Start = runtime.Start
	}
	red := newRedactor(opts.Bridge)
	opts.Sink = red.sink(opts.Sink)
	r := &Runner{opts: opts, red: red, reqs: make(chan request, 8), exited: make(chan struct{}, 1), manifest: opts.Manifest}
	r.units = r.unitsFor(opts.Manifest, nil)
	return r
}

// Units returns the current unit names: MonolithUnit, or the service names when
// distributed.
func (r *Runner) Units() []string {
	units := r.currentUnits()
	out := make([]string, len(units))
	for i, u := range units {
		out[i] = u.name
	}
	return out
}

// Run builds and starts the project, then rebuilds on changes (when watching) until ctx
// ends, and finally stops every process (SIGTERM, SIGKILL after the grace period). The
// first build's compile error ends Run unless it watches, in which case it waits for a
// fix. Each change reads purista.yaml again: the processes follow its services (a
// ServicesMsg reports a change), and an invalid manifest is reported while the last
// valid set keeps running. When the app exits on its own and nothing runs any more, Run
// returns its error unless it watches, in which case it says so and waits for a change.
// Run returns once no process is left.
//
// The end of ctx is a request to stop, not a failure: Run then returns nil (also during
// a build, which is cancelled), or the error of a teardown that did not go cleanly (a
// process that had to be killed or exited non-zero on SIGTERM).
func (r *Runner) Run(ctx context.Context) (err error) {
	began := time.Now()
	defer r.wg.Wait()
	defer func() {
		if terr := r.stopAll(); terr != nil && err == nil {
			err = fmt.Errorf("teardown: %w", terr)
		}
		err = r.red.err(err) // a crashed app's error holds its stderr
	}()
	ctx, cancel := context.WithCancel(ctx) // ends the watcher and the prober on any return
	defer cancel()
	var changes chan watch.Change
	watchErr := make(chan error, 1)
	if r.opts.Watch {
		changes = make(chan watch.Change, 1)
		r.wg.Add(1)
		go func() { // owned: ends with ctx
			defer r.wg.Done()
			watchErr <- watch.Run(ctx, r.opts.Root, r.opts.Debounce, changes)
		}()
	}
	bin, err := r.build(ctx, r.manifest.Main, nil)
	for err != nil {
		if ctx.Err() != nil {
			return nil // cancelled: the user asked to stop
		}
		if !r.opts.Watch {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-changes:
			if !ok {
				return <-watchErr
			}
			began = c.At
			var m *project.Manifest
			if m, bin, err = r.reload(ctx, c.Files); err == nil {
				r.adopt(m) // nothing runs yet
			}
		}
	}
	r.startAll(ctx, bin, began, false)
	r.notifyExit() // a unit that failed to start has no exit watcher
	r.wg.Add(1)
	go func() { // owned: ends with ctx
		defer r.wg.Done()
		r.probeHealth(ctx)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.exited:
			u := r.crashedWhenAllDown()
			if u == nil {
				continue
			}
			if !r.opts.Watch {
				return fmt.Errorf("%s %s", u.name, u.exitErr)
			}
			r.opts.Sink(devmsg.InfoMsg{Text: fmt.Sprintf("%s exited with code %d; waiting for a change to rebuild (Ctrl-C to quit)", u.name, u.exitCode), Error: true})
		case c, ok := <-changes:
			if !ok {
				changes = nil
				if err := <-watchErr; err != nil {
					r.opts.Sink(devmsg.InfoMsg{Text: "watch stopped: " + err.Error(), Error: true})
				}
				continue
			}
			m, nb, err := r.reload(ctx, c.Files)
			if err != nil {
				continue // the previous processes keep running
			}
			bin = nb
			_ = r.stopAll() // errors were reported as InfoMsg
			r.adopt(m)
			r.startAll(ctx, bin, c.At, true)
			r.notifyExit()
		case req := <-r.reqs:
			u := r.unit(req.unit)
			if u == nil {
				continue
			}
			_ = r.stopUnit(u) // errors were reported as InfoMsg
			if req.restart {
				if err := r.startUnit(ctx, u, bin); err == nil {
					r.waitReady(ctx, u)
				}
			}
		}
	}
}

// build builds the binary of the main package and reports it.
func (r *Runner) build(ctx context.Context, main string, files []string) (*runtime.Binary, error) {
	r.opts.Sink(devmsg.BuildMsg{Started: true, Files: files})
	bin, err := r.opts.Build(ctx, runtime.BuildOptions{Dir: r.opts.Root, Main: main, Output: r.opts.BinaryPath})
	if err != nil {
		if ctx.Err() != nil {
			r.opts.Sink(devmsg.BuildMsg{Cancelled: true, Files: files})
			return nil, err
		}
		msg := err.Error()
		var be *runtime.BuildError
		if errors.As(err, &be) {
			msg = strings.TrimRight(be.Output, "\n")
		}
		r.opts.Sink(devmsg.BuildMsg{Err: msg, Files: files, Idle: r.idle(), Watch: r.opts.Watch})
		return nil, err
	}
	r.opts.Sink(devmsg.BuildMsg{Took: bin.Took, Files: files})
	return bin, nil
}

// Restart asks Run to restart a unit (by name); it returns at once.
func (r *Runner) Restart(unit string) { r.request(request{unit: unit, restart: true}) }

// Stop asks Run to stop a unit (by name) until the next restart or rebuild.
func (r *Runner) Stop(unit string) { r.request(request{unit: unit}) }

func (r *Runner) request(req request) {
	select {
	case r.reqs <- req:
	default: // a full queue means the user is hammering the key; dropping is fine
	}
}

// Invoke calls a command in the process that runs its service and returns the output
// JSON or the error (a *runtime.InvokeError for error answers).
func (r *Runner) Invoke(ctx context.Context, service, version, command string, payload json.RawMessage) (json.RawMessage, error) {
	r.mu.Lock()
	var p *runtime.Process
	for _, u := range r.units {
		if u.name == devmsg.MonolithUnit || strings.EqualFold(u.name, service) {
			p = u.proc
		}
	}
	r.mu.Unlock()
	if p == nil || p.Exited() {
		return nil, fmt.Errorf("service %s is not running", service)
	}
	out, err := p.Invoke(ctx, service, version, command, payload)
	return out, r.red.err(err)
}
