package framework

import (
	"fmt"
	"reflect"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// EventRef is a typed handle of an event: a name and the type of its body. Declare it in
// the emitting service's contract package with Event; emitters call Emit, subscribers
// pass it to Subscribe. It is a small value, safe to copy and to use concurrently. The
// zero EventRef has no name: Emit fails with ErrZeroRef and Subscribe reports it through
// Service.Err.
type EventRef[T any] struct {
	contract Contract
	name     string
}

// Event declares the event name of contract c whose body is a T:
//
//	var UserAudit = framework.Event[AuditEntry](Contract, "userAudit")
//
// On the wire an event is known by its name alone (eventName); c records the contract
// that declares it. Event panics, with an error wrapping ErrInvalidDefinition, when c is
// the zero Contract or name is not a Go identifier.
func Event[T any](c Contract, name string) EventRef[T] {
	where := fmt.Sprintf("framework.Event(%s, %q)", c, name)
	c.mustBeDeclared(where)
	if err := validateName("event name", name); err != nil {
		invalidDeclaration(where, err)
	}
	return EventRef[T]{contract: c, name: name}
}

// Name returns the event name as it appears on the wire (eventName), "" for the zero
// EventRef.
func (e EventRef[T]) Name() string { return e.name }

// Contract returns the contract that declares the event (for a success event, the
// command's); the zero Contract for the zero EventRef.
func (e EventRef[T]) Contract() Contract { return e.contract }

// Emit publishes the event through c, a handler's *Context or a *Client from
// Runtime.Client, and returns when the bridge accepted it. From a handler the message
// carries the handler's service as sender and inherits its trace, principal and tenant.
// A nil c, or one without an emitter, fails with an error wrapping ErrNoCaller; a zero
// EventRef with one wrapping ErrZeroRef.
func (e EventRef[T]) Emit(c Caller, body T) error {
	if e.name == "" {
		return fmt.Errorf("emit: %w", ErrZeroRef)
	}
	return emit(c, e.name, body)
}

// SubscriptionInfo is the metadata of a subscription.
type SubscriptionInfo struct {
	Service       string             `json:"service"`
	Version       string             `json:"version"`
	Name          string             `json:"name"`
	EventName     string             `json:"eventName,omitempty"`
	EveryInstance bool               `json:"everyInstance,omitempty"`
	Durable       bool               `json:"durable"`
	Filter        bridge.Filter      `json:"filter"`
	Retry         bridge.RetryPolicy `json:"retry"`
}

// SubscriptionOption configures a subscription (see Subscribe).
type SubscriptionOption func(*subscriptionSettings)

// subscriptionSettings is what subscription options set: the subscription as the bridge
// registers it.
type subscriptionSettings struct{ sub bridge.Subscription }

// EveryInstance delivers each message to every running instance of the service instead
// of to one of them (the default: instances share the subscription).
func EveryInstance() SubscriptionOption {
	return func(s *subscriptionSettings) { s.sub.EveryInstance = true }
}

// Durable makes the bridge keep messages while no instance runs (JetStream, durable AMQP
// queues). It is on by default for shared subscriptions.
func Durable(on bool) SubscriptionOption { return func(s *subscriptionSettings) { s.sub.Durable = on } }

// WithRetry sets the redelivery policy for handler failures; after MaxAttempts deliveries
// the message goes to the subscription's dead-letter destination with the last error as
// reason. The default is 5 attempts with exponential backoff from 100 ms.
func WithRetry(p bridge.RetryPolicy) SubscriptionOption {
	return func(s *subscriptionSettings) { s.sub.Retry = p }
}

// FromSender narrows the subscription to messages sent by the given service (and version
// and target when not empty).
func FromSender(service, version, target string) SubscriptionOption {
	return func(s *subscriptionSettings) {
		s.sub.Filter.Sender = bridge.AddressFilter{ServiceName: service, ServiceVersion: version, ServiceTarget: target}
	}
}

// ToReceiver narrows the subscription to messages addressed to the given service.
func ToReceiver(service, version, target string) SubscriptionOption {
	return func(s *subscriptionSettings) {
		s.sub.Filter.Receiver = bridge.AddressFilter{ServiceName: service, ServiceVersion: version, ServiceTarget: target}
	}
}

// OfMessageType narrows the subscription to one message type.
func OfMessageType(t wire.MessageType) SubscriptionOption {
	return func(s *subscriptionSettings) { s.sub.Filter.MessageType = t }
}

// ForPrincipal narrows the subscription to messages of one principal.
func ForPrincipal(id string) SubscriptionOption {
	return func(s *subscriptionSettings) { s.sub.Filter.PrincipalID = id }
}

// ForTenant narrows the subscription to messages of one tenant.
func ForTenant(id string) SubscriptionOption {
	return func(s *subscriptionSettings) { s.sub.Filter.TenantID = id }
}

type subscriptionBinding struct {
	info    SubscriptionInfo
	sub     bridge.Subscription
	handler func(c *Context, msg *wire.Message) error
}

// Subscribe registers fn as subscription name of svc for event ev (a custom event, or a
// command's success event from CommandRef.SuccessEvent). The body is decoded into T; a
// body that does not decode is an error that goes through retries to the dead letter.
// fn returning nil acknowledges the message; an error asks for redelivery. Delivery is at
// least once: fn must be idempotent. Mistakes (an invalid or duplicate name, a zero ev)
// are reported by svc.Err.
//
// The name is part of the subscription's identity on the broker: its durable consumer
// (NATS JetStream), queue (AMQP) or share group (MQTT) is named after service, version and
// name (see package wire, e.g. wire.AMQPSubscriptionQueue). Renaming a subscription
// therefore creates a new consumer or queue that receives only messages published after
// it is created; messages pending on the old one are not delivered to the new one and
// stay on the broker (or expire there) until the old one is removed. To rename without
// losing messages, run both names until the old one has drained, then remove the old
// name from the code and delete its consumer or queue (docs/concepts.md).
func Subscribe[T any](svc *Service, name string, ev EventRef[T], fn func(c *Context, body T) error, opts ...SubscriptionOption) {
	if ev.name == "" {
		svc.addError(fmt.Errorf("subscription %s: %w (a command's SuccessEvent is zero unless it declares WithSuccessEvent)", name, ErrZeroRef))
		return
	}
	sub := bridge.Subscription{Filter: bridge.Filter{EventName: ev.name}}
	subscribe(svc, name, sub, func(c *Context, msg *wire.Message) error {
		var body T
		if len(msg.Payload) > 0 {
			if err := jsonx.Unmarshal(msg.Payload, &body); err != nil {
				return fmt.Errorf("decode %s body into %v: %w", ev.name, reflect.TypeFor[T](), err)
			}
		}
		return fn(c, body)
	}, opts)
}

// SubscribeMessages registers fn for every message matching the options' filters
// (FromSender, ToReceiver, OfMessageType, ForPrincipal, ForTenant), undecoded. Use it for
// auditing, monitoring or bridging. At least one filter must be given.
func SubscribeMessages(svc *Service, name string, fn func(c *Context, msg *wire.Message) error, opts ...SubscriptionOption) {
	subscribe(svc, name, bridge.Subscription{}, fn, opts)
}

func subscribe(svc *Service, name string, sub bridge.Subscription, fn func(*Context, *wire.Message) error, opts []SubscriptionOption) {
	if err := validateName("subscription name", name); err != nil {
		svc.addError(err)
		return
	}
	sub.Durable = true
	set := subscriptionSettings{sub: sub}
	for _, o := range opts {
		o(&set)
	}
	sub = set.sub
	if sub.Filter == (bridge.Filter{}) {
		svc.addError(fmt.Errorf("subscription %s has no filter: give an event or at least one filter option", name))
		return
	}
	sub.Subscriber = wire.Address{ServiceName: svc.contract.name, ServiceVersion: svc.contract.version, ServiceTarget: name}
	svc.addSubscription(&subscriptionBinding{
		info: SubscriptionInfo{Service: svc.contract.name, Version: svc.contract.version, Name: name, EventName: sub.Filter.EventName,
			EveryInstance: sub.EveryInstance, Durable: sub.Durable, Filter: sub.Filter, Retry: sub.Retry},
		sub: sub,
		handler: func(c *Context, msg *wire.Message) (err error) {
			defer recoverPanic(&err) // so that every caller of the handler (tests too) gets an error
			return fn(c, msg)
		},
	})
}
