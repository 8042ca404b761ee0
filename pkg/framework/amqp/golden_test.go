package amqp_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// capture is one record of wire/testdata/amqp.json: captured TypeScript PURISTA traffic
// (see docs/wire-format.md).
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
	if ms := got.Timestamp.Unix(); ms != body.Timestamp || ms < 1e12 { // milliseconds, as TypeScript PURISTA writes it
		t.Errorf("%s: timestamp property %d, want the body's %d ms", what, ms, body.Timestamp)
	}
	for k, v := range amqp.Headers(body, "") {
		if got.Headers[k] != v {
			t.Errorf("%s: header %s = %v, want %q", what, k, got.Headers[k], v)
		}
	}
}

// withoutHeader returns c without header h.
func (c capture) withoutHeader(h string) capture {
	c.Headers = maps.Clone(c.Headers)
	delete(c.Headers, h)
	return c
}

// TestGoldenPublish checks that what the bridge publishes to the exchange for a command,
// an event and a success response with an eventName has the shape of the TypeScript
// captures (AMQP properties, header names, timestamp in milliseconds). The success response reaches the exchange as an event: with the
// headers of capture 13 except replyTo. The reply itself does not pass the exchange.
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
	// Bound on replyTo=<a's reply queue>, and on the name of a marker event that b emits
	// after answering: whatever b sent with that replyTo arrives before the marker.
	markerName := "goldenMarker" + wire.NewID()[:10]
	viaExchange := sniffer(t, amqp091.Table{"x-match": "any", wire.HeaderReplyTo: a.ReplyQueue(), wire.HeaderEventName: markerName})
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
			checkLike(t, "success event", d, caps[13].withoutHeader(wire.HeaderReplyTo), msg)
			if d.CorrelationId != cmd.CorrelationID || d.MessageId != cmd.ID || d.ReplyTo != "" {
				t.Errorf("success event correlationId %q messageId %q replyTo property %q", d.CorrelationId, d.MessageId, d.ReplyTo)
			}
			if d.Headers[wire.HeaderAMQPReceiverInstanceID] != a.InstanceID() || d.Headers[wire.HeaderEventName] != "userSignedUp" {
				t.Errorf("success event headers %v (AMQP header names)", d.Headers)
			}
			if msg.ID != cmd.ID || msg.Sender.InstanceID != b.InstanceID() || msg.Receiver.InstanceID != a.InstanceID() || msg.EventName != "userSignedUp" {
				t.Errorf("response body %s", d.Body)
			}
		default:
			t.Errorf("unexpected %s", msg.MessageType)
		}
	}
	if resp.MessageType != wire.TypeCommandSuccessResponse || string(resp.Payload) != `{"id":"user-0001","email":"alice@example.com"}` {
		t.Errorf("invoke result %+v", resp)
	}
	marker := markerEvent(user, markerName)
	if err := b.Emit(ctx, marker); err != nil {
		t.Fatal(err)
	}
	for _, d := range beforeMarker(t, viaExchange, "the marker event", func(d amqp091.Delivery) bool { return d.MessageId == marker.ID }) {
		t.Errorf("a message with header replyTo=%s passed the exchange: %s", a.ReplyQueue(), d.Body)
	}
}

// tsAccepts checks a delivery on a caller's reply queue the way TypeScript PURISTA's AMQP
// bridge (1.11 to 2.0) reads it, and returns the response: decodeContent picks its
// decoder and decrypter by the contentType and contentEncoding properties (and throws
// without them), JSON.parse gives the message, isCommandResponse must hold, and the
// pending invocation is found by the body's correlationId. The trace context comes from a
// traceparent header, else (our replies have no headers) from the body's otp.
func tsAccepts(t *testing.T, d amqp091.Delivery, correlationID, otp string) *wire.Message {
	t.Helper()
	if d.ContentType != wire.ContentTypeJSON || d.ContentEncoding != wire.EncodingUTF8 {
		t.Errorf("reply contentType %q contentEncoding %q: TypeScript PURISTA cannot decode it", d.ContentType, d.ContentEncoding)
	}
	var raw map[string]any
	if err := json.Unmarshal(d.Body, &raw); err != nil {
		t.Fatalf("reply body is not JSON: %v", err)
	}
	if mt := raw["messageType"]; mt != string(wire.TypeCommandSuccessResponse) && mt != string(wire.TypeCommandErrorResponse) {
		t.Errorf("reply messageType %v is not a command response", mt)
	}
	if raw["correlationId"] != correlationID {
		t.Errorf("reply correlationId %v, the caller waits for %s", raw["correlationId"], correlationID)
	}
	if _, ok := d.Headers[wire.HeaderTraceParent]; !ok && otp != "" && raw["otp"] != otp {
		t.Errorf("reply without traceparent header carries otp %v, want %s", raw["otp"], otp)
	}
	msg, err := wire.Decode(d.Body)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	return msg
}

