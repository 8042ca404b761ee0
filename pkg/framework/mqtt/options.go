package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"

	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// ErrConfig is wrapped by the errors New returns for a bad URL or option. Its messages
// never contain a credential of the URL.
var ErrConfig = errors.New("mqtt: invalid configuration")

// Defaults of the options.
const (
	// DefaultSessionExpiry is how long the broker keeps the session (its subscriptions and
	// the QoS 1 messages queued for it) of an instance with a stable identity (see
	// WithInstanceID) after its connection drops or it stops: a restart within it resumes
	// the session and handles what was queued meanwhile.
	DefaultSessionExpiry = time.Hour
	// DefaultEphemeralSessionExpiry is the session expiry of an instance without a stable
	// identity (a random instance id): long enough to ride out a dropped connection, short
	// enough that the session of a crashed process, which still holds its place in the
	// share groups of its subscriptions and commands, is gone soon. A clean stop deletes
	// such a session at once.
	DefaultEphemeralSessionExpiry = 30 * time.Second
	// DefaultRegistrationWait is how long a message that arrives before the registration
	// it is for (typically one queued in a resumed session, delivered as soon as the
	// connection is up and before the service has registered its handlers) is held for it.
	DefaultRegistrationWait = 30 * time.Second
	// DefaultKeepAlive is the MQTT keep-alive interval.
	DefaultKeepAlive = 10 * time.Second
	// DefaultMaxReconnectDelay caps the delay between reconnection attempts.
	DefaultMaxReconnectDelay = 2 * time.Second
	// DefaultMaxConcurrency bounds the goroutines running subscription handlers.
	DefaultMaxConcurrency = 256
	// DefaultEventExpiry is the message expiry of events, info messages and success
	// responses that carry an eventName: 30 days, PURISTA's value for events.
	DefaultEventExpiry = 30 * 24 * time.Hour
	// DefaultInitialInterval and DefaultMaxInterval are the retry delays used when a
	// bridge.RetryPolicy leaves them zero.
	DefaultInitialInterval = bridge.DefaultInitialInterval
	DefaultMaxInterval     = bridge.DefaultMaxInterval
	// DefaultReceiveMaximum is the number of unacknowledged QoS 1 messages the broker may
	// have in flight to this client (MQTT 5 Receive Maximum).
	DefaultReceiveMaximum = 65535
)

// Option configures a Bridge. Options are applied in order; later ones win.
type Option func(*config)

type config struct {
	transport.Options // logger, instance id, local delivery, invoke timeout

	clientID          string
	stable            bool // client id given (or instance id, see New): the session outlives a stop
	puristaShare      bool
	sessionExpiry     time.Duration
	keepAlive         time.Duration
	maxReconnectDelay time.Duration
	eventExpiry       time.Duration
	registrationWait  time.Duration
	maxConcurrency    int
	receiveMaximum    uint16
	tls               *tls.Config
}

func defaultConfig() config {
	return config{
		Options:           transport.DefaultOptions(),
		keepAlive:         DefaultKeepAlive,
		maxReconnectDelay: DefaultMaxReconnectDelay,
		eventExpiry:       DefaultEventExpiry,
		registrationWait:  DefaultRegistrationWait,
		maxConcurrency:    DefaultMaxConcurrency,
		receiveMaximum:    DefaultReceiveMaximum,
	}
}

// WithLogger sets the logger for connection changes, dropped messages, recovered panics and
// dead letters. Default: a logger that discards everything. nil keeps the default.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.SetLogger(l) } }

// WithInstanceID sets the bridge's instance id (PURISTA_INSTANCE_ID), which also names the
// MQTT client id and session unless WithClientID is given. Default: a fresh wire.NewID().
// An empty id keeps the default. New fails (ErrConfig) for an id no topic level can carry
// (see transport.CheckInstanceID; PURISTA's 32 hex characters and pod names pass).
//
// An id given here is a stable identity: the instance's session outlives a stop (for
// DefaultSessionExpiry), keeps its durable subscriptions and collects their events while
// the process is down, and a process started again with the same id resumes it and
// handles them. Give each running instance an id of its own that it keeps across
// restarts (a StatefulSet pod, say), never one shared by two processes at once.
// Without one, the instance's session ends when it stops (see WithSessionExpiry).
func WithInstanceID(id string) Option { return func(c *config) { c.SetInstanceID(id) } }

