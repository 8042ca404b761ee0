package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework"
)

// checkTimeouts checks declared timeouts against the bound, stops each callee of a
// cross-service call and expects its callers to answer in bounded time, and checks the
// retry policies of subscriptions.
func checkTimeouts(ctx context.Context, e *env) Result {
	f, err := e.staticFacts()
	if err != nil {
		return fail("static analysis failed", note("%v", err))
	}
	bad := append(slices.Clone(f.Unbounded), f.NoRetry...)
	var good []Evidence
	loops := false // a handler kept running after its caller had its answer
	url, release, err := e.brokers.get(ctx)
	if err != nil {
		return fail("no broker", note("%v", err))
	}
	defer release()
	callers := map[string][]callSite{} // by callee
	for _, c := range f.Calls {
		callers[c.Callee] = append(callers[c.Callee], c)
	}
	callees := make([]string, 0, len(callers))
	for c := range callers {
		callees = append(callees, c)
	}
	sort.Strings(callees)
	for _, callee := range callees {
		var rest []string
		for _, s := range e.m.ServiceNames() {
			if !strings.EqualFold(s, callee) {
				rest = append(rest, s)
			}
		}
		a, err := e.start(ctx, runtime.Profile{Bridge: url, Services: rest})
		if err != nil {
			bad = append(bad, note("the callers of %s did not start without it: %v", callee, err))
			continue
		}
		for _, c := range a.Commands() {
			if !slices.ContainsFunc(callers[callee], func(cs callSite) bool { return strings.EqualFold(cs.Caller, c.Service) }) {
				continue
			}
			if c.Timeout > e.opts.CallBound {
				continue // reported below from the metadata
			}
			t0 := time.Now()
			o := invoke(ctx, a, c, e.callTimeout(c))
			took := time.Since(t0).Round(time.Millisecond)
			if !o.OK && o.Status == 0 && a.Exited() {
				bad = append(bad, note("%s: the %s exited with code %d during the call: %s", cmdName(c), a.label(), a.ExitCode(), a.lastLog()))
				continue
			}
			if !o.OK && o.Status == 0 {
				site := callers[callee][0].Pos
				bad = append(bad, Evidence{File: site.File, Line: site.Line,
					Message: fmt.Sprintf("%s hung with %s stopped: %s after %v (bound %v)", cmdName(c), callee, o, took, e.callTimeout(c)-slack)})
				continue
			}
			good = append(good, note("%s answered %s in %v with %s stopped", cmdName(c), o, took, callee))
		}
		if ev, ok := e.stopsAfterAnswers(a, callee, callers[callee][0].Pos); !ok {
			bad, loops = append(bad, ev), true
		}
		stopAll(a)
	}
	// Declared command timeouts, from the running app's metadata (any model shows them).
	{
		a, err := e.start(ctx, runtime.Profile{Bridge: "memory"})
		if err != nil {
			bad = append(bad, note("the project did not start: %v", err))
		} else {
			for _, c := range a.Commands() {
				if c.Timeout > e.opts.CallBound {
					bad = append(bad, note("%s declares a timeout of %v, above the bound %v: its callers may wait that long", cmdName(c), c.Timeout, e.opts.CallBound))
				}
			}
			stopAll(a)
		}
	}
	for _, c := range f.Calls {
		good = append(good, c.Pos)
	}
	good = append(good, note("%s: retried with backoff, then dead-lettered by the bridge with the reason", count(f.Subscriptions, "subscription", "subscriptions")))
	if loops {
		return fail("endless retry loop ignoring cancellation: with the callee stopped, a caller's handler outlived its answer and held up shutdown",
			append(bad, good...)...)
	}
	if len(bad) > 0 {
		return fail(fmt.Sprintf("%d unbounded calls or missing retries", len(bad)), append(bad, good...)...)
	}
	return pass(timeoutsReason(len(f.Calls), f.Subscriptions), good...)
}

