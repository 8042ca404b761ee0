package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
	"github.com/purista-go/purista/pkg/framework/internal/runopts"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// caller is the Invoker of a handler Context or of a Client: it stamps the sender
// and inherits trace, principal and tenant from the parent message.
type caller struct {
	rt     *Runtime
	from   wire.Address
	parent *wire.Message
}

// Invoke implements Invoker.
func (c *caller) Invoke(ctx context.Context, req InvokeRequest) (_ json.RawMessage, err error) {
	r := c.rt
	cmd := r.newMessage(wire.TypeCommand, c.from)
	recv := req.Receiver
	recv.InstanceID = ""
	cmd.Receiver = &recv
	cmd.CorrelationID = wire.NewID()
	if p := c.parent; p != nil {
		cmd.TraceID, cmd.PrincipalID, cmd.TenantID = p.TraceID, p.PrincipalID, p.TenantID
	}
	if req.PrincipalID != "" {
		cmd.PrincipalID = req.PrincipalID
	}
	if req.TenantID != "" {
		cmd.TenantID = req.TenantID
	}
	if r.tracing {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = r.extractParent(ctx, c.parent) // a context detached from the handler's span
		}
		var span trace.Span
		ctx, span = r.startCommandSpan(ctx, trace.SpanKindClient, cmd)
		defer func() { endSpan(span, false, cmd.TraceID, err) }()
	}
	r.stampTrace(ctx, cmd, c.parent)
	payload := req.Payload
	if payload == nil {
		payload = json.RawMessage("null")
	}
	param := req.Parameter
	if param == nil {
		param = json.RawMessage("{}")
	}
	// Both parts are valid JSON (marshalled by us or checked by the HTTP layer), so the
	// envelope payload is assembled without another encoding pass.
	buf := make([]byte, 0, len(payload)+len(param)+26)
	buf = append(append(append(append(append(buf, `{"payload":`...), payload...), `,"parameter":`...), param...), '}')
	cmd.Payload = buf
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	resp, err := r.bridge.Invoke(ctx, cmd, timeout)
	if err != nil {
		return nil, invokeError(recv, cmd.TraceID, timeout, err)
	}
	switch resp.MessageType {
	case wire.TypeCommandSuccessResponse:
		return resp.Payload, nil
	case wire.TypeCommandErrorResponse:
		var ep wire.ErrorPayload
		if err := jsonx.Unmarshal(resp.Payload, &ep); err != nil || ep.Status == 0 {
			return nil, &UnhandledError{Status: http.StatusBadGateway, Message: "malformed error response from " + recv.String(), TraceID: cmd.TraceID, Err: err}
		}
		if ep.TraceID == "" {
			ep.TraceID = cmd.TraceID
		}
		if resp.IsHandledError != nil && *resp.IsHandledError {
			he := &HandledError{Status: ep.Status, Message: ep.Message, TraceID: ep.TraceID}
			if len(ep.Data) > 0 {
				he.Data = ep.Data
			}
			return nil, he
		}
		ue := &UnhandledError{Status: ep.Status, Message: ep.Message, TraceID: ep.TraceID}
		if ep.Status == http.StatusGatewayTimeout {
			// The callee's handler ran out of time before the caller's timeout passed: the
			// same outcome as the caller's own timeout, whichever clock fired first.
			ue.Err = bridge.ErrTimeout
		}
		return nil, ue
	default:
		return nil, &UnhandledError{Status: http.StatusBadGateway, Message: fmt.Sprintf("unexpected %s in answer to a command from %s", resp.MessageType, recv), TraceID: cmd.TraceID}
	}
}

// invokeError maps a bridge error to an *UnhandledError with a status and a clear message.
func invokeError(recv wire.Address, traceID string, timeout time.Duration, err error) error {
	u := &UnhandledError{Status: http.StatusServiceUnavailable, TraceID: traceID, Err: err}
	switch {
	case errors.Is(err, bridge.ErrTimeout):
		u.Status, u.Message = http.StatusGatewayTimeout, fmt.Sprintf("invocation timed out: %s gave no answer within %v", recv, timeout)
	case errors.Is(err, context.DeadlineExceeded):
		u.Status, u.Message = http.StatusGatewayTimeout, fmt.Sprintf("invocation timed out: the caller's deadline passed before %s answered", recv)
	case errors.Is(err, context.Canceled):
		u.Status, u.Message = 499, fmt.Sprintf("invocation of %s cancelled by the caller", recv)
	case errors.Is(err, bridge.ErrNoHandler):
		u.Message = fmt.Sprintf("no handler for %s: is service %s v%s running and does it register %q?", recv, recv.ServiceName, recv.ServiceVersion, recv.ServiceTarget)
	case errors.Is(err, bridge.ErrClosed):
		u.Message = "the event bridge is shutting down"
	default:
		u.Message = fmt.Sprintf("could not invoke %s", recv)
	}
	return u
}

// emitter is the Emitter of a handler Context or of a Client.
type emitter struct {
	rt     *Runtime
	from   wire.Address
	parent *wire.Message
}

// Emit implements Emitter.
func (e *emitter) Emit(ctx context.Context, ev OutgoingEvent) (err error) {
	if err := validateName("event name", ev.Name); err != nil {
		return fmt.Errorf("emit: %w", err)
	}
	r := e.rt
	msg := r.newMessage(wire.TypeCustomMessage, e.from)
	msg.EventName = ev.Name
	msg.Payload = ev.Payload
	if p := e.parent; p != nil {
		msg.TraceID, msg.PrincipalID, msg.TenantID = p.TraceID, p.PrincipalID, p.TenantID
	}
	if r.tracing {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = r.extractParent(ctx, e.parent)
		}
		var span trace.Span
		ctx, span = r.startMessageSpan(ctx, trace.SpanKindProducer, msg, "")
		defer func() { endSpan(span, false, msg.TraceID, err) }()
	}
	r.stampTrace(ctx, msg, e.parent)
	start := time.Now()
	err = r.bridge.Emit(ctx, msg)
	r.observe(runopts.Record{Time: start, Kind: "event", MessageType: msg.MessageType, From: msg.Sender, EventName: ev.Name,
		Status: StatusOf(err), Latency: time.Since(start), TraceID: msg.TraceID, Error: errText(err)})
	if err != nil {
		return fmt.Errorf("emit %s: %w", ev.Name, err)
	}
	return nil
}
