// Package nats is the NATS EventBridge: PURISTA's wire format over core NATS and
// JetStream (nats.go), for the microservices deployment model.
//
// Commands travel over core NATS request/reply on the 13-token subjects of PURISTA's wire
// format, without headers (as TypeScript PURISTA sends them). Handlers subscribe in the
// queue group wire.NATSQueueGroup, so the instances of a service share the load; callers
// take responses on one wildcard inbox subscription per bridge (calls.go) and fail fast
// with bridge.ErrNoHandler when the server reports no responders, and with
// bridge.ErrUnavailable as soon as the connection drops (the reply can no longer arrive).
// A response to a caller's inbox is the envelope alone, without headers (callers read the
// body; trace context travels in the envelope's otp). A success response carrying an
// eventName is published a second time on its own subject with the headers of
// docs/wire-format.md, as
// TypeScript PURISTA does, so that subscriptions see it. A command that cannot be decoded
// is answered at once with a handled 400 (bridge.RejectResponse). Handlers run on the
// registration's receiver goroutines (receivers.go), which never let a blocked handler
// hold up the next command for longer than a millisecond; up to 8192 commands wait in the
// client per registration, beyond that nats.go drops them as a slow consumer (logged, the
// callers time out).
//
// Subscriptions:
//   - Durable (and shared): a durable JetStream pull consumer per subscriber address on the
//     events stream (WithStreams), which captures every PURISTA message type except
//     commands (purista.custom_message.>, purista.command_success_response.>,
//     purista.info_….>). Messages are acked after the handler succeeds, NAKed with the
//     RetryPolicy's backoff delay when it fails and, after MaxAttempts deliveries,
//     published to the dead-letter subject wire.NATSDeadLetterSubject (kept in the
//     dead-letter stream) with the headers HeaderDeadLetterReason and
//     HeaderDeadLetterAttempts, then terminated.
//   - Shared, not durable: core NATS queue subscription in wire.NATSQueueGroup.
//   - EveryInstance: plain core NATS subscription (no queue group); Durable is ignored.
//   - Filter.MessageType == command: core NATS (commands are never stored in a stream).
//
// Core-NATS subscriptions retry failed handlers in process with the same policy and
// dead-letter the same way. Handler panics are recovered.
//
// The bridge uses nats.go's public API only, on the same code path with and without TLS.
// The connection reconnects forever with exponential backoff (WithReconnectWait); Healthy
// reports bridge.ErrUnavailable while it is down. Close drains: new commands are refused
// with a 503 at once; when its ctx ends before the handlers return, their contexts end
// with a cause wrapping bridge.ErrClosed and every command still unanswered gets a 503
// before the connection closes (shutdown.go). No error, log line or health output holds
// a credential of the URL. Every goroutine belongs to a bridge and ends with Close.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/handlerctx"
	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Name is what (*Bridge).Name returns.
const Name = "nats"

// Bridge is one NATS bridge instance (one service instance). It implements
// bridge.EventBridge and bridge.LocalDelivery; all methods are safe for concurrent use.
type Bridge struct {
	mon        transport.Monitor // reports connection changes, retries and dead letters
	cfg        config
	ep         endpoint
	log        *slog.Logger
	local      *transport.Local   // the in-process short-circuit of Invoke
	subjects   subjects           // the subjects of recent messages
	bufs       wire.Buffers       // encoded commands and responses: nats.go copies them when it publishes
	handlerCtx *handlerctx.Parent // command handlers' contexts: b.ctx with a deadline

	life   lifecycle.Lifecycle // state, Close's bookkeeping; errors say "nats: …"
	ctx    context.Context     // ended by Close (when done or given up) with a cause wrapping bridge.ErrClosed
	cancel context.CancelFunc
	work   inflight.Gate // Invoke/Emit calls in flight
	calls  calls         // remote Invokes waiting for their replies

	// up and maxPayload mirror the connection for the calls, which would otherwise take
	// nats.go's connection lock (held by its flusher while it writes) on every call. up
	// turns false in the disconnect handler before the waiting calls are failed, and true
	// again when the reconnect handler runs (see connected).
	up         atomic.Bool
	maxPayload atomic.Int64

	mu   sync.Mutex
	nc   *natsgo.Conn
	js   jetstream.JetStream      // nil while JetStream is unavailable
	cmds transport.Table[*cmdReg] // lock-free lookups (local delivery); changed under mu
	subs transport.Table[*subReg] // changed under mu
	dls  map[*dlReg]struct{}
}

