package devenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// MonolithUnit is the name of the single unit in monolith mode.
const MonolithUnit = "app"

// Options configure a Runner.
type Options struct {
	// Root is the project root (the folder with purista.yaml).
	Root string
	// Manifest is the project's manifest.
	Manifest *project.Manifest
	// Bridge is PURISTA_BRIDGE for every process: "memory" for the monolith, the broker
	// URL in distributed mode.
	Bridge string
	// Distributed runs one process per service instead of one with all services.
	Distributed bool
	// Watch rebuilds and restarts on changes of Go files, go.mod and go.sum.
	Watch bool
	// Debounce is the quiet time that ends a burst of saves (0: DefaultDebounce).
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
	// mode the n-th service's process gets its port + n. "" picks a free loopback port
	// at the first start and keeps it across restarts while it is free.
	HTTPAddr string
	// Sink receives the runner's messages (UnitEventMsg, UnitStateMsg, HealthMsg,
	// BuildMsg, ReadyMsg, InfoMsg), in order per unit, from the runner's goroutines.
	// It must not block for long. No message holds a credential of Bridge: their texts
	// are scrubbed before Sink sees them, and so are the errors Run and Invoke return.
	Sink func(msg any)
}

// Runner builds a project, runs it as one process (monolith) or one process per service
// (distributed), restarts it on changes and tears it down. Create it with NewRunner and
// drive it with Run; Invoke, Restart and Stop may be called from other goroutines.
type Runner struct {
	opts  Options
	red   redactor // scrubs the broker URL's credentials (opts.Sink is wrapped with it)
	reqs  chan request
	wg    sync.WaitGroup // exit watchers and the health prober
	mu    sync.Mutex
	units []*unit // fixed after NewRunner; fields guarded by mu
	// exited is signalled (without blocking, coalescing) when a process exits on its own.
	exited chan struct{}
}

type unit struct {
	name     string
	services []string
	proc     *runtime.Process
	restarts int
	started  bool // started at least once
	stopping bool // the runner stops it on purpose
	health   string
	// crashed is set when the current process exited on its own (or failed to start);
	// exitErr then says how ("exited with code 2: <stderr tail>") and exitCode is the code.
	crashed  bool
	exitErr  string
	exitCode int
	// fixedHTTP is the HTTP address from Options.HTTPAddr ("" for none); httpAddr and
	// healthAddr are the last ones used, reused on a restart when they are still free.
	fixedHTTP, httpAddr, healthAddr string
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
	red := newRedactor(opts.Bridge)
	opts.Sink = red.sink(opts.Sink)
	r := &Runner{opts: opts, red: red, reqs: make(chan request, 8), exited: make(chan struct{}, 1)}
	if opts.Distributed {
		for i, s := range opts.Manifest.Services {
			r.units = append(r.units, &unit{name: s.Name, services: []string{s.Name}, fixedHTTP: offsetAddr(opts.HTTPAddr, i)})
		}
	} else {
		r.units = []*unit{{name: MonolithUnit, fixedHTTP: opts.HTTPAddr}}
	}
	return r
}

// Units returns the unit names: MonolithUnit, or the service names when distributed.
func (r *Runner) Units() []string {
	out := make([]string, len(r.units))
	for i, u := range r.units {
		out[i] = u.name
	}
	return out
}

// Run builds and starts the project, then rebuilds on changes (when watching) until ctx
// ends, and finally stops every process (SIGTERM, SIGKILL after the grace period). The
// first build's compile error ends Run unless it watches, in which case it waits for a
// fix. When the app exits on its own and nothing runs any more, Run returns its error
// unless it watches, in which case it says so and waits for a change. Run returns once
// no process is left.
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
	var changes chan Change
	watchErr := make(chan error, 1)
	if r.opts.Watch {
		changes = make(chan Change, 1)
		r.wg.Add(1)
		go func() { // owned: ends with ctx
			defer r.wg.Done()
			watchErr <- Watch(ctx, r.opts.Root, r.opts.Debounce, changes)
		}()
	}
	bin, err := r.build(ctx, nil)
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
			bin, err = r.build(ctx, c.Files)
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
			r.opts.Sink(InfoMsg{Text: fmt.Sprintf("%s exited with code %d; waiting for a change to rebuild (Ctrl-C to quit)", u.name, u.exitCode), Error: true})
		case c, ok := <-changes:
			if !ok {
				changes = nil
				if err := <-watchErr; err != nil {
					r.opts.Sink(InfoMsg{Text: "watch stopped: " + err.Error(), Error: true})
				}
				continue
			}
			nb, err := r.build(ctx, c.Files)
			if err != nil {
				continue // the previous processes keep running
			}
			bin = nb
			_ = r.stopAll() // errors were reported as InfoMsg
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

