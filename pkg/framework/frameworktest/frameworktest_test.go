package frameworktest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/frameworktest"
)

type orderIn struct {
	Item string `json:"item" jsonschema:"minLength=1"`
}

type orderOut struct {
	ID string `json:"id"`
}

type stockOut struct {
	Left int `json:"left"`
}

var (
	placeOrder = framework.Command[orderIn, orderOut](framework.NewContract("Orders", "1"), "place", framework.WithSuccessEvent("orderPlaced"))
	takeStock  = framework.Command[orderIn, stockOut](framework.NewContract("Stock", "1"), "take")
	audited    = framework.Event[orderIn](framework.NewContract("Orders", "1"), "orderAudited")
)

func orders() *framework.Service {
	svc := framework.NewService(framework.NewContract("Orders", "1"), "takes orders")
	framework.Handle(svc, placeOrder, func(c *framework.Context, in orderIn) (orderOut, error) {
		stock, err := takeStock.Invoke(c, in)
		if err != nil {
			return orderOut{}, err
		}
		if stock.Left < 0 {
			return orderOut{}, framework.NewHandledError(409, "out of stock", nil)
		}
		if err := audited.Emit(c, in); err != nil {
			return orderOut{}, err
		}
		return orderOut{ID: "o-" + in.Item + "-" + c.PrincipalID()}, nil
	})
	return svc
}

func TestCall(t *testing.T) {
	tests := []struct {
		name       string
		in         orderIn
		left       int
		noStub     bool
		wantStatus int
		wantEvents []string
	}{
		{name: "success records the emitted and the success event", in: orderIn{Item: "tea"}, left: 3, wantStatus: 200,
			wantEvents: []string{"orderAudited", "orderPlaced"}},
		{name: "handled error, no success event", in: orderIn{Item: "tea"}, left: -1, wantStatus: 409},
		{name: "invalid input never reaches the handler", in: orderIn{}, wantStatus: 400},
		{name: "a missing stub is a clear 501", in: orderIn{Item: "tea"}, noStub: true, wantStatus: 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := frameworktest.NewContext(t, frameworktest.WithPrincipal("ann"))
			if !tt.noStub {
				frameworktest.Stub(rec, takeStock, func(in orderIn) (stockOut, error) { return stockOut{Left: tt.left}, nil })
			}
			out, err := frameworktest.Call(c, orders(), placeOrder, tt.in)
			if got := framework.StatusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantStatus)
			}
			var names []string
			for _, e := range rec.Events() {
				names = append(names, e.Name)
			}
			if len(names) != len(tt.wantEvents) {
				t.Fatalf("events %v, want %v", names, tt.wantEvents)
			}
			for i := range names {
				if names[i] != tt.wantEvents[i] {
					t.Fatalf("events %v, want %v", names, tt.wantEvents)
				}
			}
			if tt.wantStatus != 200 {
				return
			}
			if out.ID != "o-tea-ann" {
				t.Fatalf("out %+v", out)
			}
			var placed orderOut
			if err := json.Unmarshal(rec.Events()[1].Payload, &placed); err != nil || placed != out {
				t.Fatalf("success event body %s (%v), want the output", rec.Events()[1].Payload, err)
			}
			if inv := rec.Invocations(); len(inv) != 1 || inv[0].Receiver != takeStock.Address() {
				t.Fatalf("invocations %+v", inv)
			}
		})
	}
	var ue *framework.UnhandledError
	c, _ := frameworktest.NewContext(t)
	if _, err := frameworktest.Call(c, orders(), placeOrder, orderIn{Item: "x"}); !errors.As(err, &ue) || ue.Status != 501 {
		t.Fatalf("missing stub: %v", err)
	}
}

var errBoom = errors.New("boom")

// TestCallRecoversPanics: a panicking handler fails the call with a *framework.PanicError
// (a masked 500 on a bridge) instead of crashing the test binary.
func TestCallRecoversPanics(t *testing.T) {
	svc := framework.NewService(framework.NewContract("Orders", "1"), "takes orders")
	framework.Handle(svc, placeOrder, func(c *framework.Context, in orderIn) (orderOut, error) {
		panic(errBoom)
	})
	c, _ := frameworktest.NewContext(t)
	_, err := frameworktest.Call(c, svc, placeOrder, orderIn{Item: "tea"})
	var pe *framework.PanicError
	if !errors.As(err, &pe) || len(pe.Stack) == 0 || framework.StatusOf(err) != 500 || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v; want a *framework.PanicError with its stack, status 500", err)
	}
}

