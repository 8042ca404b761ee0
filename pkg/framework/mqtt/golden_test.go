package mqtt_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// capture is one record of wire/testdata/mqtt.json (TypeScript PURISTA 1.11 traffic).
type capture struct {
	Seq        int    `json:"seq"`
	Topic      string `json:"topic"`
	QoS        byte   `json:"qos"`
	Retain     bool   `json:"retain"`
	Properties struct {
		ContentType     string            `json:"contentType"`
		UserProperties  map[string]string `json:"userProperties"`
		CorrelationData string            `json:"correlationData"`
		Expiry          *uint32           `json:"messageExpiryInterval"`
	} `json:"properties"`
	Body json.RawMessage `json:"body"`
}

func loadCaptures(t *testing.T) map[int]capture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "wire", "testdata", "mqtt.json"))
	if err != nil {
		t.Fatalf("captures: %v", err)
	}
	var list []capture
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("captures: %v", err)
	}
	out := map[int]capture{}
	for _, c := range list {
		out[c.Seq] = c
	}
	return out
}

// Capture facts (mqtt.topology.json).
const (
	capClient = "8e6601b2a30571e4e241279e2d006cd8"
	capUser   = "ab7ebaab8404363abc758f26426f18f4"
	capEmail  = "1bbcb0f876778fb53215b4bf1d38e8b2"
)

// renamer maps the capture's names and instance ids to this test's unique ones, in raw
// form and snake-cased (for topic levels).
type renamer map[string]string

func (r renamer) topic(topic string) string {
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		for from, to := range r {
			if l == wire.SnakeCase(from) {
				levels[i] = wire.SnakeCase(to)
			}
		}
	}
	return strings.Join(levels, "/")
}

func (r renamer) value(v string) string {
	if to, ok := r[v]; ok {
		return to
	}
	return v
}

