package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"

	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
)

// closeStepTimeout bounds each network step of Close after the drain: unsubscribing,
// flushing the last responses, disconnecting.
const closeStepTimeout = 5 * time.Second

// Close implements bridge.EventBridge. In order:
//
//  1. Intake stops: Invoke and Emit fail with ErrClosed (except calls from handlers still
//     running), and commands that arrive are answered at once with an unhandled 503.
//  2. The event subscriptions leave their share groups (UNSUBSCRIBE), so that the broker
//     hands new events to the other instances, except the durable ones of an instance with
//     a stable identity, which stay in its session.
//  3. Close waits, until ctx ends, for in-flight calls, handlers, queued deliveries and
//     retries. If ctx ends first (a forced stop), handler contexts end with a cause
//     wrapping bridge.ErrClosed, every command not answered yet is answered with an
//     unhandled 503 (a handler's later answer is dropped), pending Invokes fail with
//     ErrClosed, unfinished first deliveries stay unacknowledged (the session delivers
//     them again), and retries cut off (their message already acknowledged) are
//     dead-lettered with the reason before the bridge disconnects.
//  4. The remaining routes are unsubscribed (commands, responses, dead-letter observers),
//     the responses still being published are confirmed by the broker (PUBACK), and the
//     bridge disconnects. The DISCONNECT deletes the session (session expiry 0), except
//     for an instance with a stable identity and durable subscriptions, whose session
//     then keeps collecting their events until it is resumed or expires.
//
// It returns the error of step 3 (wrapping ctx.Err()) or of the disconnect. A second Close
// waits for the first.
func (b *Bridge) Close(ctx context.Context) error {
	if first, err := b.life.BeginClose(ctx); !first {
		return err
	}
	defer b.life.EndClose()
	b.mu.Lock()
	started := b.life.Load() != lifecycle.StateNew
	b.life.Store(lifecycle.StateDraining)
	b.mu.Unlock()

	if started {
		b.leave(ctx, b.subscriptionRoutes())
	}
	err := b.life.Drain(ctx, &b.work)
	if err != nil {
		b.forceStop()
	}
	b.retries.Stop()
	b.abandonParked()
	b.mu.Lock()
	b.life.Store(lifecycle.StateClosed)
	b.up.Store(false)
	b.mu.Unlock()
	b.dropHeld()
	if cm := b.connection(); started && cm != nil {
		b.leave(context.Background(), b.remainingRoutes())
		fctx, cancel := context.WithTimeout(context.Background(), closeStepTimeout)
		if werr := b.replies.Wait(fctx); werr != nil {
			b.log.Warn("mqtt: close: responses still unconfirmed at disconnect", "err", werr)
		}
		cancel()
		dctx, cancel := context.WithTimeout(context.Background(), closeStepTimeout)
		if derr := cm.Disconnect(dctx); derr != nil && err == nil {
			err = fmt.Errorf("mqtt: close: disconnect: %w", b.redact(derr))
		}
		cancel()
	}
	b.cancel(fmt.Errorf("mqtt: %w", bridge.ErrClosed)) // pending Invokes return ErrClosed
	return err
}

// keepsSession reports whether the session outlives Close: only an instance with a stable
// identity that has durable subscriptions keeps it. b.mu is held.
func (b *Bridge) keepsSession() bool {
	if !b.cfg.stable {
		return false
	}
	for _, s := range b.subs.All() {
		if s.sub.Durable {
			return true
		}
	}
	return false
}

// kept reports whether the route r stays subscribed in the session Close keeps (r belongs
// to a durable subscription). b.mu is held.
func (b *Bridge) kept(r *route) bool {
	if !b.keepsSession() {
		return false
	}
	for _, s := range b.subs.All() {
		if !s.sub.Durable {
			continue
		}
		for _, hk := range s.hooks {
			if hk.r == r {
				return true
			}
		}
	}
	return false
}

// subscriptionRoutes returns the routes of event subscriptions and dead-letter observers
// that Close unsubscribes at once, and marks their subscriptions as leaving (see
// subReg.handle).
func (b *Bridge) subscriptionRoutes() []*route {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*route
	for _, s := range b.subs.All() {
		for _, hk := range s.hooks {
			if !b.kept(hk.r) {
				s.leaving.Store(true)
				out = append(out, hk.r)
			}
		}
	}
	for d := range b.dls {
		out = append(out, d.hk.r)
	}
	return out
}

// remainingRoutes returns every route Close has not unsubscribed yet, except those the
// kept session keeps.
func (b *Bridge) remainingRoutes() []*route {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*route
	for _, r := range b.routes {
		if !r.left && !b.kept(r) {
			out = append(out, r)
		}
	}
	return out
}

// leave unsubscribes routes (until ctx ends, at most closeStepTimeout) and marks them
// left; a failure is logged (the DISCONNECT that follows ends the session anyway, unless
// it is kept).
func (b *Bridge) leave(ctx context.Context, routes []*route) {
	cm := b.connection()
	if cm == nil || len(routes) == 0 {
		return
	}
	filters := make([]string, 0, len(routes))
	seen := map[*route]bool{}
	b.mu.Lock()
	for _, r := range routes {
		if !seen[r] && !r.left {
			seen[r] = true
			r.left = true
			filters = append(filters, r.filter)
		}
	}
	b.mu.Unlock()
	if len(filters) == 0 {
		return
	}
	uctx, cancel := context.WithTimeout(ctx, closeStepTimeout)
	defer cancel()
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if _, err := cm.Unsubscribe(uctx, &paho.Unsubscribe{Topics: filters}); err != nil {
		if !errors.Is(err, autopaho.ConnectionDownError) {
			b.log.Warn("mqtt: close: unsubscribe failed", "filters", filters, "err", b.redact(err))
		}
	}
}

// disconnectPacket is the DISCONNECT of Close: session expiry 0 (the session is deleted)
// unless the session is kept (see keepsSession).
func (b *Bridge) disconnectPacket() *paho.Disconnect {
	d := &paho.Disconnect{ReasonCode: 0}
	b.mu.Lock()
	keep := b.keepsSession()
	b.mu.Unlock()
	if !keep {
		zero := uint32(0)
		d.Properties = &paho.DisconnectProperties{SessionExpiryInterval: &zero}
	}
	return d
}

// forceStop ends what the drain left running when Close's ctx ended: handler contexts end
// with a cause wrapping bridge.ErrClosed (so handlers answer 503, see
// bridge.CompleteResponse), pending Invokes fail with ErrClosed, and every command not
// answered yet is answered now with an unhandled 503; the handlers' later answers are
// dropped (see claim). The 503s are in b.replies: Close waits for their PUBACKs before it
// disconnects.
func (b *Bridge) forceStop() {
	b.cancel(fmt.Errorf("mqtt: close: shutdown timeout: %w", bridge.ErrClosed))
	b.callMu.Lock()
	b.forced = true
	var owed []*call
	for c := range b.calls {
		c.done = true
		if b.replies.Enter(false) {
			owed = append(owed, c)
		}
	}
	clear(b.calls)
	b.callMu.Unlock()
	for _, c := range owed {
		b.pool.Run(func() {
			defer b.replies.Leave()
			b.sendResponse(c.cmd, bridge.UnhandledResponse(c.cmd, http.StatusServiceUnavailable, b.cfg.InstanceID), c.timeout)
		})
	}
	if len(owed) > 0 {
		b.log.Warn("mqtt: close: shutdown timeout; unanswered commands answered 503", "commands", len(owed))
	}
}
