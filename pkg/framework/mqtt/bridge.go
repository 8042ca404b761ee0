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
)

// responseRouteID is the subscription identifier of the instance's response route, the
// first route New creates.
const responseRouteID = 1

// Name is what (*Bridge).Name returns.
const Name = "mqtt"

// Bridge is the MQTT v5 event bridge. It implements bridge.EventBridge and
// bridge.LocalDelivery; all methods are safe for concurrent use. Create it with New.
type Bridge struct {
	cfg      config
	ep       endpoint
	log      *slog.Logger
	clientID string
	local    atomic.Bool

	life       lifecycle.Lifecycle // state, Close's bookkeeping; errors say "mqtt: …"
	up         atomic.Bool         // connected and every route subscribed
	ctx        context.Context
	handlerCtx *handlerctx.Parent // command handlers' contexts: ctx with a deadline
	cancel     context.CancelFunc
	work       inflight.Gate  // in-flight calls, handlers, queued jobs and retries
	pool       *inflight.Pool // reused goroutines for command handlers
	namer      wire.Namer     // topic tokens, snake-cased once

	cm     *autopaho.ConnectionManager
	connMu sync.Mutex // serialises (re)subscription passes
	gen    atomic.Uint64

	nextID atomic.Int32 // subscription identifiers

	mu       sync.Mutex        // guards the fields below
	routes   map[int]*route    // by subscription identifier
	byFilter map[string]*route // by filter
	nextHook int
	cmds     map[wire.Address]*cmdReg
	subs     map[wire.Address]*subReg
	dls      map[*dlReg]struct{}
	retries  map[*time.Timer]struct{}

	pmu     sync.Mutex // guards pending
	pending map[string]chan []byte

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
// the password.
func New(rawURL string, opts ...Option) (*Bridge, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	ep, err := parseURL(rawURL, &cfg)
	if err != nil {
		return nil, err
	}
	if cfg.instanceID == "" {
		cfg.instanceID = wire.NewID()
	}
	clientID := cfg.clientID
	if clientID == "" {
		clientID = "purista-" + cfg.instanceID
	}
	b := &Bridge{
		life:     lifecycle.Lifecycle{Name: Name},
		cfg:      cfg,
		ep:       ep,
		clientID: clientID,
		log:      cfg.logger.With("bridge", Name, "instanceId", cfg.instanceID),
		routes:   map[int]*route{},
		byFilter: map[string]*route{},
		cmds:     map[wire.Address]*cmdReg{},
		subs:     map[wire.Address]*subReg{},
		dls:      map[*dlReg]struct{}{},
		retries:  map[*time.Timer]struct{}{},
		pending:  map[string]chan []byte{},
		seen:     newDedup(4096),
	}
	b.local.Store(cfg.local)
	ctx, cancel := context.WithCancel(context.Background())
	b.ctx, b.cancel = inflight.WithOwner(ctx, b), cancel
	b.handlerCtx = handlerctx.NewParent(b.ctx)
	b.jobs = inflight.NewQueue(b.ctx, cfg.maxConcurrency, &b.work)
	b.pool = inflight.NewPool(b.ctx)
	// The response route always exists: subscription identifier 1.
	b.addHook(wire.MQTTResponseFilter(cfg.instanceID), b.onResponse)
	return b, nil
}

// Name returns "mqtt".
func (b *Bridge) Name() string { return Name }

// InstanceID returns this instance's id; Invoke stamps it on the sender of every command
// so the response comes back to this instance.
func (b *Bridge) InstanceID() string { return b.cfg.instanceID }

// ClientID returns the MQTT client id (and so the session) this bridge connects with.
func (b *Bridge) ClientID() string { return b.clientID }

// SetLocalDelivery implements bridge.LocalDelivery: when enabled (the default, see
// WithLocalDelivery), commands whose handler is registered on this bridge are called in
// process. Events always go through the broker.
func (b *Bridge) SetLocalDelivery(enabled bool) { b.local.Store(enabled) }

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

	expiry := uint32(min(b.cfg.sessionExpiry/time.Second, math.MaxUint32-1))
	recvMax := b.cfg.receiveMaximum
	acfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{b.ep.url},
		TlsCfg:                        b.ep.tls,
		KeepAlive:                     uint16(min(b.cfg.keepAlive/time.Second, math.MaxUint16)),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         expiry,
		ReconnectBackoff:              b.backoff,
		ConnectTimeout:                5 * time.Second,
		AttemptConnection:             attemptConnection(b.ep.url),
		ConnectUsername:               b.ep.username,
		ConnectPassword:               b.ep.password,
		OnConnectionUp:                b.onUp,
		OnConnectionDown:              b.onDown,
		OnConnectError: func(err error) {
			b.log.Warn("mqtt: connection attempt failed", "broker", b.URL(), "err", err)
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
				b.log.Debug("mqtt: client error", "err", err)
			},
			OnServerDisconnect: func(d *paho.Disconnect) {
				b.log.Warn("mqtt: broker disconnected us", "reasonCode", d.ReasonCode)
			},
		},
	}
	// The connection manager lives until Close disconnects it.
	cm, err := autopaho.NewConnection(context.WithoutCancel(b.ctx), acfg)
	if err != nil {
		return fmt.Errorf("mqtt: start: %w", err)
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
			routes = append(routes, r)
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
		}
	}()
}