// TestStubErrorsAsOnTheWire: a stub's errors reach the handler as a bridge delivers them.
func TestStubErrorsAsOnTheWire(t *testing.T) {
	type conflict struct {
		Left int `json:"left"`
	}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		check      func(t *testing.T, err error)
	}{
		{"plain error is masked", errors.New("db down"), 500, func(t *testing.T, err error) {
			var ue *framework.UnhandledError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "db down") {
				t.Fatalf("err = %v; want a masked *framework.UnhandledError", err)
			}
		}},
		{"handled error data as JSON", framework.NewHandledError(409, "out of stock", conflict{Left: 0}), 409, func(t *testing.T, err error) {
			var he *framework.HandledError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v; want a *framework.HandledError", err)
			}
			if _, ok := he.Data.(json.RawMessage); !ok {
				t.Fatalf("Data is %T; over a bridge it is json.RawMessage", he.Data)
			}
			var c conflict
			if err := he.DecodeData(&c); err != nil || c.Left != 0 {
				t.Fatalf("DecodeData = %+v, %v", c, err)
			}
		}},
		{"unhandled error as it is", &framework.UnhandledError{Status: 504, Message: "timed out"}, 504, func(t *testing.T, err error) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := frameworktest.NewContext(t, frameworktest.WithPrincipal("ann"))
			frameworktest.Stub(rec, takeStock, func(orderIn) (stockOut, error) { return stockOut{}, tt.err })
			_, err := takeStock.Invoke(c, orderIn{Item: "tea"})
			if got := framework.StatusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantStatus)
			}
			tt.check(t, err)
			if inv := rec.Invocations(); len(inv) != 1 || inv[0].Principal != "ann" {
				t.Fatalf("invocations = %+v, want one carrying the inherited principal ann", inv)
			}
		})
	}
}

// TestDeliver runs a subscription's handler with an event, as a bridge would, and reads
// back what it emitted with EventsOf.
func TestDeliver(t *testing.T) {
	svc := framework.NewService(framework.NewContract("Audit", "1"), "audits orders")
	framework.Subscribe(svc, "onAudited", audited, func(c *framework.Context, in orderIn) error {
		if in.Item == "" {
			return errors.New("empty item")
		}
		if c.PrincipalID() != "ann" || c.Message().EventName != audited.Name() {
			return fmt.Errorf("context carries principal %q, event %q", c.PrincipalID(), c.Message().EventName)
		}
		return audited.Emit(c, orderIn{Item: in.Item + "-seen"})
	})
	c, rec := frameworktest.NewContext(t, frameworktest.WithPrincipal("ann"))
	if err := frameworktest.Deliver(c, svc, "onAudited", audited, orderIn{Item: "tea"}); err != nil {
		t.Fatal(err)
	}
	got, err := frameworktest.EventsOf(rec, audited)
	if err != nil || len(got) != 1 || got[0].Item != "tea-seen" {
		t.Fatalf("EventsOf = %+v, %v; want the one event the subscription emitted", got, err)
	}
	if err := frameworktest.Deliver(c, svc, "onAudited", audited, orderIn{}); err == nil || err.Error() != "empty item" {
		t.Fatalf("Deliver of a bad event = %v, want the handler's error", err)
	}
	if err := frameworktest.Deliver(c, svc, "missing", audited, orderIn{}); err == nil {
		t.Fatal("Deliver to an unknown subscription: no error")
	}
	framework.Subscribe(svc, "onAuditedBoom", audited, func(*framework.Context, orderIn) error { panic(errBoom) })
	var pe *framework.PanicError
	if err := frameworktest.Deliver(c, svc, "onAuditedBoom", audited, orderIn{Item: "tea"}); !errors.As(err, &pe) || !errors.Is(err, errBoom) {
		t.Fatalf("Deliver to a panicking subscription = %v, want a *framework.PanicError", err)
	}
}
