package nats

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/purista-go/purista/pkg/framework/wire"
)

func TestResponseHeaders(t *testing.T) {
	caller := wire.Address{ServiceName: "Web", ServiceVersion: "1", ServiceTarget: "post", InstanceID: "i1"}
	resp := func(principal, otp string) *wire.Message {
		return &wire.Message{ID: wire.NewID(), MessageType: wire.TypeCommandSuccessResponse, CorrelationID: "c",
			Sender:   wire.Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp", InstanceID: "i2"},
			Receiver: &caller, PrincipalID: principal, OTP: otp}
	}
	var c responseHeaders
	tests := []struct {
		name   string
		m      *wire.Message
		shared bool // the same map as the first call for these tokens
	}{
		{"same tokens again: shared", resp("alice", ""), true},
		{"other principal", resp("bob", ""), false},
		{"with a traceparent: never shared", resp("alice", `{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`), false},
	}
	first := c.of(resp("alice", "")) // the first of its tokens
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.of(tt.m)
			if want := messageHeader(tt.m); !reflect.DeepEqual(got, want) {
				t.Fatalf("headers %v, want %v", got, want)
			}
			if same := reflect.ValueOf(got).UnsafePointer() == reflect.ValueOf(first).UnsafePointer(); same != tt.shared {
				t.Fatalf("shared = %v, want %v", same, tt.shared)
			}
		})
	}
	for i := range 3 * maxResponseHeaders {
		c.of(resp(fmt.Sprint("p", i), ""))
	}
	if n := len(c.m); n > maxResponseHeaders {
		t.Fatalf("%d entries kept, want at most %d", n, maxResponseHeaders)
	}
}
