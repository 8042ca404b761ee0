package amqp_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestSplicedPropertiesEqualAmqp091s proves that the properties and headers the bridge
// encodes itself on a plain connection reach a consumer exactly as amqp091's own
// encoding of the same publishing does.
func TestSplicedPropertiesEqualAmqp091s(t *testing.T) {
	u := brokerURL(t)
	b := startBridge(t, u)
	ch, err := rawConn(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	dels, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := wire.Address{ServiceName: "Caller", ServiceVersion: "1", ServiceTarget: "run", InstanceID: wire.NewID()}
	to := wire.Address{ServiceName: "UserService", ServiceVersion: "1.0.0", ServiceTarget: "getUser", InstanceID: wire.NewID()}
	cmd := cmdTo(from, to, `{"a":1}`)
	cmd.Sender.InstanceID = from.InstanceID
	resp := &wire.Message{ID: cmd.ID, CorrelationID: cmd.CorrelationID, Timestamp: wire.NowMillis(),
		MessageType: wire.TypeCommandSuccessResponse, Sender: to, Receiver: &from, EventName: "userFetched",
		PrincipalID: "p1", TenantID: "t1", OTP: `{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`,
		Payload: json.RawMessage(`{}`)}
	event := &wire.Message{ID: wire.NewID(), Timestamp: -5, MessageType: wire.TypeCustomMessage, Sender: from, EventName: "x"}
	for _, c := range []struct {
		name                string
		m                   *wire.Message
		replyTo, replyQueue string
	}{
		{"command", cmd, "", "amq.gen-reply"},
		{"response", resp, "amq.gen-reply", ""},
		{"event", event, "", ""},
	} {
		body, err := wire.Encode(c.m)
		if err != nil {
			t.Fatal(err)
		}
		spliced, err := b.PublishBothWays(c.m, body, c.replyTo, c.replyQueue, q.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !spliced {
			t.Fatalf("%s: not spliced on a plain connection", c.name)
		}
		var got [2]amqp091.Delivery
		for i := range got {
			select {
			case got[i] = <-dels:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: delivery %d missing", c.name, i)
			}
		}
		props := func(d amqp091.Delivery) []any {
			return []any{d.Headers, d.ContentType, d.ContentEncoding, d.DeliveryMode, d.Priority, d.CorrelationId,
				d.ReplyTo, d.Expiration, d.MessageId, d.Timestamp, d.Type, d.UserId, d.AppId, d.Body}
		}
		if a, b := props(got[0]), props(got[1]); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: spliced %v\nwant     %v", c.name, a, b)
		}
		if len(got[0].Headers) < 6 { // messageType and the sender, at least
			t.Errorf("%s: headers %v", c.name, got[0].Headers)
		}
	}
}
