package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"

	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// ErrBadURL is wrapped by New's errors for a URL it cannot use. The errors never contain
// the URL's password or token.
var ErrBadURL = errors.New("nats: bad URL")

// ErrConfig is wrapped by New's errors for an option it cannot use (an instance id that
// NATS subjects and headers cannot carry).
var ErrConfig = errors.New("nats: invalid configuration")

// Option configures a Bridge. Options are applied in order; later ones win.
type Option func(*config)

type config struct {
	transport.Options // logger, instance id, local delivery, invoke timeout

	maxConcurrency int
	streamName     string
	dlqStreamName  string
	streamMaxAge   time.Duration
	streamMaxBytes int64
	ackWait        time.Duration
	inactive       time.Duration
	pingInterval   time.Duration
	reconnectWait  time.Duration
	reconnectMax   time.Duration
	commandHeaders bool
	extra          []natsgo.Option
}

// Defaults of the options.
const (
	// DefaultMaxConcurrency bounds the handlers one subscription runs at once.
	DefaultMaxConcurrency = 64
	// DefaultStreamName is the JetStream stream holding events for durable subscriptions.
	DefaultStreamName = "PURISTA_EVENTS"
	// DefaultDeadLetterStreamName is the JetStream stream holding dead letters.
	DefaultDeadLetterStreamName = "PURISTA_DEADLETTER"
	// DefaultStreamMaxAge is how long the streams keep a message.
	DefaultStreamMaxAge = 7 * 24 * time.Hour
	// DefaultStreamMaxBytes caps each stream's size; the oldest messages go first.
	DefaultStreamMaxBytes = 1 << 30
	// DefaultAckWait is how long JetStream waits for a durable subscription's ack before it
	// redelivers; it also bounds the handler's ctx.
	DefaultAckWait = 30 * time.Second
	// DefaultInactiveThreshold is how long a durable consumer survives with no instance
	// consuming from it before the server deletes it (and with it its position).
	DefaultInactiveThreshold = 7 * 24 * time.Hour
	// DefaultPingInterval is the client's keep-alive ping interval; two unanswered pings
	// mark the connection as broken.
	DefaultPingInterval = 10 * time.Second
	// DefaultReconnectWait is the first reconnect delay; it doubles up to
	// DefaultReconnectMaxWait, with jitter.
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultReconnectMaxWait = 2 * time.Second
	// DefaultInitialInterval and DefaultMaxInterval are the retry delays used when a
	// RetryPolicy leaves them zero.
	DefaultInitialInterval = bridge.DefaultInitialInterval
	DefaultMaxInterval     = bridge.DefaultMaxInterval
)

func defaultConfig() config {
	return config{
		Options:        transport.DefaultOptions(),
		maxConcurrency: DefaultMaxConcurrency,
		streamName:     DefaultStreamName,
		dlqStreamName:  DefaultDeadLetterStreamName,
		streamMaxAge:   DefaultStreamMaxAge,
		streamMaxBytes: DefaultStreamMaxBytes,
		ackWait:        DefaultAckWait,
		inactive:       DefaultInactiveThreshold,
		pingInterval:   DefaultPingInterval,
		reconnectWait:  DefaultReconnectWait,
		reconnectMax:   DefaultReconnectMaxWait,
	}
}

// WithLogger sets the logger. Default: discard everything. A nil logger keeps the default.
// Nothing logged contains the URL's password or token.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.SetLogger(l) } }

// WithInstanceID sets the bridge's instance id (PURISTA_INSTANCE_ID). Default: a fresh
// wire.NewID(). An empty id keeps the default. New fails (ErrConfig) for an id that a
// subject token or header cannot carry (see transport.CheckInstanceID; PURISTA's 32 hex
// characters and pod names pass).
func WithInstanceID(id string) Option { return func(c *config) { c.SetInstanceID(id) } }

// WithLocalDelivery switches the local short-circuit: when on (the default), Invoke of a
// command whose handler is registered on this same bridge calls it in process without
// touching the broker (a success event it emits is still published). Events always go
// through the broker.
func WithLocalDelivery(enabled bool) Option { return func(c *config) { c.SetLocalDelivery(enabled) } }

// WithInvokeTimeout sets the timeout Invoke uses when called with a zero timeout. Default:
// bridge.DefaultTimeout. Values <= 0 keep the default.
func WithInvokeTimeout(d time.Duration) Option { return func(c *config) { c.SetInvokeTimeout(d) } }

// WithMaxConcurrency bounds the handlers each subscription runs at once; further messages
// wait in the client (core NATS) or on the server (JetStream). Command handlers are not
// bounded. Default DefaultMaxConcurrency; values <= 0 keep it.
func WithMaxConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConcurrency = n
		}
	}
}

// WithStreams names the JetStream streams for events and dead letters. Defaults:
// DefaultStreamName and DefaultDeadLetterStreamName. Names must not contain ".", "*", ">"
// or whitespace; empty names keep the default. Bridges that share durable subscriptions
// must use the same names.
func WithStreams(events, deadLetters string) Option {
	return func(c *config) {
		if events != "" {
			c.streamName = events
		}
		if deadLetters != "" {
			c.dlqStreamName = deadLetters
		}
	}
}

