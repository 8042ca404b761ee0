// Package frameworktest helps unit-test handlers without any bridge: a fake handler
// Context that records emitted events and answers invocations from stubs.
//
//	c, rec := frameworktest.NewContext(t)
//	frameworktest.Stub(rec, emailv1.SendWelcome, func(in emailv1.SendWelcomeIn) (emailv1.SendWelcomeOut, error) {
//		return emailv1.SendWelcomeOut{Sent: true}, nil
//	})
//	out, err := frameworktest.Call(c, userService, userv1.SignUp, userv1.SignUpIn{Email: "a@b.c"})
//
// A subscription is tested the same way: Deliver hands it an event, EventsOf reads back
// what it emitted.
//
//	err := frameworktest.Deliver(c, emailService, "onUserSignedUp", userv1.SignUp.SuccessEvent(), out)
//	sent, err := frameworktest.EventsOf(rec, emailv1.WelcomeSent)
package frameworktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Recorder records what a handler did through its fake Context. It is safe for
// concurrent use.
type Recorder struct {
	// principal and tenant of the fake incoming message, which invocations inherit.
	principal, tenant string

	mu     sync.Mutex
	events []Emitted
	calls  []Invocation
	stubs  map[string]func(json.RawMessage) (json.RawMessage, error)
}

// Emitted is one event the handler emitted.
type Emitted struct {
	Name    string
	Payload json.RawMessage
}

// Invocation is one command the handler invoked.
type Invocation struct {
	Receiver wire.Address
	Payload  json.RawMessage
	// Principal and Tenant are what the call carries: inherited from the incoming
	// message (WithPrincipal, WithTenant) unless InvokeOptions override them.
	Principal, Tenant string
}

// Option configures the fake context.
type Option func(*config)

type config struct {
	msg    wire.Message
	logger *slog.Logger
	param  json.RawMessage
}

// WithPrincipal sets the principal id of the incoming message.
func WithPrincipal(id string) Option { return func(c *config) { c.msg.PrincipalID = id } }

// WithTenant sets the tenant id of the incoming message.
func WithTenant(id string) Option { return func(c *config) { c.msg.TenantID = id } }

// WithTraceID sets the trace id of the incoming message.
func WithTraceID(id string) Option { return func(c *config) { c.msg.TraceID = id } }

// WithParameter sets the command parameter.
func WithParameter(v any) Option {
	return func(c *config) { c.param, _ = json.Marshal(v) }
}

// WithLogger sets the handler's logger (default: every level, through t.Log).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// NewContext returns a handler Context backed by a Recorder. Invocations of commands
// without a stub fail with a *framework.UnhandledError of status 501 that names the
// missing stub.
func NewContext(t testing.TB, opts ...Option) (*framework.Context, *Recorder) {
	t.Helper()
	cfg := config{msg: wire.Message{ID: wire.NewID(), MessageType: wire.TypeCommand, TraceID: wire.NewID(),
		CorrelationID: wire.NewID(), Sender: wire.Address{ServiceName: "test", ServiceVersion: "1", ServiceTarget: "test"}}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	rec := &Recorder{principal: cfg.msg.PrincipalID, tenant: cfg.msg.TenantID,
		stubs: map[string]func(json.RawMessage) (json.RawMessage, error){}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msg := cfg.msg
	c := framework.NewContext(ctx, framework.ContextConfig{Logger: cfg.logger, Message: &msg, Parameter: cfg.param,
		Invoker: rec, Emitter: rec})
	return c, rec
}

// Stub answers invocations of ref made through the recorder's context with fn. Errors
// reach the handler as they would over a bridge: a *framework.HandledError with its Data
// as JSON (json.RawMessage; read it with DecodeData), a *framework.UnhandledError (a
// timeout, say) as it is, and any other error masked as an unhandled 500.
func Stub[In, Out any](rec *Recorder, ref framework.CommandRef[In, Out], fn func(in In) (Out, error)) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.stubs[ref.Address().String()] = func(raw json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("stub %s: decode input: %w", ref.Address(), err)
		}
		out, err := fn(in)
		if err != nil {
			return nil, asOnTheWire(err)
		}
		return json.Marshal(out)
	}
}

// asOnTheWire returns err as a caller receives it from a bridge.
func asOnTheWire(err error) error {
	var he *framework.HandledError
	if errors.As(err, &he) {
		wired := &framework.HandledError{Status: he.Status, Message: he.Message, TraceID: he.TraceID}
		if he.Data != nil {
			raw, merr := json.Marshal(he.Data)
			if merr != nil {
				return fmt.Errorf("stub: the HandledError's data does not encode to JSON, so it could not cross a bridge: %w", merr)
			}
			wired.Data = json.RawMessage(raw)
		}
		return wired
	}
	var ue *framework.UnhandledError
	if errors.As(err, &ue) {
		return ue
	}
	return &framework.UnhandledError{Status: 500, Message: "Internal Server Error"}
}

