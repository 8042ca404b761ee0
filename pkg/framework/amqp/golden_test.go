package amqp_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// capture is one record of wire/testdata/amqp.json (a copy of shared/wire-samples).
type capture struct {
	Seq        int                        `json:"seq"`
	What       string                     `json:"what"`
	Exchange   string                     `json:"exchange"`
	RoutingKey string                     `json:"routingKey"`
	Properties map[string]json.RawMessage `json:"properties"`
	Headers    map[string]string          `json:"headers"`
	Body       json.RawMessage            `json:"body"`
}

func captures(t *testing.T) map[int]capture {
	t.Helper()
	data, err := os.ReadFile("../wire/testdata/amqp.json")
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	var list []capture
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	m := map[int]capture{}
	for _, c := range list {
		m[c.Seq] = c
	}
	return m
}

// present returns the names of the properties a capture sets (non-null).
func (c capture) present() []string {
	var out []string
	for k, v := range c.Properties {
		if string(v) != "null" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// presentOf returns the names of the properties d sets, named as in the capture.
func presentOf(d amqp091.Delivery) []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("contentType", d.ContentType != "")
	add("contentEncoding", d.ContentEncoding != "")
	add("deliveryMode", d.DeliveryMode != 0)
	add("correlationId", d.CorrelationId != "")
	add("replyTo", d.ReplyTo != "")
	add("messageId", d.MessageId != "")
	add("timestamp", !d.Timestamp.IsZero())
	add("type", d.Type != "")
	add("expiration", d.Expiration != "")
	add("priority", d.Priority != 0)
	add("userId", d.UserId != "")
	add("appId", d.AppId != "")
	slices.Sort(out)
	return out
}

func headerKeys(h amqp091.Table) []string {
	return slices.Sorted(maps.Keys(h))
}

func await(t *testing.T, ch <-chan amqp091.Delivery, what string) amqp091.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return amqp091.Delivery{}
	}
}

// checkLike compares what the bridge published with a TS capture of the same kind: the
// properties set, the header names, delivery mode, type, and timestamp in milliseconds.
func checkLike(t *testing.T, what string, got amqp091.Delivery, want capture, body *wire.Message) {
	t.Helper()
	if g, w := presentOf(got), want.present(); !slices.Equal(g, w) {
		t.Errorf("%s: properties %v, TS sets %v", what, g, w)
	}
	wantKeys := slices.Sorted(maps.Keys(want.Headers))
	if g := headerKeys(got.Headers); !slices.Equal(g, wantKeys) {
		t.Errorf("%s: headers %v, TS sends %v", what, g, wantKeys)
	}
	if got.Exchange != want.Exchange || got.RoutingKey != want.RoutingKey {
		t.Errorf("%s: exchange %q key %q, want %q %q", what, got.Exchange, got.RoutingKey, want.Exchange, want.RoutingKey)
	}
	if got.DeliveryMode != amqp091.Persistent || got.ContentType != wire.ContentTypeJSON || got.ContentEncoding != wire.EncodingUTF8 {
		t.Errorf("%s: mode %d type %q encoding %q", what, got.DeliveryMode, got.ContentType, got.ContentEncoding)
	}
	if got.Type != string(body.MessageType) || got.MessageId != body.ID {
		t.Errorf("%s: type %q messageId %q, want %q %q", what, got.Type, got.MessageId, body.MessageType, body.ID)
	}
	if ms := got.Timestamp.Unix(); ms != body.Timestamp || ms < 1e12 { // N6: milliseconds
		t.Errorf("%s: timestamp property %d, want the body's %d ms", what, ms, body.Timestamp)
	}
	for k, v := range amqp.Headers(body, "") {
		if got.Headers[k] != v {
			t.Errorf("%s: header %s = %v, want %q", what, k, got.Headers[k], v)
		}
	}
}

