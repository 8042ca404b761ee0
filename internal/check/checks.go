package check

import (
	"context"
	"fmt"
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
		if o1 != o2 {
			bad = append(bad, note("%s gives different results: monolith (memory) %s, one process per service (%s) %s",
				cmdName(c), o1, e.brokers.kind, o2))
			continue
		}
		good = append(good, note("%s: %s in both models", cmdName(c), o1))
	}
	models := fmt.Sprintf("monolith (memory) and %s over %s", count(len(split), "process", "processes"), e.brokers.describe())
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
	for _, c := range apps[0].Commands() {
		var seq []outcome
		for range 2 { // each instance twice: a cache or counter shows up as a changed answer
			var o [2]outcome
			var wg sync.WaitGroup
			for i := range apps {
				wg.Go(func() { o[i] = invoke(ctx, apps[i], c, e.callTimeout(c)) })
			}
			wg.Wait()
			seq = append(seq, o[0], o[1])
		}
		if i := slices.IndexFunc(seq, func(o outcome) bool { return o != seq[0] }); i > 0 {
			bad = append(bad, note("%s: call 1 (instance 1) answered %s, call %d (instance %d) answered %s",
				cmdName(c), seq[0], i+1, i%2+1, seq[i]))
			continue
		}
		good = append(good, note("%s: 4 calls over 2 instances all answered %s", cmdName(c), seq[0]))
	}
	if len(bad) > 0 {
		return fail(fmt.Sprintf("%d signs of instance state", len(bad)), append(bad, good...)...)
	}
	return pass(fmt.Sprintf("no package-level mutable state in %s; 2 instances agree on %s",
		count(f.Packages, "package", "packages"), count(len(good), "command", "commands")), good...)
}

// count says "1 command" or "2 commands".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
