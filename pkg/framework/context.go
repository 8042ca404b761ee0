package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Emitter publishes events on behalf of a handler. The runtime provides one; test
// helpers record. Emit returns when the bridge accepted the event. Safe for concurrent use.
type Emitter interface {
	Emit(ctx context.Context, ev OutgoingEvent) error
}

// OutgoingEvent is an event a handler emits.
type OutgoingEvent struct {
	// Name is the eventName.
	Name string
	// Payload is the JSON body.
	Payload json.RawMessage
}

// Context is what a handler receives: a context.Context (cancelled at the command's
// timeout or on forced shutdown) plus the incoming message's metadata, a logger that
// carries the trace and correlation ids, and the means to emit events and invoke other
// commands: it is a Caller, so CommandRef.Invoke and EventRef.Emit accept it. To call
// with a shorter deadline, derive a context and hand it back with WithContext:
//
//	tctx, cancel := context.WithTimeout(c, 2*time.Second)
//	defer cancel()
//	out, err := emailv1.SendWelcome.Invoke(c.WithContext(tctx), in)
//
// A Context is valid only during the handler call. Its methods are safe for concurrent
// use by goroutines the handler starts and waits for.
type Context struct {
	context.Context
	logOnce   sync.Once
	baseLog   *slog.Logger
	logAttrs  []any
	logger    *slog.Logger
	msg       *wire.Message
	service   *Service
	target    string
	parameter json.RawMessage
	emitter   Emitter
	invoker   Invoker
}

// ContextConfig holds what NewContext needs. Zero fields get harmless defaults.
type ContextConfig struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// LogAttrs are added to Logger (lazily, on the handler's first log call).
	LogAttrs []any
	// Message is the incoming message; defaults to an empty command message.
	Message *wire.Message
	// Service and Target name the handler (used as sender of emitted events).
	Service *Service
	Target  string
	// Parameter is the raw parameter of a command.
	Parameter json.RawMessage
	// Invoker handles CommandRef.Invoke calls made with the Context.
	Invoker Invoker
	// Emitter handles Emit calls.
	Emitter Emitter
}

// NewContext builds a handler Context. The runtime uses it for every delivery; tests
// use it (usually through package frameworktest) to call a handler without a bridge.
func NewContext(parent context.Context, cfg ContextConfig) *Context {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Message == nil {
		cfg.Message = &wire.Message{MessageType: wire.TypeCommand}
	}
	c := &Context{}
	c.init(parent, cfg)
	return c
}

// init sets up c as NewContext does, in place (the runtime embeds a Context in a larger
// per-delivery allocation).
func (c *Context) init(parent context.Context, cfg ContextConfig) {
	*c = Context{Context: parent, baseLog: cfg.Logger, logAttrs: cfg.LogAttrs, msg: cfg.Message,
		service: cfg.Service, target: cfg.Target, parameter: cfg.Parameter, emitter: cfg.Emitter, invoker: cfg.Invoker}
}

// WithContext returns a copy of c whose context.Context is ctx (usually derived from c,
// with a shorter deadline or extra values): same message, logger, invoker and emitter, so
// the copy invokes and emits like c. It panics when ctx is nil, as
// http.Request.WithContext does.
func (c *Context) WithContext(ctx context.Context) *Context {
	if ctx == nil {
		panic("framework: Context.WithContext with a nil context")
	}
	n := &Context{}
	n.init(ctx, ContextConfig{Logger: c.baseLog, LogAttrs: c.logAttrs, Message: c.msg, Service: c.service,
		Target: c.target, Parameter: c.parameter, Invoker: c.invoker, Emitter: c.emitter})
	return n
}

// transport implements Caller. A nil *Context has neither invoker nor emitter.
func (c *Context) transport() (Invoker, Emitter) {
	if c == nil {
		return nil, nil
	}
	return c.invoker, c.emitter
}

// Logger returns the handler's logger, carrying service, target, trace and correlation ids.
// It is built on first use, so handlers that do not log pay nothing for it.
func (c *Context) Logger() *slog.Logger {
	c.logOnce.Do(func() {
		attrs := c.logAttrs
		if m := c.msg; m.TraceID != "" || m.CorrelationID != "" {
			attrs = append(attrs[:len(attrs):len(attrs)], slog.String("traceId", m.TraceID), slog.String("correlationId", m.CorrelationID))
		}
		c.logger = c.baseLog
		if len(attrs) > 0 {
			c.logger = c.baseLog.With(attrs...)
		}
	})
	return c.logger
}

// WithMessage returns a copy of c for another incoming message msg: same parent context,
// logger, invoker and emitter. Test helpers use it to hand a handler an event.
func (c *Context) WithMessage(msg *wire.Message) *Context {
	n := &Context{}
	n.init(c.Context, ContextConfig{Logger: c.baseLog, LogAttrs: c.logAttrs, Message: msg, Service: c.service,
		Target: c.target, Parameter: c.parameter, Invoker: c.invoker, Emitter: c.emitter})
	return n
}

// Message returns the incoming message's envelope. Treat it as read-only.
func (c *Context) Message() *wire.Message { return c.msg }

// TraceID returns the trace id shared by every message of the call chain.
func (c *Context) TraceID() string { return c.msg.TraceID }

// CorrelationID returns the incoming message's correlation id.
func (c *Context) CorrelationID() string { return c.msg.CorrelationID }

// PrincipalID returns the id of the principal (user) the message acts for, or "".
func (c *Context) PrincipalID() string { return c.msg.PrincipalID }

// TenantID returns the tenant the message belongs to, or "".
func (c *Context) TenantID() string { return c.msg.TenantID }

// Sender returns the address of the message's sender.
func (c *Context) Sender() wire.Address { return c.msg.Sender }

// Parameter decodes the command's parameter into v (see WithParameter).
func (c *Context) Parameter(v any) error {
	if len(c.parameter) == 0 {
		return nil
	}
	if err := jsonx.Unmarshal(c.parameter, v); err != nil {
		return fmt.Errorf("decode parameter: %w", err)
	}
	return nil
}

// Emit publishes a custom event named name with body. It inherits the trace, principal
// and tenant of the incoming message. Prefer the typed EventRef.Emit. A Context without
// an emitter fails with an error wrapping ErrNoCaller.
func (c *Context) Emit(name string, body any) error { return emit(c, name, body) }

// emit publishes the event name with body through c's emitter.
func emit(c Caller, name string, body any) error {
	if c == nil {
		return fmt.Errorf("emit %s: %w", name, ErrNoCaller)
	}
	_, em := c.transport()
	if em == nil {
		return fmt.Errorf("emit %s: %w", name, ErrNoCaller)
	}
	raw, err := jsonx.Marshal(body)
	if err != nil {
		return fmt.Errorf("emit %s: encode body: %w", name, err)
	}
	return em.Emit(c, OutgoingEvent{Name: name, Payload: raw})
}
