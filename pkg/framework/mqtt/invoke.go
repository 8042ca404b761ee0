package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
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

// Invoke implements bridge.EventBridge. The command's sender instance is set to this
// bridge's instance id (the response is routed by it). With local delivery on and the
// handler registered on this bridge, the call stays in process; otherwise the command is
// published (QoS 1, expiry = timeout) and Invoke waits for the response on the instance's
// response subscription. A command nobody handles ends with bridge.ErrTimeout. If the
// connection is down when the command is sent, the error wraps bridge.ErrUnavailable.
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
	if timeout <= 0 {
		timeout = b.cfg.invokeTimeout
	}
	out := *cmd
	out.Sender.InstanceID = b.cfg.instanceID
	data, err := wire.Encode(&out)
	if err != nil {
		return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, err)
	}
	if b.local.Load() {
		if r := b.localCommand(*cmd.Receiver); r != nil {
			return b.invokeLocal(ctx, r, data, timeout)
		}
	}

	res := make(chan []byte, 1)
	b.pmu.Lock()
	if _, dup := b.pending[out.CorrelationID]; dup {
		b.pmu.Unlock()
		return nil, fmt.Errorf("mqtt: invoke %s: correlationId %s already in flight: %w", cmd.Receiver, out.CorrelationID, bridge.ErrDuplicate)
	}
	b.pending[out.CorrelationID] = res
	b.pmu.Unlock()
	defer func() {
		b.pmu.Lock()
		delete(b.pending, out.CorrelationID)
		b.pmu.Unlock()
	}()

	// One deadline covers the publish (waiting for its PUBACK) and the response; when it
	// ends, ctx tells the caller's cancellation from the timeout.
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = b.publish(wctx, b.packet(&out, data, timeout))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("mqtt: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
		}
		return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, err)
	}
	select {
	case raw := <-res:
		resp, err := wire.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("mqtt: invoke %s: response: %w", cmd.Receiver, err)
		}
		return resp, nil
	case <-wctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, err)
		}
		return nil, fmt.Errorf("mqtt: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
	case <-b.ctx.Done():
		return nil, fmt.Errorf("mqtt: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
	}
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
	res := b.pending[corr]
	b.pmu.Unlock()
	if res == nil {
		b.log.Debug("mqtt: dropped response nobody waits for", "correlationId", corr)
		return
	}
	select {
	case res <- p.Payload:
	default: // a duplicate
	}
}

// cmdReg is a command handler registered on this bridge.
type cmdReg struct {
	b       *Bridge
	addr    wire.Address
	h       bridge.CommandHandler
	timeout time.Duration
	r       hook
	g       inflight.Gate // calls in flight; shut by Unregister
	once    sync.Once
}

// shareName is the share group of the shared subscription at a.
func (b *Bridge) shareName(a wire.Address) string {
	if b.cfg.puristaShare {
		return wire.MQTTDefaultShare
	}
	name := "purista_" + wire.SnakeCase(a.ServiceName) + "_" + wire.SnakeCase(a.ServiceVersion) + "_" + wire.SnakeCase(a.ServiceTarget)
	return strings.NewReplacer("/", "_", "+", "_", "#", "_").Replace(name)
}

// RegisterCommand implements bridge.EventBridge: it subscribes
// $share/<group>/purista/command/+/+/+/+/+/+/+/+/<svc>/<ver>/<target>, so instances of the
// command share the load. The PUBACK of a command is sent on receipt; the handler runs on
// a goroutine of its own with a ctx that ends after min(opts.Timeout, the command's
// remaining expiry).
func (b *Bridge) RegisterCommand(ctx context.Context, addr wire.Address, h bridge.CommandHandler, opts bridge.CommandOptions) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || addr.ServiceName == "" || addr.ServiceTarget == "" {
		return nil, fmt.Errorf("mqtt: register command %s: needs a handler, service name and target", addr)
	}
	key := wire.Address{ServiceName: addr.ServiceName, ServiceVersion: addr.ServiceVersion, ServiceTarget: addr.ServiceTarget}
	c := &cmdReg{b: b, addr: key, h: h, timeout: opts.Timeout}
	if c.timeout <= 0 {
		c.timeout = bridge.DefaultTimeout
	}
	b.mu.Lock()
	if b.life.Load() >= lifecycle.StateDraining {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: register command %s: %w", addr, bridge.ErrClosed)
	}
	if _, dup := b.cmds[key]; dup {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: register command %s: %w", addr, bridge.ErrDuplicate)
	}
	b.cmds[key] = c
	b.mu.Unlock()
	c.r = b.addHook(wire.MQTTCommandFilter(key, b.shareName(key)), c.handle)
	if err := b.activate(ctx, c.r); err != nil {
		_ = c.Unregister(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mqtt: register command %s: %w", addr, err)
	}
	return c, nil
}

// localCommand returns the handler registered on this bridge for addr, or nil.
func (b *Bridge) localCommand(addr wire.Address) *cmdReg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmds[wire.Address{ServiceName: addr.ServiceName, ServiceVersion: addr.ServiceVersion, ServiceTarget: addr.ServiceTarget}]
}

