// Package lifecycle is the state machine every bridge implementation shares: a bridge is
// new, then running (Start), then draining and at last closed (Close). A Lifecycle holds
// that state, answers the checks that depend on it alone (Intake, Healthy, Starting),
// makes a second Close wait for the first (BeginClose) and the first wait for the
// bridge's work (Drain), and recovers panicking command handlers (CallCommand). What a
// bridge does on each transition (connecting, draining its registrations) stays in the
// bridge.
package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// State is a bridge's stage of life. States only ever advance, in this order.
type State int32

const (
	// StateNew: made, not started. Calls fail with bridge.ErrNotStarted.
	StateNew State = iota
	// StateRunning: started. Calls are admitted.
	StateRunning
	// StateDraining: Close has begun. New calls fail with bridge.ErrClosed, except those
	// made by the bridge's own work still in flight (see inflight.Gate.EnterCall).
	StateDraining
	// StateClosed: Close has finished draining. Calls fail with bridge.ErrClosed.
	StateClosed
)

// Lifecycle is one bridge's State and the bookkeeping of its Close. Name is the bridge's
// name ("amqp", "nats", …): every error a Lifecycle returns starts with "<Name>: " and
// wraps a bridge sentinel or the context's error. Set Name before use and do not change it; the zero Lifecycle is otherwise ready
// in StateNew.
//
// All methods are safe for concurrent use. None blocks except BeginClose and Drain (see there);
// Load, Intake and the other checks are one atomic load (Intake also enters the gate,
// whose lock is held only briefly) and allocate only the error they return.
//
// The transitions themselves (Store, Swap, CompareAndSwap) are atomic but a Lifecycle
// does not order them against anything else: a bridge whose Start or registrations must
// not interleave with a transition makes the transition under its own lock.
type Lifecycle struct {
	Name string

	state     atomic.Int32
	closeMu   sync.Mutex
	closeDone chan struct{} // made by the first BeginClose, closed by EndClose
}

// Load returns the current state.
func (l *Lifecycle) Load() State { return State(l.state.Load()) }

// Store sets the state to s.
func (l *Lifecycle) Store(s State) { l.state.Store(int32(s)) }

// Swap sets the state to s and returns the previous one.
func (l *Lifecycle) Swap(s State) State { return State(l.state.Swap(int32(s))) }

// CompareAndSwap sets the state to s if it is old, and reports whether it did.
func (l *Lifecycle) CompareAndSwap(old, s State) bool {
	return l.state.CompareAndSwap(int32(old), int32(s))
}

// ErrNotStarted returns "<Name>: " wrapping bridge.ErrNotStarted.
func (l *Lifecycle) ErrNotStarted() error { return fmt.Errorf("%s: %w", l.Name, bridge.ErrNotStarted) }

// ErrClosed returns "<Name>: " wrapping bridge.ErrClosed.
func (l *Lifecycle) ErrClosed() error { return fmt.Errorf("%s: %w", l.Name, bridge.ErrClosed) }

// Check is the first half of Intake: ctx's error if it has ended, ErrNotStarted before
// Start, ErrClosed once closed, else nil. A draining bridge passes: whether its call is
// admitted is EnterCall's decision.
func (l *Lifecycle) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch l.Load() {
	case StateNew:
		return l.ErrNotStarted()
	case StateClosed:
		return l.ErrClosed()
	}
	return nil
}

// EnterCall is the second half of Intake: it admits a call made with ctx into g (see
// inflight.Gate.EnterCall; owner is the bridge) or returns ErrClosed. On success the
// caller must g.Leave.
func (l *Lifecycle) EnterCall(ctx context.Context, g *inflight.Gate, owner any) error {
	if g.EnterCall(ctx, owner) {
		return nil
	}
	return l.ErrClosed()
}

