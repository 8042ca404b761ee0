// Package bridge defines the EventBridge contract: the one interface through which
// services send and receive messages, whatever the transport (in memory, NATS, AMQP, MQTT).
//
// Implementations live in sibling packages (memory, nats, amqp, mqtt); the conformance
// suite in bridgetest checks that an implementation honours this contract. Service code
// never names an implementation: the app runner picks one from configuration.
package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Errors a bridge returns. They are matchable with errors.Is; bridges wrap them with detail.
var (
	// ErrNoHandler: no handler is registered for the command's receiver. Bridges that can
	// tell (memory, NATS no-responders, AMQP unroutable) return it at once instead of
	// waiting for the timeout.
	ErrNoHandler = errors.New("no handler registered for command")
	// ErrTimeout: no response arrived within the invoke timeout.
	ErrTimeout = errors.New("invocation timed out")
	// ErrClosed: the bridge is shutting down or closed; it takes no new work. When Close's
	// context ends before in-flight handlers return (the shutdown timeout passed), bridges
	// end the handlers' contexts with a cause that wraps ErrClosed (context.Cause), so
	// that a handler cut off by the shutdown answers 503, never a masked 500.
	ErrClosed = errors.New("event bridge closed")
	// ErrNotStarted: a method that needs a connection was called before Start.
	ErrNotStarted = errors.New("event bridge not started")
	// ErrDuplicate: a command handler or subscription of that address is already registered
	// on this bridge instance.
	ErrDuplicate = errors.New("already registered")
	// ErrUnavailable: the broker cannot be reached right now.
	ErrUnavailable = errors.New("broker unavailable")
)

// CommandHandler answers one command. It receives the decoded command message and returns
// the response message (a commandSuccessResponse or commandErrorResponse whose
// correlationId equals the command's). It is called concurrently from many goroutines. It
// must not block beyond ctx, which is cancelled when the invoke timeout passes or the
// bridge is force-stopped. A nil response is answered by the bridge with an unhandled 500.
// The returned message belongs to the bridge from then on (it may complete it in place and
// hand it to the caller): return a fresh message and do not use it afterwards.
type CommandHandler func(ctx context.Context, cmd *wire.Message) *wire.Message

// MessageHandler consumes one event for a subscription. It is called concurrently. A nil
// error acknowledges the message; a non-nil error asks for redelivery according to the
// subscription's RetryPolicy, after which the message is dead-lettered. Handlers must be
// idempotent: every bridge delivers at least once.
type MessageHandler func(ctx context.Context, msg *wire.Message) error

// Registration is a registered command handler or subscription.
type Registration interface {
	// Unregister stops delivery to the handler. Messages already being handled finish; no
	// new message is delivered after Unregister returns. Safe to call more than once.
	Unregister(ctx context.Context) error
}

