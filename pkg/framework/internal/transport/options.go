package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// ErrInstanceID is wrapped by the error Resolve and CheckInstanceID return for an
// instance id no transport can carry.
var ErrInstanceID = errors.New("invalid instance id")

// Options are the options every bridge has. A bridge's config embeds Options, starts from
// DefaultOptions, and its exported With… options set them with the setters in one line;
// New calls Resolve once the options are applied. The setters keep the default for a zero
// value (nil logger, empty id, non-positive timeout), as the bridges' options always did.
// Options is a plain value: copy it freely; it is not safe for concurrent writes.
type Options struct {
	// Logger receives the bridge's log lines. Default: a logger that discards everything.
	Logger *slog.Logger
	// InstanceID is the bridge instance's id (PURISTA_INSTANCE_ID), stamped on the sender
	// of outgoing messages that carry none. Default: a fresh wire.NewID(), given by Resolve.
	InstanceID string
	// LocalDelivery is the initial state of the local short-circuit of commands (see
	// Local; broker bridges only). Default: on.
	LocalDelivery bool
	// InvokeTimeout is the timeout of an Invoke called with a zero or negative timeout.
	// Default: bridge.DefaultTimeout.
	InvokeTimeout time.Duration
	// GeneratedID is set by Resolve when it made InstanceID up because none was given: the
	// instance then has no identity that outlives the process (the MQTT bridge keeps no
	// session for it).
	GeneratedID bool
}

// DefaultOptions returns the defaults: a discarding logger, no instance id yet (Resolve
// makes one), local delivery on, bridge.DefaultTimeout.
func DefaultOptions() Options {
	return Options{
		Logger:        slog.New(slog.DiscardHandler),
		LocalDelivery: true,
		InvokeTimeout: bridge.DefaultTimeout,
	}
}

// SetLogger sets the logger; nil keeps the current one.
func (o *Options) SetLogger(l *slog.Logger) {
	if l != nil {
		o.Logger = l
	}
}

// SetInstanceID sets the instance id; an empty id keeps the current one.
func (o *Options) SetInstanceID(id string) {
	if id != "" {
		o.InstanceID = id
	}
}

// SetLocalDelivery sets the initial state of local delivery.
func (o *Options) SetLocalDelivery(enabled bool) { o.LocalDelivery = enabled }

// SetInvokeTimeout sets the default invoke timeout; d <= 0 keeps the current one.
func (o *Options) SetInvokeTimeout(d time.Duration) {
	if d > 0 {
		o.InvokeTimeout = d
	}
}

// Resolve completes o once the options are applied: an empty InstanceID becomes a fresh
// wire.NewID() (and GeneratedID is set), a nil Logger or non-positive InvokeTimeout (a config not made by
// DefaultOptions) the default. It then checks the instance id (CheckInstanceID) and
// returns that error; o is complete either way, so a bridge whose New cannot fail
// (memory) logs the error and goes on.
func (o *Options) Resolve() error {
	if o.InstanceID == "" {
		o.InstanceID, o.GeneratedID = wire.NewID(), true
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.InvokeTimeout <= 0 {
		o.InvokeTimeout = bridge.DefaultTimeout
	}
	return CheckInstanceID(o.InstanceID)
}

// BridgeLogger returns o.Logger with the attributes every bridge logs with: "bridge"
// (name) and "instanceId". Call it after Resolve.
func (o *Options) BridgeLogger(name string) *slog.Logger {
	return o.Logger.With("bridge", name, "instanceId", o.InstanceID)
}

// Timeout returns the timeout of an Invoke called with d: d when positive, else
// o.InvokeTimeout.
func (o *Options) Timeout(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return o.InvokeTimeout
}

// CheckInstanceID returns nil if every transport can carry id, else an error wrapping
// ErrInstanceID. The id travels raw in headers and user properties (NATS, AMQP, MQTT) and
// snake-cased as a subject token and topic level (wire.SnakeCase). So it must not be
// empty, must not contain control characters (a line break would end a header), and
// must contain an ASCII letter or digit: SnakeCase leaves an id without one unchanged, so
// that an id like "*", "+", "#" or "." would become a wildcard or a separator. PURISTA's
// ids (32 hex characters, wire.NewID) pass, and so do pod names.
func CheckInstanceID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInstanceID)
	}
	alnum := false
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %q contains a control character", ErrInstanceID, id)
		}
		alnum = alnum || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	if !alnum {
		return fmt.Errorf("%w: %q has no ASCII letter or digit", ErrInstanceID, id)
	}
	return nil
}
