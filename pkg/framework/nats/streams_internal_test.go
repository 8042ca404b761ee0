package nats

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

func TestSameStream(t *testing.T) {
	want := jetstream.StreamConfig{Name: "S", Subjects: []string{"a.>", "b.>"}, Description: "d", Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, Discard: jetstream.DiscardOld, MaxAge: time.Hour, MaxBytes: 0, Duplicates: time.Minute}
	tests := []struct {
		name string
		edit func(c *jetstream.StreamConfig)
		same bool
	}{
		{"as set", func(*jetstream.StreamConfig) {}, true},
		{"server's -1 for no byte limit", func(c *jetstream.StreamConfig) { c.MaxBytes = -1 }, true},
		{"subjects in another order", func(c *jetstream.StreamConfig) { c.Subjects = []string{"b.>", "a.>"} }, true},
		{"server defaults we do not set", func(c *jetstream.StreamConfig) { c.MaxMsgs, c.Replicas = -1, 1 }, true},
		{"byte limit", func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 20 }, false},
		{"subject missing", func(c *jetstream.StreamConfig) { c.Subjects = []string{"a.>"} }, false},
		{"max age", func(c *jetstream.StreamConfig) { c.MaxAge = time.Minute }, false},
		{"storage", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }, false},
		{"duplicates window", func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Minute }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := want
			have.Subjects = slices.Clone(want.Subjects)
			tt.edit(&have)
			if got := sameStream(have, want); got != tt.same {
				t.Fatalf("sameStream = %v, want %v", got, tt.same)
			}
		})
	}
}