// checkReply checks that d came straight to the reply queue q, body only: default
// exchange, routing key q, no headers, and of the properties only contentType,
// contentEncoding, correlationId and messageId.
func checkReply(t *testing.T, d amqp091.Delivery, q, correlationID, messageID string) {
	t.Helper()
	if d.Exchange != "" || d.RoutingKey != q {
		t.Errorf("reply came through exchange %q with key %q, want the default exchange and key %q", d.Exchange, d.RoutingKey, q)
	}
	if len(d.Headers) != 0 {
		t.Errorf("reply carries headers %v, want none", d.Headers)
	}
	want := []string{"contentEncoding", "contentType", "correlationId", "messageId"}
	if got := presentOf(d); !slices.Equal(got, want) {
		t.Errorf("reply properties %v, want %v", got, want)
	}
	if d.CorrelationId != correlationID || d.MessageId != messageID {
		t.Errorf("reply correlationId %q messageId %q, want %q %q", d.CorrelationId, d.MessageId, correlationID, messageID)
	}
}

// rename replaces the captured service names in a captured body or header value.
func rename(s string, from, to string) string { return strings.ReplaceAll(s, `"`+from+`"`, `"`+to+`"`) }

// TestGoldenAccept feeds captured TypeScript messages into the bridge: the signUp command
// (answered straight to the TS caller's reply queue, body only, with the body of capture
// 13, read as TypeScript PURISTA reads it, exactly once), a TS success response with the misspelled
// "sennder" field and receiverServiceInstanceId header (capture 11), and the
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
	var first sync.Once // the marker command below reaches the handler too
	_, err := b.RegisterCommand(ctx, wire.Address{ServiceName: user, ServiceVersion: "1", ServiceTarget: "signUp"},
		func(_ context.Context, cmd *wire.Message) *wire.Message {
			first.Do(func() { got = cmd })
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
	rqName, replies := tsReplyQueue(t, ch)
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
		CorrelationId: props.CorrelationID, ReplyTo: rqName, MessageId: props.MessageID,
		Timestamp: time.Unix(props.Timestamp, 0), Type: "command", Body: []byte(body),
	}); err != nil {
		t.Fatal(err)
	}
	d := await(t, replies, "the response to the TS command")
	var want, sent wire.Message
	_ = json.Unmarshal(caps[13].Body, &want)
	_ = json.Unmarshal([]byte(body), &sent)
	checkReply(t, d, rqName, props.CorrelationID, props.MessageID)
	resp := tsAccepts(t, d, want.CorrelationID, sent.OTP)
	if got == nil || !strings.Contains(string(got.Payload), "alice@example.com") {
		t.Errorf("handler got %+v", got)
	}
	if resp.ID != want.ID || resp.CorrelationID != want.CorrelationID || resp.Receiver.InstanceID != want.Receiver.InstanceID ||
		resp.EventName != want.EventName || !sameJSON(resp.Payload, want.Payload) {
		t.Errorf("response %s\nwant like %s", d.Body, caps[13].Body)
	}
	// The success event goes to the exchange without replyTo: not a second reply. A marker
	// command, the same with another correlationId, is answered after it: its reply is the
	// next delivery on the reply queue.
	markerCorr := wire.NewID()
	if err := ch.PublishWithContext(ctx, wire.AMQPExchange, "", true, false, amqp091.Publishing{
		Headers: headers, ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8, DeliveryMode: 2,
		CorrelationId: markerCorr, ReplyTo: rqName, MessageId: props.MessageID,
		Timestamp: time.Unix(props.Timestamp, 0), Type: "command", Body: []byte(strings.ReplaceAll(body, props.CorrelationID, markerCorr)),
	}); err != nil {
		t.Fatal(err)
	}
	for _, d := range beforeMarker(t, replies, "the reply to the marker command", func(d amqp091.Delivery) bool { return d.CorrelationId == markerCorr }) {
		t.Errorf("a second reply reached the TS caller: %s", d.Body)
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
