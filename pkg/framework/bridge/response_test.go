package bridge_test

import (
	"errors"
	"testing"

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
