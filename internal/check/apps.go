package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework"
)

// readyTimeout bounds how long a started process may take to report every service ready.
const readyTimeout = 30 * time.Second

// app is one running process of the project, started through internal/runtime.
type app struct {
	*runtime.Process
	services []string // the services it runs

	mu       sync.Mutex
	ready    map[string]bool
	commands []framework.CommandInfo
	returned map[string]int  // by cmdKey: handlers that returned (event-stream records)
	stopped  map[string]bool // services that reported "stopped": the framework's shutdown ran
	readyCh  chan struct{}
	stderr   bytes.Buffer
}

// start runs the project's binary with prof and waits until every service of the
// process reported "ready" on the event stream (which the framework sends once its
// health and HTTP endpoints listen). The process is stopped at the end of the check by
// stop, or when ctx ends.
func (e *env) start(ctx context.Context, prof runtime.Profile) (*app, error) {
	// runtime.Start picks free ports that another process may take before the app binds
	// them; the app then fails to listen and exits. Such a start is retried.
	var err error
	for range 3 {
		var a *app
		if a, err = e.startOnce(ctx, prof); err == nil {
			if c, derr := net.DialTimeout("tcp", a.HTTPAddr(), time.Second); derr == nil {
				_ = c.Close()
				return a, nil
			}
			_ = a.Stop(time.Second)
			err = fmt.Errorf("%s: its HTTP endpoint %s does not answer: %s", a.label(), a.HTTPAddr(), a.lastLog())
		}
		if !strings.Contains(err.Error(), "address already in use") && !strings.Contains(err.Error(), "does not answer") {
			return nil, err
		}
	}
	return nil, err
}

func (e *env) startOnce(ctx context.Context, prof runtime.Profile) (*app, error) {
	a := &app{services: prof.Services, ready: map[string]bool{}, returned: map[string]int{}, stopped: map[string]bool{}, readyCh: make(chan struct{})}
	if len(a.services) == 0 {
		a.services = e.m.ServiceNames()
	}
	if prof.ShutdownTimeout == 0 {
		prof.ShutdownTimeout = e.opts.ShutdownTimeout
	}
	p, err := runtime.Start(ctx, runtime.StartOptions{Binary: e.bin, Dir: e.root, Profile: prof, BaseEnv: e.procEnv,
		Stderr: &lockedWriter{mu: &a.mu, w: &a.stderr}, OnEvent: a.onEvent, Grace: e.opts.ShutdownTimeout + 2*time.Second})
	if err != nil {
		return nil, err
	}
	a.Process = p
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	probe := time.NewTicker(100 * time.Millisecond)
	defer probe.Stop()
	for {
		select {
		case <-a.readyCh:
			return a, nil
		case <-p.Done():
			return nil, fmt.Errorf("%s exited with code %d before it was ready: %s", a.label(), p.ExitCode(), a.lastLog())
		case <-t.C:
			_ = p.Stop(time.Second)
			return nil, fmt.Errorf("%s not ready within %v: %s", a.label(), readyTimeout, a.lastLog())
		case <-ctx.Done():
			_ = p.Stop(time.Second)
			return nil, ctx.Err()
		case <-probe.C:
			if err := e.runsAll(ctx, a); err != nil {
				_ = p.Stop(time.Second)
				return nil, err
			}
		}
	}
}

// runsAll compares the services the process's health endpoint lists (the framework
// fixes that list when it starts) with those it was started for, so that a service of
// purista.yaml that the binary does not run is named at once instead of waited for. It
// returns nil while the endpoint does not answer yet, or answers without a list.
func (e *env) runsAll(ctx context.Context, a *app) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	h, err := runtime.Probe(pctx, a.HealthAddr())
	if err != nil || len(h.Services) == 0 {
		return nil
	}
	var runs, missing []string
	for _, s := range h.Services {
		name, _, _ := strings.Cut(s, "/")
		runs = append(runs, name)
	}
	for _, s := range a.services {
		if !slices.ContainsFunc(runs, func(r string) bool { return strings.EqualFold(r, s) }) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	se := &ServicesError{Missing: missing, Runs: h.Services, Main: e.m.Main}
	e.noteMismatch(se)
	return fmt.Errorf("%s: %w", a.label(), se)
}

// ServicesError means purista.yaml lists services that the project's binary does not
// run: no check that starts the project can pass.
type ServicesError struct {
	// Missing are the services of purista.yaml the binary does not run.
	Missing []string
	// Runs are the services the binary runs, as its health endpoint lists them ("Name/vN").
	Runs []string
	// Main is the binary's package (purista.yaml main).
	Main string
}

// Error names the mismatch and what to do.
func (e *ServicesError) Error() string {
	return fmt.Sprintf("purista.yaml lists %s, which %s does not run (it runs %s): register %s in %s (app.New) or remove %s from purista.yaml",
		strings.Join(e.Missing, ", "), e.Main, strings.Join(e.Runs, ", "), them(e.Missing), e.Main, them(e.Missing))
}

func them(s []string) string {
	if len(s) == 1 {
		return "it"
	}
	return "them"
}

