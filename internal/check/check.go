// Package check implements `purista check`: the distribution checklist as executable
// checks. Each check runs the project for real (or analyses its service code) and
// returns pass, fail or skip with the evidence:
//
//	two-models            same binary, in-memory monolith and one process per service over
//	                      a broker: every command's smoke invocation gives equal results
//	external-config       no bridge constructor, broker URL or bridge choice in service code
//	stateless             no package-level mutable state; two instances give equal answers
//	timeouts-and-retries  bounded call timeouts; with the callee stopped callers answer in
//	                      bounded time; subscriptions retry and dead-letter
//	graceful-shutdown     SIGTERM under load in every model: calls finish, exit 0 in time
//	health-connectivity   /readyz turns unavailable when the broker connection is cut (via
//	                      a TCP proxy) and ok again once it is restored
//
// Run builds the project once, then runs the selected checks concurrently; every check
// that needs a broker gets its own embedded NATS server (or, with an external broker
// URL, the broker checks run one after another). Reports render as a text table, JSON
// (docs/check.md) or JUnit XML.
package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// The names of the checks, in checklist order.
const (
	TwoModels          = "two-models"
	ExternalConfig     = "external-config"
	Stateless          = "stateless"
	TimeoutsAndRetries = "timeouts-and-retries"
	GracefulShutdown   = "graceful-shutdown"
	HealthConnectivity = "health-connectivity"
)

// definition is one check.
type definition struct {
	name, title string
	broker      bool // needs a broker
	run         func(ctx context.Context, e *env) Result
}

// definitions returns the checks in checklist order.
func definitions() []definition {
	return []definition{
		{TwoModels, "the same binary runs as a monolith and as one process per service with equal results", true, checkTwoModels},
		{ExternalConfig, "bridge configuration is external: no bridge constructor, broker URL or bridge choice in service code", false, checkExternalConfig},
		{Stateless, "services are stateless: no package-level mutable state, two instances agree", true, checkStateless},
		{TimeoutsAndRetries, "cross-service calls have bounded timeouts; subscriptions retry and dead-letter", true, checkTimeouts},
		{GracefulShutdown, "SIGTERM under load: in-flight calls finish, exit 0 within the shutdown timeout", true, checkShutdown},
		{HealthConnectivity, "health reports the broker connection: unavailable when cut, ok when restored", true, checkHealth},
	}
}

// Names returns the names of all checks in checklist order.
func Names() []string {
	var out []string
	for _, d := range definitions() {
		out = append(out, d.name)
	}
	return out
}

// Options configure Run.
type Options struct {
	// Dir is any folder inside the project (default ".").
	Dir string
	// Only, when not empty, runs just these checks; Skip leaves these out. Checks left
	// out are reported as skipped.
	Only, Skip []string
	// Broker is the broker kind for the broker checks: "nats" (default), "amqp", "mqtt".
	Broker string
	// BrokerURL is an external broker; empty starts an embedded one (NATS and MQTT).
	BrokerURL string
	// Env is the environment of go commands and of the project's processes (nil:
	// os.Environ()). Tests set GOFLAGS/GOPROXY here.
	Env []string
	// CallBound is the longest acceptable call timeout (default 30s, the framework's
	// default command timeout).
	CallBound time.Duration
	// ShutdownTimeout is the PURISTA_SHUTDOWN_TIMEOUT the graceful-shutdown check gives
	// the project (default 5s).
	ShutdownTimeout time.Duration
	// Progress, when set, is told when a step starts and when a check ends. It is
	// called from several goroutines, never concurrently.
	Progress func(Progress)
}

// Progress is one step of a run.
type Progress struct {
	// Step is "build", "analyze" or a check name.
	Step string
	// Done is false when the step starts and true when it ends.
	Done bool
	// Result is set when a check ends.
	Result *Result
}

// BuildError means the project could not be built or its service packages could not be
// loaded: nothing could be checked.
type BuildError struct{ Err error }

