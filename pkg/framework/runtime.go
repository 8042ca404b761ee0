package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
	"github.com/purista-go/purista/pkg/framework/internal/runopts"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Runtime runs a set of services on one event bridge: it registers their commands and
// subscriptions, turns wire messages into typed handler calls and back, and drains on
// Shutdown. Create it with Start. All methods are safe for concurrent use.
type Runtime struct {
	bridge   bridge.EventBridge
	services []*Service
	log      *slog.Logger
	tracer   trace.Tracer
	tp       trace.TracerProvider // nil: tracing off
	tracing  bool
	metrics  *metrics // nil: no metrics
	prop     propagation.TextMapPropagator
	observer runopts.Observer
	client   wire.Address
	secrets  []string // credentials of the bridge's URL, kept out of health output

	mu       sync.Mutex
	regs     []bridge.Registration
	shutdown bool
}

// StartOption configures a Runtime (see Start).
type StartOption func(*runopts.Settings)

// WithLogger sets the runtime's logger (default slog.Default()).
func WithLogger(l *slog.Logger) StartOption { return func(s *runopts.Settings) { s.Logger = l } }

// WithTracerProvider makes the runtime create OpenTelemetry spans for every invoke,
// command handling, emit and subscription delivery (docs/observability.md), linked across
// services through the W3C traceparent carried in the envelope's otp field. Without it no
// spans are recorded, but the W3C trace context and PURISTA's traceId still propagate.
func WithTracerProvider(tp trace.TracerProvider) StartOption {
	return func(s *runopts.Settings) { s.TracerProvider = tp }
}

// WithClientAddress sets the sender address of invocations and events made through a
// Client from Runtime.Client (default: service "client", version "1", target "invoke").
func WithClientAddress(a wire.Address) StartOption {
	return func(s *runopts.Settings) { s.Client = a }
}

// Start starts b (if it is not started yet), registers every command and subscription of
// services on it and announces them with PURISTA's info messages. It fails without
// side effects left behind when a service definition is invalid (see Service.Err).
func Start(ctx context.Context, b bridge.EventBridge, services []*Service, opts ...StartOption) (*Runtime, error) {
	var set runopts.Settings
	for _, o := range opts {
		o(&set)
	}
	r := &Runtime{bridge: b, services: services, log: set.Logger,
		tracer: noop.NewTracerProvider().Tracer(""), prop: propagation.TraceContext{},
		observer: set.Observer, secrets: set.Secrets, client: set.Client}
	if r.log == nil {
		r.log = slog.Default()
	}
	if set.TracerProvider != nil {
		r.tracer, r.tp, r.tracing = set.TracerProvider.Tracer("github.com/purista-go/purista"), set.TracerProvider, true
	}
	if set.MeterProvider != nil {
		m, err := newMetrics(set.MeterProvider, b.Name())
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		r.metrics = m
		if mb, ok := b.(bridge.Monitored); ok {
			mb.SetMonitor(m)
		}
	}
	if r.client == (wire.Address{}) {
		r.client = wire.Address{ServiceName: "client", ServiceVersion: "1", ServiceTarget: "invoke"}
	}
	var errs []error
	seen := map[string]bool{}
	for _, s := range services {
		if s == nil {
			errs = append(errs, fmt.Errorf("%w: nil service", ErrInvalidDefinition))
			continue
		}
		if err := s.Err(); err != nil {
			errs = append(errs, err)
		}
		key := s.contract.name + "/" + s.contract.version
		if seen[key] {
			errs = append(errs, fmt.Errorf("%w: service %s v%s given twice", ErrInvalidDefinition, s.contract.name, s.contract.version))
		}
		seen[key] = true
	}
	if err := errors.Join(errs...); err != nil {
		r.metrics.close()
		return nil, err
	}
	if err := checkHTTP(services); err != nil {
		r.metrics.close()
		return nil, err
	}
	if err := b.Start(ctx); err != nil {
		r.metrics.close()
		return nil, fmt.Errorf("start %s bridge: %w", b.Name(), err)
	}
	if r.metrics != nil {
		r.metrics.up.Store(true) // Start returns once connected (also when b ran already)
	}
	for _, s := range services {
		if err := r.register(ctx, s); err != nil {
			_ = r.unregisterAll(ctx)
			r.metrics.close()
			return nil, err
		}
	}
	return r, nil
}

