package framework_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

var derived = framework.Event[echoIn](framework.NewContract("Deriver", "1"), "derivedEmitted")

// TestCallerWithoutTransport: a Caller that cannot reach a bridge fails Invoke and Emit
// with ErrNoCaller, never with a panic.
func TestCallerWithoutTransport(t *testing.T) {
	var nilCaller framework.Caller
	var nilContext *framework.Context
	var nilClient *framework.Client
	tests := []struct {
		name string
		c    framework.Caller
	}{
		{"nil Caller", nilCaller},
		{"nil *Context", nilContext},
		{"nil *Client", nilClient},
		{"Context without invoker and emitter", framework.NewContext(context.Background(), framework.ContextConfig{})},
		{"zero Client", &framework.Client{}},
		{"zero Client with a context", (&framework.Client{Context: context.Background()})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := echo.Invoke(tt.c, echoIn{Text: "x"}); !errors.Is(err, framework.ErrNoCaller) {
				t.Errorf("Invoke: err = %v, want ErrNoCaller", err)
			}
			if _, err := echo.InvokeWith(tt.c, echoIn{Text: "x"}, framework.InvokeOptions{Timeout: time.Second}); !errors.Is(err, framework.ErrNoCaller) {
				t.Errorf("InvokeWith: err = %v, want ErrNoCaller", err)
			}
			if err := derived.Emit(tt.c, echoIn{Text: "x"}); !errors.Is(err, framework.ErrNoCaller) {
				t.Errorf("Emit: err = %v, want ErrNoCaller", err)
			}
		})
	}
}

// TestDerivedCallers: a Context or Client derived with WithContext invokes and emits like
// the one it came from, under the derived context's deadline.
func TestDerivedCallers(t *testing.T) {
	deriver := framework.Command[echoIn, echoOut](framework.NewContract("Deriver", "1"), "derive")
	svc := framework.NewService(framework.NewContract("Deriver", "1"), "invokes and emits with a derived context")
	framework.Handle(svc, deriver, func(c *framework.Context, in echoIn) (echoOut, error) {
		d := time.Minute
		if in.Mode == "expired" {
			d = -time.Second
		}
		tctx, cancel := context.WithTimeout(c, d)
		defer cancel()
		dc := c.WithContext(tctx)
		if _, ok := dc.Deadline(); !ok {
			return echoOut{}, errors.New("the derived Context has no deadline")
		}
		if dc.TraceID() != c.TraceID() {
			return echoOut{}, errors.New("the derived Context lost the message")
		}
		out, err := echo.Invoke(dc, echoIn{Text: in.Text})
		if err != nil { // passed on with its status, for the caller to see
			return echoOut{}, framework.NewHandledError(framework.StatusOf(err), err.Error(), nil)
		}
		return out, derived.Emit(dc, in)
	})
	emitted := make(chan echoIn, 4)
	audit := framework.NewService(framework.NewContract("DerivedAudit", "1"), "sees the derived emits")
	framework.Subscribe(audit, "onDerived", derived, func(c *framework.Context, body echoIn) error {
		emitted <- body
		return nil
	})
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{echoService(), svc, audit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	client := rt.Client(context.Background())

	tests := []struct {
		name       string
		call       func() (echoOut, error)
		wantStatus int
		wantEvent  bool
	}{
		{name: "handler Context.WithContext invokes and emits", wantStatus: 200, wantEvent: true,
			call: func() (echoOut, error) { return deriver.Invoke(client, echoIn{Text: "a"}) }},
		{name: "an expired derived Context ends the call", wantStatus: 504,
			call: func() (echoOut, error) { return deriver.Invoke(client, echoIn{Text: "a", Mode: "expired"}) }},
		{name: "Client.WithContext invokes", wantStatus: 200, call: func() (echoOut, error) {
			tctx, cancel := context.WithTimeout(client, time.Minute)
			defer cancel()
			return echo.Invoke(client.WithContext(tctx), echoIn{Text: "a"})
		}},
		{name: "an expired derived Client ends the call", wantStatus: 504, call: func() (echoOut, error) {
			tctx, cancel := context.WithTimeout(client, -time.Second)
			defer cancel()
			return echo.Invoke(client.WithContext(tctx), echoIn{Text: "a"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.call()
			if got := framework.StatusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantStatus)
			}
			if tt.wantStatus == 200 && out.Text != "a" {
				t.Fatalf("out = %+v", out)
			}
			if tt.wantEvent {
				awaitText(t, emitted, "a")
			}
		})
	}

	tctx, cancel := context.WithCancel(client)
	defer cancel()
	if err := derived.Emit(client.WithContext(tctx), echoIn{Text: "b"}); err != nil {
		t.Fatalf("emit through a derived Client: %v", err)
	}
	awaitText(t, emitted, "b")
}

// awaitText waits for the next event on ch and checks its text.
func awaitText(t *testing.T, ch <-chan echoIn, want string) {
	t.Helper()
	select {
	case body := <-ch:
		if body.Text != want {
			t.Fatalf("event body %+v, want text %q", body, want)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no event with text %q", want)
	}
}