var (
	_ bridge.EventBridge   = (*Bridge)(nil)
	_ bridge.LocalDelivery = (*Bridge)(nil)
)

// New parses url (see the package's URL forms below) and returns an unstarted bridge; it
// does not connect. Errors wrap ErrBadURL (or ErrConfig for an instance id no subject can
// carry) and never contain the password or token.
//
// URL forms: nats://host:4222, nats://user:password@host:4222, nats://token@host:4222,
// tls://host:4222, several servers separated by commas (nats://a:4222,b:4222), and the
// query parameters tls=true, ca=<file>, cert=<file>&key=<file>, creds=<file>,
// nkey=<seed file>, name=<connection name>, token=<token>.
func New(url string, opts ...Option) (*Bridge, error) {
	ep, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Resolve(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	b := &Bridge{
		life: lifecycle.Lifecycle{Name: Name},
		cfg:  cfg,
		ep:   ep,
		log:  cfg.BridgeLogger(Name),
		dls:  map[*dlReg]struct{}{},
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	closed := b.life.ErrClosed()
	b.ctx, b.cancel = context.WithValue(inflight.WithOwner(ctx, b), ownerKey{}, b), func() { cancel(closed) }
	b.local = transport.NewLocal(transport.LocalConfig{Life: &b.life, Log: b.log, InstanceID: cfg.InstanceID,
		Ctx: b.ctx, Work: &b.work, Publish: b.publishEvent, Disabled: !cfg.LocalDelivery})
	b.handlerCtx = handlerctx.NewParent(b.ctx)
	return b, nil
}

// Name returns "nats".
func (b *Bridge) Name() string { return Name }

// InstanceID returns this instance's 32-hex id.
func (b *Bridge) InstanceID() string { return b.cfg.InstanceID }

// SetLocalDelivery implements bridge.LocalDelivery.
func (b *Bridge) SetLocalDelivery(enabled bool) { b.local.SetEnabled(enabled) }

// Conn returns the underlying connection (nil before Start), for diagnostics and tests.
// Do not close it.
func (b *Bridge) Conn() *natsgo.Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nc
}

// Start connects to the server, retrying with backoff until it succeeds or ctx ends, sets
// up the JetStream streams (when the server has JetStream; without it durable
// subscriptions fail with bridge.ErrUnavailable) and applies registrations made before.
// It is idempotent; after Close it returns bridge.ErrClosed.
func (b *Bridge) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if running, err := b.life.Starting(); running || err != nil {
		return err
	}
	nc, err := b.connect(ctx)
	if err != nil {
		return err
	}
	b.nc = nc
	b.maxPayload.Store(nc.MaxPayload())
	b.up.Store(true)
	if err := b.calls.start(nc); err != nil {
		nc.Close()
		return fmt.Errorf("nats: start: %w", b.scrub(err))
	}
	if js, err := b.setupStreams(ctx, nc); err != nil {
		b.log.Warn("nats: JetStream unavailable: durable subscriptions and stored dead letters are off", "err", b.scrub(err))
	} else {
		b.js = js
	}
	b.life.Store(lifecycle.StateRunning)
	for _, r := range b.cmds.All() {
		if err := r.subscribe(); err != nil {
			return err
		}
	}
	for _, r := range b.subs.All() {
		if err := r.start(ctx); err != nil {
			return err
		}
	}
	for r := range b.dls {
		if err := r.start(ctx); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return fmt.Errorf("nats: start: %w", b.scrub(err))
	}
	b.log.Info("nats: connected", "servers", b.ep.redacted, "jetstream", b.js != nil)
	return nil
}