func (r *Runtime) register(ctx context.Context, s *Service) error {
	cmds, subs, _ := s.snapshot()
	r.announce(ctx, s, wire.TypeInfoServiceInit, "", nil)
	for _, c := range cmds {
		h, _ := s.Handler(c.def.name)
		reg, err := r.bridge.RegisterCommand(ctx, c.def.address(), r.commandHandler(s, c, h),
			bridge.CommandOptions{Timeout: c.def.timeout})
		if err != nil {
			return fmt.Errorf("register command %s: %w", c.def.address(), err)
		}
		r.addReg(reg)
		r.announce(ctx, s, wire.TypeInfoServiceFunctionAdded, c.def.name, functionAddedPayload(c.def))
	}
	for _, sb := range subs {
		reg, err := r.bridge.RegisterSubscription(ctx, sb.sub, r.subscriptionHandler(s, sb))
		if err != nil {
			return fmt.Errorf("register subscription %s: %w", sb.sub.Subscriber, err)
		}
		r.addReg(reg)
	}
	r.announce(ctx, s, wire.TypeInfoServiceReady, "", nil)
	return nil
}

func (r *Runtime) addReg(reg bridge.Registration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.regs = append(r.regs, reg)
}

func (r *Runtime) unregisterAll(ctx context.Context) error {
	r.mu.Lock()
	regs := r.regs
	r.regs = nil
	r.mu.Unlock()
	var errs []error
	for _, reg := range regs {
		if err := reg.Unregister(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// functionAddedPayload is the payload of infoServiceFunctionAdded, shaped like PURISTA's.
func functionAddedPayload(d *commandDef) json.RawMessage {
	ci := d.info()
	expose := map[string]any{
		"contentTypeRequest": wire.ContentTypeJSON, "contentEncodingRequest": wire.EncodingUTF8,
		"contentTypeResponse": wire.ContentTypeJSON, "contentEncodingResponse": wire.EncodingUTF8,
		"inputPayload": ci.InputSchema, "outputPayload": ci.OutputSchema, "deprecated": false,
	}
	if ci.ParameterSchema != nil {
		expose["parameter"] = ci.ParameterSchema
	} else {
		expose["parameter"] = json.RawMessage(`{"type":"object","properties":{}}`)
	}
	exposeHTTP(expose, d)
	raw, _ := json.Marshal(map[string]any{"expose": expose}) // maps of raw JSON always encode
	return raw
}

// announce emits a service info message; failures are logged, never fatal.
func (r *Runtime) announce(ctx context.Context, s *Service, t wire.MessageType, target string, payload json.RawMessage) {
	msg := r.newMessage(t, wire.Address{ServiceName: s.contract.name, ServiceVersion: s.contract.version, ServiceTarget: target})
	msg.Payload = payload
	msg.TraceID = wire.NewID()
	if err := r.bridge.Emit(ctx, msg); err != nil {
		r.log.Debug("info message not sent", slog.String("messageType", string(t)), slog.Any("error", err))
	}
}

func (r *Runtime) newMessage(t wire.MessageType, sender wire.Address) *wire.Message {
	sender.InstanceID = r.bridge.InstanceID()
	return &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: t, Sender: sender}
}

// Bridge returns the runtime's event bridge.
func (r *Runtime) Bridge() bridge.EventBridge { return r.bridge }

// Services returns the services the runtime runs.
func (r *Runtime) Services() []*Service { return append([]*Service(nil), r.services...) }

// Healthy reports the bridge's health (nil when connected and delivering).
func (r *Runtime) Healthy(ctx context.Context) error { return r.bridge.Healthy(ctx) }

// Shutdown stops intake and drains: in-flight handlers finish until ctx ends, then the
// bridge closes. It returns ctx.Err() when handlers were still running at the deadline.
func (r *Runtime) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.shutdown {
		r.mu.Unlock()
		return nil
	}
	r.shutdown = true
	r.mu.Unlock()
	err := r.bridge.Close(ctx)
	r.metrics.close()
	return err
}

// delivery is what the runtime allocates per command or event it hands to a handler:
// the handler's Context with its Invoker and Emitter, in one allocation.
type delivery struct {
	Context
	inv caller
	em  emitter
}

// newDelivery returns the handler Context for msg, delivered to the handler named by
// self of service s; logAttrs are shared by every delivery (Logger never appends in place).
func (r *Runtime) newDelivery(ctx context.Context, s *Service, self wire.Address, target string, logAttrs []any, msg *wire.Message, param json.RawMessage) *Context {
	d := &delivery{inv: caller{rt: r, from: self, parent: msg}, em: emitter{rt: r, from: self, parent: msg}}
	d.init(ctx, ContextConfig{Logger: r.log, LogAttrs: logAttrs, Message: msg, Service: s, Target: target,
		Parameter: param, Invoker: &d.inv, Emitter: &d.em})
	return &d.Context
}

// commandHandler adapts a binding to the bridge: decode, call, encode, never panic.
func (r *Runtime) commandHandler(s *Service, c *commandBinding, h HandlerFunc) bridge.CommandHandler {
	self := c.def.address()
	logAttrs := []any{slog.String("service", s.contract.name), slog.String("command", c.def.name)}
	var mset attribute.Set
	if r.metrics != nil {
		mset = r.metrics.commandAttrs(self)
	}
	return func(ctx context.Context, cmd *wire.Message) (resp *wire.Message) {
		start := time.Now()
		var err error
		if r.metrics != nil {
			r.metrics.callStarted(ctx, mset)
			defer func() { r.metrics.callEnded(ctx, mset, start, err) }()
		}
		if r.tracing {
			var span trace.Span
			ctx, span = r.startCommandSpan(r.extractParent(ctx, cmd), trace.SpanKindServer, cmd)
			defer func() { endSpan(span, true, cmd.TraceID, err) }()
		}
		if cmd.TraceID == "" {
			cmd.TraceID = traceIDOf(ctx, cmd)
		}
		var cp wire.CommandPayload
		var out json.RawMessage
		if uerr := jsonx.Unmarshal(cmd.Payload, &cp); uerr != nil {
			err = &HandledError{Status: http.StatusBadRequest, Message: "malformed command payload: " + uerr.Error()}
		} else {
			out, err = r.safeCall(r.newDelivery(ctx, s, self, c.def.name, logAttrs, cmd, cp.Parameter), h, cp.Payload)
		}
		resp = r.response(ctx, cmd, self, c.def.successEvent, out, err)
		r.observe(runopts.Record{Time: start, Kind: "command", MessageType: wire.TypeCommand, From: cmd.Sender, To: self,
			Status: StatusOf(err), Latency: time.Since(start), TraceID: cmd.TraceID, Error: errText(err)})
		return resp
	}
}

func (r *Runtime) safeCall(c *Context, h HandlerFunc, in json.RawMessage) (out json.RawMessage, err error) {
	defer recoverPanic(&err) // a panicking middleware; Handle recovers the handler's own
	return h(c, in)
}

// response builds the success or error response to cmd.
//
// An unhandled error returned after the handler's deadline passed (usually ctx.Err()
// itself) is an unhandled 504 and a warning: the command ran out of time, it did not fail.
// One returned after a forced stop ended ctx (its cause wraps bridge.ErrClosed) is an
// unhandled 503 and a warning: the service stopped, the command did not fail.
func (r *Runtime) response(ctx context.Context, cmd *wire.Message, self wire.Address, event string, out json.RawMessage, err error) *wire.Message {
	resp := &wire.Message{ID: cmd.ID, Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, CorrelationID: cmd.CorrelationID, TraceID: cmd.TraceID,
		PrincipalID: cmd.PrincipalID, TenantID: cmd.TenantID}
	r.stampTrace(ctx, resp, cmd)
	resp.Sender = self
	resp.Sender.InstanceID = r.bridge.InstanceID()
	recv := cmd.Sender
	resp.Receiver = &recv
	if err == nil {
		resp.MessageType = wire.TypeCommandSuccessResponse
		resp.EventName = event
		if out == nil {
			out = json.RawMessage("null")
		}
		resp.Payload = out
		return resp
	}
	resp.MessageType = wire.TypeCommandErrorResponse
	ep := wire.ErrorPayload{TraceID: cmd.TraceID}
	var he *HandledError
	handled := errors.As(err, &he)
	resp.IsHandledError = &handled
	if handled {
		ep.Status, ep.Message = he.Status, he.Message
		if he.Data != nil {
			if raw, merr := json.Marshal(he.Data); merr == nil {
				ep.Data = raw
			}
		}
	} else if errors.Is(context.Cause(ctx), bridge.ErrClosed) {
		ep.Status, ep.Message = http.StatusServiceUnavailable, "the service instance is shutting down"
		r.log.Warn("command cut off by the shutdown", append([]any{slog.String("command", self.String()), slog.String("traceId", cmd.TraceID),
			slog.String("correlationId", cmd.CorrelationID)}, errorAttrs(err)...)...)
	} else if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		ep.Status, ep.Message = http.StatusGatewayTimeout, "the command ran out of time"
		r.log.Warn("command timed out", append([]any{slog.String("command", self.String()), slog.String("traceId", cmd.TraceID),
			slog.String("correlationId", cmd.CorrelationID)}, errorAttrs(err)...)...)
	} else {
		ep.Status, ep.Message = http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError)
		r.log.Error("command failed", append([]any{slog.String("command", self.String()), slog.String("traceId", cmd.TraceID),
			slog.String("correlationId", cmd.CorrelationID)}, errorAttrs(err)...)...)
	}
	resp.Payload, _ = json.Marshal(ep) // ErrorPayload always encodes
	return resp
}