// WithStreamLimits sets how long (maxAge) and how much (maxBytes per stream) the streams
// keep. Defaults: DefaultStreamMaxAge, DefaultStreamMaxBytes. Values <= 0 keep the default.
func WithStreamLimits(maxAge time.Duration, maxBytes int64) Option {
	return func(c *config) {
		if maxAge > 0 {
			c.streamMaxAge = maxAge
		}
		if maxBytes > 0 {
			c.streamMaxBytes = maxBytes
		}
	}
}

// WithAckWait sets the ack wait of durable consumers and the deadline of their handlers.
// Default DefaultAckWait; values <= 0 keep it.
func WithAckWait(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.ackWait = d
		}
	}
}

// WithInactiveThreshold sets how long a durable consumer lives with nobody consuming.
// Default DefaultInactiveThreshold; values <= 0 keep it.
func WithInactiveThreshold(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.inactive = d
		}
	}
}

// WithPingInterval sets the keep-alive interval that detects a silently dead connection.
// Default DefaultPingInterval; values <= 0 keep it.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pingInterval = d
		}
	}
}

// WithReconnectWait sets the first and the largest reconnect delay (the delay doubles
// between them, with jitter; reconnecting never gives up). Defaults DefaultReconnectWait
// and DefaultReconnectMaxWait; values <= 0 keep them.
func WithReconnectWait(first, max time.Duration) Option {
	return func(c *config) {
		if first > 0 {
			c.reconnectWait = first
		}
		if max > 0 {
			c.reconnectMax = max
		}
	}
}

// WithCommandHeaders adds the PURISTA headers to commands too. Default false: like
// TypeScript PURISTA, commands carry no headers (the envelope in the body is
// authoritative) which keeps the request path lean.
func WithCommandHeaders(enabled bool) Option { return func(c *config) { c.commandHeaders = enabled } }

// WithNATSOptions appends raw nats.go options (TLS config, credentials callbacks, …) after
// the bridge's own. Default none.
func WithNATSOptions(opts ...natsgo.Option) Option {
	return func(c *config) { c.extra = append(c.extra, opts...) }
}

// endpoint holds what New parsed from the URL.
type endpoint struct {
	raw      string // as given, credentials included: only for redact
	servers  string // comma-separated server URLs without credentials
	redacted string // for logs
	opts     []natsgo.Option
}

// parseURL reads nats://[user[:password]@|token@]host[:port][,host2:port]…[?params].
// Schemes nats, tls (TLS on) and ws/wss are accepted. Params: tls=true, ca=<file>,
// cert=<file>&key=<file>, creds=<file>, nkey=<seed file>, name=<connection name>,
// token=<token>.
func parseURL(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, fmt.Errorf("%w: empty", ErrBadURL)
	}
	first, rest, _ := strings.Cut(raw, ",")
	u, err := url.Parse(first)
	if err != nil {
		// Neither url.Error nor the URL itself is shown: a URL that does not parse cannot be
		// relied on to have its credentials found and masked.
		return endpoint{}, fmt.Errorf("%w: the first server's URL does not parse", ErrBadURL)
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return endpoint{}, fmt.Errorf("%w: scheme %q (want nats, tls, ws or wss)", ErrBadURL, u.Scheme)
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("%w: no host in %s", ErrBadURL, redact.URL(first))
	}
	ep := endpoint{raw: raw}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			ep.opts = append(ep.opts, natsgo.UserInfo(u.User.Username(), pw))
		} else {
			ep.opts = append(ep.opts, natsgo.Token(u.User.Username()))
		}
	}
	q := u.Query()
	if v := q.Get("tls"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return endpoint{}, fmt.Errorf("%w: tls=%q", ErrBadURL, v)
		}
		if on {
			ep.opts = append(ep.opts, natsgo.Secure())
		}
	}
	if v := q.Get("ca"); v != "" {
		ep.opts = append(ep.opts, natsgo.RootCAs(v))
	}
	if c, k := q.Get("cert"), q.Get("key"); c != "" || k != "" {
		if c == "" || k == "" {
			return endpoint{}, fmt.Errorf("%w: cert and key must be given together", ErrBadURL)
		}
		ep.opts = append(ep.opts, natsgo.ClientCert(c, k))
	}
	if v := q.Get("creds"); v != "" {
		ep.opts = append(ep.opts, natsgo.UserCredentials(v))
	}
	if v := q.Get("nkey"); v != "" {
		o, err := natsgo.NkeyOptionFromSeed(v)
		if err != nil {
			return endpoint{}, fmt.Errorf("%w: nkey seed file: %w", ErrBadURL, err)
		}
		ep.opts = append(ep.opts, o)
	}
	if v := q.Get("token"); v != "" {
		ep.opts = append(ep.opts, natsgo.Token(v))
	}
	if v := q.Get("name"); v != "" {
		ep.opts = append(ep.opts, natsgo.Name(v))
	}
	servers := []string{u.Scheme + "://" + u.Host}
	for i, s := range strings.Split(rest, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "://") {
			s = u.Scheme + "://" + s
		}
		su, err := url.Parse(s)
		if err != nil || su.Host == "" {
			return endpoint{}, fmt.Errorf("%w: the URL of server %d does not parse", ErrBadURL, i+2)
		}
		servers = append(servers, su.Scheme+"://"+su.Host)
	}
	ep.servers = strings.Join(servers, ",")
	ep.redacted = ep.servers
	return ep, nil
}
