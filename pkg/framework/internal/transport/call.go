package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// ErrHandlerPanicked is wrapped by CallSubscription's error when the handler panicked.
var ErrHandlerPanicked = errors.New("subscription handler panicked")

// CallSubscription calls the subscription handler h with msg and returns its error. A
// panic in h is recovered: it is logged on log as "<name>: subscription handler panicked"
// with the subscriber and the panic value, and returned as "<name>: subscription handler
// panicked: <value>" (wrapping ErrHandlerPanicked), so that it counts as a failed delivery
// and becomes the dead letter's reason at the last attempt.
func CallSubscription(ctx context.Context, log *slog.Logger, name string, subscriber wire.Address, h bridge.MessageHandler, msg *wire.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error(name+": subscription handler panicked", "subscriber", subscriber.String(), "panic", fmt.Sprint(p))
			err = fmt.Errorf("%s: %w: %v", name, ErrHandlerPanicked, p)
		}
	}()
	return h(ctx, msg)
}

// CallDeadLetter calls the dead-letter handler h with dl. A panic in h is recovered and
// logged on log as "<name>: dead-letter handler panicked" with dl's subscriber.
func CallDeadLetter(ctx context.Context, log *slog.Logger, name string, h bridge.DeadLetterHandler, dl bridge.DeadLetter) {
	defer func() {
		if p := recover(); p != nil {
			log.Error(name+": dead-letter handler panicked", "subscriber", dl.Subscriber.String(), "panic", fmt.Sprint(p))
		}
	}()
	h(ctx, dl)
}

// ObservesDeadLetter reports whether an OnDeadLetter registration for addr, made on the
// bridge instance whose id is self, receives a dead letter that subscriber (with its
// instance id) gave up: the zero addr observes the subscriptions of this instance; any
// other addr those of its endpoint, on every instance or, when addr.InstanceID is set, on
// that instance only.
func ObservesDeadLetter(addr wire.Address, self string, subscriber wire.Address) bool {
	if addr == (wire.Address{}) {
		return subscriber.InstanceID == self
	}
	return addr.SameEndpoint(subscriber) && (addr.InstanceID == "" || addr.InstanceID == subscriber.InstanceID)
}

// FilterTokens returns the subject or topic tokens that f fixes (empty where f matches
// anything), for building a subscription's pattern (wire.NATSPattern, wire.MQTTPattern)
// or binding (wire.AMQPBindingArgs).
func FilterTokens(f bridge.Filter) wire.Tokens {
	return wire.Tokens{
		MessageType: string(f.MessageType), PrincipalID: f.PrincipalID, TenantID: f.TenantID,
		SenderInstanceID: f.Sender.InstanceID, SenderServiceName: f.Sender.ServiceName,
		SenderServiceVersion: f.Sender.ServiceVersion, SenderServiceTarget: f.Sender.ServiceTarget,
		EventName:          f.EventName,
		ReceiverInstanceID: f.Receiver.InstanceID, ReceiverServiceName: f.Receiver.ServiceName,
		ReceiverServiceVersion: f.Receiver.ServiceVersion, ReceiverServiceTarget: f.Receiver.ServiceTarget,
	}
}
