package nats_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestHandlersNeverWaitForEachOther checks that a handler that blocks does not hold up
// the commands queued behind it: each outer call invokes, through the broker, the same
// command again and waits for that inner call, which arrives on the same subscription.
// Run one after the other on one goroutine, every outer call would wait forever.
func TestHandlersNeverWaitForEachOther(t *testing.T) {
	u := needBroker(t)
	handler := startBridge(t, u, pnats.WithLocalDelivery(false))
	caller := startBridge(t, u, pnats.WithLocalDelivery(false))
	callee := addr(uniq("Nested"), "run")
	from := addr("NestedCaller", "run")
	h := func(ctx context.Context, cmd *wire.Message) *wire.Message {
		var p wire.CommandPayload
		_ = json.Unmarshal(cmd.Payload, &p)
		if string(p.Payload) == `"inner"` {
			return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`"done"`)}
		}
		resp, err := handler.Invoke(ctx, command(callee, callee, "inner"), 5*time.Second)
		if err != nil {
			return nil
		}
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: resp.Payload}
	}
	if _, err := handler.RegisterCommand(context.Background(), callee, h, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := caller.Invoke(context.Background(), command(from, callee, "outer"), 10*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if string(resp.Payload) != `"done"` {
				t.Errorf("outer call answered %s (%s), want the inner call's answer", resp.Payload, resp.MessageType)
			}
		})
	}
	wg.Wait()
}
