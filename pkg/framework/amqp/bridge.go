// Package amqp is the AMQP 0-9-1 (RabbitMQ) EventBridge, wire-compatible with TypeScript
// PURISTA's AMQP bridge. It uses amqp091-go through its public API only; amqp:// and
// amqps:// connections run the same code (amqp091 puts TLS on top).
//
// # Topology
//
// Commands and events are published to the durable headers exchange "purista" with
// routing key ""; queues select messages by header bindings with x-match=all (see
// docs/wire-format.md):
//
//   - command queue purista.cmd.<svc>.<ver>.<target> (non-durable, auto-delete), bound on
//     messageType=command and receiverServiceName/Version/Target; instances share it;
//   - one server-named, exclusive, auto-delete reply queue per bridge instance. Replies
//     are published straight to the caller's reply queue (default exchange "", routing key
//     = the queue name, which every queue is bound by) with the envelope in the body and no
//     PURISTA headers; the queue is also bound on header replyTo=<its name>, the way
//     TypeScript PURISTA responders route replies through the exchange. Callers match
//     replies on the body's correlationId;
//   - a shared subscription consumes purista.sub.<svc>.<ver>.<target> when durable (the
//     queue TypeScript PURISTA declares) and purista.sub-transient.<svc>.<ver>.<target>
//     (non-durable, auto-delete) when not, so that switching Durable never meets a queue
//     declared with the other durability; every-instance subscriptions use a server-named
//     exclusive queue; bindings are x-match=all over the filter fields set;
//   - dead-letter queue purista.dlq.<svc>.<ver>.<target> (durable) per subscription.
//
// Commands and events carry messageId, timestamp (milliseconds since the epoch, as
// PURISTA writes it, although AMQP defines seconds), contentType, contentEncoding, type =
// messageType, delivery mode persistent and the PURISTA headers; commands add
// correlationId and replyTo. Replies carry only contentType, contentEncoding (TypeScript
// PURISTA decodes the body by them), correlationId and messageId. A success response with
// an eventName is an event too: besides the reply it is published to the exchange with
// all its headers (and no replyTo header), so subscriptions selecting it by eventName or
// messageType receive it. Events, success events, retries and dead letters go through a
// channel in confirm mode: Emit returns after the broker's confirm. Commands and replies
// use a second channel without confirms, since the reply is the command's end-to-end
// acknowledgement; commands are published mandatory, so a command no queue is bound for
// comes back at once as bridge.ErrNoHandler.
//
// # Delivery
//
// Commands are consumed without acknowledgement, as TypeScript PURISTA does: at most
// once, never executed twice. A command that cannot be decoded (not a PURISTA envelope,
// unknown messageType, nested too deep) is answered at once with bridge.RejectResponse
// (a handled 400), its correlationId taken from the body or else from the AMQP
// correlationId property. Subscription messages are acknowledged after the handler
// succeeded. A failed message is retried per the subscription's RetryPolicy: after the
// backoff delay (held in this process) a copy carrying the header x-purista-attempt = n+1
// is published straight to the subscription's own queue through the default exchange (so
// no other subscription sees it again), and the original is acknowledged once that copy
// is confirmed. After MaxAttempts the message goes to the dead-letter queue with the
// headers x-purista-dead-reason, x-purista-dead-attempts, x-purista-dead-at and the
// subscriber's address; it is never requeued forever (the TypeScript bridge's defect). A
// subscription message that cannot be decoded is dead-lettered at once with the reason.
// If the process dies meanwhile, the broker redelivers the unacknowledged original: at
// least once.
//
// # Connection and shutdown
//
// A lost connection is re-established with exponential backoff and the whole topology
// (exchange, reply queue, every queue, binding and consumer) is declared again. While it
// is down Healthy reports bridge.ErrUnavailable, Invoke and Emit fail at once with it, and
// invocations waiting for a response fail with it (their reply queue is gone).
//
// Close refuses new commands at once with an unhandled 503 and lets the handlers in
// flight finish until its ctx ends. Then (a forced stop) it ends their contexts with a
// cause wrapping bridge.ErrClosed, answers every command still unanswered with a 503 and
// only then closes the connection; a handler's later answer is dropped.
//
// No URL credential (password, user-only userinfo, credential query parameters) appears
// in an error, a log line or Healthy's output.
package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/handlerctx"
	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Name is what (*Bridge).Name returns.
const Name = "amqp"

// ErrConfig is wrapped by New's errors about the URL. They never contain a password.
var ErrConfig = errors.New("amqp: invalid configuration")

