// Package preflight tests a broker URL before `purista dev` or `purista check` start
// anything on it: Validate rejects a URL that cannot name a broker (an unknown scheme, no
// host, a port that is not a number from 1 to 65535), and Check connects to the broker
// with the client library of its kind (nats.go, amqp091-go, paho) within a bound, so that
// an unreachable broker is reported once, naming the URL with its credentials masked,
// instead of as retry warnings or failures of the project.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"
	natsgo "github.com/nats-io/nats.go"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/app"
)

// DefaultTimeout bounds Check when its caller gives no timeout.
const DefaultTimeout = 5 * time.Second

// ErrInvalid is wrapped by the errors of Validate: the URL names no broker.
var ErrInvalid = errors.New("invalid broker URL")

// ErrUnavailable is wrapped by the errors of Check when the broker did not answer or
// refused the connection.
var ErrUnavailable = errors.New("broker unavailable")

// Error is a broker that could not be reached or refused the client's handshake.
type Error struct {
	// URL is the broker URL with its credentials masked.
	URL string
	// Kind is "nats", "amqp" or "mqtt".
	Kind string
	// Handshake is true when the broker's port answered but the client library's
	// handshake failed (wrong protocol on that port, credentials refused, TLS).
	Handshake bool
	// Err is the cause, its message scrubbed of the URL's credentials.
	Err error
}

// Error says which broker and why: "broker unavailable: nats://h:1 does not answer: …".
func (e *Error) Error() string {
	if e.Handshake {
		name := map[string]string{"nats": "a NATS", "amqp": "an AMQP", "mqtt": "an MQTT"}[e.Kind]
		return fmt.Sprintf("broker unavailable: %s answers, but not as %s broker that accepts this client: %v", e.URL, name, e.Err)
	}
	return fmt.Sprintf("broker unavailable: %s does not answer: %v", e.URL, e.Err)
}

// Unwrap returns ErrUnavailable and the cause.
func (e *Error) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// invalidf is an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Validate checks that rawURL names a broker, without connecting: a scheme of
// app.BridgeKind other than memory, a host, and a port (when given) that is a
// number from 1 to 65535 — for NATS, of every server of a comma-separated list. It
// returns the broker kind. Errors wrap ErrInvalid and show the URL only masked.
func Validate(rawURL string) (string, error) {
	kind, err := app.BridgeKind(rawURL)
	if err != nil {
		if p := rawPort(rawURL); p != "" {
			return "", invalidf("port %q of %s is not a number from 1 to 65535", p, app.RedactURL(rawURL))
		}
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if kind == "memory" {
		return "", invalidf("%s is the in-memory bridge, not a broker", app.RedactURL(rawURL))
	}
	if _, err := endpoints(kind, rawURL); err != nil {
		return "", err
	}
	return kind, nil
}

// rawPort returns the port of a URL that url.Parse refuses when it is not a number
// ("nats://h:abc"), else "".
func rawPort(rawURL string) string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#,"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasSuffix(rest, "]") { // [::1] without a port
		return ""
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return ""
	}
	p := rest[i+1:]
	if p == "" || strings.Trim(p, "0123456789") == "" {
		return ""
	}
	return p
}

// endpoints returns the host:port pairs rawURL names, each with the default port of its
// scheme when it has none.
func endpoints(kind, rawURL string) ([]string, error) {
	parts := []string{rawURL}
	if kind == "nats" {
		parts = strings.Split(rawURL, ",")
	}
	first, err := url.Parse(parts[0])
	if err != nil {
		// url.Error quotes the URL, password included: never show it.
		return nil, invalidf("%s does not parse as a URL: give e.g. %s", app.RedactURL(rawURL), example(kind))
	}
	var out []string
	for i, p := range parts {
		u := first
		if i > 0 {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if !strings.Contains(p, "://") {
				p = first.Scheme + "://" + p
			}
			if u, err = url.Parse(p); err != nil {
				return nil, invalidf("server %d of %s does not parse as a URL", i+1, app.RedactURL(rawURL))
			}
		}
		if u.Hostname() == "" {
			return nil, invalidf("%s names no host: give e.g. %s", app.RedactURL(rawURL), example(kind))
		}
		port := u.Port()
		if port == "" {
			port = defaultPort(u.Scheme)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, invalidf("port %q of %s is not a number from 1 to 65535", port, app.RedactURL(rawURL))
		}
		out = append(out, net.JoinHostPort(u.Hostname(), port))
	}
	return out, nil
}

