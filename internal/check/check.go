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

	"github.com/purista-go/purista/internal/preflight"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	fwapp "github.com/purista-go/purista/pkg/framework/app"
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
	// Broker is the broker kind for the broker checks: "nats", "amqp" or "mqtt". Empty
	// means the kind of the broker URL's scheme (see BrokerKind), or "nats" without one;
	// a kind that contradicts the URL's scheme is an error wrapping ErrUsage.
	Broker string
	// BrokerURL is an external broker; empty means the Profile's bridge when that is a
	// broker, else an embedded broker (NATS and MQTT).
	BrokerURL string
	// Profile names a profile of purista.yaml whose bridge is the default BrokerURL. An
	// unknown name is an error wrapping ErrUsage.
	Profile string
	// Env is the environment of go commands and of the project's processes (nil:
	// os.Environ()). Tests set GOFLAGS/GOPROXY here.
	Env []string
	// CallBound is the longest acceptable call timeout (default 30s, the framework's
	// default command timeout).
	CallBound time.Duration
	// ShutdownTimeout is the PURISTA_SHUTDOWN_TIMEOUT the graceful-shutdown check gives
	// the project (default 5s).
	ShutdownTimeout time.Duration
	// PreflightTimeout bounds the connection test of an external broker before anything
	// is built (default preflight.DefaultTimeout).
	PreflightTimeout time.Duration
	// Progress, when set, is told when a step starts and when a check ends. It is
	// called from several goroutines, never concurrently.
	Progress func(Progress)
}

// Progress is one step of a run.
type Progress struct {
	// Step is "broker" (the connection test of an external broker), "build", "analyze"
	// or a check name.
	Step string
	// Done is false when the step starts and true when it ends.
	Done bool
	// Result is set when a check ends.
	Result *Result
	// Err is set when a step other than a check ended without success: it failed, or the
	// run's context ended (then Err wraps the context's error).
	Err error
}

// BuildError means the project could not be built or its service packages could not be
// loaded: nothing could be checked.
type BuildError struct{ Err error }