// build builds the binary and reports it.
func (r *Runner) build(ctx context.Context, files []string) (*runtime.Binary, error) {
	r.opts.Sink(BuildMsg{Started: true, Files: files})
	bin, err := runtime.Build(ctx, runtime.BuildOptions{Dir: r.opts.Root, Main: r.opts.Manifest.Main, Output: r.opts.BinaryPath})
	if err != nil {
		if ctx.Err() != nil {
			r.opts.Sink(BuildMsg{Cancelled: true, Files: files})
			return nil, err
		}
		msg := err.Error()
		var be *runtime.BuildError
		if errors.As(err, &be) {
			msg = strings.TrimRight(be.Output, "\n")
		}
		r.opts.Sink(BuildMsg{Err: msg, Files: files, Idle: r.idle(), Watch: r.opts.Watch})
		return nil, err
	}
	r.opts.Sink(BuildMsg{Took: bin.Took, Files: files})
	return bin, nil
}

// startAll starts every unit and reports ReadyMsg once all are ready.
func (r *Runner) startAll(ctx context.Context, bin *runtime.Binary, since time.Time, rebuild bool) {
	var wg sync.WaitGroup
	ok := true
	var okMu sync.Mutex
	for _, u := range r.units {
		if err := r.startUnit(ctx, u, bin); err != nil {
			ok = false
			continue
		}
		wg.Add(1)
		go func() { // owned: ends when the unit is ready or fails to be
			defer wg.Done()
			if !r.waitReady(ctx, u) {
				okMu.Lock()
				ok = false
				okMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok && ctx.Err() == nil {
		r.opts.Sink(ReadyMsg{Took: time.Since(since), Rebuild: rebuild})
	}
}

// startUnit starts u's process.
func (r *Runner) startUnit(ctx context.Context, u *unit, bin *runtime.Binary) error {
	tail := &tailBuffer{max: 4 << 10}
	out := &lineWriter{emit: func(line string) {
		r.opts.Sink(UnitEventMsg{Unit: u.name, Event: runtime.Event{Type: "log", Time: time.Now(), Level: "INFO",
			Message: line, Attrs: map[string]any{"stream": "stdout"}}})
	}}
	r.mu.Lock()
	httpAddr, healthAddr := u.fixedHTTP, reuseAddr(u.healthAddr)
	if httpAddr == "" {
		httpAddr = reuseAddr(u.httpAddr)
	}
	r.mu.Unlock()
	p, err := runtime.Start(context.WithoutCancel(ctx), runtime.StartOptions{
		Binary: bin, Dir: r.opts.Root, Grace: r.opts.Grace, Stdout: out, Stderr: tail,
		Profile: runtime.Profile{Bridge: r.opts.Bridge, Services: u.services, Env: r.opts.Env,
			HTTPAddr: httpAddr, HealthAddr: healthAddr},
		OnEvent: func(e runtime.Event) { r.opts.Sink(UnitEventMsg{Unit: u.name, Event: e}) },
	})
	r.mu.Lock()
	if err != nil {
		u.crashed, u.exitErr, u.exitCode = true, "could not start: "+err.Error(), -1
		r.mu.Unlock()
		r.opts.Sink(UnitStateMsg{Unit: u.name, State: StateExited, ExitCode: -1, Err: err.Error()})
		return err
	}
	if u.started {
		u.restarts++
	}
	u.started, u.proc, u.stopping, u.health, u.crashed = true, p, false, "", false
	u.httpAddr, u.healthAddr = p.HTTPAddr(), p.HealthAddr()
	st := UnitStateMsg{Unit: u.name, State: StateStarting, PID: p.PID(), Restarts: u.restarts, HTTPAddr: p.HTTPAddr()}
	r.mu.Unlock()
	r.opts.Sink(st)
	r.wg.Add(1)
	go func() { // owned: ends when the process exits
		defer r.wg.Done()
		<-p.Done()
		r.mu.Lock()
		st := UnitStateMsg{Unit: u.name, State: StateStopped, PID: p.PID(), Restarts: u.restarts, ExitCode: p.ExitCode()}
		if !u.stopping || u.proc != p {
			st.State = StateExited
			st.Err = fmt.Sprintf("exited with code %d", p.ExitCode())
			if t := strings.TrimSpace(tail.String()); t != "" {
				st.Err += ":\n" + t
			}
		}
		current := u.proc == p
		if current && st.State == StateExited {
			u.crashed, u.exitErr, u.exitCode = true, st.Err, p.ExitCode()
		}
		r.mu.Unlock()
		if current {
			r.opts.Sink(st)
			if st.State == StateExited {
				r.notifyExit()
			}
		}
	}()
	return nil
}

// waitReady waits until u answers ready and reports it.
func (r *Runner) waitReady(ctx context.Context, u *unit) bool {
	r.mu.Lock()
	p, restarts := u.proc, u.restarts
	r.mu.Unlock()
	if p == nil {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, r.opts.ReadyTimeout)
	defer cancel()
	if err := p.WaitReady(rctx); err != nil {
		if ctx.Err() == nil && !p.Exited() {
			r.opts.Sink(InfoMsg{Text: u.name + ": " + err.Error(), Error: true})
		}
		return false
	}
	r.mu.Lock()
	u.health = "true" // what probeHealth records for a healthy unit
	r.mu.Unlock()
	r.opts.Sink(UnitStateMsg{Unit: u.name, State: StateRunning, PID: p.PID(), Restarts: restarts, HTTPAddr: p.HTTPAddr()})
	r.opts.Sink(HealthMsg{Unit: u.name, OK: true})
	return true
}

// stopAll stops every unit in parallel and returns what did not stop cleanly.
func (r *Runner) stopAll() error {
	var wg sync.WaitGroup
	errs := make([]error, len(r.units))
	for i, u := range r.units {
		wg.Add(1)
		go func() { // owned: ends when the unit has stopped
			defer wg.Done()
			errs[i] = r.stopUnit(u)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopUnit stops u's process, if it runs, and returns the error of a stop that was not
// clean (killed after the grace period, or a non-zero exit after SIGTERM).
func (r *Runner) stopUnit(u *unit) error {
	r.mu.Lock()
	p := u.proc
	if p == nil || p.Exited() {
		r.mu.Unlock()
		return nil
	}
	u.stopping = true
	r.mu.Unlock()
	r.opts.Sink(UnitStateMsg{Unit: u.name, State: StateStopping, PID: p.PID(), Restarts: u.restarts})
	err := p.Stop(r.opts.Grace)
	if err != nil {
		err = fmt.Errorf("%s: %w", u.name, err)
		r.opts.Sink(InfoMsg{Text: err.Error(), Error: true})
	}
	<-p.Done()
	return err
}

// notifyExit wakes Run to look at the units' states; it never blocks.
func (r *Runner) notifyExit() {
	select {
	case r.exited <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// idle reports whether no process of the project runs.
func (r *Runner) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.units {
		if u.proc != nil && !u.proc.Exited() {
			return false
		}
	}
	return true
}

// crashedWhenAllDown returns the last unit that exited on its own when no process runs
// any more, or nil (something still runs, or every unit was stopped on purpose).
func (r *Runner) crashedWhenAllDown() *unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var crashed *unit
	for _, u := range r.units {
		if u.proc != nil && !u.proc.Exited() {
			return nil
		}
		if u.crashed {
			crashed = u
		}
	}
	return crashed
}

// reuseAddr returns prev when it can be listened on (a restart keeps its port), else ""
// (Start picks a free port).
func reuseAddr(prev string) string {
	if prev == "" {
		return ""
	}
	ln, err := net.Listen("tcp", prev)
	if err != nil {
		return ""
	}
	_ = ln.Close()
	return prev
}

// offsetAddr returns addr with its port increased by n ("" stays "", an address
// without a numeric port is returned as it is).
func offsetAddr(addr string, n int) string {
	host, port, err := net.SplitHostPort(addr)
	if addr == "" || n == 0 || err != nil {
		return addr
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(p+n))
}

func (r *Runner) unit(name string) *unit {
	for _, u := range r.units {
		if strings.EqualFold(u.name, name) {
			return u
		}
	}
	return nil
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
		if u.name == MonolithUnit || strings.EqualFold(u.name, service) {
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

// probeHealth probes every running unit every two seconds and reports changes.
func (r *Runner) probeHealth(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, u := range r.units {
			r.mu.Lock()
			p := u.proc
			r.mu.Unlock()
			if p == nil || p.Exited() {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			h, err := runtime.Probe(pctx, p.HealthAddr())
			cancel()
			msg := HealthMsg{Unit: u.name, OK: err == nil && h.Status == "ok"}
			if err != nil {
				msg.Err = err.Error()
			} else if !msg.OK {
				msg.Err = h.Error
			}
			r.mu.Lock()
			changed := u.health != msg.Err+fmt.Sprint(msg.OK)
			u.health = msg.Err + fmt.Sprint(msg.OK)
			r.mu.Unlock()
			if changed {
				r.opts.Sink(msg)
			}
		}
	}
}
