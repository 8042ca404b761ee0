package wire

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Header (NATS), user property (MQTT) and AMQP header names that PURISTA bridges attach to
// a message. Values are the raw envelope values. Readers must take the envelope from the
// body: TypeScript PURISTA's NATS bridge sends commands without any header.
const (
	HeaderMessageType            = "messageType"
	HeaderSenderServiceName      = "senderServiceName"
	HeaderSenderServiceVersion   = "senderServiceVersion"
	HeaderSenderServiceTarget    = "senderServiceTarget"
	HeaderSenderInstanceID       = "senderInstanceId"
	HeaderReceiverServiceName    = "receiverServiceName"
	HeaderReceiverServiceVersion = "receiverServiceVersion"
	HeaderReceiverServiceTarget  = "receiverServiceTarget"
	HeaderReceiverInstanceID     = "receiverInstanceId"
	HeaderEventName              = "eventName"
	HeaderPrincipalID            = "principalId"
	HeaderTenantID               = "tenantId"
	// HeaderTraceParent carries the W3C traceparent of the publishing span.
	HeaderTraceParent = "traceparent"
	// HeaderAMQPReceiverInstanceID is the name TypeScript PURISTA's AMQP bridge uses for the
	// receiver's instance id (instead of HeaderReceiverInstanceID).
	HeaderAMQPReceiverInstanceID = "receiverServiceInstanceId"
	// HeaderReplyTo is the AMQP header that routes a response to the caller's reply queue.
	HeaderReplyTo = "replyTo"
)

// tokenHeaders returns the header names of the Tokens fields, in wire order; amqp selects
// the AMQP name of the receiver instance.
func tokenHeaders(amqp bool) [12]string {
	recvInstance := HeaderReceiverInstanceID
	if amqp {
		recvInstance = HeaderAMQPReceiverInstanceID
	}
	return [12]string{
		HeaderMessageType, HeaderPrincipalID, HeaderTenantID,
		HeaderSenderInstanceID, HeaderSenderServiceName, HeaderSenderServiceVersion, HeaderSenderServiceTarget,
		HeaderEventName,
		recvInstance, HeaderReceiverServiceName, HeaderReceiverServiceVersion, HeaderReceiverServiceTarget,
	}
}

// Headers returns the headers (NATS) or user properties (MQTT) a bridge attaches to m:
// one per non-empty token of TokensOf(m) under the Header* names, plus HeaderTraceParent
// when m's otp carries a traceparent. Empty values are left out.
func Headers(m *Message) map[string]string {
	return headers(m)
}

// AMQPHeaders returns the AMQP headers a bridge attaches to m: those of Headers, plus the
// receiver instance under HeaderAMQPReceiverInstanceID as TypeScript PURISTA sends it,
// plus HeaderReplyTo when replyTo is not empty (responses carry the caller's reply queue
// there so the exchange routes them).
func AMQPHeaders(m *Message, replyTo string) map[string]string {
	h := headers(m)
	if m.Receiver != nil && m.Receiver.InstanceID != "" {
		// TypeScript PURISTA's AMQP bridge names this header receiverServiceInstanceId
		// only (docs/wire-format.md, Names); the NATS/MQTT name is not sent.
		delete(h, HeaderReceiverInstanceID)
		h[HeaderAMQPReceiverInstanceID] = m.Receiver.InstanceID
	}
	if replyTo != "" {
		h[HeaderReplyTo] = replyTo
	}
	return h
}

func headers(m *Message) map[string]string {
	h := make(map[string]string, 14)
	VisitHeaders(m, func(name, value string) { h[name] = value })
	return h
}

// MaxHeaders is the most headers VisitHeaders reports for one message.
const MaxHeaders = 13

// VisitHeaders calls f with the name and value of every header Headers(m) holds, in wire
// order, without building a map (so a bridge can fill its transport's header type
// directly). f must not keep m.
func VisitHeaders(m *Message, f func(name, value string)) {
	names := tokenHeaders(false)
	for i, v := range TokensOf(m).list() {
		if v != "" {
			f(names[i], v)
		}
	}
	if tp := TraceParent(m); tp != "" {
		f(HeaderTraceParent, tp)
	}
}

