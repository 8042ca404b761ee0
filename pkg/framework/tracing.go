package framework

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Span names and attributes follow the OpenTelemetry semantic conventions (semconv
// v1.43.0): commands are RPCs (client span for an invoke, server span for its handling,
// both named by rpc.method), events are messages (producer span "send <event>", consumer
// span "process <event>"). docs/observability.md lists every span and attribute.

// rpcSystem is the rpc.system.name of PURISTA commands.
const rpcSystem = "purista"

// Attribute keys of PURISTA's own envelope fields.
const (
	// attrTraceID is PURISTA's traceId (the correlation id of a chain, not the W3C trace id).
	attrTraceID = attribute.Key("purista.trace_id")
	// attrStatus is the PURISTA status of a failed command (HTTP-like, 400 … 504).
	attrStatus = attribute.Key("purista.status")
)

// rpcMethod is the rpc.method of a command address: "<service>.v<version>/<command>".
func rpcMethod(a wire.Address) string {
	return a.ServiceName + ".v" + a.ServiceVersion + "/" + a.ServiceTarget
}

// messagingSystem is the messaging.system of a bridge name.
func messagingSystem(bridgeName string) string {
	if bridgeName == "amqp" {
		return "rabbitmq"
	}
	return bridgeName
}

// startCommandSpan starts the client (invoke) or server (handling) span of cmd under ctx.
func (r *Runtime) startCommandSpan(ctx context.Context, kind trace.SpanKind, cmd *wire.Message) (context.Context, trace.Span) {
	method := rpcMethod(*cmd.Receiver)
	return r.tracer.Start(ctx, method, trace.WithSpanKind(kind), trace.WithAttributes(
		semconv.RPCSystemNameKey.String(rpcSystem),
		semconv.RPCMethod(method),
		semconv.MessagingSystemKey.String(messagingSystem(r.bridge.Name())),
		semconv.MessagingMessageID(cmd.ID),
		semconv.MessagingMessageConversationID(cmd.CorrelationID),
	))
}

// startMessageSpan starts the producer (emit) or consumer (subscription) span of msg.
// subscription names the consuming subscription ("" for a producer).
func (r *Runtime) startMessageSpan(ctx context.Context, kind trace.SpanKind, msg *wire.Message, subscription string) (context.Context, trace.Span) {
	dest := msg.EventName
	if dest == "" {
		dest = string(msg.MessageType)
	}
	op, opType := "send", semconv.MessagingOperationTypeSend
	if kind == trace.SpanKindConsumer {
		op, opType = "process", semconv.MessagingOperationTypeProcess
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(messagingSystem(r.bridge.Name())),
		semconv.MessagingOperationName(op), opType,
		semconv.MessagingDestinationName(dest),
		semconv.MessagingMessageID(msg.ID),
	}
	if subscription != "" {
		attrs = append(attrs, semconv.MessagingDestinationSubscriptionName(subscription))
	}
	return r.tracer.Start(ctx, op+" "+dest, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// endSpan records the outcome of a span and ends it. err fails the span (status Error,
// error.type and rpc.response.status_code set to the PURISTA status, the error as an
// event) unless the span is a server span and the error a
// handled one below 500: a handled error is the command's answer, not its failure (as
// an HTTP 4xx is on an HTTP server span). traceID is PURISTA's traceId of the message.
func endSpan(span trace.Span, server bool, traceID string, err error) {
	if traceID != "" {
		span.SetAttributes(attrTraceID.String(traceID))
	}
	if err != nil {
		status := StatusOf(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)), attrStatus.Int(status),
			semconv.RPCResponseStatusCode(strconv.Itoa(status)))
		var he *HandledError
		if !(errors.As(err, &he) && status < http.StatusInternalServerError && server) {
			span.RecordError(err)
			span.SetStatus(codes.Error, errorText(err))
		}
	}
	span.End()
}

// errorText is the span status description of err: the message a caller sees for a
// command error (never the masked cause of an unhandled one).
func errorText(err error) string {
	var he *HandledError
	if errors.As(err, &he) {
		return he.Message
	}
	var ue *UnhandledError
	if errors.As(err, &ue) {
		return ue.Message
	}
	return err.Error()
}

// stampTrace sets what an outgoing message msg carries of the trace, sent on behalf of
// ctx while handling parent (nil outside handlers):
//
//   - traceId (PURISTA's correlation id) is kept when set (the caller copies the chain's),
//     else the W3C trace id in effect (below), else new;
//   - otp holds the W3C traceparent: with tracing on, that of the span in ctx (the
//     invoke's client span, the emit's producer span, the handler's server span); with
//     tracing off, the W3C trace id of ctx's span context, else of parent's otp, else
//     msg's traceId when it is a valid W3C id, else a new one, with a new span id and the
//     flags of the trace it continues.
func (r *Runtime) stampTrace(ctx context.Context, msg, parent *wire.Message) {
	sc := trace.SpanContextFromContext(ctx)
	if r.tracing && sc.IsValid() {
		if msg.TraceID == "" {
			msg.TraceID = sc.TraceID().String()
		}
		carrier := propagation.MapCarrier{}
		r.prop.Inject(ctx, carrier)
		raw, _ := json.Marshal(map[string]string(carrier)) // a string map always encodes
		msg.OTP = string(raw)
		return
	}
	var traceID, flags string
	switch {
	case sc.IsValid():
		traceID, flags = sc.TraceID().String(), hex.EncodeToString([]byte{byte(sc.TraceFlags())})
	case parent != nil:
		traceID, flags, _ = parseTraceParent(wire.TraceParent(parent))
	}
	if traceID == "" {
		traceID, flags = msg.TraceID, "01"
		if !isHex32(traceID) {
			traceID = wire.NewID()
		}
	}
	if msg.TraceID == "" {
		msg.TraceID = traceID
	}
	msg.OTP = traceParentCarrier(traceID, flags)
}

// traceParentCarrier returns the W3C carrier purista writes into otp for a message
// without a span of its own: {"traceparent":"00-<traceID>-<new span id>-<flags>"}, built
// in one allocation.
func traceParentCarrier(traceID, flags string) string {
	const head, tail = `{"traceparent":"00-`, `"}`
	var buf [len(head) + 32 + 1 + 16 + 1 + 2 + len(tail)]byte
	var span [8]byte
	binary.LittleEndian.PutUint64(span[:], rand.Uint64()|1) // never the invalid all-zero id
	b := append(append(append(buf[:0], head...), traceID...), '-')
	b = append(append(append(hex.AppendEncode(b, span[:]), '-'), flags...), tail...)
	return string(b)
}

// parseTraceParent returns the trace id and flags of a W3C traceparent, ok false (and
// empty strings) when tp is not a valid one. It allocates nothing.
func parseTraceParent(tp string) (traceID, flags string, ok bool) {
	// version "-" trace-id "-" parent-id "-" flags, 2+1+32+1+16+1+2 characters; versions
	// after 00 may append "-…".
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || (len(tp) > 55 && (tp[:2] == "00" || tp[55] != '-')) {
		return "", "", false
	}
	version, traceID, spanID, flags := tp[:2], tp[3:35], tp[36:52], tp[53:55]
	if !isHex(version) || version == "ff" || !isHex32(traceID) || traceID == zeroTraceID ||
		!isHex(spanID) || spanID == zeroTraceID[:16] || !isHex(flags) {
		return "", "", false
	}
	return traceID, flags, true
}

const zeroTraceID = "00000000000000000000000000000000"

func isHex32(s string) bool { return len(s) == 32 && isHex(s) }

// isHex reports whether s is lowercase hexadecimal (W3C trace context allows no other).
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// otpCarrier reads the W3C carrier a message holds in its otp field (a JSON string).
func otpCarrier(msg *wire.Message) propagation.MapCarrier {
	c := propagation.MapCarrier{}
	if msg.OTP != "" {
		_ = json.Unmarshal([]byte(msg.OTP), (*map[string]string)(&c)) // a bad otp just carries no trace
	}
	return c
}

// extractParent returns ctx with the W3C context of msg's otp as its remote parent, ctx
// itself when the otp holds none.
func (r *Runtime) extractParent(ctx context.Context, msg *wire.Message) context.Context {
	if msg == nil || msg.OTP == "" {
		return ctx
	}
	return r.prop.Extract(ctx, otpCarrier(msg))
}

// traceIDOf picks the trace id for an incoming message that has none: the active span's,
// else the W3C trace id in its otp (TypeScript PURISTA links chains that way), else a new
// one.
func traceIDOf(ctx context.Context, msg *wire.Message) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	if id, _, ok := parseTraceParent(wire.TraceParent(msg)); ok {
		return id
	}
	return wire.NewID()
}