// defaultPort is the port a client library uses for scheme when the URL has none.
func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "amqp":
		return "5672"
	case "amqps":
		return "5671"
	case "mqtt", "tcp":
		return "1883"
	case "mqtts", "ssl":
		return "8883"
	case "ws":
		return "80"
	case "wss":
		return "443"
	}
	return "4222" // nats, tls
}

func example(kind string) string {
	switch kind {
	case "amqp":
		return "amqp://guest:guest@127.0.0.1:5672/"
	case "mqtt":
		return "mqtt://127.0.0.1:1883"
	}
	return "nats://127.0.0.1:4222"
}

// Check validates rawURL, then connects to the broker and disconnects again, all within
// timeout (DefaultTimeout when it is not positive) or until ctx ends: a TCP connection to
// each host the URL names (one that answers is enough), then the handshake of the
// kind's client library with the URL's credentials — nats.go's CONNECT, amqp091-go's
// connection open, an MQTT v5 CONNECT through paho for mqtt:// and tcp://. A URL whose
// settings only the bridge reads (NATS query parameters such as creds= or ca=, MQTT over
// TLS or WebSocket) gets the TCP connection only. Nothing is declared or subscribed on
// the broker. The error wraps ErrInvalid for a URL that names no broker, else it is an
// *Error (wrapping ErrUnavailable).
func Check(ctx context.Context, rawURL string, timeout time.Duration) error {
	kind, err := Validate(rawURL)
	if err != nil {
		return err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	red := app.NewRedactor(rawURL)
	fail := func(handshake bool, err error) error {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %v", timeout)
		}
		return &Error{URL: app.RedactURL(rawURL), Kind: kind, Handshake: handshake, Err: red.Error(err)}
	}
	hosts, _ := endpoints(kind, rawURL) // Validate parsed them
	if err := dialAny(ctx, hosts); err != nil {
		return fail(false, err)
	}
	if err := handshake(ctx, kind, rawURL); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // the port answered, the broker did not
		}
		return fail(true, err)
	}
	return nil
}

// dialAny opens a TCP connection to each host in turn until one answers.
func dialAny(ctx context.Context, hosts []string) error {
	var d net.Dialer
	var errs []error
	for _, h := range hosts {
		c, err := d.DialContext(ctx, "tcp", h)
		if err == nil {
			return c.Close()
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// handshake connects with the client library of kind and disconnects.
func handshake(ctx context.Context, kind, rawURL string) error {
	deadline, _ := ctx.Deadline()
	left := time.Until(deadline)
	switch kind {
	case "nats":
		if strings.Contains(rawURL, "?") {
			return nil // creds, nkey, ca, cert, tls: the bridge's own settings
		}
		nc, err := natsgo.Connect(rawURL, natsgo.Timeout(left), natsgo.NoReconnect(), natsgo.Name("purista preflight"))
		if err != nil {
			return err
		}
		nc.Close()
		return nil
	case "amqp":
		conn, err := amqp091.DialConfig(rawURL, amqp091.Config{Dial: amqp091.DefaultDial(left),
			Properties: amqp091.Table{"connection_name": "purista preflight"}})
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return mqttHandshake(ctx, rawURL)
}

// mqttHandshake sends an MQTT v5 CONNECT with the URL's credentials (clean start, no
// session kept) and disconnects; only for plain TCP (mqtt://, tcp://).
func mqttHandshake(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp":
	default:
		return nil // TLS and WebSocket settings are the bridge's own
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "1883")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // bounds a broker that accepts but never answers
	}
	id := "purista-preflight-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: id})
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
	if u.User != nil {
		cp.Username, cp.UsernameFlag = u.User.Username(), true
		if p, ok := u.User.Password(); ok {
			cp.Password, cp.PasswordFlag = []byte(p), true
		}
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		_ = conn.Close()
		if ca != nil && ca.ReasonCode != 0 {
			return fmt.Errorf("%w (reason code %d)", err, ca.ReasonCode)
		}
		return err
	}
	return c.Disconnect(&paho.Disconnect{ReasonCode: 0})
}
