package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

func TestEncodeEvent(t *testing.T) {
	event := &wire.Message{ID: "e1", MessageType: wire.TypeCustomMessage, EventName: "happened",
		Sender: wire.Address{ServiceName: "S", ServiceVersion: "1"}}
	tests := []struct {
		name    string
		msg     *wire.Message
		wantErr bool
	}{
		{"event gets the instance id", event, false},
		{"nil", nil, true},
		{"command", &wire.Message{ID: "c", MessageType: wire.TypeCommand, Sender: event.Sender}, true},
		{"custom message without event name", &wire.Message{ID: "x", MessageType: wire.TypeCustomMessage, Sender: event.Sender}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, data, err := bridge.EncodeEvent(tt.msg, "inst")
			if tt.wantErr {
				if !errors.Is(err, wire.ErrInvalidMessage) {
					t.Fatalf("err = %v, want ErrInvalidMessage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Sender.InstanceID != "inst" || tt.msg.Sender.InstanceID != "" {
				t.Fatalf("instance id: copy %q, original %q", out.Sender.InstanceID, tt.msg.Sender.InstanceID)
			}
			back, err := wire.Decode(data)
			if err != nil || back.Sender.InstanceID != "inst" || back.EventName != "happened" {
				t.Fatalf("encoding %s (%v)", data, err)
			}
		})
	}
}

func TestCompleteResponseNilStatus(t *testing.T) {
	cmd := &wire.Message{ID: "c1", CorrelationID: "k1", MessageType: wire.TypeCommand,
		Sender:   wire.Address{ServiceName: "A", ServiceVersion: "1", ServiceTarget: "call"},
		Receiver: &wire.Address{ServiceName: "B", ServiceVersion: "1", ServiceTarget: "do"}}
	ended := func(cause error) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		return ctx
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	t.Cleanup(cancel)
	tests := []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"handler gave no answer", context.Background(), 500},
		{"handler ran out of time", expired, 504},
		{"forced stop", ended(fmt.Errorf("shutdown timeout passed: %w", bridge.ErrClosed)), 503},
		{"cancelled for another reason", ended(errors.New("other")), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := bridge.CompleteResponse(tt.ctx, cmd, nil, "inst")
			var ep wire.ErrorPayload
			if err := json.Unmarshal(resp.Payload, &ep); err != nil {
				t.Fatal(err)
			}
			if ep.Status != tt.want || resp.CorrelationID != "k1" || *resp.IsHandledError {
				t.Fatalf("status %d (want %d), correlationId %q, handled %v", ep.Status, tt.want, resp.CorrelationID, *resp.IsHandledError)
			}
		})
	}
}

func TestRejectResponse(t *testing.T) {
	cmd := &wire.Message{CorrelationID: "k2", Sender: wire.Address{ServiceName: "A", ServiceVersion: "1"}}
	resp := bridge.RejectResponse(cmd, "messageType \"bogus\" is unknown", "inst")
	var ep wire.ErrorPayload
	if err := json.Unmarshal(resp.Payload, &ep); err != nil {
		t.Fatal(err)
	}
	if resp.MessageType != wire.TypeCommandErrorResponse || resp.CorrelationID != "k2" || !*resp.IsHandledError ||
		ep.Status != 400 || !strings.Contains(ep.Message, "bogus") || resp.Receiver.ServiceName != "A" {
		t.Fatalf("reject response %+v payload %+v", resp, ep)
	}
}
