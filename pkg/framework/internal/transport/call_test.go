package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

func TestCallSubscription(t *testing.T) {
	sub := wire.Address{ServiceName: "Svc", ServiceVersion: "1", ServiceTarget: "onX", InstanceID: "i"}
	failed := errors.New("handler failed")
	tests := []struct {
		name    string
		h       bridge.MessageHandler
		wantErr string // "": nil
		is      error
		wantLog string
	}{
		{name: "success", h: func(context.Context, *wire.Message) error { return nil }},
		{name: "an error is returned as is", h: func(context.Context, *wire.Message) error { return failed },
			wantErr: "handler failed", is: failed},
		{name: "a panic is an error and logged", h: func(context.Context, *wire.Message) error { panic("boom") },
			wantErr: "nats: subscription handler panicked: boom", is: ErrHandlerPanicked,
			wantLog: `msg="nats: subscription handler panicked" subscriber=Svc.v1.onX panic=boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			msg := &wire.Message{ID: "m1"}
			err := CallSubscription(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), "nats", sub, func(ctx context.Context, m *wire.Message) error {
				if m != msg {
					t.Error("the handler got another message")
				}
				return tt.h(ctx, m)
			}, msg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !errors.Is(err, tt.is)):
				t.Errorf("err = %v, want %q wrapping %v", err, tt.wantErr, tt.is)
			}
			if !strings.Contains(logs.String(), tt.wantLog) || (tt.wantLog == "" && logs.String() != "") {
				t.Errorf("log %q, want %q", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestCallDeadLetter(t *testing.T) {
	dl := bridge.DeadLetter{Subscriber: wire.Address{ServiceName: "Svc", ServiceVersion: "1", ServiceTarget: "onX"}, Reason: "r", Attempts: 2}
	for _, panics := range []bool{false, true} {
		var logs bytes.Buffer
		called := false
		CallDeadLetter(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), "mqtt", func(_ context.Context, got bridge.DeadLetter) {
			called = true
			if got.Reason != "r" || got.Attempts != 2 {
				t.Errorf("handler got %+v", got)
			}
			if panics {
				panic("oops")
			}
		}, dl)
		logged := strings.Contains(logs.String(), `msg="mqtt: dead-letter handler panicked" subscriber=Svc.v1.onX panic=oops`)
		if !called || logged != panics {
			t.Errorf("panics %v: called %v, logged %v: %s", panics, called, logged, logs.String())
		}
	}
}

func TestObservesDeadLetter(t *testing.T) {
	sub := func(target, instance string) wire.Address {
		return wire.Address{ServiceName: "Svc", ServiceVersion: "1", ServiceTarget: target, InstanceID: instance}
	}
	tests := []struct {
		name       string
		addr       wire.Address
		subscriber wire.Address
		want       bool
	}{
		{"zero: this instance's subscription", wire.Address{}, sub("a", "self"), true},
		{"zero: another instance's subscription", wire.Address{}, sub("a", "other"), false},
		{"endpoint: any instance", sub("a", ""), sub("a", "other"), true},
		{"endpoint: another target", sub("a", ""), sub("b", "self"), false},
		{"endpoint: another version", wire.Address{ServiceName: "Svc", ServiceVersion: "2", ServiceTarget: "a"}, sub("a", "self"), false},
		{"endpoint and instance: that instance", sub("a", "other"), sub("a", "other"), true},
		{"endpoint and instance: another instance", sub("a", "other"), sub("a", "self"), false},
	}
	for _, tt := range tests {
		if got := ObservesDeadLetter(tt.addr, "self", tt.subscriber); got != tt.want {
			t.Errorf("%s: ObservesDeadLetter = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFilterTokens(t *testing.T) {
	f := bridge.Filter{MessageType: wire.TypeCustomMessage, EventName: "userAdded", PrincipalID: "p", TenantID: "t",
		Sender:   bridge.AddressFilter{ServiceName: "S", ServiceVersion: "1", ServiceTarget: "st", InstanceID: "si"},
		Receiver: bridge.AddressFilter{ServiceName: "R", ServiceVersion: "2", ServiceTarget: "rt", InstanceID: "ri"}}
	want := wire.Tokens{MessageType: "customMessage", PrincipalID: "p", TenantID: "t",
		SenderInstanceID: "si", SenderServiceName: "S", SenderServiceVersion: "1", SenderServiceTarget: "st",
		EventName: "userAdded", ReceiverInstanceID: "ri", ReceiverServiceName: "R", ReceiverServiceVersion: "2", ReceiverServiceTarget: "rt"}
	if got := FilterTokens(f); got != want {
		t.Errorf("FilterTokens = %+v, want %+v", got, want)
	}
	if got := FilterTokens(bridge.Filter{}); got != (wire.Tokens{}) {
		t.Errorf("FilterTokens of the empty filter = %+v", got)
	}
}
