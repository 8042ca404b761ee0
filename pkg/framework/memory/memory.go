// Package memory is the in-memory EventBridge: the transport of the monolith and
// serverless deployment models, and the reference implementation of the bridge contract.
//
// A Network is a process-local broker; each Bridge attached to it is one service instance.
// New makes a network with one bridge, which is what an app running all its services in one
// process needs. Tests attach several bridges to one Network to model several instances.
//
// The bridge behaves like a real transport: events are encoded to JSON once per hop and
// decoded by each receiver, commands travel as deep copies, so sender and receivers never
// share mutable memory, and everything a broker bridge must do (timeouts, shared and
// every-instance subscriptions, retries, dead letters, drain on Close) happens here too.
// A command handler runs on its caller's goroutine, like a function call whose ctx
// carries the deadline (WithHandlerGoroutines runs it on a worker goroutine instead, see
// Bridge.Invoke); events and dead letters run on a bounded pool of goroutines per bridge
// (WithMaxConcurrency). Every goroutine belongs to a bridge and ends with its Close.
//
// Handler panics are recovered: a panicking command handler answers an unhandled 500, a
// panicking subscription handler counts as a failed delivery.
package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Name is what (*Bridge).Name returns.
const Name = "memory"

// Retry delays used when a RetryPolicy leaves them zero (as documented by bridge.RetryPolicy).
const (
	DefaultInitialInterval = bridge.DefaultInitialInterval
	DefaultMaxInterval     = bridge.DefaultMaxInterval
)

// job is a unit of work run by a bridge's worker pool with the bridge's context.
type job func(ctx context.Context)

// Bridge is one in-memory bridge instance. It implements bridge.EventBridge; create it with
// New or (*Network).NewBridge.
type Bridge struct {
	net *Network
	cfg config
	log *slog.Logger

	life  lifecycle.Lifecycle   // state, Close's bookkeeping; errors say "memory: …"
	fault atomic.Pointer[error] // set by SetHealthy
	// ctx ends when Close gives up waiting or finishes, with a cause wrapping
	// bridge.ErrClosed that every handler context derived from it shares.
	ctx    context.Context
	cancel context.CancelCauseFunc
	work   inflight.Gate // in-flight work of this instance: calls, handlers, queued jobs, retries
	// handlerCtxs are children of ctx that command handlers' contexts derive from, spread
	// so that concurrent calls do not all register with (and lock) ctx itself.
	handlerCtxs [handlerCtxShards]context.Context

	cmds    transport.Table[*cmdReg] // added under mu (after the state check)
	subs    transport.Table[*subReg] // added under mu (after the state check)
	retries transport.Retries        // pending redeliveries; each holds a unit of work
	mon     transport.Monitor        // reports connection changes, retries and dead letters

	mu  sync.Mutex // guards the state change of Close against registration, and dls
	dls map[*dlReg]struct{}

	cmdPool *inflight.Pool  // runs command handlers
	jobs    *inflight.Queue // runs deliveries, retries and dead-letter handlers
}

var _ bridge.EventBridge = (*Bridge)(nil)

// New returns an unstarted bridge on a network of its own.
func New(opts ...Option) *Bridge { return NewNetwork().NewBridge(opts...) }

func newBridge(n *Network, opts []Option) *Bridge {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	idErr := cfg.Resolve()
	b := &Bridge{
		net:  n,
		life: lifecycle.Lifecycle{Name: Name},
		cfg:  cfg,
		log:  cfg.BridgeLogger(Name),
		dls:  map[*dlReg]struct{}{},
	}
	if idErr != nil { // New cannot fail; the id still works in memory
		b.log.Warn("memory: " + idErr.Error())
	}
	b.retries.Work = &b.work
	ctx, cancel := context.WithCancelCause(context.Background())
	b.ctx = inflight.WithOwner(ctx, b)
	var shardCancels [handlerCtxShards]context.CancelFunc
	for i := range b.handlerCtxs {
		b.handlerCtxs[i], shardCancels[i] = context.WithCancel(b.ctx)
	}
	b.cancel = func(cause error) {
		cancel(cause) // ends the shards too, with cause; the calls below only release them
		for _, c := range shardCancels {
			c()
		}
	}
	b.cmdPool = inflight.NewPool(b.ctx)
	b.jobs = inflight.NewQueue(b.ctx, cfg.maxConcurrency, &b.work)
	return b
}

