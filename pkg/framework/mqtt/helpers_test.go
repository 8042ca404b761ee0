package mqtt_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// brokerAddr returns host:port of the test broker (PURISTA_TEST_MQTT_URL, default
// mqtt://127.0.0.1:1883). It skips the test when the broker is unreachable, or fails it
// when PURISTA_REQUIRE_BROKERS=1.
func brokerAddr(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("PURISTA_TEST_MQTT_URL")
	if raw == "" {
		raw = "mqtt://127.0.0.1:1883"
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("PURISTA_TEST_MQTT_URL does not parse")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "1883")
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		if os.Getenv("PURISTA_REQUIRE_BROKERS") == "1" {
			t.Fatalf("MQTT broker at %s unreachable and PURISTA_REQUIRE_BROKERS=1: %v", host, err)
		}
		t.Skipf("MQTT broker at %s unreachable (set PURISTA_TEST_MQTT_URL, or start mosquitto): %v", host, err)
	}
	_ = c.Close()
	return host
}

// start returns a started bridge on the broker at addr (host:port, or a whole URL),
// closed at the end of the test.
func start(t testing.TB, addr string, opts ...mqtt.Option) *mqtt.Bridge {
	t.Helper()
	b := newBridge(t, addr, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

// newBridge returns an unstarted bridge for the broker at addr (host:port, or a whole
// URL), closed at the end of the test.
func newBridge(t testing.TB, addr string, opts ...mqtt.Option) *mqtt.Bridge {
	t.Helper()
	opts = append([]mqtt.Option{mqtt.WithSessionExpiry(time.Minute)}, opts...)
	if !strings.Contains(addr, "://") {
		addr = "mqtt://" + addr
	}
	b, err := mqtt.New(addr, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

// rawClient is a plain paho MQTT v5 client: a sniffer and a raw publisher.
type rawClient struct {
	*paho.Client
	mu  sync.Mutex
	got []*paho.Publish
	fn  func(*paho.Publish)
}

// dialRaw connects a plain paho client (clean session) to addr.
func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	rc := &rawClient{}
	rc.Client = paho.NewClient(paho.ClientConfig{
		Conn: mqtt.QuickAck(conn), // the bridge's ack behaviour (see mqtt.QuickAck)
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			rc.mu.Lock()
			fn := rc.fn
			if fn == nil {
				rc.got = append(rc.got, pr.Packet)
			}
			rc.mu.Unlock()
			if fn != nil {
				fn(pr.Packet)
			}
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rc.Connect(ctx, &paho.Connect{ClientID: "raw-" + wire.NewID(), CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatalf("raw connect: %v", err)
	}
	t.Cleanup(func() { _ = rc.Disconnect(&paho.Disconnect{}) })
	return rc
}

func (rc *rawClient) sub(t testing.TB, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rc.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		t.Fatalf("raw subscribe %s: %v", filter, err)
	}
}

func (rc *rawClient) received() []*paho.Publish {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*paho.Publish(nil), rc.got...)
}

// injectTopic guesses the topic a raw (possibly broken) body is published on, so that
// bridges subscribed to its eventName receive it.
func injectTopic(raw []byte) string {
	if m, err := wire.Decode(raw); err == nil {
		return wire.MQTTTopic(wire.TokensOf(m))
	}
	var loose struct {
		MessageType string `json:"messageType"`
		EventName   string `json:"eventName"`
	}
	_ = json.Unmarshal(raw, &loose)
	if loose.MessageType == "" {
		loose.MessageType = string(wire.TypeCustomMessage)
	}
	return wire.MQTTTopic(wire.Tokens{MessageType: loose.MessageType, EventName: loose.EventName, SenderServiceName: "garbage"})
}

// slogTo returns a debug-level text logger writing to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// topicType returns the messageType level of a PURISTA topic (snake-cased).
func topicType(topic string) string {
	levels := strings.SplitN(topic, "/", 3)
	if len(levels) < 2 {
		return ""
	}
	return levels[1]
}

// command builds a command from caller to callee with payload v.
func command(t testing.TB, caller, callee wire.Address, v any) *wire.Message {
	t.Helper()
	in, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(wire.CommandPayload{Payload: in, Parameter: json.RawMessage(`{}`)})
	recv := callee
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommand, Sender: caller, Receiver: &recv, CorrelationID: wire.NewID(), Payload: p,
	}
}

// event builds a custom message named name.
func event(sender wire.Address, name string, v any) *wire.Message {
	p, _ := json.Marshal(v)
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCustomMessage, Sender: sender, EventName: name, Payload: p,
	}
}

// echo answers a command with its input payload.
func echo(ctx context.Context, cmd *wire.Message) *wire.Message {
	var in wire.CommandPayload
	_ = json.Unmarshal(cmd.Payload, &in)
	return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: in.Payload}
}

func uniqAddr(svc, target string) wire.Address {
	return wire.Address{ServiceName: svc + wire.NewID()[:8], ServiceVersion: "1", ServiceTarget: target}
}

func register(t testing.TB, b bridge.EventBridge, a wire.Address, h bridge.CommandHandler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.RegisterCommand(ctx, a, h, bridge.CommandOptions{}); err != nil {
		t.Fatalf("RegisterCommand: %v", err)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
