package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// want is an expected error: nil, or its text and the sentinel it wraps.
type want struct {
	text string
	is   error
}

func check(t *testing.T, what string, err error, w want) {
	t.Helper()
	if w.is == nil {
		if err != nil {
			t.Errorf("%s = %v, want nil", what, err)
		}
		return
	}
	if err == nil || err.Error() != w.text || !errors.Is(err, w.is) {
		t.Errorf("%s = %v, want %q wrapping %v", what, err, w.text, w.is)
	}
}

var (
	notStarted  = want{"amqp: event bridge not started", bridge.ErrNotStarted}
	closed      = want{"amqp: event bridge closed", bridge.ErrClosed}
	startClosed = want{"amqp: start: event bridge closed", bridge.ErrClosed}
)

func TestStateChecks(t *testing.T) {
	owner := new(int)
	tests := []struct {
		state    State
		gateShut bool
		ownCall  bool // the call's ctx comes from owner's work
		intake   want
		healthy  want
		running  bool
		starting want
	}{
		{state: StateNew, intake: notStarted, healthy: notStarted, starting: want{}},
		{state: StateRunning, intake: want{}, healthy: want{}, running: true, starting: want{}},
		{state: StateDraining, gateShut: true, intake: closed, healthy: closed, starting: startClosed},
		{state: StateDraining, gateShut: true, ownCall: true, intake: want{}, healthy: closed, starting: startClosed},
		{state: StateClosed, gateShut: true, ownCall: true, intake: closed, healthy: closed, starting: startClosed},
	}
	for _, tt := range tests {
		l := &Lifecycle{Name: "amqp"}
		l.Store(tt.state)
		var g inflight.Gate
		ctx := context.Background()
		if tt.ownCall {
			ctx = inflight.WithOwner(ctx, owner)
			if !g.Enter(false) { // the owner's work that makes the call is in flight
				t.Fatal("gate refused work")
			}
		}
		if tt.gateShut {
			g.Close()
		}
		name := fmt.Sprintf("state %d (own call %v)", tt.state, tt.ownCall)
		err := l.Intake(ctx, &g, owner)
		check(t, name+": Intake", err, tt.intake)
		if err == nil {
			g.Leave()
		}
		check(t, name+": Healthy", l.Healthy(), tt.healthy)
		running, err := l.Starting()
		if running != tt.running {
			t.Errorf("%s: Starting running = %v, want %v", name, running, tt.running)
		}
		check(t, name+": Starting", err, tt.starting)
	}
}

func TestIntakeEndedContext(t *testing.T) {
	for _, s := range []State{StateNew, StateRunning, StateDraining, StateClosed} {
		l := &Lifecycle{Name: "nats"}
		l.Store(s)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var g inflight.Gate
		if err := l.Intake(ctx, &g, l); err != context.Canceled {
			t.Errorf("state %d: Intake = %v, want context.Canceled itself", s, err)
		}
	}
}

func TestTransitions(t *testing.T) {
	var l Lifecycle
	if l.Load() != StateNew {
		t.Fatalf("zero Lifecycle is in state %d", l.Load())
	}
	if !l.CompareAndSwap(StateNew, StateRunning) || l.CompareAndSwap(StateNew, StateRunning) {
		t.Fatal("CompareAndSwap")
	}
	if prev := l.Swap(StateDraining); prev != StateRunning || l.Load() != StateDraining {
		t.Fatalf("Swap: prev %d, now %d", prev, l.Load())
	}
}