// Error implements error.
func (e *BuildError) Error() string { return "project could not be built: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *BuildError) Unwrap() error { return e.Err }

// ErrUnknownCheck is wrapped when --only or --skip names a check that does not exist.
var ErrUnknownCheck = errors.New("unknown check")

// env is what every check shares during one run.
type env struct {
	opts    Options
	root    string
	m       *project.Manifest
	bin     *runtime.Binary
	procEnv []string
	brokers *brokers

	factsOnce sync.Once
	facts     *facts
	factsErr  error
	loadFacts func() (*facts, error)
}

// staticFacts returns the static-analysis facts, computed once.
func (e *env) staticFacts() (*facts, error) {
	e.factsOnce.Do(func() { e.facts, e.factsErr = e.loadFacts() })
	return e.facts, e.factsErr
}

// Run checks the project in opts.Dir and returns the report. The error is a
// *BuildError when the project could not be built, an error wrapping ErrUnknownCheck for
// a bad selection, or another error when the project or the broker could not be found;
// failed checks are not errors (see Report.Passed).
func Run(ctx context.Context, opts Options) (Report, error) {
	started := time.Now()
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.Broker == "" {
		opts.Broker = "nats"
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.CallBound <= 0 {
		opts.CallBound = 30 * time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	var mu sync.Mutex
	progress := func(p Progress) {
		if opts.Progress != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.Progress(p)
		}
	}
	selected, err := selection(opts.Only, opts.Skip)
	if err != nil {
		return Report{}, err
	}
	m, root, err := project.Find(opts.Dir)
	if err != nil {
		return Report{}, err
	}
	rep := Report{SchemaVersion: SchemaVersion, Project: m.Name, Dir: root, Started: started}
	brk, err := newBrokers(opts.Broker, opts.BrokerURL)
	if err != nil {
		return rep, err
	}
	rep.Broker = brk.describe()
	e := &env{opts: opts, root: root, m: m, procEnv: opts.Env, brokers: brk}
	e.loadFacts = func() (*facts, error) {
		progress(Progress{Step: "analyze"})
		defer progress(Progress{Step: "analyze", Done: true})
		return analyze(ctx, root, m, opts.Env, opts.CallBound)
	}
	needBinary := false
	for _, d := range definitions() {
		needBinary = needBinary || (selected[d.name] && d.name != ExternalConfig)
	}
	if needBinary {
		progress(Progress{Step: "build"})
		dir, err := os.MkdirTemp("", "purista-check-")
		if err != nil {
			return rep, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		e.bin, err = runtime.Build(ctx, runtime.BuildOptions{Dir: root, Main: m.Main, Env: goEnvDiff(opts.Env),
			Output: filepath.Join(dir, m.Name)})
		progress(Progress{Step: "build", Done: true})
		if err != nil {
			return rep, &BuildError{Err: err}
		}
	}
	// Static analysis runs first so that a project whose services do not type-check is
	// reported as not built; it shares the build cache the build just filled.
	if selected[ExternalConfig] || selected[Stateless] || selected[TimeoutsAndRetries] {
		if _, err := e.staticFacts(); err != nil {
			return rep, &BuildError{Err: err}
		}
	}
	defs := definitions()
	rep.Checks = make([]Result, len(defs))
	var wg sync.WaitGroup
	var serial sync.Mutex // broker checks on one shared external broker run one at a time
	for i, d := range defs {
		if !selected[d.name] {
			rep.Checks[i] = Result{Name: d.name, Title: d.title, Status: Skip, Reason: "not selected (--only/--skip)"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.broker && brk.shared() {
				serial.Lock()
				defer serial.Unlock()
			}
			progress(Progress{Step: d.name})
			t0 := time.Now()
			r := runOne(ctx, d, e)
			r.Duration = time.Since(t0)
			rep.Checks[i] = r
			progress(Progress{Step: d.name, Done: true, Result: &r})
		}()
	}
	wg.Wait()
	rep.Duration = time.Since(started)
	rep.finish()
	return rep, nil
}

// runOne runs a check, turning a panic or an overrun into a failure.
func runOne(ctx context.Context, d definition, e *env) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Status: Fail, Reason: fmt.Sprintf("the check itself crashed: %v", p)}
		}
		r.Name, r.Title = d.name, d.title
		if ctx.Err() != nil && r.Status != Fail {
			r.Status, r.Reason = Fail, "timed out (--timeout) before the check finished"
		}
	}()
	return d.run(ctx, e)
}

// selection resolves --only and --skip into the set of checks to run.
func selection(only, skip []string) (map[string]bool, error) {
	all := Names()
	for _, n := range append(append([]string(nil), only...), skip...) {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("%w %q: the checks are %s", ErrUnknownCheck, n, strings.Join(all, ", "))
		}
	}
	sel := map[string]bool{}
	for _, n := range all {
		sel[n] = (len(only) == 0 || slices.Contains(only, n)) && !slices.Contains(skip, n)
	}
	return sel, nil
}

// goEnvDiff returns the entries of env that differ from the process environment, for
// runtime.Build (which adds them to os.Environ()).
func goEnvDiff(env []string) []string {
	base := map[string]bool{}
	for _, kv := range os.Environ() {
		base[kv] = true
	}
	var out []string
	for _, kv := range env {
		if !base[kv] {
			out = append(out, kv)
		}
	}
	return out
}

// fail, pass and skip build results.
func fail(reason string, ev ...Evidence) Result {
	return Result{Status: Fail, Reason: reason, Evidence: ev}
}
func pass(reason string, ev ...Evidence) Result {
	return Result{Status: Pass, Reason: reason, Evidence: ev}
}

// note is evidence without a place.
func note(format string, args ...any) Evidence {
	return Evidence{Message: fmt.Sprintf(format, args...)}
}