// Intake admits a new Invoke or Emit made with ctx: Check, then EnterCall. While the
// bridge drains, only calls from its own work are admitted. On success the caller must
// g.Leave. A bridge with a check of its own between the two (a connection that must be
// up) calls them itself.
func (l *Lifecycle) Intake(ctx context.Context, g *inflight.Gate, owner any) error {
	if err := l.Check(ctx); err != nil {
		return err
	}
	return l.EnterCall(ctx, g, owner)
}

// Healthy is the state's part of bridge.EventBridge.Healthy: ErrNotStarted before Start,
// ErrClosed from the beginning of Close on, else nil (the bridge then checks its
// connection).
func (l *Lifecycle) Healthy() error {
	switch l.Load() {
	case StateNew:
		return l.ErrNotStarted()
	case StateDraining, StateClosed:
		return l.ErrClosed()
	}
	return nil
}

// Starting is the state's part of Start: running reports that the bridge is already
// started; err ("<Name>: start: " wrapping bridge.ErrClosed) that Close has begun. Both
// zero: the bridge is new and the caller starts it.
func (l *Lifecycle) Starting() (running bool, err error) {
	switch l.Load() {
	case StateRunning:
		return true, nil
	case StateDraining, StateClosed:
		return false, fmt.Errorf("%s: start: %w", l.Name, bridge.ErrClosed)
	}
	return false, nil
}

// BeginClose begins a Close. The first call returns first = true at once: the caller
// closes the bridge and must call EndClose when it is done. Every later call blocks until
// that EndClose (then it returns false, nil) or until ctx ends (then false and
// "<Name>: close: " wrapping ctx.Err()). BeginClose does not change the state.
//
// Use:
//
//	if first, err := b.life.BeginClose(ctx); !first {
//		return err
//	}
//	defer b.life.EndClose()
func (l *Lifecycle) BeginClose(ctx context.Context) (first bool, err error) {
	l.closeMu.Lock()
	if done := l.closeDone; done != nil {
		l.closeMu.Unlock()
		select {
		case <-done:
			return false, nil
		case <-ctx.Done():
			return false, fmt.Errorf("%s: close: %w", l.Name, ctx.Err())
		}
	}
	l.closeDone = make(chan struct{})
	l.closeMu.Unlock()
	return true, nil
}

// EndClose ends the Close begun by the first BeginClose, releasing the calls waiting in
// BeginClose. It must be called exactly once, after a BeginClose that returned true.
func (l *Lifecycle) EndClose() {
	l.closeMu.Lock()
	done := l.closeDone
	l.closeMu.Unlock()
	close(done)
}

// Drain is Close's wait for the bridge's work: it shuts g (see inflight.Gate.Close) and
// blocks until the work inside has left, then returns nil, or until ctx ends, then returns
// "<Name>: close: " wrapping ctx.Err().
func (l *Lifecycle) Drain(ctx context.Context, g *inflight.Gate) error {
	return l.wait(ctx, g, "close")
}

// WaitUnregister is an Unregister's wait for its registration's work g: nil once g is
// idle, or "<Name>: unregister: " wrapping ctx's error when ctx ends first. It blocks
// until then.
func (l *Lifecycle) WaitUnregister(ctx context.Context, g *inflight.Gate) error {
	return l.wait(ctx, g, "unregister")
}

// wait waits for g, naming op in the error.
func (l *Lifecycle) wait(ctx context.Context, g *inflight.Gate, op string) error {
	if err := g.Wait(ctx); err != nil {
		return fmt.Errorf("%s: %s: %w", l.Name, op, err)
	}
	return nil
}

// CallCommand calls the command handler h and returns its response. A panic in h is
// recovered and logged on log as "<Name>: command handler panicked"; the response is then
// nil (which the bridge answers with an unhandled 500).
func (l *Lifecycle) CallCommand(ctx context.Context, log *slog.Logger, h bridge.CommandHandler, cmd *wire.Message) (resp *wire.Message) {
	defer func() {
		if p := recover(); p != nil {
			log.Error(l.Name+": command handler panicked", "command", cmd.Receiver.String(), "panic", fmt.Sprint(p))
			resp = nil
		}
	}()
	return h(ctx, cmd)
}