func TestBeginClose(t *testing.T) {
	tests := []struct {
		name      string
		endFirst  bool // the first Close ends while the second waits
		cancelCtx bool // the second Close's ctx ends while it waits
		want      want
	}{
		{name: "first ends", endFirst: true, want: want{}},
		{name: "ctx ends", cancelCtx: true, want: want{"mqtt: close: context canceled", context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Lifecycle{Name: "mqtt"}
			first, err := l.BeginClose(context.Background())
			if !first || err != nil {
				t.Fatalf("first BeginClose = %v, %v", first, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct {
				first bool
				err   error
			}
			res := make(chan result, 1)
			go func() {
				f, err := l.BeginClose(ctx)
				res <- result{f, err}
			}()
			select {
			case r := <-res:
				t.Fatalf("second BeginClose returned %v, %v while the first was running", r.first, r.err)
			case <-time.After(20 * time.Millisecond):
			}
			if tt.endFirst {
				l.EndClose()
			}
			if tt.cancelCtx {
				cancel()
			}
			r := <-res
			if r.first {
				t.Fatal("second BeginClose says it is first")
			}
			check(t, "second BeginClose", r.err, tt.want)
			if tt.cancelCtx {
				l.EndClose()
			}
			// After EndClose, any number of concurrent Closes return at once.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					f, err := l.BeginClose(context.Background())
					if f || err != nil {
						t.Errorf("BeginClose after EndClose = %v, %v", f, err)
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestWaits: Drain (Close's wait) and WaitUnregister (an Unregister's) wait for the gate's
// work and name their operation in the error; both shut the gate to outside work.
func TestWaits(t *testing.T) {
	tests := []struct {
		name   string
		wait   func(*Lifecycle, context.Context, *inflight.Gate) error
		inside bool // work is in flight and never leaves
		want   want
	}{
		{name: "Drain idle", wait: (*Lifecycle).Drain, want: want{}},
		{name: "Drain busy", wait: (*Lifecycle).Drain, inside: true, want: want{"amqp: close: context deadline exceeded", context.DeadlineExceeded}},
		{name: "WaitUnregister idle", wait: (*Lifecycle).WaitUnregister, want: want{}},
		{name: "WaitUnregister busy", wait: (*Lifecycle).WaitUnregister, inside: true, want: want{"amqp: unregister: context deadline exceeded", context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Lifecycle{Name: "amqp"}
			var g inflight.Gate
			if tt.inside && !g.Enter(false) {
				t.Fatal("gate refused work")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			check(t, tt.name, tt.wait(l, ctx, &g), tt.want)
			if g.Enter(false) {
				t.Error("gate admits outside work after the wait")
			}
		})
	}
}

func TestCallCommand(t *testing.T) {
	recv := &wire.Address{ServiceName: "svc", ServiceVersion: "1", ServiceTarget: "do"}
	ok := &wire.Message{ID: "resp"}
	tests := []struct {
		name    string
		h       bridge.CommandHandler
		want    *wire.Message
		wantLog string
	}{
		{name: "returns", h: func(context.Context, *wire.Message) *wire.Message { return ok }, want: ok},
		{name: "nil", h: func(context.Context, *wire.Message) *wire.Message { return nil }},
		{name: "panics", h: func(context.Context, *wire.Message) *wire.Message { panic("boom") },
			wantLog: "memory: command handler panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			l := &Lifecycle{Name: "memory"}
			got := l.CallCommand(context.Background(), log, tt.h, &wire.Message{Receiver: recv})
			if got != tt.want {
				t.Errorf("CallCommand = %v, want %v", got, tt.want)
			}
			out := buf.String()
			if tt.wantLog == "" && out != "" {
				t.Errorf("unexpected log: %s", out)
			}
			if tt.wantLog != "" && (!bytes.Contains(buf.Bytes(), []byte(tt.wantLog)) ||
				!bytes.Contains(buf.Bytes(), []byte("panic=boom"))) {
				t.Errorf("log = %q, want %q with the panic value", out, tt.wantLog)
			}
		})
	}
}

// TestConcurrent runs the checks against transitions and Closes under -race.
func TestConcurrent(t *testing.T) {
	l := &Lifecycle{Name: "memory"}
	var g inflight.Gate
	l.Store(StateRunning)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if l.Intake(context.Background(), &g, l) == nil {
					g.Leave()
				}
				_ = l.Healthy()
				_, _ = l.Starting()
			}
		})
	}
	closes := make(chan bool, 4)
	for range 4 {
		wg.Go(func() {
			first, err := l.BeginClose(context.Background())
			if err != nil {
				t.Error(err)
			}
			if first {
				l.Store(StateDraining)
				<-g.Close()
				l.Store(StateClosed)
				l.EndClose()
			}
			closes <- first
		})
	}
	n := 0
	for range 4 {
		if <-closes {
			n++
		}
	}
	close(stop)
	wg.Wait()
	if n != 1 {
		t.Fatalf("%d Closes were first, want 1", n)
	}
	if l.Load() != StateClosed {
		t.Fatalf("state %d after Close", l.Load())
	}
}

// TestIntakeAllocs guards the hot path: admitting a call allocates nothing.
func TestIntakeAllocs(t *testing.T) {
	l := &Lifecycle{Name: "memory"}
	l.Store(StateRunning)
	var g inflight.Gate
	ctx := context.Background()
	n := testing.AllocsPerRun(1000, func() {
		if l.Intake(ctx, &g, l) == nil {
			g.Leave()
		}
		_ = l.Healthy()
	})
	if n != 0 {
		t.Fatalf("Intake allocates %v times per call", n)
	}
}
