package amqp

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// call is an invocation waiting for its response.
type call struct {
	sess *session
	done chan result // buffered 1: the first outcome wins
}

type result struct {
	msg *wire.Message
	err error
}

func (c *call) finish(msg *wire.Message, err error) {
	select {
	case c.done <- result{msg, err}:
	default:
	}
}

// Invoke implements bridge.EventBridge. The command is answered in process when its
// handler is registered on this bridge and local delivery is on; otherwise it is published
// (mandatory, with this instance's reply queue) and Invoke waits for the response with its
// correlationId. It fails at once with ErrNoHandler when no queue is bound for the
// command, with ErrUnavailable when the connection is down or breaks while waiting.
func (b *Bridge) Invoke(ctx context.Context, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	if err := b.intake(ctx); err != nil {
		return nil, err
	}
	defer b.work.Leave()
	if cmd == nil || cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("amqp: invoke: %w: not a command", wire.ErrInvalidMessage)
	}
	if err := cmd.Validate(); err != nil {
		return nil, fmt.Errorf("amqp: invoke: %w", err)
	}
	timeout = b.cfg.Timeout(timeout)
	out := *cmd
	if out.Sender.InstanceID == "" {
		out.Sender.InstanceID = b.cfg.InstanceID
	}
	if b.local.Enabled() {
		if r, ok := b.cmds.Get(transport.EndpointOf(*cmd.Receiver)); ok {
			return b.local.Call(ctx, &r.Command, &out, timeout)
		}
	}
	s, err := b.session()
	if err != nil {
		return nil, fmt.Errorf("amqp: invoke %s: %w", cmd.Receiver, err)
	}
	buf := b.bufs.Get()
	defer b.bufs.Put(buf) // amqp091 has copied the body when the publish returns
	data, err := buf.Encode(&out)
	if err != nil {
		return nil, fmt.Errorf("amqp: invoke %s: %w", cmd.Receiver, err)
	}
	c := &call{sess: s, done: make(chan result, 1)}
	id := out.CorrelationID
	b.pmu.Lock()
	if _, dup := b.pending[id]; dup {
		b.pmu.Unlock()
		return nil, fmt.Errorf("amqp: invoke %s: correlationId %s already waiting: %w", cmd.Receiver, id, bridge.ErrDuplicate)
	}
	b.pending[id] = c
	b.pmu.Unlock()
	defer func() {
		b.pmu.Lock()
		if b.pending[id] == c {
			delete(b.pending, id)
		}
		b.pmu.Unlock()
	}()
	if s.isDead() { // the supervisor may have failed the pending calls before c was added
		return nil, fmt.Errorf("amqp: invoke %s: %w: connection down", cmd.Receiver, bridge.ErrUnavailable)
	}
	p := b.publishing(&out, data, s.replyQueue)
	err = s.fast.PublishWithContext(ctx, wire.AMQPExchange, "", true, false, p)
	b.headers.put(p.Headers)
	if err != nil {
		return nil, fmt.Errorf("amqp: invoke %s: publish: %w: %w", cmd.Receiver, bridge.ErrUnavailable, err)
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-c.done:
		return r.msg, r.err
	case <-timer.C:
		return nil, fmt.Errorf("amqp: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("amqp: invoke %s: %w", cmd.Receiver, ctx.Err())
	case <-b.ctx.Done():
		return nil, fmt.Errorf("amqp: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
	}
}

// publishing builds the AMQP message of a command or event m, encoded as data: the
// PURISTA properties, the headers of Headers(m, "") and, for a command, the caller's reply
// queue as the replyTo property. Its Headers come from b.headers: hand them back with
// b.headers.put once the publish has returned.
func (b *Bridge) publishing(m *wire.Message, data []byte, replyQueue string) amqp091.Publishing {
	return amqp091.Publishing{
		Headers:         b.headers.get(m),
		ContentType:     wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8,
		DeliveryMode:    amqp091.Persistent,
		CorrelationId:   m.CorrelationID,
		ReplyTo:         replyQueue,
		MessageId:       m.ID,
		Timestamp:       millis(m.Timestamp),
		Type:            string(m.MessageType),
		Body:            data,
	}
}

// replyPublishing builds the reply to a caller's reply queue: the response resp, encoded
// as data, in the body, and only the properties its readers use: contentType and
// contentEncoding (TypeScript PURISTA decodes the body by them), correlationId and
// messageId (the command's ids, as TypeScript PURISTA sets them). No headers: the reply
// reaches its queue by name, not through the headers exchange.
func replyPublishing(resp *wire.Message, data []byte) amqp091.Publishing {
	return amqp091.Publishing{
		ContentType:     wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8,
		CorrelationId:   resp.CorrelationID,
		MessageId:       resp.ID,
		Body:            data,
	}
}

// publish publishes p on s's confirm channel and waits for the broker's confirm.
func (b *Bridge) publish(ctx context.Context, s *session, exchange, key string, p amqp091.Publishing) error {
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, p)
	if err != nil {
		return fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
	}
	return confirmed(ctx, s, dc)
}

// confirmed waits for the broker's confirm of a publish on s's confirm channel.
func confirmed(ctx context.Context, s *session, dc *amqp091.DeferredConfirmation) error {
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if !dc.Acked() {
		if s.isDead() {
			return fmt.Errorf("%w: connection lost before the broker confirmed", bridge.ErrUnavailable)
		}
		return errors.New("broker rejected the message (nack)")
	}
	return nil
}

// handleReplies hands each response of the reply queue to the invocation waiting for its
// correlationId. It runs until the session's reply consumer ends.
func (b *Bridge) handleReplies(replies <-chan amqp091.Delivery) {
	for d := range replies {
		msg, err := wire.DecodeOwned(d.Body) // amqp091 allocated it for this delivery
		if err != nil {
			b.log.Warn("amqp: dropped invalid response", "bytes", len(d.Body), "err", err)
			continue
		}
		if !msg.MessageType.IsResponse() {
			b.log.Warn("amqp: dropped non-response on the reply queue", "messageType", string(msg.MessageType))
			continue
		}
		b.pmu.Lock()
		c := b.pending[msg.CorrelationID]
		b.pmu.Unlock()
		if c == nil {
			b.log.Debug("amqp: dropped response nobody waits for", "correlationId", msg.CorrelationID)
			continue
		}
		c.finish(msg, nil)
	}
}

// handleReturns fails the invocation whose command came back unroutable with
// ErrNoHandler. It runs until s's publishing channel closes.
func (b *Bridge) handleReturns(s *session, returns <-chan amqp091.Return) {
	for r := range returns {
		b.pmu.Lock()
		c := b.pending[r.CorrelationId]
		b.pmu.Unlock()
		if c == nil || c.sess != s {
			continue
		}
		svc, _ := r.Headers[wire.HeaderReceiverServiceName].(string)
		target, _ := r.Headers[wire.HeaderReceiverServiceTarget].(string)
		c.finish(nil, fmt.Errorf("amqp: invoke %s.%s: %w (broker: %d %s)", svc, target, bridge.ErrNoHandler, r.ReplyCode, r.ReplyText))
	}
}

// failPending fails the invocations waiting on s (all of them when s is nil) with err.
func (b *Bridge) failPending(s *session, err error) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	for _, c := range b.pending {
		if s == nil || c.sess == s {
			c.finish(nil, err)
		}
	}
}
