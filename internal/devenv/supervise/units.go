package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/runtime"
)

// A unit is one process slot of the runner: the monolith's one process, or one
// service's process in distributed mode. The Run goroutine owns the set of units
// (Runner.units, replaced under Runner.mu when purista.yaml changes); a unit's fields
// are guarded by Runner.mu.
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
		r.opts.Sink(devmsg.ReadyMsg{Took: time.Since(since), Rebuild: rebuild})
	}
}

// startUnit starts u's process.
func (r *Runner) startUnit(ctx context.Context, u *unit, bin *runtime.Binary) error {
	tail := &tailBuffer{max: 4 << 10}
	out := &lineWriter{emit: func(line string) {
		r.opts.Sink(devmsg.UnitEventMsg{Unit: u.name, Event: runtime.Event{Type: "log", Time: time.Now(), Level: "INFO",
			Message: line, Attrs: map[string]any{"stream": "stdout"}}})
	}}
	r.mu.Lock()
	httpAddr, healthAddr, err := r.unitAddrs(u)
	r.mu.Unlock()
	var p *runtime.Process
	if err == nil {
		p, err = r.opts.Start(context.WithoutCancel(ctx), runtime.StartOptions{
			Binary: bin, Dir: r.opts.Root, Grace: r.opts.Grace, Stdout: out, Stderr: tail,
			Profile: runtime.Profile{Bridge: r.opts.Bridge, Services: u.services, Env: r.opts.Env,
				HTTPAddr: httpAddr, HealthAddr: healthAddr, SecureHTTP: r.opts.SecureHTTP},
			OnEvent: func(e runtime.Event) { r.opts.Sink(devmsg.UnitEventMsg{Unit: u.name, Event: e}) },
		})
	}
	r.mu.Lock()
	if err != nil {
		u.crashed, u.exitErr, u.exitCode = true, "could not start: "+err.Error(), -1
		r.mu.Unlock()
		r.opts.Sink(devmsg.UnitStateMsg{Unit: u.name, State: devmsg.StateExited, ExitCode: -1, Err: err.Error()})
		return err
	}
	if u.started {
		u.restarts++
	}
	u.started, u.proc, u.stopping, u.health, u.crashed = true, p, false, "", false
	u.httpAddr, u.healthAddr = p.HTTPAddr(), p.HealthAddr()
	st := devmsg.UnitStateMsg{Unit: u.name, State: devmsg.StateStarting, PID: p.PID(), Restarts: u.restarts, HTTPAddr: p.HTTPAddr()}
	r.mu.Unlock()
	r.opts.Sink(st)
	r.wg.Add(1)
	go func() { // owned: ends when the process exits
		defer r.wg.Done()
		<-p.Done()
		r.mu.Lock()
		st := devmsg.UnitStateMsg{Unit: u.name, State: devmsg.StateStopped, PID: p.PID(), Restarts: u.restarts, ExitCode: p.ExitCode()}
		if !u.stopping || u.proc != p {
			st.State = devmsg.StateExited
			st.Err = fmt.Sprintf("exited with code %d", p.ExitCode())
			if t := strings.TrimSpace(tail.String()); t != "" {
				st.Err += ":\n" + t
			}
		}
		current := u.proc == p
		if current && st.State == devmsg.StateExited {
			u.crashed, u.exitErr, u.exitCode = true, st.Err, p.ExitCode()
		}
		r.mu.Unlock()
		if current {
			r.opts.Sink(st)
			if st.State == devmsg.StateExited {
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
			r.opts.Sink(devmsg.InfoMsg{Text: u.name + ": " + err.Error(), Error: true})
		}
		return false
	}
	r.mu.Lock()
	u.health = "true" // what probeHealth records for a healthy unit
	r.mu.Unlock()
	r.opts.Sink(devmsg.UnitStateMsg{Unit: u.name, State: devmsg.StateRunning, PID: p.PID(), Restarts: restarts, HTTPAddr: p.HTTPAddr()})
	r.opts.Sink(devmsg.HealthMsg{Unit: u.name, OK: true})
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
	r.opts.Sink(devmsg.UnitStateMsg{Unit: u.name, State: devmsg.StateStopping, PID: p.PID(), Restarts: u.restarts})
	err := p.Stop(r.opts.Grace)
	if err != nil {
		err = fmt.Errorf("%s: %w", u.name, err)
		r.opts.Sink(devmsg.InfoMsg{Text: err.Error(), Error: true})
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

// unitAddrs returns the HTTP and health addresses to start u with: its fixed HTTP
// address, else the last ones when they are still free (a restart keeps its ports),
// else free loopback ports that no other unit was given. A port picked by listening on
// port 0 is free only until its process binds it, so two units started one after the
// other could otherwise be handed the same port. r.mu is held.
func (r *Runner) unitAddrs(u *unit) (httpAddr, healthAddr string, err error) {
	taken := map[string]bool{}
	for _, o := range r.units {
		if o != u {
			taken[o.httpAddr], taken[o.healthAddr] = true, true
		}
	}
	delete(taken, "")
	pick := func(prev string) (string, error) {
		if a := reuseAddr(prev); a != "" && !taken[a] {
			taken[a] = true
			return a, nil
		}
		for range 20 {
			a, err := runtime.FreeAddr()
			if err != nil {
				return "", fmt.Errorf("pick a free port for %s: %w", u.name, err)
			}
			if !taken[a] {
				taken[a] = true
				return a, nil
			}
		}
		return "", fmt.Errorf("pick a free port for %s: the system keeps handing out ports of other units", u.name)
	}
	if healthAddr, err = pick(u.healthAddr); err != nil {
		return "", "", err
	}
	if httpAddr = u.fixedHTTP; httpAddr == "" {
		if httpAddr, err = pick(u.httpAddr); err != nil {
			return "", "", err
		}
	}
	// Record them now: the next unit's pick must not hand them out again before this
	// unit's process has bound them.
	u.httpAddr, u.healthAddr = httpAddr, healthAddr
	return httpAddr, healthAddr, nil
}

// reuseAddr returns prev when it can be listened on (a restart keeps its port), else "".
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

// currentUnits returns the set of units (safe from any goroutine).
func (r *Runner) currentUnits() []*unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.units
}

// unit returns the unit called name (compared case-insensitively), or nil.
func (r *Runner) unit(name string) *unit {
	for _, u := range r.units {
		if strings.EqualFold(u.name, name) {
			return u
		}
	}
	return nil
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
		for _, u := range r.currentUnits() {
			r.mu.Lock()
			p := u.proc
			r.mu.Unlock()
			if p == nil || p.Exited() {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			h, err := runtime.Probe(pctx, p.HealthAddr())
			cancel()
			msg := devmsg.HealthMsg{Unit: u.name, OK: err == nil && h.Status == "ok"}
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
