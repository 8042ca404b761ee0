package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/handlerctx"
	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Name is what (*Bridge).Name returns.
const Name = "mqtt"

// Bridge is the MQTT v5 event bridge. It implements bridge.EventBridge and
// bridge.LocalDelivery; all methods are safe for concurrent use. Create it with New.
type Bridge struct {
	mon      transport.Monitor // reports connection changes, retries and dead letters
	cfg      config
	ep       endpoint
	log      *slog.Logger
	clientID string
	expiry   time.Duration // the session expiry in effect
	local    *transport.Local

	life       lifecycle.Lifecycle // state, Close's bookkeeping; errors say "mqtt: …"
	up         atomic.Bool         // connected and every route subscribed
	ctx        context.Context
	handlerCtx *handlerctx.Parent // command handlers' contexts: ctx with a deadline
	cancel     context.CancelCauseFunc
	work       inflight.Gate  // in-flight calls, handlers, queued jobs and retries
	replies    inflight.Gate  // responses being published (Close waits for them)
	pool       *inflight.Pool // reused goroutines for command handlers
	namer      wire.Namer     // topic tokens, snake-cased once

	cm     *autopaho.ConnectionManager
	connMu sync.Mutex // serialises (re)subscription passes
	gen    atomic.Uint64

	mu        sync.Mutex        // guards the fields below
	routes    map[int]*route    // by subscription identifier
	byFilter  map[string]*route // by filter
	gone      map[int]bool      // identifiers of routes removed by Unregister
	held      []heldMsg         // messages waiting for their route (see hold)
	heldTimer *time.Timer
	nextHook  int
	dls       map[*dlReg]struct{}
	parked    map[*parkedRetry]struct{} // retries of acknowledged messages not run yet

	cmds    transport.Table[*cmdReg] // changed under mu
	subs    transport.Table[*subReg] // changed under mu
	retries transport.Retries        // of subscription deliveries; each holds a unit of work

	pmu     sync.Mutex // guards pending
	pending map[string]*waiter

	callMu sync.Mutex         // guards calls and forced
	calls  map[*call]struct{} // commands received from the broker and not answered yet
	forced bool               // Close's deadline passed: calls are answered 503

	jobs *inflight.Queue // runs deliveries, retries and dead-letter handlers

	seen *dedup // recently handled command ids
}

var (
	_ bridge.EventBridge   = (*Bridge)(nil)
	_ bridge.LocalDelivery = (*Bridge)(nil)
)

