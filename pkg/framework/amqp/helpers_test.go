package amqp_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

const defaultURL = "amqp://guest:guest@127.0.0.1:5672/"

// brokerURL returns the RabbitMQ URL of the tests (PURISTA_TEST_AMQP_URL), skipping the
// test when the broker is unreachable unless PURISTA_REQUIRE_BROKERS=1.
func brokerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("PURISTA_TEST_AMQP_URL")
	if u == "" {
		u = defaultURL
	}
	reach.once.Do(func() {
		c, err := amqp091.DialConfig(u, amqp091.Config{Dial: amqp091.DefaultDial(3 * time.Second)})
		if err != nil {
			reach.err = err
			return
		}
		_ = c.Close()
	})
	if reach.err != nil {
		msg := "RabbitMQ unreachable at PURISTA_TEST_AMQP_URL (default " + defaultURL + "): " + reach.err.Error()
		if os.Getenv("PURISTA_REQUIRE_BROKERS") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return u
}

var reach struct {
	once sync.Once
	err  error
}

// rawConn opens a plain amqp091 connection closed when the test ends.
func rawConn(tb testing.TB) *amqp091.Connection {
	tb.Helper()
	c, err := amqp091.Dial(brokerURL(tb))
	if err != nil {
		tb.Fatalf("raw dial: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// deleteQueues deletes queues the test declared, on a fresh connection.
func deleteQueues(tb testing.TB, names ...string) {
	if len(names) == 0 {
		return
	}
	c, err := amqp091.Dial(brokerURL(tb))
	if err != nil {
		tb.Logf("clean-up: dial: %v", err)
		return
	}
	defer c.Close()
	for _, q := range names {
		ch, err := c.Channel()
		if err != nil {
			tb.Logf("clean-up: channel: %v", err)
			return
		}
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			tb.Logf("clean-up: delete %s: %v", q, err)
		}
		_ = ch.Close()
	}
}

// newBridge returns an unstarted bridge on url whose durable queues are deleted when the
// test ends (after the bridge is closed: cleanups run last-in first-out).
func newBridge(tb testing.TB, rawURL string, opts ...amqp.Option) *amqp.Bridge {
	tb.Helper()
	b, err := amqp.New(rawURL, opts...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { deleteQueues(tb, b.DeclaredDurableQueues()...) })
	return b
}

// startBridge returns a started bridge closed when the test ends.
func startBridge(tb testing.TB, rawURL string, opts ...amqp.Option) *amqp.Bridge {
	tb.Helper()
	b := newBridge(tb, rawURL, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

// proxied starts a TCP proxy to the broker and returns it with the URL through it.
func proxied(tb testing.TB) (*tcpproxy.Proxy, string) {
	tb.Helper()
	u, err := url.Parse(brokerURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "5672"
	}
	p, err := tcpproxy.New(u.Hostname() + ":" + port)
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	return p, u.String()
}

// publishRaw publishes body with the given routing on a fresh channel of c.
func publishRaw(tb testing.TB, c *amqp091.Connection, exchange, key string, headers amqp091.Table, body []byte) {
	tb.Helper()
	ch, err := c.Channel()
	if err != nil {
		tb.Fatalf("raw channel: %v", err)
	}
	defer ch.Close()
	if err := ch.PublishWithContext(context.Background(), exchange, key, false, false,
		amqp091.Publishing{Headers: headers, ContentType: wire.ContentTypeJSON, Body: body}); err != nil {
		tb.Fatalf("raw publish: %v", err)
	}
}

// sniffer binds a server-named exclusive queue to the purista exchange with args (an
// empty table receives everything) and returns its deliveries.
func sniffer(tb testing.TB, args amqp091.Table) <-chan amqp091.Delivery {
	tb.Helper()
	c := rawConn(tb)
	ch, err := c.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	if err := ch.ExchangeDeclare(wire.AMQPExchange, amqp091.ExchangeHeaders, true, false, false, false, nil); err != nil {
		tb.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "", wire.AMQPExchange, false, args); err != nil {
		tb.Fatal(err)
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

var _ bridge.EventBridge = (*amqp.Bridge)(nil)

// tsReplyQueue declares a reply queue on ch as TypeScript PURISTA's AMQP bridge does
// (server-named, exclusive, auto-delete, bound to the exchange on replyTo=<its name>) and
// returns its name and deliveries.
func tsReplyQueue(tb testing.TB, ch *amqp091.Channel) (string, <-chan amqp091.Delivery) {
	tb.Helper()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "", wire.AMQPExchange, false, amqp091.Table{"x-match": "all", wire.HeaderReplyTo: q.Name}); err != nil {
		tb.Fatal(err)
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return q.Name, d
}

// errorStatus returns the status of an error response (0 for anything else).
func errorStatus(resp *wire.Message) int {
	if resp == nil || resp.MessageType != wire.TypeCommandErrorResponse {
		return 0
	}
	var p wire.ErrorPayload
	if json.Unmarshal(resp.Payload, &p) != nil {
		return 0
	}
	return p.Status
}

// markerEvent returns a customMessage event named name from sender: a marker a test
// emits after what it checks, so that it can wait for the marker instead of for silence.
func markerEvent(sender wire.Address, name string) *wire.Message {
	return &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCustomMessage, Sender: sender, EventName: name,
		Payload: json.RawMessage(`{}`)}
}

// beforeMarker reads ch until a delivery that isMarker accepts arrives (failing the test
// after 10 s) and returns the deliveries that came before it. On one queue, what was
// published to it before the marker arrives before the marker.
func beforeMarker(t *testing.T, ch <-chan amqp091.Delivery, what string, isMarker func(amqp091.Delivery) bool) []amqp091.Delivery {
	t.Helper()
	var before []amqp091.Delivery
	for {
		d := await(t, ch, what)
		if isMarker(d) {
			return before
		}
		before = append(before, d)
	}
}