// Bridge is one AMQP bridge instance (one service instance's connection). It implements
// bridge.EventBridge and bridge.LocalDelivery; all methods are safe for concurrent use.
// Create it with New; it owns one connection and the goroutines that consume from it,
// which all end with Close.
type Bridge struct {
	mon      transport.Monitor // reports connection changes, retries and dead letters
	url      string            // with credentials: never logged or put into errors
	redacted string            // url with every credential masked (redact.URL)
	cfg      config
	log      *slog.Logger
	local    *transport.Local // the local short-circuit of commands

	life       lifecycle.Lifecycle // state, Close's bookkeeping; errors say "amqp: …"
	ctx        context.Context     // base of handler contexts; cancelled when Close ends
	handlerCtx *handlerctx.Parent  // command handlers' contexts: ctx with a deadline
	pool       *inflight.Pool      // runs command handlers
	cancel     context.CancelCauseFunc
	work       inflight.Gate // in-flight invokes, emits and handlers
	answers    answers       // replies owed to the commands in flight

	sess atomic.Pointer[session] // nil while disconnected

	topo sync.Mutex // serializes topology changes; guards dls and the tables' writes
	cmds transport.Table[*cmdReg]
	subs transport.Table[*subReg]
	dls  map[*dlReg]struct{}

	pmu     sync.Mutex
	pending map[string]*call // by correlationId

	bufs    wire.Buffers // encoded commands and responses: amqp091 copies them when it publishes
	headers headerTables // header tables of commands and events

	dmu      sync.Mutex
	declared map[string]struct{} // durable queues this bridge declared

	startMu sync.Mutex
	stop    chan struct{} // closed by Close: the supervisor stops
	supDone chan struct{} // closed when the supervisor has stopped
}

var (
	_ bridge.EventBridge   = (*Bridge)(nil)
	_ bridge.LocalDelivery = (*Bridge)(nil)
)