// Invoke implements framework.Invoker.
func (r *Recorder) Invoke(ctx context.Context, req framework.InvokeRequest) (json.RawMessage, error) {
	r.mu.Lock()
	inv := Invocation{Receiver: req.Receiver, Payload: req.Payload, Principal: r.principal, Tenant: r.tenant}
	if req.PrincipalID != "" {
		inv.Principal = req.PrincipalID
	}
	if req.TenantID != "" {
		inv.Tenant = req.TenantID
	}
	r.calls = append(r.calls, inv)
	stub := r.stubs[req.Receiver.String()]
	r.mu.Unlock()
	if stub == nil {
		return nil, &framework.UnhandledError{Status: 501, Message: "no stub for " + req.Receiver.String() + ": add one with frameworktest.Stub"}
	}
	return stub(req.Payload)
}

// Emit implements framework.Emitter.
func (r *Recorder) Emit(ctx context.Context, ev framework.OutgoingEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, Emitted{Name: ev.Name, Payload: append(json.RawMessage(nil), ev.Payload...)})
	return nil
}

// Events returns the events emitted so far.
func (r *Recorder) Events() []Emitted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Emitted(nil), r.events...)
}

// Invocations returns the commands invoked so far.
func (r *Recorder) Invocations() []Invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Invocation(nil), r.calls...)
}

// Call runs svc's registered handler of ref with c, through the same validation and
// middleware as on a bridge, and decodes its output. When ref declares a success event
// (framework.WithSuccessEvent) and the call succeeds, the event is recorded with the
// output as its body, as the runtime would publish it.
func Call[In, Out any](c *framework.Context, svc *framework.Service, ref framework.CommandRef[In, Out], in In) (Out, error) {
	var out Out
	if err := svc.Err(); err != nil {
		return out, err
	}
	h, ok := svc.Handler(ref.Address().ServiceTarget)
	if !ok {
		return out, fmt.Errorf("service %s has no handler for %s: register one with framework.Handle", svc.Name(), ref.Address())
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("encode input: %w", err)
	}
	res, err := h(c, raw)
	if err != nil {
		return out, err
	}
	if ev := ref.SuccessEvent().Name(); ev != "" {
		if err := c.Emit(ev, json.RawMessage(res)); err != nil {
			return out, fmt.Errorf("record success event %s: %w", ev, err)
		}
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return out, fmt.Errorf("decode output: %w", err)
	}
	return out, nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n")) // t.Log ends the line itself
	return len(p), nil
}

// Deliver hands body, as event ev, to svc's subscription name with a Context derived from
// c (its principal, tenant and trace id; emits and invocations go to c's Recorder), the
// way a bridge delivers it once: the body is encoded to JSON and decoded by the
// subscription. It returns the handler's error (nil acknowledges the event; a bridge would
// retry an error). A panic is returned as a *framework.PanicError.
func Deliver[T any](c *framework.Context, svc *framework.Service, name string, ev framework.EventRef[T], body T) error {
	if err := svc.Err(); err != nil {
		return err
	}
	h, ok := svc.SubscriptionHandler(name)
	if !ok {
		return fmt.Errorf("service %s has no subscription %q: register one with framework.Subscribe", svc.Name(), name)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode event body: %w", err)
	}
	in := c.Message()
	msg := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCustomMessage, EventName: ev.Name(), Sender: in.Sender,
		CorrelationID: wire.NewID(), TraceID: in.TraceID, PrincipalID: in.PrincipalID, TenantID: in.TenantID, Payload: raw}
	return h(c.WithMessage(msg), msg) // the handler recovers panics as *framework.PanicError
}

// EventsOf returns the bodies of the events named like ev that were emitted so far
// (success events recorded by Call included), decoded into T.
func EventsOf[T any](rec *Recorder, ev framework.EventRef[T]) ([]T, error) {
	var out []T
	for _, e := range rec.Events() {
		if e.Name != ev.Name() {
			continue
		}
		var v T
		if err := json.Unmarshal(e.Payload, &v); err != nil {
			return out, fmt.Errorf("decode %s body %s: %w", e.Name, e.Payload, err)
		}
		out = append(out, v)
	}
	return out, nil
}