// handlerCtxShards is the number of handlerCtxs of a bridge.
const handlerCtxShards = 32

// handlerCtx returns a context for a command handler's context to derive from: it ends
// when the bridge is force-stopped, and is picked at random among handlerCtxs.
func (b *Bridge) handlerCtx() context.Context {
	return b.handlerCtxs[rand.Uint32()%handlerCtxShards]
}

// Name returns "memory".
func (b *Bridge) Name() string { return Name }

// InstanceID returns this instance's id, stamped on the sender of outgoing messages that
// carry none.
func (b *Bridge) InstanceID() string { return b.cfg.InstanceID }

// Network returns the network b is attached to, for attaching more instances.
func (b *Bridge) Network() *Network { return b.net }

// Start starts delivery to b's registrations. It is idempotent; after Close it returns
// ErrClosed.
func (b *Bridge) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.life.CompareAndSwap(lifecycle.StateNew, lifecycle.StateRunning) {
		b.mon.Connected(true)
		return nil
	}
	_, err := b.life.Starting() // nil when already running
	return err
}

// SetMonitor implements bridge.Monitored: m receives the bridge's connection changes
// (Start, SetHealthy), scheduled retries and dead letters.
func (b *Bridge) SetMonitor(m bridge.Monitor) { b.mon.SetMonitor(m) }

// SetHealthy simulates a broken (err != nil) or restored (nil) connection of this instance:
// while broken, Healthy reports an error wrapping bridge.ErrUnavailable and err, Invoke and
// Emit fail with it, and the instance receives nothing. A change is reported to the
// bridge's Monitor as a connection going down or coming up. It is a test hook.
func (b *Bridge) SetHealthy(err error) {
	var old *error
	if err == nil {
		old = b.fault.Swap(nil)
	} else {
		old = b.fault.Swap(&err)
	}
	if (old == nil) != (err == nil) {
		b.mon.Connected(err == nil)
	}
}

func (b *Bridge) faultErr() error {
	if p := b.fault.Load(); p != nil {
		return *p
	}
	return b.net.fault()
}

// accepting reports whether b takes new deliveries.
func (b *Bridge) accepting() bool {
	return b.life.Load() == lifecycle.StateRunning && b.faultErr() == nil
}

// Healthy implements bridge.EventBridge. It never blocks.
func (b *Bridge) Healthy(ctx context.Context) error {
	if err := b.life.Healthy(); err != nil {
		return err
	}
	if err := b.faultErr(); err != nil {
		return fmt.Errorf("memory: %w: %w", bridge.ErrUnavailable, err)
	}
	return nil
}

// intake admits a new Invoke or Emit; on success the caller must b.work.leave. While b
// drains, only calls made from its own handlers (ctx derived from theirs) are admitted.
func (b *Bridge) intake(ctx context.Context) error {
	if err := b.life.Check(ctx); err != nil {
		return err
	}
	if err := b.faultErr(); err != nil {
		return fmt.Errorf("memory: %w: %w", bridge.ErrUnavailable, err)
	}
	return b.life.EnterCall(ctx, &b.work, b)
}

// Emit implements bridge.EventBridge. It returns once every matching subscription has the
// message queued; handlers run later on their instances' goroutines. Commands cannot be
// emitted (use Invoke).
func (b *Bridge) Emit(ctx context.Context, msg *wire.Message) error {
	if err := b.intake(ctx); err != nil {
		return err
	}
	defer b.work.Leave()
	out, data, err := bridge.EncodeEvent(msg, b.cfg.InstanceID)
	if err != nil {
		return fmt.Errorf("memory: emit: %w", err)
	}
	b.net.publish(data, out, b)
	return nil
}