// New returns an unstarted bridge for the broker at rawURL (amqp:// or amqps://, user and
// password in the URL, vhost as the path, amqp091's query parameters such as heartbeat,
// connection_timeout, cacertfile, certfile, keyfile, server_name_indication). It does not
// connect. Errors wrap ErrConfig and never contain the password; an instance id that a
// header cannot carry (transport.CheckInstanceID) is one too.
func New(rawURL string, opts ...Option) (*Bridge, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error text would repeat the URL with its credentials
		}
		return nil, fmt.Errorf("%w: bridge URL: %w", ErrConfig, redact.Error(err, rawURL))
	}
	redacted := redact.URL(rawURL)
	if u.Scheme != "amqp" && u.Scheme != "amqps" {
		return nil, fmt.Errorf("%w: bridge URL %s: scheme must be amqp or amqps", ErrConfig, redacted)
	}
	if _, err := amqp091.ParseURI(rawURL); err != nil {
		return nil, fmt.Errorf("%w: bridge URL %s: %w", ErrConfig, redacted, redact.Error(err, rawURL))
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Resolve(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.connName == "" {
		cfg.connName = "purista-" + cfg.InstanceID
	}
	b := &Bridge{
		url:      rawURL,
		life:     lifecycle.Lifecycle{Name: Name},
		redacted: redacted,
		cfg:      cfg,
		log:      cfg.BridgeLogger(Name),
		dls:      map[*dlReg]struct{}{},
		pending:  map[string]*call{},
		declared: map[string]struct{}{},
		stop:     make(chan struct{}),
		supDone:  make(chan struct{}),
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	b.ctx, b.cancel = inflight.WithOwner(ctx, b), cancel
	b.local = transport.NewLocal(transport.LocalConfig{
		Life: &b.life, Log: b.log, InstanceID: cfg.InstanceID, Ctx: b.ctx, Work: &b.work,
		Publish: b.publishEvent, PublishResponses: cfg.copies, Disabled: !cfg.LocalDelivery,
	})
	b.handlerCtx = handlerctx.NewParent(b.ctx)
	b.pool = inflight.NewPool(b.ctx)
	return b, nil
}

// Name returns "amqp".
func (b *Bridge) Name() string { return Name }

// InstanceID returns this instance's id, stamped on the sender of outgoing messages that
// carry none.
func (b *Bridge) InstanceID() string { return b.cfg.InstanceID }

// SetLocalDelivery implements bridge.LocalDelivery (see WithLocalDelivery). It affects
// invocations that start after it returns.
func (b *Bridge) SetLocalDelivery(enabled bool) { b.local.SetEnabled(enabled) }

// Start connects to the broker and declares the topology, retrying with backoff until it
// succeeds or ctx ends (then the error wraps bridge.ErrUnavailable). Registrations made
// before Start are declared by it; when the broker refuses one (a queue declared
// elsewhere with other arguments, say), Start fails at once with the broker's reason, as
// it does when the broker refuses the login. It is idempotent; after Close it returns
// ErrClosed.
func (b *Bridge) Start(ctx context.Context) error {
	b.startMu.Lock()
	defer b.startMu.Unlock()
	if running, err := b.life.Starting(); running || err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		s, err := b.establish(ctx, true)
		err = b.scrub(err)
		if err == nil {
			b.life.Store(lifecycle.StateRunning)
			go b.supervise(s)
			b.log.Info("amqp: connected", "url", b.redacted)
			return nil
		}
		lastErr = err
		if errors.Is(err, errAccessRefused) || errors.Is(err, errTopology) { // retrying cannot help
			return fmt.Errorf("amqp: start: %w", err)
		}
		b.log.Warn("amqp: connect failed", "url", b.redacted, "err", err) // connect's errors are scrubbed
		select {
		case <-ctx.Done():
			return fmt.Errorf("amqp: start %s: %w: %w", b.redacted, bridge.ErrUnavailable, lastErr)
		case <-time.After(b.backoff(attempt)):
		}
	}
}

// Healthy implements bridge.EventBridge. It never blocks.
func (b *Bridge) Healthy(ctx context.Context) error {
	if err := b.life.Healthy(); err != nil {
		return err
	}
	if s := b.sess.Load(); s == nil || s.isDead() {
		return fmt.Errorf("amqp: %s: %w: connection down, reconnecting", b.redacted, bridge.ErrUnavailable)
	}
	return nil
}

// intake admits a new Invoke or Emit; on success the caller must b.work.leave. While b
// drains, only calls made from its own handlers (ctx derived from theirs) are admitted.
func (b *Bridge) intake(ctx context.Context) error { return b.life.Intake(ctx, &b.work, b) }

// session returns the live session or an error wrapping bridge.ErrUnavailable.
func (b *Bridge) session() (*session, error) {
	s := b.sess.Load()
	if s == nil || s.isDead() {
		return nil, fmt.Errorf("amqp: %w: connection down", bridge.ErrUnavailable)
	}
	return s, nil
}

// Close implements bridge.EventBridge. It stops intake at once (Invoke, Emit and
// registrations fail with ErrClosed; commands still delivered are answered with an
// unhandled 503) and cancels every consumer, except a command consumer that is the only
// one of its queue: the broker would delete that auto-delete queue, and a command routed
// to it meanwhile would be lost, so it keeps receiving, and refusing, until the drain
// ends. Then Close waits for in-flight invocations and handlers until ctx ends. If ctx ends first (a forced stop), every command still
// unanswered is answered with a 503, and then the handlers' contexts end with a cause
// wrapping bridge.ErrClosed (their later answers are dropped); Close returns ctx's error.
// Only then the connection closes. Pending retries are dropped: their unacknowledged
// originals go back to the broker when the connection closes. Durable queues stay. A
// second Close waits for the first.
func (b *Bridge) Close(ctx context.Context) error {
	if first, err := b.life.BeginClose(ctx); !first {
		return err
	}
	defer b.life.EndClose()

	b.startMu.Lock()
	started := b.life.Load() == lifecycle.StateRunning
	b.life.Store(lifecycle.StateDraining)
	b.startMu.Unlock()

	b.topo.Lock()
	var kept []*cmdReg // the sole consumers of their queues: they refuse until the drain ends
	s := b.sess.Load()
	for _, r := range b.cmds.All() {
		if s != nil && !s.isDead() && r.soleConsumer(s) {
			kept = append(kept, r)
			continue
		}
		r.cons.cancel()
	}
	for _, r := range b.subs.All() {
		r.cons.cancel()
	}
	for r := range b.dls {
		r.cons.cancel()
	}
	b.topo.Unlock()

	err := b.life.Drain(ctx, &b.work)
	if err != nil {
		b.forceStop() // before the connection closes: the 503s go out on it
	} else {
		b.answers.stop() // nothing in flight
		b.cancel(fmt.Errorf("amqp: %w", bridge.ErrClosed))
	}
	for _, r := range kept {
		r.cons.cancel()
	}
	for _, r := range kept {
		r.cons.wait() // its last refusals are sent
	}

	for _, r := range b.subs.All() {
		r.retries.Stop()
	}

	close(b.stop)
	if started {
		<-b.supDone
	}
	if s := b.sess.Swap(nil); s != nil {
		s.close()
	}
	b.topo.Lock()
	for _, r := range b.cmds.Take() {
		r.cons.wait()
	}
	for _, r := range b.subs.Take() {
		r.cons.wait()
	}
	for r := range b.dls {
		r.cons.wait()
	}
	clear(b.dls)
	b.topo.Unlock()
	b.life.Store(lifecycle.StateClosed)
	b.failPending(nil, fmt.Errorf("amqp: %w", bridge.ErrClosed))
	return err
}

// SetMonitor implements bridge.Monitored: m receives the connection's losses and
// reconnects, scheduled retries and dead letters.
func (b *Bridge) SetMonitor(m bridge.Monitor) { b.mon.SetMonitor(m) }

// backoff returns the delay before reconnect attempt n (0-based): exponential from
// reconnectMin, capped at reconnectMax, with jitter in [d/2, d].
func (b *Bridge) backoff(n int) time.Duration {
	d := b.cfg.reconnectMin
	for i := 0; i < n && d < b.cfg.reconnectMax; i++ {
		d *= 2
	}
	d = min(d, b.cfg.reconnectMax)
	return d/2 + randN(d/2+1)
}

// markDeclared records a durable queue this bridge declared (for test clean-up).
func (b *Bridge) markDeclared(q string) {
	b.dmu.Lock()
	b.declared[q] = struct{}{}
	b.dmu.Unlock()
}