// stopsAfterAnswers sends SIGTERM to a, whose calls (with callee stopped) have all been
// answered, and expects it to exit 0 within the shutdown timeout: every handler has
// returned by then, at the latest when its context ended. A handler that goes on calling
// the stopped callee after its caller had the answer (a retry loop that ignores its
// context) holds up the drain until the shutdown timeout. The evidence, when it fails,
// points at the call site.
func (e *env) stopsAfterAnswers(a *app, callee string, site Evidence) (Evidence, bool) {
	t0 := time.Now()
	_ = a.Signal(syscall.SIGTERM)
	timer := time.NewTimer(e.opts.ShutdownTimeout + slack)
	defer timer.Stop()
	var what string
	select {
	case <-a.Done():
		if a.ExitCode() == 0 {
			return Evidence{}, true
		}
		what = fmt.Sprintf("exited with code %d %v after SIGTERM: %s", a.ExitCode(), time.Since(t0).Round(time.Millisecond), a.lastLog())
	case <-timer.C:
		what = fmt.Sprintf("was still running %v after SIGTERM (shutdown timeout %v)", time.Since(t0).Round(time.Millisecond), e.opts.ShutdownTimeout)
	}
	return Evidence{File: site.File, Line: site.Line, Message: fmt.Sprintf(
		"with %s stopped, the %s kept a handler running after every call had its answer, and %s: a call of %s retried without end, ignoring its context's cancellation",
		callee, a.label(), what, callee)}, false
}

// timeoutsReason is the one-line reason of a passed timeouts-and-retries check.
func timeoutsReason(calls, subscriptions int) string {
	what := "no cross-service calls to stop a callee of"
	if calls > 0 {
		what = count(calls, "cross-service call answers", "cross-service calls answer") + " in bounded time with the callee stopped"
	}
	return what + "; " + count(subscriptions, "subscription retries", "subscriptions retry")
}

// checkShutdown sends SIGTERM to every process of each model while calls are in
// flight, then expects every call to have an answer and every process to exit 0 within
// the shutdown timeout.
func checkShutdown(ctx context.Context, e *env) Result {
	url, release, err := e.brokers.get(ctx)
	if err != nil {
		return fail("no broker", note("%v", err))
	}
	defer release()
	var bad, good []Evidence
	models := []struct {
		name  string
		profs []runtime.Profile
	}{
		{"monolith (memory)", []runtime.Profile{{Bridge: "memory"}}},
		{"one process per service (" + e.brokers.kind + ")", e.splitProfiles(url)},
	}
	abrupt := false
	for _, m := range models {
		b, g, ab := e.shutdownModel(ctx, m.name, m.profs)
		bad, good, abrupt = append(bad, b...), append(good, g...), abrupt || ab
	}
	if abrupt {
		return fail("abrupt exit with work in flight: calls the app had accepted got no answer, yet it exited 0", append(bad, good...)...)
	}
	if len(bad) > 0 {
		return fail(fmt.Sprintf("graceful shutdown failed (shutdown timeout %v)", e.opts.ShutdownTimeout), append(bad, good...)...)
	}
	return pass(fmt.Sprintf("SIGTERM under load: every call answered, every process exited 0 within %v", e.opts.ShutdownTimeout), good...)
}

