package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Example shows the life cycle of an AMQP bridge. New only parses the URL; errors never
// contain the password.
func Example() {
	_, err := amqp.New("amqp://guest:hunter2@localhost:notaport/")
	fmt.Println(errors.Is(err, amqp.ErrConfig), err)

	b, err := amqp.New("amqp://guest:guest@127.0.0.1:5672/", amqp.WithPrefetch(32))
	if err != nil {
		panic(err)
	}
	// Registrations made before Start are declared by Start.
	_, _ = b.RegisterCommand(context.Background(),
		wire.Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "sendWelcome"},
		func(ctx context.Context, cmd *wire.Message) *wire.Message {
			return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: []byte(`{"sent":true}`)}
		}, bridge.CommandOptions{})
	fmt.Println(errors.Is(b.Healthy(context.Background()), bridge.ErrNotStarted))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Start(ctx); err == nil { // needs a running RabbitMQ
		defer b.Close(ctx)
	}
	// Output:
	// true amqp: invalid configuration: bridge URL: invalid port ":notaport" after host
	// true
}