// WithClientID sets the MQTT client id. Default: "purista-" + the instance id. Two
// connections with one client id take each other's session over, so it must be unique
// among running instances. Like WithInstanceID, a client id given here is a stable
// identity.
func WithClientID(id string) Option {
	return func(c *config) {
		if id != "" {
			c.clientID = id
			c.stable = true
		}
	}
}

// WithLocalDelivery switches the local short-circuit: when a command's handler is
// registered on this same bridge, Invoke calls it in process without touching the broker.
// Default: true.
func WithLocalDelivery(enabled bool) Option {
	return func(c *config) { c.SetLocalDelivery(enabled) }
}

// WithPuristaShareName makes every shared subscription (command handlers and shared event
// subscriptions) use TypeScript PURISTA's single share group "sharedpurista", so that Go and
// TypeScript instances of one service share the load. Default: false, which gives each
// subscription its own share group derived from the subscriber address; PURISTA's single
// group is a defect (two different services subscribing with the same filter split the
// messages between them instead of each receiving all of them).
func WithPuristaShareName(enabled bool) Option {
	return func(c *config) { c.puristaShare = enabled }
}

// WithSessionExpiry sets the MQTT 5 session expiry interval: how long the broker keeps
// the session (subscriptions and queued QoS 1 messages) after the connection drops, so
// that a reconnect within it loses nothing. Default: DefaultSessionExpiry for an instance
// with a stable identity (WithInstanceID, WithClientID), DefaultEphemeralSessionExpiry
// otherwise. It is also how long the session of a crashed process keeps its place in the
// share groups, taking its turn of the commands and events, which are lost with it
// unless the same identity returns in time. Close deletes the session, except that of an
// instance with a stable identity and durable subscriptions. Values < 1s keep the
// default.
func WithSessionExpiry(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Second {
			c.sessionExpiry = d
		}
	}
}

// WithRegistrationWait sets how long a message for which this bridge has no registration
// yet is held for one: the messages a resumed session delivers as soon as the connection
// is up arrive before the service registers its handlers. A message is never
// acknowledged before its handler exists: one whose registration does not come within
// the wait (typically a durable subscription removed from the code while its session
// kept collecting events) is published to the dead-letter topic of this instance with
// the reason "no registration for <topic> within <wait>: ..." (OnDeadLetter with the zero
// Address sees it) and then acknowledged. (MQTT acknowledgements go in arrival order:
// while a message is held, later messages are handled but their acknowledgements wait
// as well, so it cannot be held for ever.) Messages for a registration that was removed
// (Unregister) are acknowledged and dropped.
// Default: DefaultRegistrationWait. Values <= 0 keep the default.
func WithRegistrationWait(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.registrationWait = d
		}
	}
}

// WithKeepAlive sets the MQTT keep-alive; a dead connection is noticed within about 1.5
// times it. Default: DefaultKeepAlive. Values < 1s keep the default.
func WithKeepAlive(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Second {
			c.keepAlive = d
		}
	}
}

// WithMaxReconnectDelay caps the exponential delay between reconnection attempts.
// Default: DefaultMaxReconnectDelay. Values <= 0 keep the default.
func WithMaxReconnectDelay(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.maxReconnectDelay = d
		}
	}
}

// WithInvokeTimeout sets the timeout Invoke uses when called with a zero timeout.
// Default: bridge.DefaultTimeout (30s). Values <= 0 keep the default.
func WithInvokeTimeout(d time.Duration) Option { return func(c *config) { c.SetInvokeTimeout(d) } }