// flush waits until the server has processed everything sent so far (subscriptions
// included), so a registration is routable when it returns. b.mu is held.
func (b *Bridge) flush(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.nc.FlushWithContext(fctx); err != nil {
		return fmt.Errorf("%w: flush: %w", bridge.ErrUnavailable, err)
	}
	return nil
}

// flushQuietly flushes (so an unsubscription has reached the server) without b.mu;
// errors only mean the connection is down, where nothing is routed anyway.
func (b *Bridge) flushQuietly(ctx context.Context) {
	nc := b.conn()
	if nc == nil || nc.Status() != natsgo.CONNECTED {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = nc.FlushWithContext(fctx)
}

// SetMonitor implements bridge.Monitored: m receives the connection's losses and
// reconnects, scheduled retries and dead letters.
func (b *Bridge) SetMonitor(m bridge.Monitor) { b.mon.SetMonitor(m) }

func (b *Bridge) connect(ctx context.Context) (*natsgo.Conn, error) {
	opts := []natsgo.Option{
		natsgo.Name("purista-" + b.cfg.InstanceID),
		natsgo.Timeout(dialTimeout),
		natsgo.MaxReconnects(-1),
		natsgo.PingInterval(b.cfg.pingInterval),
		natsgo.MaxPingsOutstanding(2),
		natsgo.CustomReconnectDelay(func(attempts int) time.Duration {
			return backoff(b.cfg.reconnectWait, b.cfg.reconnectMax, attempts)
		}),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			b.up.Store(false)
			b.mon.Connected(false)
			if err == nil { // our own Close: nothing went wrong
				b.log.Debug("nats: connection closed")
				b.calls.fail(bridge.ErrClosed)
				return
			}
			// Replies to the calls waiting now can no longer arrive: the server dropped this
			// connection's inbox subscription with the connection.
			b.calls.fail(fmt.Errorf("%w: connection lost: %w", bridge.ErrUnavailable, b.scrub(err)))
			b.log.Warn("nats: disconnected", "err", b.scrub(err))
		}),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			b.maxPayload.Store(nc.MaxPayload())
			b.up.Store(true)
			b.mon.Connected(true)
			b.log.Info("nats: reconnected")
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) {
			b.up.Store(false)
			b.calls.fail(bridge.ErrClosed)
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, s *natsgo.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			b.log.Error("nats: async error", "subject", subj, "err", b.scrub(err))
		}),
	}
	opts = append(opts, b.ep.opts...)
	opts = append(opts, b.cfg.extra...) // options given with WithNATSOptions win
	for attempt := 1; ; attempt++ {
		nc, err := natsgo.Connect(b.ep.servers, opts...)
		if err == nil {
			return nc, nil
		}
		err = b.scrub(err)
		b.log.Warn("nats: connect failed, retrying", "servers", b.ep.redacted, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff(b.cfg.reconnectWait, b.cfg.reconnectMax, attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("nats: connect %s: %w: %w (last error: %v)", b.ep.redacted, bridge.ErrUnavailable, ctx.Err(), err)
		}
	}
}

// scrub removes the URL's credentials from err's message (errors.Is still sees through).
func (b *Bridge) scrub(err error) error { return redact.Error(err, b.ep.raw) }

// dialTimeout bounds one TCP connection attempt (nats.go's default).
const dialTimeout = 2 * time.Second

// backoff returns the delay before attempt n (1-based): first·2^(n-1) capped at max, with
// up to 20% jitter.
func backoff(first, max time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d + rand.N(d/5+1)
}

// Healthy implements bridge.EventBridge; it never blocks.
func (b *Bridge) Healthy(context.Context) error {
	if err := b.life.Healthy(); err != nil {
		return err
	}
	if st := b.conn().Status(); st != natsgo.CONNECTED {
		return fmt.Errorf("nats: %w: connection %s", bridge.ErrUnavailable, st)
	}
	return nil
}

func (b *Bridge) conn() *natsgo.Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nc
}