// IsHeaderName reports whether name is one of the header names VisitHeaders reports
// (the NATS headers and MQTT user properties of docs/wire-format.md), spelled as it
// spells them.
func IsHeaderName(name string) bool {
	switch name {
	case HeaderMessageType, HeaderPrincipalID, HeaderTenantID,
		HeaderSenderInstanceID, HeaderSenderServiceName, HeaderSenderServiceVersion, HeaderSenderServiceTarget,
		HeaderEventName,
		HeaderReceiverInstanceID, HeaderReceiverServiceName, HeaderReceiverServiceVersion, HeaderReceiverServiceTarget,
		HeaderTraceParent:
		return true
	}
	return false
}

// ReadHeaders reads the tokens from a message's headers through get, which returns the
// value of one header name ("" when absent); it adapts to any transport (nats.Header.Get,
// an AMQP table, MQTT user properties). The receiver instance is taken from
// HeaderReceiverInstanceID or, failing that, HeaderAMQPReceiverInstanceID. Headers are a
// routing hint only: the envelope in the body is authoritative.
func ReadHeaders(get func(name string) string) Tokens {
	var l [12]string
	for i, name := range tokenHeaders(false) {
		l[i] = get(name)
	}
	if l[8] == "" {
		l[8] = get(HeaderAMQPReceiverInstanceID)
	}
	return tokensFromList(l)
}

// TraceParent returns the W3C traceparent carried in m's otp field (a JSON object such as
// {"traceparent":"00-…-…-01"} encoded as a string), or "" when there is none or otp is
// not such an object.
func TraceParent(m *Message) string {
	if m.OTP == "" {
		return ""
	}
	// Fast path for the carrier every purista bridge writes: one traceparent entry, no
	// escapes. It yields exactly what the JSON decoding below yields for that form.
	const head, tail = `{"traceparent":"`, `"}`
	if v, ok := strings.CutPrefix(m.OTP, head); ok {
		if v, ok := strings.CutSuffix(v, tail); ok && !strings.ContainsAny(v, "\\\"") && utf8.ValidString(v) && !hasControl(v) {
			return v
		}
	}
	var carrier map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m.OTP), &carrier); err != nil {
		return ""
	}
	var tp string
	if err := json.Unmarshal(carrier[HeaderTraceParent], &tp); err != nil {
		return ""
	}
	return tp
}

// SetTraceParent stores the W3C traceparent tp in m's otp carrier, keeping the carrier's
// other entries (such as tracestate). An empty tp removes the traceparent; otp becomes ""
// when nothing remains. An otp that is not a JSON object is replaced.
func SetTraceParent(m *Message, tp string) {
	var carrier map[string]json.RawMessage
	if m.OTP != "" {
		if err := json.Unmarshal([]byte(m.OTP), &carrier); err != nil {
			carrier = nil
		}
	}
	if carrier == nil {
		carrier = map[string]json.RawMessage{}
	}
	if tp == "" {
		delete(carrier, HeaderTraceParent)
	} else {
		v, _ := json.Marshal(tp) // marshalling a string cannot fail
		carrier[HeaderTraceParent] = v
	}
	if len(carrier) == 0 {
		m.OTP = ""
		return
	}
	b, err := json.Marshal(carrier)
	if err != nil { // unreachable: every value is valid JSON
		m.OTP = ""
		return
	}
	m.OTP = string(b)
}

// TraceIDOf returns the 32-hex trace id of a W3C traceparent
// ("00-<trace-id>-<parent-id>-<flags>"), or "" when tp is not of that shape. The trace id
// is what links a chain of PURISTA messages; the envelope's traceId does not.
func TraceIDOf(tp string) string {
	parts := strings.Split(tp, "-")
	if len(parts) < 4 || len(parts[1]) != 32 || !isHex(parts[1]) {
		return ""
	}
	return parts[1]
}

// hasControl reports whether s holds a byte below 0x20 (invalid inside a JSON string).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !('a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
