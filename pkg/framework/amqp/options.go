package amqp

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Option configures a Bridge. Options are applied in order; later ones win.
type Option func(*config)

// Defaults of the options.
const (
	// DefaultPrefetch is the per-consumer prefetch (basic.qos) used when WithPrefetch is
	// not given: at most this many unacknowledged messages are outstanding on each command,
	// subscription and dead-letter consumer.
	DefaultPrefetch = 64
	// DefaultReconnectMin and DefaultReconnectMax bound the reconnect backoff.
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 5 * time.Second
	// DefaultInitialInterval and DefaultMaxInterval are the retry delays used when a
	// RetryPolicy leaves them zero (as documented by bridge.RetryPolicy).
	DefaultInitialInterval = bridge.DefaultInitialInterval
	DefaultMaxInterval     = bridge.DefaultMaxInterval
)

type config struct {
	transport.Options // logger, instance id, local delivery, invoke timeout

	prefetch     int
	reconnectMin time.Duration
	reconnectMax time.Duration
	tls          *tls.Config
	heartbeat    time.Duration
	connName     string
	copies       bool // WithResponseCopies
}

func defaultConfig() config {
	return config{
		Options:      transport.DefaultOptions(),
		prefetch:     DefaultPrefetch,
		reconnectMin: DefaultReconnectMin,
		reconnectMax: DefaultReconnectMax,
		copies:       true,
	}
}

// WithLogger sets the logger for connection changes, dropped messages, recovered panics
// and dead letters. Default: a logger that discards everything. A nil logger keeps the
// default. The broker URL is only ever logged with its password redacted.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.SetLogger(l) } }

// WithInstanceID sets the bridge's instance id (PURISTA_INSTANCE_ID). Default: a fresh
// wire.NewID(). An empty id keeps the default. New fails (ErrConfig) for an id that a
// header cannot carry (see transport.CheckInstanceID; PURISTA's 32 hex characters and pod
// names pass).
func WithInstanceID(id string) Option { return func(c *config) { c.SetInstanceID(id) } }

// WithLocalDelivery switches the local short-circuit for commands: when on (the default),
// a command whose handler is registered on the same bridge instance is answered in
// process without any broker traffic (only a success response with an eventName is
// published, so that subscriptions see it). Events always travel through the broker, so
// their at-least-once semantics do not depend on where the subscriber runs.
func WithLocalDelivery(enabled bool) Option {
	return func(c *config) { c.SetLocalDelivery(enabled) }
}

// WithInvokeTimeout sets the timeout Invoke uses when it is called with a zero timeout.
// Default: bridge.DefaultTimeout (30s). Values <= 0 keep the default.
func WithInvokeTimeout(d time.Duration) Option { return func(c *config) { c.SetInvokeTimeout(d) } }

// WithPrefetch sets the prefetch count (basic.qos, per consumer) of every command,
// subscription and dead-letter consumer. It bounds how many subscription messages are
// handled concurrently per subscription (they are acknowledged after the handler), and a
// message waiting for its retry delay occupies one slot. Default: DefaultPrefetch. Values
// <= 0 keep the default.
func WithPrefetch(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.prefetch = n
		}
	}
}

// WithReconnectBackoff sets the bounds of the exponential backoff (with jitter) between
// reconnection attempts after the connection is lost, and between dial attempts in Start.
// Defaults: DefaultReconnectMin, DefaultReconnectMax. Values <= 0 keep the default.
func WithReconnectBackoff(minDelay, maxDelay time.Duration) Option {
	return func(c *config) {
		if minDelay > 0 {
			c.reconnectMin = minDelay
		}
		if maxDelay > 0 {
			c.reconnectMax = maxDelay
		}
	}
}

// WithTLSConfig sets the TLS configuration of amqps:// connections. Default: the one
// amqp091 builds from the URL's query parameters (cacertfile, certfile, keyfile,
// server_name_indication), with the system roots when cacertfile is absent. It has no
// effect on amqp:// URLs.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithHeartbeat sets the AMQP heartbeat interval, which bounds how long a silently broken
// connection goes unnoticed. Default: the URL's heartbeat parameter, else amqp091's 10s.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.heartbeat = d
		}
	}
}

// WithConnectionName sets the connection_name client property shown by RabbitMQ's
// management tools. Default: "purista-<instanceId>".
func WithConnectionName(name string) Option {
	return func(c *config) { c.connName = name }
}

// WithResponseCopies says which command responses the bridge also publishes to the
// purista headers exchange, for subscriptions, besides the reply it sends straight to the
// caller's reply queue. The copy carries every header of a response (see Headers) except
// replyTo, so it never reaches a reply queue: the caller still gets exactly one reply.
// When enabled (the default) every response is copied, as TypeScript PURISTA routes every
// response through the exchange: subscriptions that select responses by message type
// (commandSuccessResponse, commandErrorResponse) or sender/receiver, and TypeScript
// subscribers bound on them, see all of them. When disabled only success responses with
// an eventName are copied (they are events); use it only where no subscription selects
// responses by message type. Responses answered in process by the local short-circuit
// (WithLocalDelivery) are copied by the same rule.
func WithResponseCopies(enabled bool) Option {
	return func(c *config) { c.copies = enabled }
}