// InjectRaw hands raw bytes to the network as if they had arrived from a broker at b: a
// command is answered by a handler and its response discarded; an event is delivered to the
// matching subscriptions. A message that does not decode or validate reaches the
// subscriptions its loosely read eventName (a JSON "eventName" string field, if any)
// selects, as a broker routes it by its subject, and each dead-letters it at once with
// the decode error as the reason; the returned error says why it was not delivered. raw
// is copied. It is a test hook for the conformance suite's garbage cases.
func (b *Bridge) InjectRaw(raw []byte) error {
	if err := b.Healthy(context.Background()); err != nil {
		return err
	}
	data := append([]byte(nil), raw...)
	msg, err := wire.Decode(raw)
	if err != nil {
		b.log.Warn("memory: invalid message dead-lettered by the subscriptions it reaches", "bytes", len(raw), "err", err)
		b.net.publish(data, looseRoute(raw), nil)
		return fmt.Errorf("memory: not delivered: %w", err)
	}
	switch {
	case msg.MessageType == wire.TypeCommand:
		if b.net.cmdWatchers.Load() > 0 {
			b.net.publish(data, msg, nil)
		}
		r, _ := b.net.pickCommand(transport.EndpointOf(*msg.Receiver), nil)
		if r == nil {
			return fmt.Errorf("memory: dropped command for %s: %w", msg.Receiver, bridge.ErrNoHandler)
		}
		hctx, cancel := context.WithTimeout(r.b.ctx, r.timeout)
		r.b.cmdPool.Run(func() {
			defer r.release()
			defer cancel()
			r.b.runCommand(hctx, r, msg) // nobody waits for the response
		})
	case msg.MessageType.IsResponse() && msg.EventName == "":
		b.log.Debug("memory: dropped response nobody waits for", "correlationId", msg.CorrelationID)
	default:
		b.net.publish(data, msg, nil)
	}
	return nil
}

// looseRoute returns the routing a broker would give raw bytes that do not decode: a
// customMessage with the eventName read loosely from raw (see looseEventName).
func looseRoute(raw []byte) *wire.Message {
	return &wire.Message{MessageType: wire.TypeCustomMessage, EventName: looseEventName(raw)}
}

// looseEventName returns the string value of the top-level "eventName" field of the JSON
// object raw starts with, read token by token so that it is found in truncated or
// otherwise invalid JSON too, as long as it comes before the first error; "" if none.
func looseEventName(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	depth, isKey, key := 1, true, ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				continue
			}
			depth--
			if depth == 0 {
				return ""
			}
			if depth == 1 {
				isKey = true // a nested value ended
			}
			continue
		}
		if depth > 1 {
			continue
		}
		if isKey {
			key, _ = tok.(string)
			isKey = false
			continue
		}
		if name, ok := tok.(string); ok && key == "eventName" {
			return name
		}
		isKey = true
	}
}

// RegisterCommand implements bridge.EventBridge. addr needs a service name and target.
func (b *Bridge) RegisterCommand(ctx context.Context, addr wire.Address, h bridge.CommandHandler, opts bridge.CommandOptions) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || addr.ServiceName == "" || addr.ServiceTarget == "" {
		return nil, fmt.Errorf("memory: register command %s: needs a handler, service name and target", addr)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = bridge.DefaultTimeout
	}
	r := &cmdReg{b: b, ep: transport.EndpointOf(addr), h: h, timeout: timeout}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("memory: register command %s: %w", addr, bridge.ErrClosed)
	}
	if err := b.cmds.Add(r.ep, r); err != nil {
		return nil, fmt.Errorf("memory: register command %s: %w", addr, err)
	}
	b.net.addCommand(r)
	return r, nil
}

// RegisterSubscription implements bridge.EventBridge. sub.Subscriber needs a service name;
// one instance may register each subscriber address once. Durable is ignored.
func (b *Bridge) RegisterSubscription(ctx context.Context, sub bridge.Subscription, h bridge.MessageHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || sub.Subscriber.ServiceName == "" {
		return nil, fmt.Errorf("memory: register subscription %s: needs a handler and a subscriber service name", sub.Subscriber)
	}
	r := &subReg{b: b, key: subKey{transport.EndpointOf(sub.Subscriber), sub.EveryInstance}, sub: sub, h: h}
	r.sub.Subscriber.InstanceID = b.cfg.InstanceID
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("memory: register subscription %s: %w", sub.Subscriber, bridge.ErrClosed)
	}
	if err := b.subs.Add(r.key.Endpoint, r); err != nil {
		return nil, fmt.Errorf("memory: register subscription %s: %w", sub.Subscriber, err)
	}
	b.net.addSubscription(r)
	return r, nil
}

// OnDeadLetter implements bridge.EventBridge. With a non-zero subscriber, h observes the
// dead letters of that subscription on every instance of the network (only of one instance
// when subscriber.InstanceID is set); with the zero Address, those of b's subscriptions.
func (b *Bridge) OnDeadLetter(ctx context.Context, subscriber wire.Address, h bridge.DeadLetterHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("memory: on dead letter %s: nil handler", subscriber)
	}
	r := &dlReg{b: b, addr: subscriber, h: h}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("memory: on dead letter %s: %w", subscriber, bridge.ErrClosed)
	}
	b.dls[r] = struct{}{}
	b.net.addDeadLetter(r)
	return r, nil
}