// TestGoldenPublish checks that what the bridge publishes for a command, its response and
// an event has the shape of the TypeScript captures (C9, N4, N6).
func TestGoldenPublish(t *testing.T) {
	caps := captures(t)
	u := brokerURL(t)
	id := wire.NewID()[:10]
	client := wire.Address{ServiceName: "WireCapture" + id, ServiceVersion: "1", ServiceTarget: "run"}
	user := wire.Address{ServiceName: "User" + id, ServiceVersion: "1", ServiceTarget: "signUp"}
	sniffC := sniffer(t, amqp091.Table{"x-match": "all", wire.HeaderSenderServiceName: client.ServiceName})
	sniffU := sniffer(t, amqp091.Table{"x-match": "all", wire.HeaderSenderServiceName: user.ServiceName})

	a := startBridge(t, u)
	b := startBridge(t, u)
	ctx := context.Background()
	_, err := b.RegisterCommand(ctx, user, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		ev := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
			ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCustomMessage, Sender: user,
			EventName: "userAudit", OTP: cmd.OTP, Payload: json.RawMessage(`{"action":"signUp"}`)}
		if err := b.Emit(ctx, ev); err != nil {
			t.Errorf("Emit: %v", err)
		}
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: "userSignedUp", OTP: cmd.OTP,
			Payload: json.RawMessage(`{"id":"user-0001","email":"alice@example.com"}`)}
	}, bridge.CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var tsCmd wire.Message
	if err := json.Unmarshal(caps[9].Body, &tsCmd); err != nil {
		t.Fatal(err)
	}
	cmd := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommand, Sender: client, Receiver: &user,
		CorrelationID: wire.NewID(), OTP: tsCmd.OTP, Payload: tsCmd.Payload}
	resp, err := a.Invoke(ctx, cmd, 10*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}

	// The command (capture 9).
	d := await(t, sniffC, "the command")
	sent := *cmd
	sent.Sender.InstanceID = a.InstanceID()
	checkLike(t, "command", d, caps[9], &sent)
	if d.CorrelationId != cmd.CorrelationID || d.ReplyTo != a.ReplyQueue() || !strings.HasPrefix(d.ReplyTo, "amq.gen-") {
		t.Errorf("command correlationId %q replyTo %q, want %q and the amq.gen- reply queue %q", d.CorrelationId, d.ReplyTo, cmd.CorrelationID, a.ReplyQueue())
	}
	if got, err := wire.Decode(d.Body); err != nil || got.CorrelationID != cmd.CorrelationID || got.Receiver.ServiceTarget != "signUp" {
		t.Errorf("command body %s: %v", d.Body, err)
	}

	// The event (capture 12) and the response (capture 13), in either order.
	for range 2 {
		d := await(t, sniffU, "the response and the event")
		msg, err := wire.Decode(d.Body)
		if err != nil {
			t.Fatalf("decode %s: %v", d.Body, err)
		}
		switch msg.MessageType {
		case wire.TypeCustomMessage:
			checkLike(t, "event", d, caps[12], msg)
		case wire.TypeCommandSuccessResponse:
			checkLike(t, "response", d, caps[13], msg)
			if d.CorrelationId != cmd.CorrelationID || d.MessageId != cmd.ID || d.ReplyTo != "" {
				t.Errorf("response correlationId %q messageId %q replyTo property %q (N4)", d.CorrelationId, d.MessageId, d.ReplyTo)
			}
			if d.Headers[wire.HeaderReplyTo] != a.ReplyQueue() || d.Headers[wire.HeaderAMQPReceiverInstanceID] != a.InstanceID() {
				t.Errorf("response headers %v (N4)", d.Headers)
			}
			if msg.ID != cmd.ID || msg.Sender.InstanceID != b.InstanceID() || msg.Receiver.InstanceID != a.InstanceID() || msg.EventName != "userSignedUp" {
				t.Errorf("response body %s (C3)", d.Body)
			}
		default:
			t.Errorf("unexpected %s", msg.MessageType)
		}
	}
	if resp.MessageType != wire.TypeCommandSuccessResponse || string(resp.Payload) != `{"id":"user-0001","email":"alice@example.com"}` {
		t.Errorf("invoke result %+v", resp)
	}
}

// rename replaces the captured service names in a captured body or header value.
func rename(s string, from, to string) string { return strings.ReplaceAll(s, `"`+from+`"`, `"`+to+`"`) }