// onDown runs when the connection drops; autopaho then reconnects.
func (b *Bridge) onDown() bool {
	b.gen.Add(1)
	b.up.Store(false)
	b.log.Warn("mqtt: connection lost; reconnecting", "broker", b.URL())
	return true
}

// disconnectPacket is sent by a clean shutdown: it deletes the session unless durable
// subscriptions remain registered.
func (b *Bridge) disconnectPacket() *paho.Disconnect {
	d := &paho.Disconnect{ReasonCode: 0}
	b.mu.Lock()
	durable := false
	for _, s := range b.subs {
		durable = durable || s.sub.Durable
	}
	b.mu.Unlock()
	if !durable {
		zero := uint32(0)
		d.Properties = &paho.DisconnectProperties{SessionExpiryInterval: &zero}
	}
	return d
}

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

// Close implements bridge.EventBridge. It stops intake at once, waits for in-flight calls,
// handlers, queued deliveries and pending retries until ctx ends (what still runs is then
// cancelled; unfinished messages stay unacknowledged, so the broker redelivers them if the
// session survives), then disconnects. A second Close waits for the first.
func (b *Bridge) Close(ctx context.Context) error {
	if first, err := b.life.BeginClose(ctx); !first {
		return err
	}
	defer b.life.EndClose()
	b.mu.Lock()
	started := b.life.Load() != lifecycle.StateNew
	b.life.Store(lifecycle.StateDraining)
	b.mu.Unlock()

	// Leave the share groups at once, so the broker routes new work to other instances;
	// the response route stays until in-flight Invokes are done.
	if started {
		if uerr := b.unsubscribeForClose(ctx); uerr != nil {
			b.log.Warn("mqtt: close: unsubscribe failed", "err", uerr)
		}
	}
	err := b.life.Drain(ctx, &b.work)
	b.mu.Lock()
	for t := range b.retries {
		t.Stop() // a timer that already fired finds itself gone and does nothing
		b.work.Leave()
	}
	clear(b.retries)
	b.mu.Unlock()
	b.life.Store(lifecycle.StateClosed)
	b.up.Store(false)
	if cm := b.connection(); started && cm != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if derr := cm.Disconnect(dctx); derr != nil && err == nil {
			err = fmt.Errorf("mqtt: close: disconnect: %w", derr)
		}
		cancel()
	}
	b.cancel() // pending Invokes return ErrClosed
	return err
}

// unsubscribeForClose unsubscribes every route except the response route and those of
// durable subscriptions (which stay in the kept session).
func (b *Bridge) unsubscribeForClose(ctx context.Context) error {
	cm := b.connection()
	if cm == nil || !b.up.Load() {
		return nil
	}
	b.mu.Lock()
	keep := map[*route]bool{}
	for _, s := range b.subs {
		if s.sub.Durable {
			for _, hk := range s.hooks {
				keep[hk.r] = true
			}
		}
	}
	var filters []string
	for _, r := range b.routes {
		if r.id != responseRouteID && !keep[r] {
			filters = append(filters, r.filter)
		}
	}
	b.mu.Unlock()
	if len(filters) == 0 {
		return nil
	}
	uctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b.connMu.Lock()
	defer b.connMu.Unlock()
	_, err := cm.Unsubscribe(uctx, &paho.Unsubscribe{Topics: filters})
	return err
}