// WithMaxConcurrency bounds the goroutines running subscription and dead-letter handlers;
// further deliveries wait in memory (their PUBACK is held meanwhile). Command handlers are
// not bounded: each runs on its own goroutine. Default: DefaultMaxConcurrency.
func WithMaxConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConcurrency = n
		}
	}
}

// WithEventExpiry sets the message expiry of events, info messages and success responses
// that carry an eventName: how long the broker keeps them for a subscriber's session that
// is offline. Default: DefaultEventExpiry (30 days, PURISTA's value). Values < 1s keep the
// default.
func WithEventExpiry(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Second {
			c.eventExpiry = d
		}
	}
}

// WithTLSConfig sets the TLS configuration for mqtts:// (tls://, ssl://) URLs, replacing
// what the URL's query parameters configure. Default: the system roots.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// endpoint is a parsed broker URL with the credentials taken out.
type endpoint struct {
	url      *url.URL // no user info
	raw      string   // as given, credentials included: only for redact.Error
	username string
	password []byte
	tls      *tls.Config
}

// parseURL reads mqtt://[user[:password]@]host[:port] (also tcp://, and mqtts://, tls://,
// ssl:// for TLS, ws:// and wss://). Query parameters: ca=<PEM file> adds a root CA,
// insecureSkipVerify=true disables verification, serverName=<name> sets SNI; clientId and
// sessionExpiry (seconds) override the options of the same name. Error messages show the
// URL only through redact.URL.
func parseURL(raw string, c *config) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, password included: never wrap it.
		return endpoint{}, fmt.Errorf("%w: URL does not parse", ErrConfig)
	}
	scheme := strings.ToLower(u.Scheme)
	port := "1883"
	secure := false
	switch scheme {
	case "mqtt", "tcp":
	case "mqtts", "tls", "ssl":
		port, secure = "8883", true
	case "ws":
		port = "80"
	case "wss":
		port, secure = "443", true
	default:
		return endpoint{}, fmt.Errorf("%w: scheme %q in %s (want mqtt, mqtts, tls, ssl, tcp, ws or wss)", ErrConfig, u.Scheme, redact.URL(raw))
	}
	if u.Hostname() == "" {
		return endpoint{}, fmt.Errorf("%w: no host in %s", ErrConfig, redact.URL(raw))
	}
	ep := endpoint{raw: raw}
	if u.User != nil {
		ep.username = u.User.Username()
		if p, ok := u.User.Password(); ok {
			ep.password = []byte(p)
		}
	}
	q := u.Query()
	if secure {
		ep.tls = c.tls
		if ep.tls == nil {
			ep.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
			if v := q.Get("serverName"); v != "" {
				ep.tls.ServerName = v
			}
			if v := q.Get("insecureSkipVerify"); v == "true" || v == "1" {
				ep.tls.InsecureSkipVerify = true
			}
			if ca := q.Get("ca"); ca != "" {
				pem, err := os.ReadFile(ca)
				if err != nil {
					return endpoint{}, fmt.Errorf("%w: read CA file: %w", ErrConfig, err)
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return endpoint{}, fmt.Errorf("%w: no certificate in CA file %s", ErrConfig, ca)
				}
				ep.tls.RootCAs = pool
			}
		}
	}
	if v := q.Get("clientId"); v != "" {
		c.clientID, c.stable = v, true
	}
	if v := q.Get("sessionExpiry"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return endpoint{}, fmt.Errorf("%w: sessionExpiry=%q is not a positive number of seconds", ErrConfig, v)
		}
		c.sessionExpiry = time.Duration(n) * time.Second
	}
	host := u.Host
	if u.Port() == "" {
		host = u.Hostname() + ":" + port
		if strings.Contains(u.Hostname(), ":") {
			host = "[" + u.Hostname() + "]:" + port
		}
	}
	ep.url = &url.URL{Scheme: scheme, Host: host, Path: u.Path}
	return ep, nil
}