func (r *Runtime) subscriptionHandler(s *Service, sb *subscriptionBinding) bridge.MessageHandler {
	self := sb.sub.Subscriber
	logAttrs := []any{slog.String("service", s.contract.name), slog.String("subscription", sb.info.Name)}
	var mset attribute.Set
	if r.metrics != nil {
		mset = r.metrics.subscriptionAttrs(sb)
	}
	return func(ctx context.Context, msg *wire.Message) (err error) {
		start := time.Now()
		if r.metrics != nil {
			defer func() { r.metrics.delivered(ctx, mset, start, err) }()
		}
		if r.tracing {
			var span trace.Span
			ctx, span = r.startMessageSpan(r.extractParent(ctx, msg), trace.SpanKindConsumer, msg, sb.info.Name)
			defer func() { endSpan(span, false, msg.TraceID, err) }()
		}
		if msg.TraceID == "" {
			msg.TraceID = traceIDOf(ctx, msg)
		}
		hc := r.newDelivery(ctx, s, self, sb.info.Name, logAttrs, msg, nil)
		defer func() { // sb.handler recovers panics itself (subscribe)
			if err != nil {
				r.log.Warn("subscription failed", append([]any{slog.String("subscription", self.String()),
					slog.String("traceId", msg.TraceID)}, errorAttrs(err)...)...)
			}
			r.observe(runopts.Record{Time: start, Kind: "subscription", MessageType: msg.MessageType, From: msg.Sender, To: self,
				EventName: msg.EventName, Status: StatusOf(err), Latency: time.Since(start), TraceID: msg.TraceID, Error: errText(err)})
		}()
		return sb.handler(hc, msg)
	}
}

func (r *Runtime) observe(rec runopts.Record) {
	if r.observer != nil {
		r.observer.Observe(rec)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
