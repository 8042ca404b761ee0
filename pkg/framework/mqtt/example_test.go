package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/mqtt/mqttembed"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Two bridges on an embedded broker: one serves Email.v1.sendWelcome, the other calls it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := mqttembed.Start(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	server, _ := mqtt.New(srv.URL())
	client, _ := mqtt.New(srv.URL(), mqtt.WithLocalDelivery(false))
	for _, b := range []*mqtt.Bridge{server, client} {
		if err := b.Start(ctx); err != nil {
			panic(err)
		}
		defer b.Close(context.Background())
	}
	email := wire.Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "sendWelcome"}
	_, _ = server.RegisterCommand(ctx, email, func(_ context.Context, cmd *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`{"sent":true}`)}
	}, bridge.CommandOptions{})

	cmd := &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommand, CorrelationID: wire.NewID(),
		Sender:   wire.Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp"},
		Receiver: &email, Payload: json.RawMessage(`{"payload":{"email":"alice@example.com"},"parameter":{}}`),
	}
	fmt.Println(wire.MQTTTopic(wire.Tokens{MessageType: "command", ReceiverServiceName: "Email", ReceiverServiceVersion: "1", ReceiverServiceTarget: "sendWelcome"}))
	resp, err := client.Invoke(ctx, cmd, 5*time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.MessageType, string(resp.Payload))
	// Output:
	// purista/command/none/none/none/none/none/none/none/none/email/1/send_welcome
	// commandSuccessResponse {"sent":true}
}