// New returns an unstarted bridge for the broker at rawURL
// (mqtt://[user[:password]@]host[:port], or mqtts://, tls://, ssl://, ws://, wss://; see
// parseURL's query parameters). It does not connect. Errors wrap ErrConfig and never contain
// a credential of the URL (password or user-only userinfo); neither does any error, log
// line or health report of the bridge.
func New(rawURL string, opts ...Option) (*Bridge, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	ep, err := parseURL(rawURL, &cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.Resolve(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg.stable = cfg.stable || !cfg.GeneratedID
	clientID := cfg.clientID
	if clientID == "" {
		clientID = "purista-" + cfg.InstanceID
	}
	expiry := cfg.sessionExpiry
	if expiry == 0 {
		expiry = DefaultEphemeralSessionExpiry
		if cfg.stable {
			expiry = DefaultSessionExpiry
		}
	}
	b := &Bridge{
		life:     lifecycle.Lifecycle{Name: Name},
		cfg:      cfg,
		ep:       ep,
		clientID: clientID,
		expiry:   expiry,
		log:      cfg.BridgeLogger(Name),
		routes:   map[int]*route{},
		byFilter: map[string]*route{},
		gone:     map[int]bool{},
		dls:      map[*dlReg]struct{}{},
		pending:  map[string]*waiter{},
		calls:    map[*call]struct{}{},
		seen:     newDedup(4096),
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	b.ctx, b.cancel = inflight.WithOwner(ctx, b), cancel
	b.retries.Work = &b.work
	b.local = transport.NewLocal(transport.LocalConfig{Life: &b.life, Log: b.log, InstanceID: cfg.InstanceID,
		Ctx: b.ctx, Work: &b.work, Publish: b.publishEvent, Disabled: !cfg.LocalDelivery})
	b.handlerCtx = handlerctx.NewParent(b.ctx)
	b.jobs = inflight.NewQueue(b.ctx, cfg.maxConcurrency, &b.work)
	b.pool = inflight.NewPool(b.ctx)
	// The response route exists before the first connection, so that responses a resumed
	// session delivers at once find it.
	b.addHook(wire.MQTTResponseFilter(cfg.InstanceID), b.onResponse)
	return b, nil
}

// Name returns "mqtt".
func (b *Bridge) Name() string { return Name }

// InstanceID returns this instance's id; Invoke stamps it on the sender of every command
// so the response comes back to this instance.
func (b *Bridge) InstanceID() string { return b.cfg.InstanceID }

// ClientID returns the MQTT client id (and so the session) this bridge connects with.
func (b *Bridge) ClientID() string { return b.clientID }

// StableIdentity reports whether the instance has a stable identity (an instance id or
// client id was given, see WithInstanceID): its session then outlives a stop while
// durable subscriptions are registered.
func (b *Bridge) StableIdentity() bool { return b.cfg.stable }

// SessionExpiry returns the MQTT session expiry interval the bridge connects with (see
// WithSessionExpiry).
func (b *Bridge) SessionExpiry() time.Duration { return b.expiry }

// SetLocalDelivery implements bridge.LocalDelivery: when enabled (the default, see
// WithLocalDelivery), commands whose handler is registered on this bridge are called in
// process. Events always go through the broker.
func (b *Bridge) SetLocalDelivery(enabled bool) { b.local.SetEnabled(enabled) }

// URL returns the broker URL without credentials, for logs.
func (b *Bridge) URL() string { return b.ep.url.String() }

// Start connects to the broker and subscribes every registration made so far. It blocks
// until the first connection is up and subscribed, or ctx ends: it then returns an error
// wrapping bridge.ErrUnavailable while the bridge keeps trying to connect in the background
// until Close. Later connection losses are repaired in the background. Start is idempotent;
// after Close it returns ErrClosed.
func (b *Bridge) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	running, err := b.life.Starting()
	if !running && err == nil {
		b.life.Store(lifecycle.StateRunning)
	}
	b.mu.Unlock()
	switch {
	case err != nil:
		return err
	case running:
		return b.awaitUp(ctx)
	}

	expiry := uint32(min(b.expiry/time.Second, math.MaxUint32-1))
	recvMax := b.cfg.receiveMaximum
	acfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{b.ep.url},
		TlsCfg:                        b.ep.tls,
		KeepAlive:                     uint16(min(b.cfg.keepAlive/time.Second, math.MaxUint16)),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         expiry,
		ReconnectBackoff:              b.backoff,
		ConnectTimeout:                5 * time.Second,
		AttemptConnection:             attemptConnection(b.ep.url, b.ep.tls),
		ConnectUsername:               b.ep.username,
		ConnectPassword:               b.ep.password,
		OnConnectionUp:                b.onUp,
		OnConnectionDown:              b.onDown,
		OnConnectError: func(err error) {
			b.log.Warn("mqtt: connection attempt failed", "broker", b.URL(), "err", b.redact(err))
		},
		ConnectPacketBuilder: func(c *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if c.Properties == nil {
				c.Properties = &paho.ConnectProperties{}
			}
			c.Properties.ReceiveMaximum = &recvMax
			return c, nil
		},
		DisconnectPacketBuilder: b.disconnectPacket,
		ClientConfig: paho.ClientConfig{
			ClientID:                   b.clientID,
			EnableManualAcknowledgment: true,
			SendAcksInterval:           5 * time.Millisecond,
			OnPublishReceived:          []func(paho.PublishReceived) (bool, error){b.onPublish},
			OnClientError: func(err error) {
				b.log.Debug("mqtt: client error", "err", b.redact(err))
			},
			OnServerDisconnect: func(d *paho.Disconnect) {
				b.log.Warn("mqtt: broker disconnected us", "reasonCode", d.ReasonCode)
			},
		},
	}
	// The connection manager lives until Close disconnects it.
	cm, err := autopaho.NewConnection(context.WithoutCancel(b.ctx), acfg)
	if err != nil {
		return fmt.Errorf("mqtt: start: %w", b.redact(err))
	}
	b.mu.Lock()
	b.cm = cm
	b.mu.Unlock()
	return b.awaitUp(ctx)
}

// awaitUp waits until the connection is up and subscribed.
func (b *Bridge) awaitUp(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !b.up.Load() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("mqtt: start: connecting to %s: %w: %w", b.URL(), bridge.ErrUnavailable, ctx.Err())
		case <-b.ctx.Done():
			return fmt.Errorf("mqtt: start: %w", bridge.ErrClosed)
		case <-t.C:
		}
	}
	return nil
}

