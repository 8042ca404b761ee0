package transport

import (
	"encoding/json"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// RecoverCommand returns what can still be read of a command body that did not decode
// (not JSON, an unknown messageType, a field of the wrong type, nesting too deep), for
// answering it with bridge.RejectResponse: a command to addr (the registration whose
// subject, topic or queue it arrived on) with the id, correlationId, traceId, principalId,
// tenantId, otp and sender the body yields. A field of the wrong type is skipped, the
// others are kept; a body that is not JSON yields none. Fields not recovered stay empty:
// the bridge fills them from its transport where it has them (AMQP correlationId and
// messageId properties, MQTT correlation data, sender headers or user properties) and
// gives the id a wire.NewID() if it is still empty. Without a correlationId nobody can
// match the answer.
func RecoverCommand(addr wire.Address, body []byte) *wire.Message {
	var loose struct {
		ID            string       `json:"id"`
		CorrelationID string       `json:"correlationId"`
		TraceID       string       `json:"traceId"`
		PrincipalID   string       `json:"principalId"`
		TenantID      string       `json:"tenantId"`
		OTP           string       `json:"otp"`
		Sender        wire.Address `json:"sender"`
	}
	_ = json.Unmarshal(body, &loose) // best effort: see the doc
	return &wire.Message{ID: loose.ID, MessageType: wire.TypeCommand, Sender: loose.Sender, Receiver: &addr,
		CorrelationID: loose.CorrelationID, TraceID: loose.TraceID, PrincipalID: loose.PrincipalID,
		TenantID: loose.TenantID, OTP: loose.OTP}
}
