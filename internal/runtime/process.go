package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/purista-go/purista/pkg/framework/app"
)

// Event is one line of the app's event stream (type "record", "log" or "state"); see
// package framework, EventStream.
type Event = app.StreamLine

// DefaultGrace is how long Stop waits after SIGTERM before it sends SIGKILL when no
// grace period is given.
const DefaultGrace = 10 * time.Second

// StartOptions say which binary to start and how.
type StartOptions struct {
	// Binary is the executable (from Build).
	Binary *Binary
	// Dir is the working directory of the process (usually the project root).
	Dir string
	// Profile sets the PURISTA_* environment.
	Profile Profile
	// Args are extra command-line arguments (flags of the app runner).
	Args []string
	// BaseEnv is the environment the profile is added to (nil: os.Environ()).
	BaseEnv []string
	// Stdout and Stderr receive the process's output (nil: discarded). Logs also come
	// through OnEvent; Stderr is where a panic's stack trace ends up.
	Stdout, Stderr io.Writer
	// OnEvent is called for every event-stream line, in order, from one goroutine owned
	// by the Process. It must not block for long: the app waits while it runs.
	OnEvent func(Event)
	// Grace is the SIGTERM → SIGKILL grace period used when ctx of Start is cancelled
	// (0: DefaultGrace).
	Grace time.Duration
}

// Process is a running project binary. Its methods are safe for concurrent use.
type Process struct {
	cmd        *exec.Cmd
	healthAddr string
	httpAddr   string
	grace      time.Duration
	started    time.Time

	done     chan struct{} // closed when the process has exited and its stream is read
	stopOnce sync.Once
	stopErr  error
	exitErr  error // set before done is closed
	code     int   // set before done is closed
	// leftRunning is set before done is closed: processes of the app's group outlived it.
	leftRunning bool
}

// Start starts the binary with the profile and begins reading its event stream. When
// ctx is cancelled the process is stopped (SIGTERM, then SIGKILL after the grace).
func Start(ctx context.Context, opts StartOptions) (*Process, error) {
	if opts.Binary == nil || opts.Binary.Path == "" {
		return nil, errors.New("start: no binary (call Build first)")
	}
	prof := opts.Profile
	var err error
	if prof.HealthAddr == "" {
		if prof.HealthAddr, err = FreeAddr(); err != nil {
			return nil, fmt.Errorf("start: pick a health port: %w", err)
		}
	}
	if prof.HTTPAddr == "" {
		if prof.HTTPAddr, err = FreeAddr(); err != nil {
			return nil, fmt.Errorf("start: pick an HTTP port: %w", err)
		}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start: event pipe: %w", err)
	}
	cmd := exec.Command(opts.Binary.Path, opts.Args...)
	cmd.Dir = opts.Dir
	base := opts.BaseEnv
	if base == nil {
		base = os.Environ()
	}
	cmd.Env = append(append(append([]string(nil), base...), prof.Environ()...), "PURISTA_EVENTS=fd:3")
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in the child
	cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Binary.Path, err)
	}
	_ = pw.Close() // the child holds the write end now
	p := &Process{cmd: cmd, healthAddr: prof.HealthAddr, grace: opts.Grace, started: time.Now(),
		done: make(chan struct{})}
	if prof.HTTPAddr != "off" {
		p.httpAddr = prof.HTTPAddr
	}
	if p.grace <= 0 {
		p.grace = DefaultGrace
	}
	readDone := make(chan struct{})
	go func() { // owned: ends at EOF of the pipe, at the latest when wait closes pr
		defer close(readDone)
		readEvents(pr, opts.OnEvent)
	}()
	go func() { // owned: ends when the process has exited
		err := cmd.Wait()
		leftover := killGroup(cmd.Process.Pid) // nothing the app started may outlive it
		select {
		case <-readDone:
		case <-time.After(2 * time.Second): // a leaked fd 3 must not hang us
		}
		_ = pr.Close()
		<-readDone
		p.exitErr, p.code, p.leftRunning = err, cmd.ProcessState.ExitCode(), leftover
		close(p.done)
	}()
	stop := context.AfterFunc(ctx, func() { _ = p.Stop(p.grace) })
	go func() { // owned: ends with the process
		<-p.done
		stop()
	}()
	return p, nil
}

// readEvents decodes JSON lines from r and hands them to on until EOF.
func readEvents(r io.Reader, on func(Event)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if on == nil {
			continue
		}
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			e = Event{Type: "log", Time: time.Now(), Level: "WARN", Message: "unreadable event-stream line: " + err.Error()}
		}
		on(e)
	}
	// Drain whatever follows an over-long line so the writer never blocks.
	_, _ = io.Copy(io.Discard, r)
}

// PID returns the process id (also its process-group id).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// HealthAddr returns the host:port of /healthz and /readyz.
func (p *Process) HealthAddr() string { return p.healthAddr }

// HTTPAddr returns the host:port of the command endpoint ("" when disabled).
func (p *Process) HTTPAddr() string { return p.httpAddr }

// Started returns when the process was started.
func (p *Process) Started() time.Time { return p.started }

// Done is closed when the process has exited and its event stream is fully read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode returns the exit code once Done is closed (-1 when killed by a signal or
// still running).
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.code
}

// LeftRunning reports, once Done is closed, whether processes the app started were still
// running when it exited (they are killed then; a clean app leaves nothing behind). It is
// always false on platforms without process groups.
func (p *Process) LeftRunning() bool {
	if !p.Exited() {
		return false
	}
	return p.leftRunning
}

// Wait blocks until the process has exited and returns its exit error (nil for 0).
func (p *Process) Wait() error {
	<-p.done
	return p.exitErr
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig os.Signal) error {
	if p.Exited() {
		return os.ErrProcessDone
	}
	return signalGroup(p.cmd.Process, sig)
}

// Stop shuts the process down: SIGTERM to its process group, SIGKILL when it has not
// exited after grace. It returns once the process is gone; calling it again returns
// the first result. A non-zero exit after SIGTERM is reported as an error.
func (p *Process) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() {
		if grace <= 0 {
			grace = p.grace
		}
		if !p.Exited() {
			_ = signalGroup(p.cmd.Process, terminateSignal())
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-p.done:
			case <-t.C:
				_ = killProcess(p.cmd.Process)
				<-p.done
				p.stopErr = fmt.Errorf("process %d did not stop within %v after SIGTERM: killed", p.PID(), grace)
				return
			}
		}
		if p.code != 0 {
			p.stopErr = fmt.Errorf("process %d exited with code %d", p.PID(), p.code)
		}
	})
	return p.stopErr
}