// backoff is the delay before reconnection attempt n (0: at once), doubling from 50ms up
// to the configured maximum.
func (b *Bridge) backoff(n int) time.Duration {
	if n == 0 {
		return 0
	}
	d := 50 * time.Millisecond << min(n-1, 10)
	return min(d, b.cfg.maxReconnectDelay)
}

// SetMonitor implements bridge.Monitored: m receives the connection's losses and
// reconnects, scheduled retries and dead letters.
func (b *Bridge) SetMonitor(m bridge.Monitor) { b.mon.SetMonitor(m) }

// onUp runs on autopaho's goroutine when a connection is made: it (re)subscribes every
// route on a goroutine of its own (onUp must not block) and then reports healthy.
func (b *Bridge) onUp(cm *autopaho.ConnectionManager, ca *paho.Connack) {
	gen := b.gen.Add(1)
	b.log.Info("mqtt: connected", "broker", b.URL(), "sessionPresent", ca.SessionPresent)
	if !b.work.Enter(true) {
		return
	}
	go func() {
		defer b.work.Leave()
		b.connMu.Lock()
		defer b.connMu.Unlock()
		b.mu.Lock()
		routes := make([]*route, 0, len(b.routes))
		for _, r := range b.routes {
			if !r.left { // Close took it out of the session
				routes = append(routes, r)
			}
		}
		b.mu.Unlock()
		for _, r := range routes {
			if b.gen.Load() != gen {
				return
			}
			if err := b.subscribe(b.ctx, cm, r); err != nil {
				b.log.Warn("mqtt: resubscribe failed", "filter", r.filter, "err", err)
				return // the connection is probably down again; the next onUp retries
			}
		}
		if b.gen.Load() == gen {
			b.up.Store(true)
			b.mon.Connected(true)
		}
	}()
}

// onDown runs when the connection drops; autopaho then reconnects. Every pending Invoke
// fails at once with bridge.ErrUnavailable: its response may have been lost with the
// connection.
func (b *Bridge) onDown() bool {
	b.gen.Add(1)
	b.up.Store(false)
	b.mon.Connected(false)
	b.log.Warn("mqtt: connection lost; reconnecting", "broker", b.URL())
	b.pmu.Lock()
	for _, w := range b.pending {
		w.deliver(reply{lost: true})
		w.cancel() // also ends a publish still waiting for its PUBACK
	}
	b.pmu.Unlock()
	return true
}

// redact returns err without the credentials of the broker URL (see internal/redact).
func (b *Bridge) redact(err error) error { return redact.Error(err, b.ep.raw) }

// Healthy implements bridge.EventBridge. It never blocks.
func (b *Bridge) Healthy(ctx context.Context) error {
	if err := b.life.Healthy(); err != nil {
		return err
	}
	if !b.up.Load() {
		return fmt.Errorf("mqtt: %w: not connected to %s", bridge.ErrUnavailable, b.URL())
	}
	return nil
}

// intake admits a new Invoke or Emit; on success the caller must b.work.leave. While the
// bridge drains, only calls from its own handlers are admitted.
func (b *Bridge) intake(ctx context.Context) error { return b.life.Intake(ctx, &b.work, b) }

// connection returns the connection manager, or nil before Start.
func (b *Bridge) connection() *autopaho.ConnectionManager {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cm
}

// publish sends one QoS 1 message and waits for the broker's PUBACK (or ctx). Errors wrap
// bridge.ErrUnavailable when the connection is down.
func (b *Bridge) publish(ctx context.Context, p *paho.Publish) error {
	cm := b.connection()
	if cm == nil {
		return fmt.Errorf("mqtt: publish: %w", bridge.ErrNotStarted)
	}
	p.QoS = 1
	if _, err := cm.Publish(ctx, p); err != nil {
		err = b.redact(err)
		if errors.Is(err, autopaho.ConnectionDownError) || errors.Is(err, paho.ErrConnectionLost) ||
			strings.Contains(err.Error(), "shutdown") {
			return fmt.Errorf("mqtt: publish to %s: %w: %w", p.Topic, bridge.ErrUnavailable, err)
		}
		if ctx.Err() == nil && !b.up.Load() {
			return fmt.Errorf("mqtt: publish to %s: %w: %w", p.Topic, bridge.ErrUnavailable, err)
		}
		return fmt.Errorf("mqtt: publish to %s: %w", p.Topic, err)
	}
	return nil
}
