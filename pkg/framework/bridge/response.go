package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Helpers for bridge implementations: every bridge answers a command the same way when
// the handler leaves fields empty or gives no answer at all.

// UnhandledResponse returns the commandErrorResponse to cmd for a failure the handler did
// not hand out: isHandledError false, no data, and the generic text of status (500
// "Internal Server Error", 503 "the service instance is shutting down", 504 "invocation
// timed out"). The sender is cmd's receiver with instanceID, the receiver is cmd's sender.
func UnhandledResponse(cmd *wire.Message, status int, instanceID string) *wire.Message {
	text := http.StatusText(http.StatusInternalServerError)
	switch status {
	case http.StatusGatewayTimeout:
		text = "invocation timed out"
	case http.StatusServiceUnavailable:
		text = "the service instance is shutting down"
	}
	payload, _ := json.Marshal(wire.ErrorPayload{Status: status, Message: text, TraceID: cmd.TraceID}) // always encodes
	handled := false
	var sender wire.Address
	if cmd.Receiver != nil {
		sender = *cmd.Receiver
	}
	sender.InstanceID = instanceID
	receiver := cmd.Sender
	return &wire.Message{
		ID: cmd.ID, Timestamp: wire.NowMillis(),
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommandErrorResponse, Sender: sender, Receiver: &receiver,
		TraceID: cmd.TraceID, CorrelationID: cmd.CorrelationID,
		PrincipalID: cmd.PrincipalID, TenantID: cmd.TenantID, OTP: cmd.OTP,
		IsHandledError: &handled, Payload: payload,
	}
}

// RejectResponse returns the commandErrorResponse to a command the bridge cannot hand to a
// handler because of what the caller sent (an unknown messageType, a body that is not a
// PURISTA envelope): a handled 400 whose message starts "the command could not be
// decoded: " and ends with reason. cmd needs only what the bridge could recover: its
// correlationId (from the body or from the transport's correlation property), and where
// known its id, sender and receiver. Bridges send it to the command's reply address so
// that the caller fails at once instead of waiting for its timeout.
func RejectResponse(cmd *wire.Message, reason string, instanceID string) *wire.Message {
	resp := UnhandledResponse(cmd, http.StatusBadRequest, instanceID)
	handled := true
	resp.IsHandledError = &handled
	resp.Payload, _ = json.Marshal(wire.ErrorPayload{Status: http.StatusBadRequest, // always encodes
		Message: "the command could not be decoded: " + reason, TraceID: cmd.TraceID})
	return resp
}

// CompleteResponse fills what a CommandHandler left empty in its response to cmd: a nil
// response becomes an UnhandledResponse (503 when ctx, the handler's context, was ended by
// a forced stop, whose cause wraps ErrClosed; 504 when it ran out of time; else 500); id, correlationId, timestamp, content type and encoding, sender (cmd's
// receiver with instanceID) and receiver (cmd's sender) default from cmd.
func CompleteResponse(ctx context.Context, cmd, resp *wire.Message, instanceID string) *wire.Message {
	if resp == nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(context.Cause(ctx), ErrClosed):
			status = http.StatusServiceUnavailable
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			status = http.StatusGatewayTimeout
		}
		return UnhandledResponse(cmd, status, instanceID)
	}
	if resp.ID == "" {
		resp.ID = cmd.ID
	}
	if resp.CorrelationID == "" {
		resp.CorrelationID = cmd.CorrelationID
	}
	if resp.Timestamp == 0 {
		resp.Timestamp = wire.NowMillis()
	}
	if resp.ContentType == "" {
		resp.ContentType = wire.ContentTypeJSON
	}
	if resp.ContentEncoding == "" {
		resp.ContentEncoding = wire.EncodingUTF8
	}
	if resp.Sender.ServiceName == "" && cmd.Receiver != nil {
		resp.Sender = *cmd.Receiver
	}
	if resp.Sender.InstanceID == "" {
		resp.Sender.InstanceID = instanceID
	}
	if resp.Receiver == nil {
		s := cmd.Sender
		resp.Receiver = &s
	}
	return resp
}

// EncodeEvent prepares msg for Emit: it refuses commands (they are sent with Invoke),
// stamps instanceID on a sender that has none, validates the envelope and encodes it. It
// returns the stamped copy (msg itself is not changed) and its encoding; errors wrap
// wire.ErrInvalidMessage.
func EncodeEvent(msg *wire.Message, instanceID string) (*wire.Message, []byte, error) {
	if msg == nil || msg.MessageType == wire.TypeCommand {
		return nil, nil, fmt.Errorf("%w: commands are sent with Invoke", wire.ErrInvalidMessage)
	}
	out := *msg
	if out.Sender.InstanceID == "" {
		out.Sender.InstanceID = instanceID
	}
	if err := out.Validate(); err != nil {
		return nil, nil, err
	}
	data, err := wire.Encode(&out)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", wire.ErrInvalidMessage, err)
	}
	return &out, data, nil
}
