package check

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
)

// slack is added to every time bound for process and network jitter.
const slack = 3 * time.Second

// callTimeout is how long the check waits for one smoke invocation of c.
func (e *env) callTimeout(c framework.CommandInfo) time.Duration {
	t := c.Timeout
	if t <= 0 || t > e.opts.CallBound {
		t = e.opts.CallBound
	}
	return t + slack
}

// startAll starts the profiles concurrently; on error it stops what started.
func (e *env) startAll(ctx context.Context, profs ...runtime.Profile) ([]*app, error) {
	apps := make([]*app, len(profs))
	errs := make([]error, len(profs))
	var wg sync.WaitGroup
	for i, p := range profs {
		wg.Go(func() { apps[i], errs[i] = e.start(ctx, p) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			stopAll(apps...)
			return nil, err
		}
	}
	return apps, nil
}

// splitProfiles is one profile per service on the broker at url.
func (e *env) splitProfiles(url string) []runtime.Profile {
	var out []runtime.Profile
	for _, s := range e.m.ServiceNames() {
		out = append(out, runtime.Profile{Bridge: url, Services: []string{s}})
	}
	return out
}

// host returns the process of apps that runs service.
func host(apps []*app, service string) *app {
	for _, a := range apps {
		if a.runs(service) {
			return a
		}
	}
	return nil
}

// checkTwoModels invokes every command in the in-memory monolith and with one process
// per service on the broker, and compares the results.
func checkTwoModels(ctx context.Context, e *env) Result {
	url, release, err := e.brokers.get(ctx)
	if err != nil {
		return fail("no broker", note("%v", err))
	}
	defer release()
	apps, err := e.startAll(ctx, append([]runtime.Profile{{Bridge: "memory"}}, e.splitProfiles(url)...)...)
	if err != nil {
		return fail("the project did not start in both models", note("%v", err))
	}
	defer stopAll(apps...)
	mono, split := apps[0], apps[1:]
	var bad, good []Evidence
	var hung []timedOut
	var hints []string // commands whose answers differ only in field values
	for _, c := range mono.Commands() {
		other := host(split, c.Service)
		if other == nil {
			bad = append(bad, note("%s: no process of the split model runs %s", cmdName(c), c.Service))
			continue
		}
		var o1, o2 outcome
		var wg sync.WaitGroup
		wg.Go(func() { o1 = invoke(ctx, mono, c, e.callTimeout(c)) })
		wg.Go(func() { o2 = invoke(ctx, other, c, e.callTimeout(c)) })
		wg.Wait()
		if o := firstTimedOut(o1, o2); o >= 0 {
			hung = append(hung, timedOut{c, note("%s did not answer in time in %s: %s; a hung handler (one that ignores its context?) gives no result to compare",
				cmdName(c), []string{"the monolith (memory)", "one process per service (" + e.brokers.kind + ")"}[o], []outcome{o1, o2}[o])})
			continue
		}
		if o1, o2 = e.set.mask(c, o1), e.set.mask(c, o2); o1 != o2 {
			ev := note("%s gives different results: monolith (memory) %s, one process per service (%s) %s",
				cmdName(c), o1, e.brokers.kind, o2)
			if h := nondetHint(c, o1, o2); h != "" {
				ev.Message += "; " + h
				hints = append(hints, cmdName(c)+": "+h)
			}
			bad = append(bad, ev)
			continue
		}
		good = append(good, note("%s: %s in both models", cmdName(c), o1))
	}
	models := fmt.Sprintf("monolith (memory) and %s over %s", count(len(split), "process", "processes"), e.brokers.describe())
	if len(hung) > 0 {
		reason, ev := e.hungFirst(ctx, apps, hung)
		return fail(reason, append(append(ev, bad...), good...)...)
	}
	if len(hints) > 0 {
		return fail(hints[0], append(bad, good...)...)
	}
	if len(bad) > 0 {
		return fail(fmt.Sprintf("%d of %d commands differ between %s", len(bad), len(bad)+len(good), models), append(bad, good...)...)
	}
	return pass(fmt.Sprintf("%s gave equal results in %s", count(len(good), "command", "commands"), models), good...)
}

// checkExternalConfig reports bridge choices in service code.
func checkExternalConfig(_ context.Context, e *env) Result {
	f, err := e.staticFacts()
	if err != nil {
		return fail("static analysis failed", note("%v", err))
	}
	if len(f.External) > 0 {
		return fail(fmt.Sprintf("%d bridge choices in service code", len(f.External)), f.External...)
	}
	return pass("no bridge constructor, broker URL or bridge setting in " + count(f.Packages, "service package", "service packages"))
}

// checkStateless reports package-level mutable state and compares the answers of two
// instances of every service behind one broker.
func checkStateless(ctx context.Context, e *env) Result {
	f, err := e.staticFacts()
	if err != nil {
		return fail("static analysis failed", note("%v", err))
	}
	bad := slices.Clone(f.State)
	url, release, err := e.brokers.get(ctx)
	if err != nil {
		return fail("no broker", note("%v", err))
	}
	defer release()
	apps, err := e.startAll(ctx, runtime.Profile{Bridge: url, InstanceID: strings.Repeat("a", 32)},
		runtime.Profile{Bridge: url, InstanceID: strings.Repeat("b", 32)})
	if err != nil {
		return fail("two instances did not start", append(bad, note("%v", err))...)
	}
	defer stopAll(apps...)
	var good []Evidence
	var hung []timedOut
	var hints []string // commands whose answers differ only in field values
	for _, c := range apps[0].Commands() {
		var seq []outcome
		for range 2 { // each instance twice: a cache or counter shows up as a changed answer
			var o [2]outcome
			var wg sync.WaitGroup
			for i := range apps {
				wg.Go(func() { o[i] = invoke(ctx, apps[i], c, e.callTimeout(c)) })
			}
			wg.Wait()
			seq = append(seq, e.set.mask(c, o[0]), e.set.mask(c, o[1]))
		}
		if i := firstTimedOut(seq...); i >= 0 {
			hung = append(hung, timedOut{c, note("%s did not answer in time: call %d (instance %d) answered %s; a hung handler (one that ignores its context?) shows no agreement",
				cmdName(c), i+1, i%2+1, seq[i])})
			continue
		}
		if i := slices.IndexFunc(seq, func(o outcome) bool { return o != seq[0] }); i > 0 {
			ev := note("%s: call 1 (instance 1) answered %s, call %d (instance %d) answered %s",
				cmdName(c), seq[0], i+1, i%2+1, seq[i])
			if h := nondetHint(c, seq[0], seq[i]); h != "" {
				ev.Message += "; " + h
				hints = append(hints, cmdName(c)+": "+h)
			}
			bad = append(bad, ev)
			continue
		}
		good = append(good, note("%s: 4 calls over 2 instances all answered %s", cmdName(c), seq[0]))
	}
	switch {
	case len(hung) > 0 && len(bad) > 0:
		reason, ev := e.hungFirst(ctx, apps, hung)
		return fail(fmt.Sprintf("%s; %s", reason, count(len(bad), "sign of instance state", "signs of instance state")), append(append(ev, bad...), good...)...)
	case len(hung) > 0:
		reason, ev := e.hungFirst(ctx, apps, hung)
		return fail(reason, append(ev, good...)...)
	case len(hints) == len(bad) && len(hints) > 0: // only field values differ
		return fail(hints[0], append(bad, good...)...)
	case len(bad) > 0:
		return fail(count(len(bad), "sign of instance state", "signs of instance state"), append(bad, good...)...)
	}
	return pass(fmt.Sprintf("no package-level mutable state in %s; 2 instances agree on %s",
		count(f.Packages, "package", "packages"), count(len(good), "command", "commands")), good...)
}

// firstTimedOut returns the index of the first outcome that is no answer in time (the
// command's timeout, 504, or none at all), or -1.
func firstTimedOut(os ...outcome) int {
	return slices.IndexFunc(os, func(o outcome) bool { return !o.OK && (o.Status == 0 || o.Status == http.StatusGatewayTimeout) })
}

// timedOut is a command that gave no answer in time, with the evidence.
type timedOut struct {
	c  framework.CommandInfo
	ev Evidence
}

// hungOf returns the commands of tos.
func hungOf(tos []timedOut) []framework.CommandInfo {
	out := make([]framework.CommandInfo, len(tos))
	for i, t := range tos {
		out[i] = t.c
	}
	return out
}

// hungFirst names the hung commands among those that timed out: the ones none of whose
// handlers returned in apps (the framework records every handler that returns on the
// event stream), callees before their callers (causesFirst). A command whose handler
// did return timed out waiting for a hung one; it is listed after them. When every
// handler returned, or none did, all are named. It returns the check's reason and the
// evidence, causes first.
func (e *env) hungFirst(ctx context.Context, apps []*app, tos []timedOut) (string, []Evidence) {
	handled := func(c framework.CommandInfo) int {
		n := 0
		for _, a := range apps {
			n += a.handled(c)
		}
		return n
	}
	// A handler that returned when its caller gave up is recorded a moment later.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil &&
		slices.ContainsFunc(tos, func(t timedOut) bool { return handled(t.c) == 0 }) {
		time.Sleep(50 * time.Millisecond)
	}
	var causes, victims []timedOut
	for _, c := range e.causesFirst(hungOf(tos)) {
		t := tos[slices.IndexFunc(tos, func(t timedOut) bool { return sameCmd(t.c, c) })]
		if handled(t.c) == 0 {
			causes = append(causes, t)
		} else {
			t.ev.Message += " (its handler returned: it waited for another command)"
			victims = append(victims, t)
		}
	}
	if len(causes) == 0 {
		causes, victims = tos, nil
	}
	var names []string
	var ev []Evidence
	for _, t := range causes {
		names = append(names, cmdName(t.c))
		ev = append(ev, t.ev)
	}
	for _, t := range victims {
		ev = append(ev, t.ev)
	}
	return fmt.Sprintf("no answer in time from %s (a hung handler?): calls that time out agree on nothing", strings.Join(names, ", ")), ev
}

// count says "1 command" or "2 commands".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