// forget removes r from b.dls.
func (b *Bridge) forget(r *dlReg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.dls, r)
}

// admit admits one unit of work from outside (a running, connected instance only) or,
// when internal, a continuation of work already in flight (also while b drains). On
// success the caller must b.work.leave.
func (b *Bridge) admit(internal bool) bool {
	if !internal && !b.accepting() {
		return false
	}
	return b.work.Enter(internal)
}

// accept queues j on b's worker pool if admit allows it.
func (b *Bridge) accept(j job, internal bool) bool {
	if !b.admit(internal) {
		return false
	}
	b.push(j)
	return true
}

// push queues j, already admitted by b.work, on the bridge's bounded job queue.
func (b *Bridge) push(j job) { b.jobs.Push(j) }

// deliver runs one delivery attempt of data to r and schedules the retry or dead letter a
// failure calls for. ctx is cancelled when b is force-stopped; the message is then dropped.
func (b *Bridge) deliver(ctx context.Context, r *subReg, data []byte, attempt int) {
	if ctx.Err() != nil || !r.g.Enter(false) {
		return
	}
	msg, err := wire.Decode(data)
	if err != nil {
		// Never deliverable, whatever the retry policy: dead-lettered at once with the
		// reason, as the broker bridges do.
		r.g.Leave()
		b.deadLetter(r, data, attempt, err.Error())
		return
	}
	err = transport.CallSubscription(ctx, b.log, Name, r.sub.Subscriber, r.h, msg)
	r.g.Leave()
	if err == nil || ctx.Err() != nil {
		return
	}
	if b.retries.Settle(r.sub.Retry, attempt, err,
		func(next int) { b.accept(r.delivery(data, next), true) }, // enters b.work itself
		func(n int, reason string) { b.deadLetter(r, data, n, reason) }) == transport.Retrying {
		b.mon.Retried(r.sub.Subscriber)
	}
}

// deadLetter hands data, given up by r after attempts deliveries for reason, to the
// network's dead-letter handlers that observe r's subscriber, and logs it.
func (b *Bridge) deadLetter(r *subReg, data []byte, attempts int, reason string) {
	dl := bridge.DeadLetter{Subscriber: r.sub.Subscriber, Reason: reason, Attempts: attempts, At: time.Now()}
	b.mon.DeadLettered(r.sub.Subscriber)
	obs := b.net.deadLetter(b, dl, data)
	b.log.Warn("memory: message dead-lettered", "subscriber", dl.Subscriber.String(),
		"attempts", attempts, "reason", reason, "observers", obs)
}

// Close implements bridge.EventBridge. It stops intake at once (Invoke, Emit and
// registrations fail with ErrClosed, the instance receives nothing new, and a command
// that only this instance could answer gets an unhandled 503 at once, see Invoke), then
// waits for in-flight calls, handlers, queued deliveries and pending retries until ctx
// ends. What is still running then is force-stopped: its ctx ends with a cause (see
// context.Cause) wrapping bridge.ErrClosed, a command handler's caller gets an unhandled
// 503 (whatever the handler answers later is dropped), and pending retries are dropped.
// Registrations are removed from the network. A second Close waits for the first.
func (b *Bridge) Close(ctx context.Context) error {
	if first, err := b.life.BeginClose(ctx); !first {
		return err
	}
	defer b.life.EndClose()
	b.mu.Lock()
	b.life.Store(lifecycle.StateDraining)
	b.mu.Unlock()

	err := b.life.Drain(ctx, &b.work)
	b.cancel(fmt.Errorf("memory: closed: %w", bridge.ErrClosed))
	b.retries.Stop() // pending retries are dropped; each leaves b.work

	b.mu.Lock()
	b.life.Store(lifecycle.StateClosed)
	dls := b.dls
	b.dls = map[*dlReg]struct{}{}
	b.mu.Unlock()
	cmds, subs := b.cmds.Take(), b.subs.Take()
	for _, r := range cmds {
		b.net.removeCommand(r)
	}
	for _, r := range subs {
		b.net.removeSubscription(r)
	}
	for r := range dls {
		b.net.removeDeadLetter(r)
	}
	return err
}
