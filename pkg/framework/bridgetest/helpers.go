package bridgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// uniq returns prefix followed by 12 random hex characters: names no other run shares.
func uniq(prefix string) string { return prefix + wire.NewID()[:12] }

// addr returns a version-1 address.
func addr(service, target string) wire.Address {
	return wire.Address{ServiceName: service, ServiceVersion: "1", ServiceTarget: target}
}

// endpoints returns a unique caller and callee address.
func endpoints() (caller, callee wire.Address) {
	return addr(uniq("BtCaller"), "run"), addr(uniq("BtCallee"), "doIt")
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// command builds a command from → to whose input is payload.
func command(t *testing.T, from, to wire.Address, payload any) *wire.Message {
	t.Helper()
	body := mustJSON(t, wire.CommandPayload{Payload: mustJSON(t, payload), Parameter: json.RawMessage(`{}`)})
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(),
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommand, Sender: from, Receiver: &to,
		TraceID: wire.NewID(), CorrelationID: wire.NewID(), Payload: body,
	}
}

// input returns the command's input payload.
func input(t *testing.T, cmd *wire.Message) json.RawMessage {
	t.Helper()
	var p wire.CommandPayload
	if err := json.Unmarshal(cmd.Payload, &p); err != nil {
		t.Errorf("command payload: %v", err)
	}
	return p.Payload
}

// reply builds the response to cmd the way docs/wire-format.md describes it: same id and
// correlationId, sender = the command's receiver on instance, receiver = the command's
// sender, principal/tenant/trace carried over.
func reply(cmd *wire.Message, typ wire.MessageType, instance string, payload json.RawMessage) *wire.Message {
	sender := *cmd.Receiver
	sender.InstanceID = instance
	receiver := cmd.Sender
	return &wire.Message{
		ID: cmd.ID, Timestamp: wire.NowMillis(),
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: typ, Sender: sender, Receiver: &receiver,
		TraceID: cmd.TraceID, CorrelationID: cmd.CorrelationID,
		PrincipalID: cmd.PrincipalID, TenantID: cmd.TenantID, OTP: cmd.OTP,
		Payload: payload,
	}
}

// success builds a success response carrying result.
func success(cmd *wire.Message, instance string, result json.RawMessage) *wire.Message {
	return reply(cmd, wire.TypeCommandSuccessResponse, instance, result)
}

// failure builds an error response.
func failure(t *testing.T, cmd *wire.Message, instance string, handled bool, p wire.ErrorPayload) *wire.Message {
	m := reply(cmd, wire.TypeCommandErrorResponse, instance, mustJSON(t, p))
	m.IsHandledError = &handled
	return m
}

// event builds a customMessage.
func event(t *testing.T, from wire.Address, name string, payload any) *wire.Message {
	t.Helper()
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(),
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCustomMessage, Sender: from, EventName: name,
		Payload: mustJSON(t, payload),
	}
}

// echo is a command handler that answers with the command's input.
func echo(t *testing.T, b bridge.EventBridge) bridge.CommandHandler {
	return func(_ context.Context, cmd *wire.Message) *wire.Message {
		return success(cmd, b.InstanceID(), input(t, cmd))
	}
}

func register(t *testing.T, h Harness, b bridge.EventBridge, a wire.Address, hd bridge.CommandHandler, opts bridge.CommandOptions) bridge.Registration {
	t.Helper()
	r, err := b.RegisterCommand(h.ctx(t), a, hd, opts)
	if err != nil {
		t.Fatalf("RegisterCommand %s: %v", a, err)
	}
	return r
}

func subscribe(t *testing.T, h Harness, b bridge.EventBridge, sub bridge.Subscription, hd bridge.MessageHandler) bridge.Registration {
	t.Helper()
	r, err := b.RegisterSubscription(h.ctx(t), sub, hd)
	if err != nil {
		t.Fatalf("RegisterSubscription %s: %v", sub.Subscriber, err)
	}
	return r
}

func invoke(t *testing.T, h Harness, b bridge.EventBridge, cmd *wire.Message) *wire.Message {
	t.Helper()
	resp, err := b.Invoke(h.ctx(t), cmd, h.Wait)
	if err != nil {
		t.Fatalf("Invoke %s: %v", cmd.Receiver, err)
	}
	if resp == nil {
		t.Fatalf("Invoke %s: nil response without error", cmd.Receiver)
	}
	return resp
}

func emit(t *testing.T, h Harness, b bridge.EventBridge, msg *wire.Message) {
	t.Helper()
	if err := b.Emit(h.ctx(t), msg); err != nil {
		t.Fatalf("Emit %s: %v", msg.EventName, err)
	}
}

// sameJSON reports whether a and b encode the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// recorder records the messages a subscription handler receives.
type recorder struct {
	mu   sync.Mutex
	msgs []*wire.Message
}

func (r *recorder) handle(_ context.Context, m *wire.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// ids counts the deliveries per message id.
func (r *recorder) ids() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for _, x := range r.msgs {
		m[x.ID]++
	}
	return m
}

func (r *recorder) all() []*wire.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*wire.Message(nil), r.msgs...)
}

// deadLetters records dead letters.
type deadLetters struct {
	mu  sync.Mutex
	dls []bridge.DeadLetter
}

func (d *deadLetters) handle(_ context.Context, dl bridge.DeadLetter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dls = append(d.dls, dl)
}

func (d *deadLetters) all() []bridge.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bridge.DeadLetter(nil), d.dls...)
}

// counter counts calls.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
