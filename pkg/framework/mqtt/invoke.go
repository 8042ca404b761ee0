package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// headerOrder is the order user properties are written in (PURISTA's order).
var headerOrder = [...]string{
	wire.HeaderMessageType, wire.HeaderSenderServiceName, wire.HeaderSenderServiceVersion,
	wire.HeaderSenderServiceTarget, wire.HeaderSenderInstanceID, wire.HeaderReceiverServiceName,
	wire.HeaderReceiverServiceVersion, wire.HeaderReceiverServiceTarget, wire.HeaderReceiverInstanceID,
	wire.HeaderPrincipalID, wire.HeaderTenantID, wire.HeaderTraceParent, wire.HeaderEventName,
}

// expirySeconds renders d as an MQTT message expiry interval: whole seconds, rounded up,
// at least 1.
func expirySeconds(d time.Duration) *uint32 {
	s := uint32(min(math.Ceil(d.Seconds()), math.MaxUint32))
	s = max(s, 1)
	return &s
}

// packet builds the PUBLISH of m (encoded as data): its 13-level topic, content type,
// the PURISTA user properties in headerOrder, correlation data for commands and
// responses, and expiry.
func (b *Bridge) packet(m *wire.Message, data []byte, expiry time.Duration) *paho.Publish {
	var vals [len(headerOrder)]string
	n := 0
	wire.VisitHeaders(m, func(k, v string) {
		for i, name := range headerOrder {
			if name == k {
				vals[i] = v
				n++
				return
			}
		}
	})
	props := &paho.PublishProperties{ContentType: wire.ContentTypeJSON, MessageExpiry: expirySeconds(expiry)}
	props.User = make(paho.UserProperties, 0, n)
	for i, v := range vals {
		if v != "" {
			props.User = append(props.User, paho.UserProperty{Key: headerOrder[i], Value: v})
		}
	}
	if m.MessageType == wire.TypeCommand || m.MessageType.IsResponse() {
		props.CorrelationData = []byte(m.CorrelationID)
	}
	return &paho.Publish{QoS: 1, Topic: b.namer.MQTTTopic(wire.TokensOf(m)), Payload: data, Properties: props}
}

// replyPacket builds the PUBLISH of a point-to-point response (encoded as data): on the
// response's topic, whose receiver-instance level routes it to the caller, with content
// type, correlation data and expiry but no PURISTA user properties. Readers take the
// response from the body (TypeScript PURISTA too, and its trace context from the body's
// otp when no traceparent property is present); user properties would only cost.
func (b *Bridge) replyPacket(m *wire.Message, data []byte, expiry time.Duration) *paho.Publish {
	props := &paho.PublishProperties{ContentType: wire.ContentTypeJSON, MessageExpiry: expirySeconds(expiry),
		CorrelationData: []byte(m.CorrelationID)}
	return &paho.Publish{QoS: 1, Topic: b.namer.MQTTTopic(wire.TokensOf(m)), Payload: data, Properties: props}
}

// reply is what a pending Invoke receives: the response body, or lost when the connection
// dropped before it arrived.
type reply struct {
	data []byte
	lost bool
}