// TestGoldenAccept feeds captured TypeScript messages into the bridge: the signUp command
// (answered with the shape of capture 13), a TS success response with the misspelled
// "sennder" field and receiverServiceInstanceId header (capture 11, N4/N5), and the
// customMessage (capture 12).
func TestGoldenAccept(t *testing.T) {
	caps := captures(t)
	u := brokerURL(t)
	c := rawConn(t)
	id := wire.NewID()[:10]
	user, email := "User"+id, "Email"+id
	b := startBridge(t, u)
	ctx := context.Background()

	// 1. The captured command reaches the handler; the response goes to the TS reply queue.
	var got *wire.Message
	_, err := b.RegisterCommand(ctx, wire.Address{ServiceName: user, ServiceVersion: "1", ServiceTarget: "signUp"},
		func(_ context.Context, cmd *wire.Message) *wire.Message {
			got = cmd
			return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: "userSignedUp", OTP: cmd.OTP,
				Payload: json.RawMessage(`{"id":"user-0001","email":"alice@example.com"}`)}
		}, bridge.CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	rq, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(rq.Name, "", wire.AMQPExchange, false, amqp091.Table{"x-match": "all", "replyTo": rq.Name}); err != nil {
		t.Fatal(err)
	}
	replies, err := ch.Consume(rq.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	cap9 := caps[9]
	headers := amqp091.Table{}
	for k, v := range cap9.Headers {
		headers[k] = strings.ReplaceAll(v, "User", user)
	}
	var props struct {
		CorrelationID string `json:"correlationId"`
		MessageID     string `json:"messageId"`
		Timestamp     int64  `json:"timestamp"`
	}
	pj, _ := json.Marshal(cap9.Properties)
	_ = json.Unmarshal(pj, &props)
	body := rename(string(cap9.Body), "User", user)
	if err := ch.PublishWithContext(ctx, wire.AMQPExchange, "", true, false, amqp091.Publishing{
		Headers: headers, ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8, DeliveryMode: 2,
		CorrelationId: props.CorrelationID, ReplyTo: rq.Name, MessageId: props.MessageID,
		Timestamp: time.Unix(props.Timestamp, 0), Type: "command", Body: []byte(body),
	}); err != nil {
		t.Fatal(err)
	}
	d := await(t, replies, "the response to the TS command")
	resp, err := wire.Decode(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	var want wire.Message
	_ = json.Unmarshal(caps[13].Body, &want)
	if got == nil || !strings.Contains(string(got.Payload), "alice@example.com") {
		t.Errorf("handler got %+v", got)
	}
	if resp.ID != want.ID || resp.CorrelationID != want.CorrelationID || resp.Receiver.InstanceID != want.Receiver.InstanceID ||
		resp.EventName != want.EventName || !sameJSON(resp.Payload, want.Payload) {
		t.Errorf("response %s\nwant like %s", d.Body, caps[13].Body)
	}
	if d.CorrelationId != props.CorrelationID || d.MessageId != props.MessageID || d.Headers["replyTo"] != rq.Name ||
		d.Headers[wire.HeaderAMQPReceiverInstanceID] != want.Receiver.InstanceID {
		t.Errorf("response properties %q %q headers %v", d.CorrelationId, d.MessageId, d.Headers)
	}

	// 2. A TS responder: answers with the captured response 11 (sennder, receiverServiceInstanceId).
	welcome := wire.Address{ServiceName: email, ServiceVersion: "1", ServiceTarget: "sendWelcome"}
	cq := amqp.CommandQueueOf(welcome)
	t.Cleanup(func() { deleteQueues(t, cq) })
	if _, err := ch.QueueDeclare(cq, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(cq, "", wire.AMQPExchange, false, tableOf(wire.AMQPCommandBindingArgs(welcome))); err != nil {
		t.Fatal(err)
	}
	cmds, err := ch.Consume(cq, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		d, ok := <-cmds
		if !ok {
			return
		}
		var in wire.Message
		_ = json.Unmarshal(d.Body, &in)
		var out map[string]any
		_ = json.Unmarshal(caps[11].Body, &out)
		out["correlationId"] = in.CorrelationID
		out["id"] = in.ID
		raw, _ := json.Marshal(out)
		h := amqp091.Table{}
		for k, v := range caps[11].Headers {
			h[k] = v
		}
		h["replyTo"] = d.ReplyTo
		_ = ch.PublishWithContext(ctx, wire.AMQPExchange, "", false, false, amqp091.Publishing{
			Headers: h, ContentType: wire.ContentTypeJSON, CorrelationId: in.CorrelationID, MessageId: in.ID,
			Type: "commandSuccessResponse", Body: raw})
	}()
	if !strings.Contains(string(caps[11].Body), "sennder") {
		t.Fatal("capture 11 lost its sennder field")
	}
	from := wire.Address{ServiceName: user, ServiceVersion: "1", ServiceTarget: "signUp"}
	call := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommand, Sender: from, Receiver: &welcome,
		CorrelationID: wire.NewID(), Payload: json.RawMessage(`{"payload":{"email":"alice@example.com"},"parameter":{}}`)}
	r, err := b.Invoke(ctx, call, 10*time.Second)
	if err != nil {
		t.Fatalf("Invoke a TS-shaped responder: %v", err)
	}
	if r.MessageType != wire.TypeCommandSuccessResponse || string(r.Payload) != `{"sent":true}` || r.CorrelationID != call.CorrelationID {
		t.Errorf("TS response read as %+v", r)
	}

	// 3. The captured customMessage reaches a subscription.
	evName := "userAudit" + id
	recv := make(chan *wire.Message, 1)
	if _, err := b.RegisterSubscription(ctx, bridge.Subscription{
		Subscriber: wire.Address{ServiceName: "Audit" + id, ServiceVersion: "1", ServiceTarget: "onAudit"},
		Filter:     bridge.Filter{EventName: evName},
	}, func(_ context.Context, m *wire.Message) error { recv <- m; return nil }); err != nil {
		t.Fatal(err)
	}
	h := amqp091.Table{}
	for k, v := range caps[12].Headers {
		h[k] = v
	}
	h["eventName"] = evName
	publishRaw(t, c, wire.AMQPExchange, "", h, []byte(rename(string(caps[12].Body), "userAudit", evName)))
	select {
	case m := <-recv:
		if !sameJSON(m.Payload, []byte(`{"action":"signUp"}`)) || m.Sender.InstanceID != "84d71dd0d98fc6c1da76090e3b6ba871" {
			t.Errorf("event read as %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the captured customMessage never arrived")
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
