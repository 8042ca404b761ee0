package wire

import (
	"encoding/json"
	"maps"
	"testing"
)

const testTraceParent = "00-a54301eb06be5516017fad45eb49d5d9-1375c95d2104aefb-01"

func TestHeaders(t *testing.T) {
	resp := &Message{
		ID: "id1", MessageType: TypeCommandSuccessResponse, CorrelationID: "c1", EventName: "userSignedUp",
		PrincipalID: "p1", TenantID: "t1",
		Sender:   Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp", InstanceID: "s1"},
		Receiver: &Address{ServiceName: "WireCapture", ServiceVersion: "1", ServiceTarget: "run", InstanceID: "r1"},
		OTP:      `{"traceparent":"` + testTraceParent + `"}`,
	}
	info := &Message{ID: "id2", MessageType: TypeInfoServiceReady,
		Sender: Address{ServiceName: "Email", ServiceVersion: "1", InstanceID: "s2"}}
	respHeaders := map[string]string{
		"messageType": "commandSuccessResponse", "principalId": "p1", "tenantId": "t1", "eventName": "userSignedUp",
		"senderServiceName": "User", "senderServiceVersion": "1", "senderServiceTarget": "signUp", "senderInstanceId": "s1",
		"receiverServiceName": "WireCapture", "receiverServiceVersion": "1", "receiverServiceTarget": "run",
		"receiverInstanceId": "r1", "traceparent": testTraceParent,
	}
	amqpResp := maps.Clone(respHeaders)
	delete(amqpResp, "receiverInstanceId") // AMQP names it receiverServiceInstanceId only
	amqpResp["receiverServiceInstanceId"] = "r1"
	amqpResp["replyTo"] = "amq.gen-x"
	infoHeaders := map[string]string{"messageType": "infoServiceReady", "senderServiceName": "Email",
		"senderServiceVersion": "1", "senderInstanceId": "s2"}
	tests := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{"response", Headers(resp), respHeaders},
		{"info leaves out empty values", Headers(info), infoHeaders},
		{"AMQP response", AMQPHeaders(resp, "amq.gen-x"), amqpResp},
		{"AMQP info", AMQPHeaders(info, ""), infoHeaders},
	}
	for _, tt := range tests {
		if !maps.Equal(tt.got, tt.want) {
			t.Errorf("%s:\n got %v\nwant %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestReadHeaders(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want Tokens
	}{
		{"generic", map[string]string{"messageType": "command", "senderServiceName": "A", "receiverInstanceId": "r"},
			Tokens{MessageType: "command", SenderServiceName: "A", ReceiverInstanceID: "r"}},
		{"AMQP receiver instance", map[string]string{"receiverServiceInstanceId": "r", "replyTo": "q"},
			Tokens{ReceiverInstanceID: "r"}},
		{"none", nil, Tokens{}},
	}
	for _, tt := range tests {
		got := ReadHeaders(func(name string) string { return tt.in[name] })
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	m := &Message{MessageType: TypeCommand, Sender: Address{ServiceName: "A", ServiceVersion: "1", ServiceTarget: "x", InstanceID: "i"},
		Receiver: &Address{ServiceName: "B", ServiceVersion: "2", ServiceTarget: "y", InstanceID: "j"}, EventName: "e",
		PrincipalID: "p", TenantID: "t"}
	for _, h := range []map[string]string{Headers(m), AMQPHeaders(m, "q")} {
		if got := ReadHeaders(func(n string) string { return h[n] }); got != TokensOf(m) {
			t.Errorf("ReadHeaders(Headers(m)) = %+v, want %+v", got, TokensOf(m))
		}
	}
}

func TestTraceParent(t *testing.T) {
	tests := []struct {
		name, otp, want string
	}{
		{"captured", `{"traceparent":"` + testTraceParent + `"}`, testTraceParent},
		{"with tracestate", `{"tracestate":"k=v","traceparent":"` + testTraceParent + `"}`, testTraceParent},
		{"empty", "", ""},
		{"empty carrier", "{}", ""},
		{"not JSON", "00-abc", ""},
		{"not a string", `{"traceparent":1}`, ""},
		{"null", `{"traceparent":null}`, ""},
		{"array", `[1]`, ""},
	}
	for _, tt := range tests {
		if got := TraceParent(&Message{OTP: tt.otp}); got != tt.want {
			t.Errorf("%s: TraceParent = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSetTraceParent(t *testing.T) {
	tests := []struct {
		name, otp, tp, want string
	}{
		{"fresh", "", testTraceParent, `{"traceparent":"` + testTraceParent + `"}`},
		{"replace", `{"traceparent":"00-x"}`, testTraceParent, `{"traceparent":"` + testTraceParent + `"}`},
		{"keeps tracestate", `{"tracestate":"k=v"}`, testTraceParent, `{"traceparent":"` + testTraceParent + `","tracestate":"k=v"}`},
		{"remove", `{"traceparent":"00-x"}`, "", ""},
		{"remove keeps rest", `{"traceparent":"00-x","tracestate":"k=v"}`, "", `{"tracestate":"k=v"}`},
		{"invalid otp replaced", `nonsense`, testTraceParent, `{"traceparent":"` + testTraceParent + `"}`},
	}
	for _, tt := range tests {
		m := &Message{OTP: tt.otp}
		SetTraceParent(m, tt.tp)
		if m.OTP != tt.want {
			t.Errorf("%s: otp = %s, want %s", tt.name, m.OTP, tt.want)
		}
		if got := TraceParent(m); got != tt.tp {
			t.Errorf("%s: TraceParent after set = %q, want %q", tt.name, got, tt.tp)
		}
		if m.OTP != "" && !json.Valid([]byte(m.OTP)) {
			t.Errorf("%s: otp is not JSON: %s", tt.name, m.OTP)
		}
	}
}

func TestTraceIDOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{testTraceParent, "a54301eb06be5516017fad45eb49d5d9"},
		{"00-A54301EB06BE5516017FAD45EB49D5D9-1375c95d2104aefb-01", ""},
		{"00-short-1375c95d2104aefb-01", ""},
		{"", ""},
		{"garbage", ""},
	}
	for _, tt := range tests {
		if got := TraceIDOf(tt.in); got != tt.want {
			t.Errorf("TraceIDOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDecodeIgnoresUnknownFields proves that the misspelled "sennder" object of
// TypeScript PURISTA's AMQP responses, and any other unknown field, is ignored.
func TestDecodeIgnoresUnknownFields(t *testing.T) {
	const base = `"id":"343ddbba13a412041072f26febe72fd0","correlationId":"c845159bceab0281cc8c999425bb984f",` +
		`"timestamp":1795643363922,"contentType":"application/json","contentEncoding":"utf-8",` +
		`"messageType":"commandSuccessResponse","sender":{"serviceName":"User","serviceVersion":"1","serviceTarget":"signUp",` +
		`"instanceId":"84d71dd0d98fc6c1da76090e3b6ba871"},"payload":{"id":"user-0001"}`
	want, err := Decode([]byte("{" + base + "}"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, extra string }{
		{"sennder", `,"sennder":{"serviceName":"User","serviceVersion":"1","serviceTarget":"signUp","instanceId":"84d71dd0d98fc6c1da76090e3b6ba871"}`},
		{"future field", `,"somethingNew":[1,2,{"a":null}]`},
		{"unknown sender field", `,"sender":{"serviceName":"User","serviceVersion":"1","serviceTarget":"signUp","instanceId":"84d71dd0d98fc6c1da76090e3b6ba871","zone":"eu"}`},
	}
	for _, tt := range tests {
		got, err := Decode([]byte("{" + base + tt.extra + "}"))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if b1, _ := Encode(got); string(b1) != string(mustEncode(t, want)) {
			t.Errorf("%s: decoded to %s", tt.name, b1)
		}
	}
}

func mustEncode(t *testing.T, m *Message) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeDecodeCanonical(t *testing.T) {
	tests := []struct{ name, payload, want string }{
		{"whitespace is compacted on the wire", `{ "a" : [ 1 , 2 ] }`, `{"a":[1,2]}`},
		{"HTML is not escaped", `"<b>&</b>"`, `"<b>&</b>"`},
		{"null payload", `null`, `null`},
	}
	for _, tt := range tests {
		in := `{"id":"i","timestamp":1,"contentType":"application/json","contentEncoding":"utf-8","messageType":"customMessage",` +
			`"eventName":"e","sender":{"serviceName":"S","serviceVersion":"1","serviceTarget":"t"},"payload":` + tt.payload + `}`
		m, err := Decode([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := compactJSON(m.Payload); string(got) != tt.want || !json.Valid(m.Payload) {
			t.Errorf("%s: payload %s, want %s (as JSON)", tt.name, m.Payload, tt.want)
		}
		enc := mustEncode(t, m)
		m2, err := Decode(enc)
		if err != nil || string(m2.Payload) != tt.want {
			t.Errorf("%s: re-decoded payload %s (%v), want %s; encoded %s", tt.name, m2.Payload, err, tt.want, enc)
		}
	}
}

func TestIsHeaderName(t *testing.T) {
	full := &Message{ID: "1", MessageType: TypeCommandSuccessResponse, PrincipalID: "p", TenantID: "t", EventName: "e",
		Sender:   Address{ServiceName: "A", ServiceVersion: "1", ServiceTarget: "x", InstanceID: "i"},
		Receiver: &Address{ServiceName: "B", ServiceVersion: "1", ServiceTarget: "y", InstanceID: "j"},
		OTP:      `{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`}
	n := 0
	VisitHeaders(full, func(name, _ string) {
		n++
		if !IsHeaderName(name) {
			t.Errorf("IsHeaderName(%q) = false for a name VisitHeaders reports", name)
		}
	})
	if n != MaxHeaders {
		t.Fatalf("VisitHeaders reported %d headers, want %d", n, MaxHeaders)
	}
	for _, name := range []string{"", "MessageType", "messagetype", "Nats-Msg-Id", HeaderReplyTo, HeaderAMQPReceiverInstanceID, "deadLetterReason"} {
		if IsHeaderName(name) {
			t.Errorf("IsHeaderName(%q) = true", name)
		}
	}
}
