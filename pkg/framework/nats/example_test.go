package nats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/nats/natsembed"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Example runs a command handler and a caller on an in-process NATS server.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir, _ := os.MkdirTemp("", "natsembed")
	defer os.RemoveAll(dir)
	srv, err := natsembed.Start(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()

	b, err := pnats.New(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close(ctx)

	greet := wire.Address{ServiceName: "Greeter", ServiceVersion: "1", ServiceTarget: "hello"}
	_, _ = b.RegisterCommand(ctx, greet, func(_ context.Context, cmd *wire.Message) *wire.Message {
		var in wire.CommandPayload
		_ = json.Unmarshal(cmd.Payload, &in)
		var name string
		_ = json.Unmarshal(in.Payload, &name)
		out, _ := json.Marshal("hello " + name)
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: out}
	}, bridge.CommandOptions{})

	in, _ := json.Marshal(wire.CommandPayload{Payload: json.RawMessage(`"Ada"`), Parameter: json.RawMessage(`{}`)})
	resp, err := b.Invoke(ctx, &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommand, CorrelationID: wire.NewID(), Payload: in,
		Sender:   wire.Address{ServiceName: "Client", ServiceVersion: "1", ServiceTarget: "main"},
		Receiver: &greet,
	}, 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.MessageType, string(resp.Payload))
	// Output: commandSuccessResponse "hello Ada"
}