// body rewrites the names and instance ids in a captured envelope.
func (r renamer) body(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sender", "receiver"} {
		if a, ok := m[k].(map[string]any); ok {
			for _, f := range []string{"serviceName", "instanceId"} {
				if s, ok := a[f].(string); ok {
					a[f] = r.value(s)
				}
			}
		}
	}
	for _, k := range []string{"eventName"} {
		if s, ok := m[k].(string); ok {
			m[k] = r.value(s)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func bodyKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		if k != "traceId" && k != "otp" { // random per message in the captures
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// checkPublish compares what the bridge published with a capture of the same kind.
func checkPublish(t *testing.T, what string, got *paho.Publish, want capture, r renamer, wantExpiry uint32) {
	t.Helper()
	if wt := r.topic(want.Topic); got.Topic != wt {
		t.Errorf("%s topic\n got %s\nwant %s", what, got.Topic, wt)
	}
	if got.QoS != want.QoS || got.Retain != want.Retain {
		t.Errorf("%s qos/retain = %d/%v, want %d/%v", what, got.QoS, got.Retain, want.QoS, want.Retain)
	}
	if got.Properties.ContentType != want.Properties.ContentType {
		t.Errorf("%s contentType = %q, want %q", what, got.Properties.ContentType, want.Properties.ContentType)
	}
	if string(got.Properties.CorrelationData) != r.value(want.Properties.CorrelationData) && want.Properties.CorrelationData != "" {
		var b struct {
			CorrelationID string `json:"correlationId"`
		}
		_ = json.Unmarshal(got.Payload, &b)
		if string(got.Properties.CorrelationData) != b.CorrelationID {
			t.Errorf("%s correlationData = %q, want the correlationId %q", what, got.Properties.CorrelationData, b.CorrelationID)
		}
	}
	if (want.Properties.CorrelationData == "") != (len(got.Properties.CorrelationData) == 0) {
		t.Errorf("%s correlationData present = %v, capture %v", what, len(got.Properties.CorrelationData) > 0, want.Properties.CorrelationData != "")
	}
	if got.Properties.MessageExpiry == nil || *got.Properties.MessageExpiry != wantExpiry {
		t.Errorf("%s messageExpiryInterval = %v, want %d (capture %v)", what, got.Properties.MessageExpiry, wantExpiry, *want.Properties.Expiry)
	}
	gotProps := map[string]string{}
	for _, u := range got.Properties.User {
		gotProps[u.Key] = u.Value
	}
	for k, v := range want.Properties.UserProperties {
		if k == wire.HeaderTraceParent || v == "" {
			continue // random / PURISTA sends empty values, purista leaves them out
		}
		if gotProps[k] != r.value(v) {
			t.Errorf("%s user property %s = %q, want %q", what, k, gotProps[k], r.value(v))
		}
	}
	for k := range gotProps {
		if _, ok := want.Properties.UserProperties[k]; !ok {
			t.Errorf("%s has user property %s the capture lacks", what, k)
		}
	}
	if g, w := bodyKeys(t, got.Payload), bodyKeys(t, want.Body); !slices.Equal(g, w) {
		t.Errorf("%s body fields = %v, want %v", what, g, w)
	}
}

// TestGoldenPublish replays the capture's sign-up with purista bridges and compares what
// they publish with what TypeScript PURISTA published: command (seq 9), success response
// with eventName (seq 13), custom message (seq 12).
func TestGoldenPublish(t *testing.T) {
	addr := brokerAddr(t)
	caps := loadCaptures(t)
	sfx := wire.NewID()[:8]
	client := start(t, addr, mqtt.WithLocalDelivery(false))
	user := start(t, addr)
	r := renamer{
		"WireCapture": "WireCapture" + sfx, "User": "User" + sfx,
		"userSignedUp": "userSignedUp" + sfx, "userAudit": "userAudit" + sfx,
		capClient: client.InstanceID(), capUser: user.InstanceID(),
	}
	sniff := dialRaw(t, addr)
	sniff.sub(t, "purista/+/+/+/+/"+wire.SnakeCase("WireCapture"+sfx)+"/#")
	sniff.sub(t, "purista/+/+/+/+/"+wire.SnakeCase("User"+sfx)+"/#")

	signUp := wire.Address{ServiceName: "User" + sfx, ServiceVersion: "1", ServiceTarget: "signUp"}
	register(t, user, signUp, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		audit := event(*cmd.Receiver, "userAudit"+sfx, map[string]string{"action": "signUp"})
		audit.Sender.InstanceID = user.InstanceID()
		audit.OTP = cmd.OTP
		if err := user.Emit(ctx, audit); err != nil {
			t.Errorf("emit: %v", err)
		}
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: "userSignedUp" + sfx,
			OTP: cmd.OTP, Payload: json.RawMessage(`{"id":"user-0001","email":"alice@example.com"}`)}
	})
	cmd := command(t, wire.Address{ServiceName: "WireCapture" + sfx, ServiceVersion: "1", ServiceTarget: "run"}, signUp,
		map[string]string{"email": "alice@example.com", "name": "Alice"})
	cmd.OTP = `{"traceparent":"00-0ff83fd273f459b7855ef1f299ebcede-41130394a7871466-01"}`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client.Invoke(ctx, cmd, 30*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if resp.MessageType != wire.TypeCommandSuccessResponse || resp.CorrelationID != cmd.CorrelationID || resp.ID != cmd.ID {
		t.Fatalf("response = %+v", resp)
	}
	byType := map[string]*paho.Publish{}
	waitFor(t, 10*time.Second, "three messages sniffed", func() bool {
		for _, p := range sniff.received() {
			byType[p.Properties.User.Get(wire.HeaderMessageType)] = p
		}
		return len(byType) >= 3
	})
	checkPublish(t, "command", byType["command"], caps[9], r, 30)
	checkPublish(t, "success response with eventName", byType["commandSuccessResponse"], caps[13], r, uint32(mqtt.DefaultEventExpiry/time.Second))
	checkPublish(t, "custom message", byType["customMessage"], caps[12], r, uint32(mqtt.DefaultEventExpiry/time.Second))
}

// TestGoldenAcceptTS feeds captured TypeScript messages to purista bridges: a command
// (seq 9) to a command handler, an unhandled error response (seq 17) to a waiting Invoke,
// and a 12-level service-level info message (seq 1) to a subscription.
func TestGoldenAcceptTS(t *testing.T) {
	addr := brokerAddr(t)
	caps := loadCaptures(t)
	sfx := wire.NewID()[:8]
	user := start(t, addr)
	email := start(t, addr)
	r := renamer{
		"WireCapture": "WireCapture" + sfx, "User": "User" + sfx, "Email": "Email" + sfx,
		capUser: user.InstanceID(), capEmail: email.InstanceID(),
	}
	raw := dialRaw(t, addr)
	raw.sub(t, "purista/+/+/+/+/"+wire.SnakeCase("User"+sfx)+"/#")
	raw.sub(t, "purista/+/+/+/+/"+wire.SnakeCase("WireCapture"+sfx)+"/#")
	publishCapture := func(c capture, topic string, body []byte) {
		t.Helper()
		props := &paho.PublishProperties{ContentType: c.Properties.ContentType, MessageExpiry: c.Properties.Expiry,
			CorrelationData: []byte(c.Properties.CorrelationData)}
		for k, v := range c.Properties.UserProperties {
			props.User.Add(k, r.value(v))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: topic, Payload: body, Properties: props}); err != nil {
			t.Fatalf("publish capture %d: %v", c.Seq, err)
		}
	}

	// 1. A TypeScript command reaches a purista handler; the response goes to the
	// TypeScript caller's instance topic, with its correlation data.
	c9 := caps[9]
	register(t, user, wire.Address{ServiceName: "User" + sfx, ServiceVersion: "1", ServiceTarget: "signUp"},
		func(ctx context.Context, cmd *wire.Message) *wire.Message {
			return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: "userSignedUp",
				Payload: json.RawMessage(`{"id":"user-0001","email":"alice@example.com"}`)}
		})
	publishCapture(c9, r.topic(c9.Topic), r.body(t, c9.Body))
	var resp *paho.Publish
	waitFor(t, 10*time.Second, "the response to the TypeScript command", func() bool {
		for _, p := range raw.received() {
			if p.Properties.User.Get(wire.HeaderMessageType) == "commandSuccessResponse" {
				resp = p
				return true
			}
		}
		return false
	})
	var capCmd wire.Message
	_ = json.Unmarshal(r.body(t, c9.Body), &capCmd)
	checkPublish(t, "response to a TS command", resp, caps[13], r, uint32(mqtt.DefaultEventExpiry/time.Second))
	got, err := wire.Decode(resp.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != capCmd.ID || got.CorrelationID != capCmd.CorrelationID || *got.Receiver != capCmd.Sender ||
		string(resp.Properties.CorrelationData) != capCmd.CorrelationID {
		t.Errorf("response %+v does not answer the captured command %+v", got, capCmd)
	}

	// 2. A TypeScript error response reaches the purista caller waiting for it.
	c17 := caps[17]
	var capResp wire.Message
	_ = json.Unmarshal(c17.Body, &capResp)
	caller := wire.Address{ServiceName: "WireCapture" + sfx, ServiceVersion: "1", ServiceTarget: "run"}
	cmd := command(t, caller, wire.Address{ServiceName: "Email" + sfx, ServiceVersion: "1", ServiceTarget: "failUnhandled"}, map[string]any{})
	cmd.CorrelationID = capResp.CorrelationID
	r[capClient] = user.InstanceID() // the response is addressed to the purista caller
	done := make(chan *wire.Message, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := user.Invoke(ctx, cmd, 10*time.Second)
		if err != nil {
			t.Errorf("Invoke: %v", err)
		}
		done <- m
	}()
	// Wait for this very command (raw also saw the command it published in part 1): only
	// then is the caller waiting for the answer.
	waitFor(t, 10*time.Second, "the command to be sent", func() bool {
		for _, p := range raw.received() {
			if p.Properties.User.Get(wire.HeaderMessageType) == "command" && string(p.Properties.CorrelationData) == cmd.CorrelationID {
				return true
			}
		}
		return false
	})
	publishCapture(c17, r.topic(c17.Topic), r.body(t, c17.Body))
	m := <-done
	if m == nil || m.MessageType != wire.TypeCommandErrorResponse || m.IsHandledError == nil || *m.IsHandledError {
		t.Fatalf("Invoke returned %+v, want the captured unhandled error", m)
	}
	var ep wire.ErrorPayload
	if err := json.Unmarshal(m.Payload, &ep); err != nil || ep.Status != 500 || ep.Message != "Internal Server Error" {
		t.Errorf("error payload = %s", m.Payload)
	}

	// 3. PURISTA's collapsed 12-level info topic reaches a matching subscription.
	c1 := caps[1]
	if n := len(strings.Split(c1.Topic, "/")); n != 12 {
		t.Fatalf("capture 1 has %d levels, want 12", n)
	}
	got1 := make(chan *wire.Message, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := email.RegisterSubscription(ctx, bridge.Subscription{
		Subscriber: wire.Address{ServiceName: "Watcher" + sfx, ServiceVersion: "1", ServiceTarget: "onInit"},
		Filter:     bridge.Filter{MessageType: wire.TypeInfoServiceInit, Sender: bridge.AddressFilter{ServiceName: "Email" + sfx}},
	}, func(_ context.Context, m *wire.Message) error { got1 <- m; return nil }); err != nil {
		t.Fatal(err)
	}
	publishCapture(c1, r.topic(c1.Topic), r.body(t, c1.Body))
	select {
	case m := <-got1:
		if m.Sender.ServiceTarget != "" || m.MessageType != wire.TypeInfoServiceInit {
			t.Errorf("info message = %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the 12-level info message never reached the subscription")
	}
}