// Invoke implements bridge.EventBridge. The command's sender instance is set to this
// bridge's instance id (the response is routed by it). With local delivery on and the
// handler registered on this bridge, the call stays in process; otherwise the command is
// published (QoS 1, expiry = timeout) and Invoke waits for the response on the instance's
// response subscription. A command nobody handles ends with bridge.ErrTimeout. If the
// connection is down when the command is sent, or drops before the response arrives, the
// error wraps bridge.ErrUnavailable at once.
func (b *Bridge) Invoke(ctx context.Context, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	if err := b.intake(ctx); err != nil {
		return nil, err
	}
	defer b.work.Leave()
	if cmd == nil || cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("mqtt: invoke: %w: not a command", wire.ErrInvalidMessage)
	}
	if err := cmd.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt: invoke: %w", err)
	}
	timeout = b.cfg.Timeout(timeout)
	out := *cmd
	out.Sender.InstanceID = b.cfg.InstanceID
	if b.local.Enabled() {
		if c, ok := b.cmds.Get(transport.EndpointOf(*cmd.Receiver)); ok {
			resp, err := b.local.Call(ctx, &c.Command, &out, timeout)
			if !errors.Is(err, transport.ErrUnregistered) {
				return resp, err
			}
			// Being unregistered here: another instance may take it over the broker.
		}
	}
	data, err := wire.Encode(&out)
	if err != nil {
		return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, err)
	}

	// One deadline covers the publish (waiting for its PUBACK) and the response; when it
	// ends, ctx tells the caller's cancellation from the timeout. A lost connection ends
	// it too (onDown), also while the publish still waits for a PUBACK that was lost.
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := &waiter{res: make(chan reply, 1), cancel: cancel}
	b.pmu.Lock()
	if _, dup := b.pending[out.CorrelationID]; dup {
		b.pmu.Unlock()
		return nil, fmt.Errorf("mqtt: invoke %s: correlationId %s already in flight: %w", cmd.Receiver, out.CorrelationID, bridge.ErrDuplicate)
	}
	b.pending[out.CorrelationID] = w
	b.pmu.Unlock()
	defer func() {
		b.pmu.Lock()
		delete(b.pending, out.CorrelationID)
		b.pmu.Unlock()
	}()

	err = b.publish(wctx, b.packet(&out, data, timeout))
	if err != nil {
		if r, ok := w.received(); ok {
			return r.response(cmd.Receiver)
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("mqtt: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
		}
		return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, err)
	}
	select {
	case r := <-w.res:
		return r.response(cmd.Receiver)
	case <-wctx.Done():
		if r, ok := w.received(); ok {
			return r.response(cmd.Receiver)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, err)
		}
		return nil, fmt.Errorf("mqtt: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
	case <-b.ctx.Done():
		return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
	}
}

// waiter is a pending Invoke: where its response goes, and the end of its wait.
type waiter struct {
	res    chan reply
	cancel context.CancelFunc
}

// received returns what arrived for w, if anything.
func (w *waiter) received() (reply, bool) {
	select {
	case r := <-w.res:
		return r, true
	default:
		return reply{}, false
	}
}

// deliver hands r to w unless w has something already.
func (w *waiter) deliver(r reply) {
	select {
	case w.res <- r:
	default: // a duplicate, or the connection was lost first
	}
}

// response is the Invoke result for r, the answer to a command to to.
func (r reply) response(to *wire.Address) (*wire.Message, error) {
	if r.lost {
		return nil, fmt.Errorf("mqtt: invoke %s: connection to the broker lost before the response: %w", to, bridge.ErrUnavailable)
	}
	resp, err := wire.Decode(r.data)
	if err != nil {
		return nil, fmt.Errorf("mqtt: invoke %s: response: %w", to, err)
	}
	return resp, nil
}

// onResponse handles a message on the instance's response topic: it hands the body to
// the waiting Invoke, matched by correlation data or, failing that, the body's
// correlationId. Responses nobody waits for are dropped.
func (b *Bridge) onResponse(p *paho.Publish, ack func()) {
	ack()
	corr := string(p.Properties.CorrelationData)
	if corr == "" {
		var m struct {
			CorrelationID string `json:"correlationId"`
		}
		if err := json.Unmarshal(p.Payload, &m); err != nil {
			b.log.Warn("mqtt: dropped undecodable response", "topic", p.Topic, "err", err)
			return
		}
		corr = m.CorrelationID
	}
	b.pmu.Lock()
	w := b.pending[corr]
	b.pmu.Unlock()
	if w == nil {
		b.log.Debug("mqtt: dropped response nobody waits for", "correlationId", corr)
		return
	}
	w.deliver(reply{data: p.Payload})
}

// publishEvent publishes resp, a success response with an eventName that a local call
// produced (data is its encoding), for the subscriptions: Local's Publish.
func (b *Bridge) publishEvent(resp *wire.Message, data []byte) {
	ctx, cancel := context.WithTimeout(b.ctx, max(b.cfg.InvokeTimeout, closeStepTimeout))
	defer cancel()
	if err := b.publish(ctx, b.packet(resp, data, b.cfg.eventExpiry)); err != nil {
		b.log.Warn("mqtt: response not sent", "correlationId", resp.CorrelationID, "err", err)
	}
}