func (b *Bridge) jetStream() jetstream.JetStream {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.js
}

// ownerKey marks the contexts the bridge gives its handlers (derived from b.ctx): its
// value is the bridge.
type ownerKey struct{}

// intake admits a new Invoke or Emit; on success the caller must b.work.leave. While the
// bridge drains only calls from its own handlers are admitted. A disconnected bridge
// fails fast with bridge.ErrUnavailable.
func (b *Bridge) intake(ctx context.Context) (*natsgo.Conn, error) {
	if err := b.life.Check(ctx); err != nil {
		return nil, err
	}
	if b.life.Load() == lifecycle.StateDraining && ctx.Value(ownerKey{}) != b {
		return nil, b.life.ErrClosed()
	}
	// Set once by Start before the state became running (Check read the state): no lock.
	nc := b.nc
	if err := b.life.EnterCall(ctx, &b.work, b); err != nil {
		return nil, err
	}
	if err := b.connected(nc); err != nil {
		b.work.Leave()
		return nil, fmt.Errorf("nats: %w", err)
	}
	return nc, nil
}

// connected returns nil while calls can go out on nc, else an error wrapping
// bridge.ErrUnavailable. b.up answers without nats.go's connection lock; while it is
// false (from the disconnect handler until the reconnect handler has run) the
// connection's own status decides.
func (b *Bridge) connected(nc *natsgo.Conn) error {
	if b.up.Load() {
		return nil
	}
	if st := nc.Status(); st != natsgo.CONNECTED {
		return fmt.Errorf("%w: connection %s", bridge.ErrUnavailable, st)
	}
	return nil
}

// Close implements bridge.EventBridge. It stops intake at once: command subscriptions are
// removed (the broker routes new commands to other instances; commands already buffered
// here are refused with a 503), subscriptions stop taking messages (JetStream messages
// buffered but not yet handled are NAKed for immediate redelivery elsewhere), and new
// Invoke and Emit calls fail with bridge.ErrClosed unless they come from one of the
// bridge's own handlers. It then waits for in-flight handlers and calls until ctx ends.
// If ctx ends first it is a forced stop: handler contexts end with a cause wrapping
// bridge.ErrClosed, every command still unanswered is answered with a 503, and pending
// Invokes fail with bridge.ErrClosed. Then the connection closes. A second Close waits
// for the first.
func (b *Bridge) Close(ctx context.Context) error {
	if first, err := b.life.BeginClose(ctx); !first {
		return err
	}
	defer b.life.EndClose()
	b.mu.Lock()
	prev := b.life.Swap(lifecycle.StateDraining)
	cmds, subs, dls := b.cmds.Take(), b.subs.Take(), b.dls
	b.dls = map[*dlReg]struct{}{}
	b.mu.Unlock()

	for _, r := range cmds {
		r.Calls.Close() // commands not yet started are refused from now on
		r.stop()
	}
	for _, r := range subs {
		r.stop()
	}
	for r := range dls {
		r.stop()
	}
	wait := func(g *inflight.Gate) {
		select {
		case <-g.Close():
		case <-ctx.Done():
		}
	}
	for _, r := range cmds {
		r.waitDrained(ctx)
		wait(&r.Calls)
	}
	for _, r := range subs {
		wait(&r.g)
	}
	for r := range dls {
		wait(&r.g)
	}
	wait(&b.work)
	var err error
	if ctx.Err() != nil {
		err = fmt.Errorf("nats: close: %w", ctx.Err())
	}
	b.cancel()
	if prev != lifecycle.StateNew {
		for _, r := range cmds {
			r.settle()
		}
	}
	b.calls.fail(bridge.ErrClosed)
	for _, r := range subs {
		r.waitStopped(ctx)
	}
	b.life.Store(lifecycle.StateClosed)
	if nc := b.conn(); nc != nil && prev != lifecycle.StateNew {
		if err := nc.FlushTimeout(time.Second); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) {
			b.log.Debug("nats: flush on close", "err", b.scrub(err))
		}
		nc.Close()
	}
	return err
}