// Unregister implements bridge.Registration: it unsubscribes, then waits, until ctx ends,
// for the calls the handler is answering.
func (c *cmdReg) Unregister(ctx context.Context) error {
	var err error
	c.once.Do(func() {
		c.b.mu.Lock()
		if c.b.cmds[c.addr] == c {
			delete(c.b.cmds, c.addr)
		}
		c.b.mu.Unlock()
		err = c.b.removeHooks(ctx, c.r)
	})
	if werr := c.b.life.WaitUnregister(ctx, &c.g); werr != nil {
		return werr
	}
	return err
}

// handle receives a command from the broker (on paho's goroutine).
func (c *cmdReg) handle(p *paho.Publish, ack func()) {
	ack() // at most once: a command is never redelivered for a handler failure
	b := c.b
	if b.life.Load() != lifecycle.StateRunning || !b.work.Enter(false) {
		b.log.Debug("mqtt: dropped command while closing", "topic", p.Topic)
		return
	}
	if !c.g.Enter(false) {
		b.work.Leave()
		return
	}
	b.pool.Run(func() {
		defer b.work.Leave()
		defer c.g.Leave()
		cmd, err := wire.Decode(p.Payload)
		if err != nil || cmd.MessageType != wire.TypeCommand {
			b.log.Warn("mqtt: dropped invalid command", "topic", p.Topic, "bytes", len(p.Payload), "err", err)
			return
		}
		if !b.seen.add(cmd.ID + "/" + cmd.CorrelationID) {
			b.log.Info("mqtt: dropped redelivered command", "id", cmd.ID)
			return
		}
		timeout := c.timeout
		if e := p.Properties.MessageExpiry; e != nil && *e > 0 {
			timeout = min(timeout, time.Duration(*e)*time.Second)
		}
		ctx := b.handlerCtx.WithTimeout(timeout) // no timer unless the handler waits on it
		resp := b.finishResponse(ctx, cmd, b.life.CallCommand(ctx, b.log, c.h, cmd))
		ctx.Finish()
		b.sendResponse(cmd, resp, timeout)
	})
}

// sendResponse publishes resp to the caller's response topic (and so to subscriptions
// when it is a success with an eventName).
func (b *Bridge) sendResponse(cmd, resp *wire.Message, timeout time.Duration) {
	data, err := wire.Encode(resp)
	if err != nil {
		b.log.Error("mqtt: command response not encodable", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, 500, b.cfg.instanceID)
		data, _ = wire.Encode(resp)
	}
	expiry := timeout
	if resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "" {
		expiry = b.cfg.eventExpiry
	}
	ctx, cancel := context.WithTimeout(b.ctx, max(timeout, 5*time.Second))
	defer cancel()
	if err := b.publish(ctx, b.packet(resp, data, expiry)); err != nil {
		b.log.Warn("mqtt: response not sent", "command", cmd.Receiver.String(), "correlationId", cmd.CorrelationID, "err", err)
	}
}

// invokeLocal answers a command with a handler of this bridge, in process. The command and
// the response are encoded and decoded as on the wire, so caller and handler share no
// memory. A success response with an eventName is published to the broker for
// subscriptions.
func (b *Bridge) invokeLocal(ctx context.Context, c *cmdReg, data []byte, timeout time.Duration) (*wire.Message, error) {
	if !c.g.Enter(false) {
		return nil, fmt.Errorf("mqtt: invoke %s: %w", c.addr, bridge.ErrNoHandler)
	}
	defer c.g.Leave()
	cmd, err := wire.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("mqtt: invoke %s: %w", c.addr, err)
	}
	hctx, cancel := context.WithTimeout(b.ctx, min(c.timeout, timeout))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	res := make(chan *wire.Message, 1)
	if !b.work.Enter(true) {
		return nil, fmt.Errorf("mqtt: invoke %s: %w", c.addr, bridge.ErrClosed)
	}
	go func() {
		defer b.work.Leave()
		resp := b.finishResponse(hctx, cmd, b.life.CallCommand(hctx, b.log, c.h, cmd))
		out, err := wire.Encode(resp)
		if err != nil {
			resp = bridge.UnhandledResponse(cmd, 500, b.cfg.instanceID)
			out, _ = wire.Encode(resp)
		}
		back, _ := wire.Decode(out)
		res <- back
		if resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "" {
			b.sendResponse(cmd, resp, timeout)
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case resp := <-res:
		return resp, nil
	case <-timer.C:
		return nil, fmt.Errorf("mqtt: invoke %s after %s: %w", c.addr, timeout, bridge.ErrTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("mqtt: invoke %s: %w", c.addr, ctx.Err())
	}
}

// finishResponse fills what the handler left empty: a nil response becomes an unhandled
// 500 (504 when the handler's time ran out); id, correlationId, sender (the command's
// receiver with this instance's id), receiver (the command's sender), timestamp and
// content type default from the command.
func (b *Bridge) finishResponse(ctx context.Context, cmd, resp *wire.Message) *wire.Message {
	return bridge.CompleteResponse(ctx, cmd, resp, b.cfg.instanceID)
}
