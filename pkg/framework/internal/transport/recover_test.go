package transport

import (
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework/wire"
)

func TestRecoverCommand(t *testing.T) {
	addr := wire.Address{ServiceName: "Callee", ServiceVersion: "1", ServiceTarget: "run"}
	sender := wire.Address{ServiceName: "Caller", ServiceVersion: "1", ServiceTarget: "go", InstanceID: "i1"}
	all := wire.Message{ID: "id1", CorrelationID: "c1", TraceID: "t1", PrincipalID: "p1", TenantID: "n1", OTP: "o1", Sender: sender}
	tests := []struct {
		name string
		body string
		want wire.Message // MessageType and Receiver are checked apart
	}{
		{"an unknown messageType keeps every field",
			`{"id":"id1","messageType":"bogus","correlationId":"c1","traceId":"t1","principalId":"p1","tenantId":"n1","otp":"o1","sender":{"serviceName":"Caller","serviceVersion":"1","serviceTarget":"go","instanceId":"i1"},"payload":{}}`,
			all},
		{"a field of the wrong type is skipped, the others kept",
			`{"id":7,"correlationId":"c1","sender":{"serviceName":"Caller","serviceVersion":1}}`,
			wire.Message{CorrelationID: "c1", Sender: wire.Address{ServiceName: "Caller"}}},
		{"not JSON yields nothing", `correlationId: c1`, wire.Message{}},
		{"truncated JSON yields nothing", `{"correlationId":"c1",`, wire.Message{}},
		{"an empty body yields nothing", ``, wire.Message{}},
		{"deep nesting elsewhere keeps the fields", `{"correlationId":"c1","payload":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
			wire.Message{CorrelationID: "c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RecoverCommand(addr, []byte(tt.body))
			if got.MessageType != wire.TypeCommand || got.Receiver == nil || *got.Receiver != addr {
				t.Errorf("type %s receiver %v, want a command to %v", got.MessageType, got.Receiver, addr)
			}
			g := *got
			g.MessageType, g.Receiver = "", nil
			if g.ID != tt.want.ID || g.CorrelationID != tt.want.CorrelationID || g.TraceID != tt.want.TraceID ||
				g.PrincipalID != tt.want.PrincipalID || g.TenantID != tt.want.TenantID || g.OTP != tt.want.OTP ||
				g.Sender != tt.want.Sender || g.Payload != nil {
				t.Errorf("RecoverCommand = %+v, want %+v", g, tt.want)
			}
		})
	}
	got := RecoverCommand(addr, nil)
	got.Receiver.ServiceName = "changed"
	if addr.ServiceName != "Callee" {
		t.Error("the recovered command shares the caller's address")
	}
}