// Error implements error.
func (e *BuildError) Error() string { return "project could not be built: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *BuildError) Unwrap() error { return e.Err }

// ErrUsage is wrapped by every error that comes from the options rather than the
// project: an unknown check or profile, a selection of no check, a broker kind that
// contradicts the broker URL, a broker URL that is not one.
var ErrUsage = errors.New("usage error")

// usageError is an error about the options: errors.Is(err, ErrUsage) holds for it
// without ErrUsage's text in the message.
type usageError struct{ err error }

func (e *usageError) Error() string        { return e.err.Error() }
func (e *usageError) Unwrap() error        { return e.err }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

// usagef is fmt.Errorf for an error that wraps ErrUsage.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// ErrBrokerUnavailable is wrapped by Run's error when the external broker (--broker-url
// or the profile's bridge) does not answer or refuses the connection: nothing was
// checked, and the project is not to blame. The error is a *BrokerError.
var ErrBrokerUnavailable = preflight.ErrUnavailable

// BrokerError is an external broker that failed the connection test Run makes before it
// builds anything.
type BrokerError struct {
	// Source says where the URL came from: "--broker-url" or "the bridge of profile NAME".
	Source string
	// Kind is the broker kind ("nats", "amqp", "mqtt").
	Kind string
	// Err is the *preflight.Error (its message names the URL, credentials masked).
	Err error
}

// Error implements error.
func (e *BrokerError) Error() string { return e.Err.Error() + " (" + e.Source + ")" }

// Unwrap returns the cause, which wraps ErrBrokerUnavailable.
func (e *BrokerError) Unwrap() error { return e.Err }

// ErrUnknownCheck is wrapped (with ErrUsage) when --only or --skip names a check that
// does not exist.
var ErrUnknownCheck = errors.New("unknown check")

// ErrNoChecks is wrapped (with ErrUsage) when --only and --skip together select no check.
var ErrNoChecks = errors.New("no check selected")

// ErrUnknownProfile is wrapped (with ErrUsage) when Options.Profile is not in purista.yaml.
var ErrUnknownProfile = errors.New("unknown profile")

// env is what every check shares during one run.
type env struct {
	opts    Options
	root    string
	m       *project.Manifest
	bin     *runtime.Binary
	procEnv []string
	brokers *brokers
	set     settings // the check section of purista.yaml

	mu       sync.Mutex
	mismatch *ServicesError // purista.yaml lists services the binary does not run

	factsOnce sync.Once
	facts     *facts
	factsErr  error
	loadFacts func() (*facts, error)
}

// noteMismatch records that the binary does not run every service of purista.yaml.
func (e *env) noteMismatch(err *ServicesError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mismatch = err
}

// servicesMismatch returns the recorded mismatch, or nil.
func (e *env) servicesMismatch() *ServicesError {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mismatch
}

// staticFacts returns the static-analysis facts, computed once.
func (e *env) staticFacts() (*facts, error) {
	e.factsOnce.Do(func() { e.facts, e.factsErr = e.loadFacts() })
	return e.facts, e.factsErr
}

// Run checks the project in opts.Dir and returns the report. The error is a
// *BuildError when the project could not be built, an error wrapping ErrUsage for bad
// options (ErrUnknownCheck, ErrNoChecks, ErrUnknownProfile, a broker mismatch), an
// error wrapping ctx.Err() when ctx ended before the checks could start, a *BrokerError
// (wrapping ErrBrokerUnavailable) when the external broker failed its connection test
// before anything was built, or another
// error when the project or the broker could not be found; failed checks are not
// errors (see Report.Passed).
func Run(ctx context.Context, opts Options) (Report, error) {
	started := time.Now()
	if opts.Dir == "" {
		opts.Dir = "."
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
	if opts.PreflightTimeout <= 0 {
		opts.PreflightTimeout = preflight.DefaultTimeout
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
	if opts.BrokerURL != "" { // settled before anything else: a usage error is reported first
		if opts.Broker, err = brokerKind(opts.Broker, opts.BrokerURL, "--broker-url"); err != nil {
			return Report{}, err
		}
	}
	m, root, err := project.Find(opts.Dir)
	if err != nil {
		return Report{}, err
	}
	rep := Report{SchemaVersion: SchemaVersion, Project: m.Name, Dir: root, Started: started}
	set, err := loadSettings(root, m)
	if err != nil {
		return rep, err
	}
	source := "--broker-url"
	if opts.Profile != "" { // checked even when --broker-url wins, so that a typo shows
		u, err := profileBroker(m, opts.Profile)
		if err != nil {
			return rep, err
		}
		if opts.BrokerURL == "" && u != "" {
			opts.BrokerURL, source = u, "the bridge of profile "+opts.Profile
			if opts.Broker, err = brokerKind(opts.Broker, u, "the bridge of profile "+opts.Profile); err != nil {
				return rep, err
			}
		}
	}
	if opts.Broker == "" { // no broker URL anywhere (a memory profile counts as none)
		opts.Broker = "nats"
	}
	brk, err := newBrokers(opts.Broker, opts.BrokerURL)
	if err != nil {
		return rep, err
	}
	rep.Broker = brk.describe()
	needBroker := false
	for _, d := range definitions() {
		needBroker = needBroker || (selected[d.name] && d.broker)
	}
	if brk.shared() && needBroker {
		progress(Progress{Step: "broker"})
		err := preflight.Check(ctx, brk.url, opts.PreflightTimeout)
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("broker test cut off: %w", ctx.Err())
		} else if err != nil {
			err = &BrokerError{Source: source, Kind: brk.kind, Err: err}
		}
		progress(Progress{Step: "broker", Done: true, Err: err})
		if err != nil {
			return rep, err
		}
	}
	e := &env{opts: opts, root: root, m: m, procEnv: opts.Env, brokers: brk, set: set}
	e.loadFacts = func() (*facts, error) {
		progress(Progress{Step: "analyze"})
		f, err := analyze(ctx, root, m, opts.Env, opts.CallBound)
		err = stepError("analyze", ctx, err)
		progress(Progress{Step: "analyze", Done: true, Err: err})
		return f, err
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
		err = stepError("build", ctx, err)
		progress(Progress{Step: "build", Done: true, Err: err})
		if err != nil {
			return rep, err
		}
	}
	// Static analysis runs first so that a project whose services do not type-check is
	// reported as not built; it shares the build cache the build just filled.
	if selected[ExternalConfig] || selected[Stateless] || selected[TimeoutsAndRetries] {
		if _, err := e.staticFacts(); err != nil {
			return rep, err
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
		if m := e.servicesMismatch(); m != nil && r.Status == Fail && d.broker {
			r.Reason = m.Error() // the cause of every start that failed
		}
		if ctx.Err() != nil && r.Status != Fail {
			r.Status, r.Reason = Fail, "timed out (--timeout) before the check finished"
		}
	}()
	return d.run(ctx, e)
}

// stepError turns the error of the build or analyze step into what Run returns: an
// error wrapping ctx.Err() when the context ended (a timeout or an interrupt is not a
// compile error, whatever the go command made of it), else a *BuildError.
func stepError(step string, ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s cut off: %w", step, ctx.Err())
	}
	return &BuildError{Err: err}
}

// selection resolves --only and --skip into the set of checks to run. Selecting no
// check is an error that says which names cancelled each other.
func selection(only, skip []string) (map[string]bool, error) {
	all := Names()
	for _, n := range append(append([]string(nil), only...), skip...) {
		if !slices.Contains(all, n) {
			return nil, usagef("%w %q: the checks are %s", ErrUnknownCheck, n, strings.Join(all, ", "))
		}
	}
	sel := map[string]bool{}
	n := 0
	for _, c := range all {
		sel[c] = (len(only) == 0 || slices.Contains(only, c)) && !slices.Contains(skip, c)
		if sel[c] {
			n++
		}
	}
	if n == 0 {
		if len(only) == 0 {
			return nil, usagef("%w: --skip %s leaves out every check: skip fewer", ErrNoChecks, strings.Join(skip, ","))
		}
		return nil, usagef("%w: --skip %s leaves out every check that --only %s selects: drop them from one of the two",
			ErrNoChecks, strings.Join(slices.DeleteFunc(slices.Clone(skip), func(s string) bool { return !slices.Contains(only, s) }), ","),
			strings.Join(only, ","))
	}
	return sel, nil
}

// profileBroker returns the broker URL of the profile called name: its bridge, or ""
// when the bridge is memory (the broker checks then use an embedded broker).
func profileBroker(m *project.Manifest, name string) (string, error) {
	p, ok := m.Profiles[name]
	if !ok {
		if len(m.Profiles) == 0 {
			return "", usagef("%w %q: purista.yaml has no profiles", ErrUnknownProfile, name)
		}
		return "", usagef("%w %q: the profiles in purista.yaml are %s", ErrUnknownProfile, name, strings.Join(m.ProfileNames(), ", "))
	}
	kind, err := fwapp.BridgeKind(p.Bridge)
	if err != nil {
		return "", usagef("profile %s: %w", name, err)
	}
	if kind == "memory" {
		return "", nil
	}
	return p.Bridge, nil
}

// BrokerKind returns the broker kind for the broker checks: explicit when it is set
// (it must agree with the scheme of rawURL, when there is one), else the kind of
// rawURL's scheme (fwapp.BridgeKind: nats/tls → nats, amqp/amqps → amqp,
// mqtt/mqtts/tcp/ssl/ws/wss → mqtt), else "nats". Errors wrap ErrUsage.
func BrokerKind(explicit, rawURL string) (string, error) {
	return brokerKind(explicit, rawURL, "--broker-url")
}

// brokerKind is BrokerKind; source says where rawURL came from, for the errors.
func brokerKind(explicit, rawURL, source string) (string, error) {
	switch explicit {
	case "", "nats", "amqp", "mqtt":
	default:
		return "", usagef("--broker %q is unknown: use nats, amqp or mqtt", explicit)
	}
	if rawURL == "" {
		if explicit == "" {
			return "nats", nil
		}
		return explicit, nil
	}
	kind, err := fwapp.BridgeKind(rawURL)
	if err != nil {
		return "", usagef("%s: %w", source, err)
	}
	if kind == "memory" {
		return "", usagef("%s %q is not a broker: leave it out to use an embedded one", source, rawURL)
	}
	if _, err := preflight.Validate(rawURL); err != nil { // ports, hosts
		return "", usagef("%s: %w", source, err)
	}
	if explicit != "" && explicit != kind {
		return "", usagef("--broker %s contradicts %s %s, a URL of kind %s: drop --broker, or give a %s:// URL",
			explicit, source, redact(rawURL), kind, explicit)
	}
	return kind, nil
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