// CommandOptions tune a command registration.
type CommandOptions struct {
	// Timeout is the longest the handler may run; the handler's ctx is cancelled after it.
	// Zero means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout is the invoke and handler timeout used when none is set.
const DefaultTimeout = 30 * time.Second

// Filter selects messages for a subscription. Empty fields match anything; set fields
// must all match (logical AND).
type Filter struct {
	MessageType wire.MessageType
	Sender      AddressFilter
	Receiver    AddressFilter
	EventName   string
	PrincipalID string
	TenantID    string
}

// AddressFilter selects on the parts of an address; empty fields match anything.
type AddressFilter struct {
	ServiceName    string
	ServiceVersion string
	ServiceTarget  string
	InstanceID     string
}

// Match reports whether a matches f.
func (f AddressFilter) Match(a *wire.Address) bool {
	if f == (AddressFilter{}) {
		return true
	}
	if a == nil {
		return false
	}
	return (f.ServiceName == "" || f.ServiceName == a.ServiceName) &&
		(f.ServiceVersion == "" || f.ServiceVersion == a.ServiceVersion) &&
		(f.ServiceTarget == "" || f.ServiceTarget == a.ServiceTarget) &&
		(f.InstanceID == "" || f.InstanceID == a.InstanceID)
}

// Match reports whether msg matches every field that f sets. Command messages never match
// a subscription unless f.MessageType is TypeCommand explicitly.
func (f Filter) Match(msg *wire.Message) bool {
	if f.MessageType != "" && f.MessageType != msg.MessageType {
		return false
	}
	if f.MessageType == "" && msg.MessageType == wire.TypeCommand {
		return false
	}
	return (f.EventName == "" || f.EventName == msg.EventName) &&
		(f.PrincipalID == "" || f.PrincipalID == msg.PrincipalID) &&
		(f.TenantID == "" || f.TenantID == msg.TenantID) &&
		f.Sender.Match(&msg.Sender) && f.Receiver.Match(msg.Receiver)
}

// Backoff selects how the delay between delivery attempts grows.
type Backoff int

const (
	// BackoffExponential doubles the delay after each attempt, from InitialInterval up to
	// MaxInterval, with full jitter. It is the default.
	BackoffExponential Backoff = iota
	// BackoffImmediate redelivers at once.
	BackoffImmediate
)

// RetryPolicy says how often and how fast a failed subscription message is redelivered.
type RetryPolicy struct {
	// MaxAttempts is the number of deliveries in total (first + retries) before the
	// message is dead-lettered. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// Backoff selects the delay curve.
	Backoff Backoff
	// InitialInterval is the first retry delay (default 100ms).
	InitialInterval time.Duration
	// MaxInterval caps the delay (default 10s).
	MaxInterval time.Duration
}

// DefaultMaxAttempts is the delivery count used when RetryPolicy.MaxAttempts is zero.
const DefaultMaxAttempts = 5

// Subscription describes a subscription registration.
type Subscription struct {
	// Subscriber is the address of the subscribing service; ServiceTarget is the
	// subscription's name. It names queues, durable consumers and dead-letter destinations.
	Subscriber wire.Address
	// Filter selects the messages.
	Filter Filter
	// EveryInstance delivers each message to every running instance of the subscriber. When
	// false (the default) instances share the subscription and each message reaches one.
	EveryInstance bool
	// Durable asks the bridge to keep messages while no instance runs (broker bridges with
	// persistence: JetStream, durable AMQP queues). The memory bridge ignores it.
	Durable bool
	// Retry is the redelivery policy for handler failures.
	Retry RetryPolicy
}

// DeadLetter is a message that failed every delivery attempt of a subscription.
type DeadLetter struct {
	// Message is the original message.
	Message *wire.Message
	// Subscriber is the subscription that gave up.
	Subscriber wire.Address
	// Reason is the last handler error's text.
	Reason string
	// Attempts is the number of deliveries made.
	Attempts int
	// At is when the message was dead-lettered.
	At time.Time
}

// DeadLetterHandler receives dead letters. It is called from the bridge's goroutines and
// should return quickly.
type DeadLetterHandler func(ctx context.Context, dl DeadLetter)

// EventBridge moves messages between services. All methods are safe for concurrent use.
//
// Lifecycle: New… (configure) → Start (connect) → Register*/Invoke/Emit → Close (drain).
// Registrations made before Start are applied by Start.
//
// Delivery guarantees: commands are request/response and at most once per attempt; events
// for subscriptions are at least once, so handlers must be idempotent. A bridge never
// crashes on a malformed message from the transport: it logs and drops it (or dead-letters
// it when it was addressed to a subscription).
type EventBridge interface {
	// Name identifies the transport ("memory", "nats", "amqp", "mqtt").
	Name() string
	// InstanceID is this bridge instance's 32-hex id, stamped on outgoing sender addresses.
	InstanceID() string

	// Start connects to the broker. It blocks until connected or ctx ends.
	Start(ctx context.Context) error

	// Invoke sends cmd (a TypeCommand message with receiver and correlationId) and blocks
	// until the response arrives, timeout passes (ErrTimeout), ctx ends (ctx.Err()), or the
	// bridge knows there is no handler (ErrNoHandler). The returned message is the
	// success or error response; a non-nil error means no response was received. A zero
	// (or negative) timeout means the bridge's default, DefaultTimeout unless configured.
	Invoke(ctx context.Context, cmd *wire.Message, timeout time.Duration) (*wire.Message, error)

	// Emit publishes an event (custom message or info message) to every matching
	// subscription. It returns when the broker accepted the message (publisher confirm where
	// the transport has one), not when subscribers handled it.
	Emit(ctx context.Context, msg *wire.Message) error

	// RegisterCommand routes commands addressed to addr (service, version, target) to h.
	// Instances registering the same addr share the load; each command reaches one.
	RegisterCommand(ctx context.Context, addr wire.Address, h CommandHandler, opts CommandOptions) (Registration, error)

	// RegisterSubscription delivers messages matching sub.Filter to h. Command success
	// responses that carry an eventName are delivered to subscriptions as events too.
	RegisterSubscription(ctx context.Context, sub Subscription, h MessageHandler) (Registration, error)

	// OnDeadLetter registers h to receive the dead letters of subscriber (all of this
	// bridge's subscriptions when subscriber is the zero Address). Broker bridges read them
	// from the broker's dead-letter destination, so any instance may observe them.
	OnDeadLetter(ctx context.Context, subscriber wire.Address, h DeadLetterHandler) (Registration, error)

	// Healthy returns nil while the bridge is connected and able to deliver, and an error
	// wrapping ErrUnavailable, ErrNotStarted or ErrClosed otherwise. It never blocks on the
	// network for longer than ctx allows.
	Healthy(ctx context.Context) error

	// Close drains the bridge: it stops taking new messages at once, lets in-flight handlers
	// finish until ctx ends, then disconnects. It returns ctx.Err() if handlers were still
	// running at the deadline (they are then cancelled). Safe to call more than once.
	Close(ctx context.Context) error
}

// LocalDelivery is implemented by broker bridges that short-circuit calls between
// services in the same process. Local delivery is on by default.
type LocalDelivery interface {
	// SetLocalDelivery switches the short-circuit on or off.
	SetLocalDelivery(enabled bool)
}

// Monitor receives what a bridge does besides calling handlers, for metrics: changes of
// its connection to the broker, redeliveries it schedules and messages it dead-letters.
// Its methods are called from the bridge's goroutines, possibly concurrently, and return
// quickly without calling back into the bridge.
type Monitor interface {
	// Connected reports that the connection to the broker came up (true; also the first
	// time, in Start) or went down (false).
	Connected(up bool)
	// Retried reports that a failed delivery to the subscription subscriber is scheduled
	// for another attempt.
	Retried(subscriber wire.Address)
	// DeadLettered reports that a message of the subscription subscriber was
	// dead-lettered (after its last attempt, or at once when it could not be decoded).
	DeadLettered(subscriber wire.Address)
}

// Monitored is implemented by bridges that report to a Monitor. SetMonitor is called at
// most once, before Start; a nil Monitor reports nowhere.
type Monitored interface {
	SetMonitor(m Monitor)
}