// shutdownModel runs the SIGTERM-under-load test on one model; abrupt reports calls the
// app accepted and dropped although every process exited 0.
func (e *env) shutdownModel(ctx context.Context, model string, profs []runtime.Profile) (bad, good []Evidence, abrupt bool) {
	apps, err := e.startAll(ctx, profs...)
	if err != nil {
		return []Evidence{note("%s did not start: %v", model, err)}, nil, false
	}
	defer stopAll(apps...) // no-op for processes that exited
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: e.opts.ShutdownTimeout + 2*slack}
	var stopping atomic.Bool
	var nAnswered, nRefused atomic.Int64
	var mu sync.Mutex
	var cuts, resets []lostCall
	var wg sync.WaitGroup
	for _, a := range apps {
		for _, c := range a.Commands() {
			for range 3 {
				wg.Go(func() {
					for !stopping.Load() && ctx.Err() == nil {
						end, err := loadCall(ctx, client, a.HTTPAddr(), c)
						switch end {
						case answered:
							nAnswered.Add(1)
						case refused:
							nRefused.Add(1)
							time.Sleep(20 * time.Millisecond)
						case cut:
							mu.Lock()
							cuts = append(cuts, lostCall{a, c, err})
							mu.Unlock()
						default:
							mu.Lock()
							resets = append(resets, lostCall{a, c, err})
							mu.Unlock()
						}
					}
				})
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // calls are in flight
	t0 := time.Now()
	for _, a := range apps {
		_ = a.Signal(syscall.SIGTERM)
	}
	deadline := time.NewTimer(e.opts.ShutdownTimeout + slack)
	defer deadline.Stop()
	for _, a := range apps {
		select {
		case <-a.Done():
			took := time.Since(t0).Round(time.Millisecond)
			if code := a.ExitCode(); code != 0 {
				bad = append(bad, note("%s: %s exited with code %d %v after SIGTERM: %s", model, a.label(), code, took, a.lastLog()))
			} else if a.LeftRunning() {
				bad = append(bad, note("%s: %s exited 0 but left processes it started running (killed)", model, a.label()))
			} else {
				good = append(good, note("%s: %s exited 0 %v after SIGTERM", model, a.label(), took))
			}
		case <-deadline.C:
			bad = append(bad, note("%s: %s still running %v after SIGTERM (shutdown timeout %v): killed", model, a.label(), time.Since(t0).Round(time.Millisecond), e.opts.ShutdownTimeout))
			_ = a.Stop(time.Second)
		}
	}
	stopping.Store(true)
	wg.Wait()
	clean := true
	var unstopped []string // exited 0 without the framework's shutdown
	for _, a := range apps {
		clean = clean && a.Exited() && a.ExitCode() == 0
		if a.Exited() && a.ExitCode() == 0 && !a.shutDown() {
			unstopped = append(unstopped, a.label())
		}
	}
	lost := append(slices.Clone(cuts), resets...)
	switch {
	case len(unstopped) > 0 && len(lost) > 0:
		// Nothing drained: every call without an answer was dropped with the process.
		bad = append(bad, note("%s: the %s exited 0 without the framework's shutdown (its services never reported stopped: os.Exit on SIGTERM?) "+
			"while calls were in flight: %s got no answer, e.g. %s", model, strings.Join(unstopped, ", the "), count(len(lost), "call", "calls"), e.example(lost, false)))
	case !clean && len(lost) > 0:
		bad = append(bad, note("%s: %d in-flight calls were cut off instead of answered, e.g. %s", model, len(lost), e.example(lost, true)))
	}
	if !clean { // name the handlers that held the shutdown up, likely causes first
		var hung []framework.CommandInfo
		for _, a := range apps {
			for _, c := range a.Commands() {
				if a.handled(c) == 0 {
					hung = append(hung, c)
				}
			}
		}
		for _, c := range e.causesFirst(hung) {
			bad = append(bad, note("%s: %s never returned from its handler during the load: a handler that ignores its context holds up the shutdown",
				model, cmdName(c)))
		}
	}
	// After a shutdown that ran and exited 0, a call without an answer never reached a
	// handler: its connection was still in the kernel's accept queue when the listener
	// closed (reset), or Go's HTTP server read it after the shutdown had begun and closed
	// it unanswered (EOF), as net/http does.
	good = append(good, note("%s: %d calls answered during the load, %d refused or closed unaccepted after the endpoint closed",
		model, nAnswered.Load(), nRefused.Load()+int64(len(lost))))
	return bad, good, len(unstopped) > 0 && len(lost) > 0
}

// lostCall is a call of the load that got no answer.
type lostCall struct {
	app *app
	cmd framework.CommandInfo
	err error
}

// example describes one of the lost calls. When the process did not stop in time
// (stuck), it prefers a command none of whose handlers returned while the process ran,
// callees before their callers (causesFirst): a hung handler holds up its callers too,
// whose calls are then lost as well, but it is the cause.
func (e *env) example(lost []lostCall, stuck bool) string {
	if stuck {
		var hung []framework.CommandInfo
		for _, l := range lost {
			if l.app.handled(l.cmd) == 0 {
				hung = append(hung, l.cmd)
			}
		}
		if h := e.causesFirst(hung); len(h) > 0 {
			for _, l := range lost {
				if sameCmd(l.cmd, h[0]) {
					return fmt.Sprintf("%s: %v (none of its handlers returned: a handler that ignores its context?)", cmdName(l.cmd), l.err)
				}
			}
		}
	}
	return fmt.Sprintf("%s: %v", cmdName(lost[0].cmd), lost[0].err)
}

// causesFirst returns the distinct commands of cmds with those whose service calls no
// other service first (by the static analysis' cross-service calls): when a callee
// hangs, its callers hang with it, but the callee is the cause.
func (e *env) causesFirst(cmds []framework.CommandInfo) []framework.CommandInfo {
	var out []framework.CommandInfo
	for _, c := range cmds {
		if !slices.ContainsFunc(out, func(o framework.CommandInfo) bool { return sameCmd(o, c) }) {
			out = append(out, c)
		}
	}
	f, err := e.staticFacts()
	if err != nil || len(out) < 2 {
		return out
	}
	calls := func(c framework.CommandInfo) bool {
		return slices.ContainsFunc(f.Calls, func(cs callSite) bool { return strings.EqualFold(cs.Caller, c.Service) })
	}
	slices.SortStableFunc(out, func(a, b framework.CommandInfo) int {
		switch ca, cb := calls(a), calls(b); {
		case ca == cb:
			return 0
		case cb:
			return -1
		}
		return 1
	})
	return out
}

// checkHealth starts the project on the broker through a TCP proxy, cuts the proxy and
// expects /readyz to turn unavailable, then restores it and expects ok again.
func checkHealth(ctx context.Context, e *env) Result {
	raw, release, err := e.brokers.get(ctx)
	if err != nil {
		return fail("no broker", note("%v", err))
	}
	defer release()
	u, err := url.Parse(raw)
	if err != nil {
		return fail("broker URL", note("%v", err))
	}
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		return fail("TCP proxy", note("%v", err))
	}
	defer func() { _ = proxy.Close() }()
	u.Host = proxy.Addr()
	a, err := e.start(ctx, runtime.Profile{Bridge: u.String()})
	if err != nil {
		return fail("the project did not start behind the proxy", note("%v", err))
	}
	defer stopAll(a)
	wait := func(want string, within time.Duration) (runtime.Health, time.Duration, bool) {
		t0 := time.Now()
		var h runtime.Health
		for time.Since(t0) < within && ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			h, err = runtime.Probe(pctx, a.HealthAddr())
			cancel()
			if err == nil && h.Status == want {
				return h, time.Since(t0).Round(time.Millisecond), true
			}
			time.Sleep(100 * time.Millisecond)
		}
		return h, within, false
	}
	const within = 10 * time.Second
	if h, _, ok := wait("ok", within); !ok {
		return fail("/readyz never reported ok with the broker reachable", note("last answer: status %q error %q", h.Status, h.Error))
	}
	proxy.Cut()
	h, took, ok := wait("unavailable", within)
	if !ok {
		return fail(fmt.Sprintf("/readyz still reported %q %v after the broker connection was cut: health ignores the bridge", h.Status, within),
			note("GET http://%s/readyz kept answering status %q while the TCP proxy to the broker refused every connection", a.HealthAddr(), h.Status))
	}
	ev := []Evidence{note("/readyz unavailable %v after the cut: %s", took, h.Error)}
	proxy.Restore()
	h, took, ok = wait("ok", 2*within)
	if !ok {
		return fail(fmt.Sprintf("/readyz did not recover within %v after the broker connection was restored", 2*within),
			append(ev, note("last answer: status %q error %q", h.Status, h.Error))...)
	}
	ev = append(ev, note("/readyz ok again %v after the restore", took))
	return pass("readyz follows the broker connection: unavailable when cut, ok when restored", ev...)
}