func (a *app) onEvent(ev runtime.Event) {
	if ev.Type == "record" && ev.Record != nil && ev.Record.Kind == "command" {
		a.mu.Lock()
		a.returned[cmdKey(ev.Record.To.ServiceName, ev.Record.To.ServiceVersion, ev.Record.To.ServiceTarget)]++
		a.mu.Unlock()
		return
	}
	if ev.Type == "state" && ev.State == "stopped" {
		a.mu.Lock()
		a.stopped[strings.ToLower(ev.Service)] = true
		a.mu.Unlock()
		return
	}
	if ev.Type != "state" || ev.State != "ready" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ready[strings.ToLower(ev.Service)] {
		return
	}
	a.ready[strings.ToLower(ev.Service)] = true
	a.commands = append(a.commands, ev.Commands...)
	for _, s := range a.services {
		if !a.ready[strings.ToLower(s)] {
			return
		}
	}
	close(a.readyCh)
}

// cmdKey identifies a command in app.returned.
func cmdKey(service, version, name string) string {
	return strings.ToLower(service + "/" + version + "/" + name)
}

// sameCmd reports whether a and b are the same command.
func sameCmd(a, b framework.CommandInfo) bool {
	return cmdKey(a.Service, a.Version, a.Name) == cmdKey(b.Service, b.Version, b.Name)
}

// handled returns how many of c's handlers have returned in the process (an answer or an
// error, the framework's record of it on the event stream).
func (a *app) handled(c framework.CommandInfo) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.returned[cmdKey(c.Service, c.Version, c.Name)]
}

// shutDown reports whether every service of the process reported "stopped" on the event
// stream, which the framework does at the end of its shutdown: a process that exits
// without it did not run the shutdown (os.Exit, a crash). Call it once the process
// has exited (Done), when every event has been read.
func (a *app) shutDown() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.services {
		if !a.stopped[strings.ToLower(s)] {
			return false
		}
	}
	return true
}

// label names the process in evidence: "process of User,Email".
func (a *app) label() string { return "process of " + strings.Join(a.services, ",") }

// lastLog returns the last lines the process wrote to stderr.
func (a *app) lastLog() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(a.stderr.String()), "\n")
	var errs []string // the app's own error lines say most
	for _, l := range lines {
		if strings.HasPrefix(l, "Error:") || strings.Contains(l, "level=ERROR") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 {
		lines = errs
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

// Commands returns the commands of the process's services with their metadata.
func (a *app) Commands() []framework.CommandInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.commands)
}

// runs reports whether the process runs service name.
func (a *app) runs(name string) bool {
	return slices.ContainsFunc(a.services, func(s string) bool { return strings.EqualFold(s, name) })
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		l.w.Reset()
	}
	return l.w.Write(p)
}

// stopAll stops processes (SIGTERM, SIGKILL after the grace) concurrently.
func stopAll(apps ...*app) {
	var wg sync.WaitGroup
	for _, a := range apps {
		if a == nil {
			continue
		}
		wg.Go(func() { _ = a.Stop(0) })
	}
	wg.Wait()
}

// outcome is the comparable result of one invocation.
type outcome struct {
	OK     bool
	Output string // canonical JSON on success
	Status int
	Error  string
}

func (o outcome) String() string {
	if o.OK {
		return o.Output
	}
	if o.Status == 0 {
		return "no answer: " + o.Error
	}
	return fmt.Sprintf("error %d %s", o.Status, o.Error)
}

// invoke calls a command through the process's HTTP endpoint.
func invoke(ctx context.Context, a *app, c framework.CommandInfo, timeout time.Duration) outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := a.Invoke(ctx, c.Service, c.Version, c.Name, smokeInput(c))
	if err != nil {
		var ie *runtime.InvokeError
		if errors.As(err, &ie) {
			return outcome{Status: ie.Status, Error: problemText(ie.Message)}
		}
		return outcome{Error: bare(err).Error()}
	}
	return outcome{OK: true, Output: canonical(out)}
}

// problemText returns the words of an error answer: the detail (else the title) of an
// RFC 9457 problem document, whose trace id and instance differ on every call, or msg.
func problemText(msg string) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal([]byte(msg), &p) != nil || p.Title == "" && p.Detail == "" {
		return msg
	}
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// canonical re-encodes JSON with sorted keys.
func canonical(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v) // a decoded value always encodes
	return string(b)
}

// cmdName is "Service v1 name".
func cmdName(c framework.CommandInfo) string { return c.Service + " v" + c.Version + " " + c.Name }

// callEnd is how one call of the load ended.
type callEnd int

const (
	// answered: a complete answer, any status.
	answered callEnd = iota
	// refused: no connection, the endpoint had stopped listening.
	refused
	// unaccepted: the connection was reset (ECONNRESET): it was still in the kernel's
	// accept queue when the listener closed, so the app never saw the call.
	unaccepted
	// cut: the connection ended without an answer after the app had read the call (EOF):
	// the app accepted the work and dropped it.
	cut
)

// loadCall posts one call on a fresh connection and classifies how it ended; err says
// what happened to a call that was not answered.
func loadCall(ctx context.Context, client *http.Client, addr string, c framework.CommandInfo) (callEnd, error) {
	url := fmt.Sprintf("http://%s/api/%s/v%s/%s", addr, c.Service, c.Version, c.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(smokeInput(c)))
	if err != nil {
		return unaccepted, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED) || isDialError(err):
			return refused, err
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return cut, fmt.Errorf("the connection closed without an answer after the call was sent (%w)", bare(err))
		}
		return unaccepted, bare(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return cut, fmt.Errorf("answer %s cut off: %w", resp.Status, err)
	}
	return answered, nil
}

// bare returns the cause of an HTTP client error without the method and URL (whose port
// changes with every run).
func bare(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
