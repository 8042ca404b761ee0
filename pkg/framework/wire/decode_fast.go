package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/buger/jsonparser"

	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
)

// Every bridge decodes two envelopes per command (the command and its response), and
// decoding them field by field with a general JSON decoder costs one allocation per
// string (a dozen per envelope) plus copies of the payload and the input.
// decodeEnvelope decodes the envelopes bridges exchange
// with two allocations: one copy of the input, which every string field and the payload
// point into, and the message itself (with its receiver and isHandledError in the same
// allocation).
//
// It decodes only what it can decode exactly as encoding/json does, and declines the
// rest (ok false), which Decode then hands to the general decoder: a key that is not
// one of the envelope's own names spelled as they are (encoding/json also matches other
// letter cases), a key given twice, a string with a control character, a timestamp that
// is not a plain integer, a value of the wrong type, a null payload. Strings with escapes
// are unescaped by jsonparser (when that gives valid UTF-8), strings with invalid UTF-8
// by encoding/json, one at a time. The payload and unknown fields are checked with
// jsonx.Valid (encoding/json's grammar, faster). FuzzCodec checks that whatever it
// accepts, encoding/json decodes to the same message.

// decoded is a message with the storage its pointers point to, allocated at once.
type decoded struct {
	m       Message
	recv    Address
	handled bool
}

// envelope field bits, to refuse duplicate keys.
const (
	fID = 1 << iota
	fTimestamp
	fContentType
	fContentEncoding
	fMessageType
	fSender
	fReceiver
	fTraceID
	fCorrelationID
	fPrincipalID
	fTenantID
	fEventName
	fOTP
	fIsHandledError
	fPayload
)

// envelopeKeys are the envelope's JSON names, to recognise other spellings of them.
var envelopeKeys = [...]string{"id", "timestamp", "contentType", "contentEncoding", "messageType", "sender",
	"receiver", "traceId", "correlationId", "principalId", "tenantId", "eventName", "otp", "isHandledError",
	"payload", "serviceName", "serviceVersion", "serviceTarget", "instanceId"}

// decodeEnvelope decodes data as described above; ok is false when it declines. The
// message points into clone(data) (data itself when clone is nil), which nobody may
// write to afterwards.
func decodeEnvelope(data []byte, clone func([]byte) []byte) (m *Message, ok bool) {
	own := data
	if clone != nil {
		own = clone(data)
	}
	d := &decoded{}
	seen := 0
	ok = eachMember(own, func(key, raw []byte, t jsonparser.ValueType, v []byte) bool {
		bit, dst := 0, (*string)(nil)
		switch string(key) {
		case "id":
			bit, dst = fID, &d.m.ID
		case "contentType":
			bit, dst = fContentType, &d.m.ContentType
		case "contentEncoding":
			bit, dst = fContentEncoding, &d.m.ContentEncoding
		case "messageType":
			bit, dst = fMessageType, (*string)(&d.m.MessageType)
		case "traceId":
			bit, dst = fTraceID, &d.m.TraceID
		case "correlationId":
			bit, dst = fCorrelationID, &d.m.CorrelationID
		case "principalId":
			bit, dst = fPrincipalID, &d.m.PrincipalID
		case "tenantId":
			bit, dst = fTenantID, &d.m.TenantID
		case "eventName":
			bit, dst = fEventName, &d.m.EventName
		case "otp":
			bit, dst = fOTP, &d.m.OTP
		case "timestamp":
			if !once(&seen, fTimestamp) {
				return false
			}
			if t == jsonparser.Null {
				return true
			}
			n, ok := jsonInt(t, v)
			d.m.Timestamp = n
			return ok
		case "isHandledError":
			if !once(&seen, fIsHandledError) {
				return false
			}
			switch t {
			case jsonparser.Null:
			case jsonparser.Boolean:
				d.handled = v[0] == 't'
				d.m.IsHandledError = &d.handled
			default:
				return false
			}
			return true
		case "sender":
			if t != jsonparser.Object && t != jsonparser.Null || !once(&seen, fSender) {
				return false
			}
			return t == jsonparser.Null || decodeAddress(raw, &d.m.Sender)
		case "receiver":
			if t != jsonparser.Object && t != jsonparser.Null || !once(&seen, fReceiver) {
				return false
			}
			if t == jsonparser.Null {
				return true
			}
			d.m.Receiver = &d.recv
			return decodeAddress(raw, &d.recv)
		case "payload":
			if t == jsonparser.Null || !jsonx.Valid(raw) || !once(&seen, fPayload) {
				return false
			}
			d.m.Payload = json.RawMessage(raw[:len(raw):len(raw)])
			return true
		default:
			return unknownMember(key, raw)
		}
		return once(&seen, bit) && stringValue(t, raw, v, dst)
	})
	if !ok {
		return nil, false
	}
	return &d.m, true
}

// decodeAddress decodes an address object (raw) into a, declining like decodeEnvelope.
func decodeAddress(raw []byte, a *Address) bool {
	seen := 0
	return eachMember(raw, func(key, raw []byte, t jsonparser.ValueType, v []byte) bool {
		var bit int
		var dst *string
		switch string(key) {
		case "serviceName":
			bit, dst = 1, &a.ServiceName
		case "serviceVersion":
			bit, dst = 2, &a.ServiceVersion
		case "serviceTarget":
			bit, dst = 4, &a.ServiceTarget
		case "instanceId":
			bit, dst = 8, &a.InstanceID
		default:
			return unknownMember(key, raw)
		}
		return once(&seen, bit) && stringValue(t, raw, v, dst)
	})
}

// once marks bit in seen and reports whether it was not marked before (a key seen twice
// is left to encoding/json, which merges or overwrites).
func once(seen *int, bit int) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// unknownMember accepts a member the envelope has no field for when encoding/json would
// ignore it too: its key is no other spelling of a field name and its value is valid.
func unknownMember(key, raw []byte) bool {
	for _, k := range envelopeKeys {
		if bytes.EqualFold(key, []byte(k)) {
			return false
		}
	}
	for _, c := range key {
		if c >= utf8.RuneSelf { // encoding/json folds some non-ASCII letters (K, ſ) too
			return false
		}
	}
	return jsonx.Valid(raw)
}

// stringValue stores the string value v (raw with its quotes) in dst: null leaves dst
// as it is, as encoding/json does; a string without escapes and of valid UTF-8 points
// into the input; one with escapes is unescaped by jsonparser when that gives valid
// UTF-8, else decoded by encoding/json (which replaces what is not UTF-8).
func stringValue(t jsonparser.ValueType, raw, v []byte, dst *string) bool {
	switch t {
	case jsonparser.Null:
		return true
	case jsonparser.String:
	default:
		return false
	}
	escaped, ascii := false, true
	for _, c := range v {
		switch {
		case c < 0x20:
			return false // encoding/json's error, in its words
		case c == '\\':
			escaped = true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !escaped && (ascii || utf8.Valid(v)) {
		if len(v) > 0 {
			*dst = unsafe.String(&v[0], len(v))
		}
		return true
	}
	if s, err := jsonparser.ParseString(v); err == nil && utf8.ValidString(s) {
		*dst = s // escapes resolved as encoding/json resolves them (FuzzCodec)
		return true
	}
	return json.Unmarshal(raw, dst) == nil
}

// jsonInt parses a JSON number that encoding/json decodes into an int64.
func jsonInt(t jsonparser.ValueType, v []byte) (int64, bool) {
	if t != jsonparser.Number || len(v) == 0 {
		return 0, false
	}
	digits := v
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || digits[0] == '0' && len(digits) > 1 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(unsafe.String(&v[0], len(v)), 10, 64)
	return n, err == nil
}

// eachMember calls f for each member of the JSON object data (and nothing may follow
// it but whitespace), strictly by the JSON grammar: key is the member's name (plain
// ASCII without escapes, else eachMember declines), raw the value's bytes (strings with
// their quotes), t its type and v its bytes (strings without quotes). Values are only
// delimited here (valueEnd): f checks them. It reports false when data is not such an
// object or f returned false.
func eachMember(data []byte, f func(key, raw []byte, t jsonparser.ValueType, v []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		end := bytes.IndexByte(data[i+1:], '"')
		if end < 0 {
			return false
		}
		key := data[i+1 : i+1+end]
		for _, c := range key {
			if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
				return false
			}
		}
		i = skipSpace(data, i+2+end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return false
		}
		n, t := valueEnd(data, i)
		if n < 0 {
			return false
		}
		raw := data[i:n]
		v := raw
		if t == jsonparser.String {
			v = raw[1 : len(raw)-1]
		}
		n -= i
		if !f(key, raw, t, v) {
			return false
		}
		i = skipSpace(data, i+n)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not JSON
// whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at data[i] and its
// type, or -1 when no value can start there or it does not end. It only delimits the
// value (the caller checks it): a string ends at its first unescaped quote, found with
// bytes.IndexByte; an object or array at its matching bracket outside strings; a number
// or literal at the next delimiter, and literals must be spelled exactly.
func valueEnd(data []byte, i int) (int, jsonparser.ValueType) {
	switch c := data[i]; {
	case c == '"':
		return stringEnd(data, i+1), jsonparser.String
	case c == '{' || c == '[':
		t := jsonparser.Object
		if c == '[' {
			t = jsonparser.Array
		}
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				if j = stringEnd(data, j+1); j < 0 {
					return -1, t
				}
				j-- // the loop steps past the quote
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, t
				}
			}
		}
		return -1, t
	}
	j := i
	for j < len(data) {
		if c := data[j]; c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		j++
	}
	switch tok := string(data[i:j]); {
	case tok == "":
		return -1, jsonparser.Unknown
	case tok == "true" || tok == "false":
		return j, jsonparser.Boolean
	case tok == "null":
		return j, jsonparser.Null
	case tok[0] == '-' || '0' <= tok[0] && tok[0] <= '9':
		return j, jsonparser.Number
	}
	return -1, jsonparser.Unknown
}

// stringEnd returns the index just past the quote that ends the string whose contents
// start at data[i], or -1 when it does not end.
func stringEnd(data []byte, i int) int {
	for {
		q := bytes.IndexByte(data[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		backslashes := 0
		for k := q - 1; k >= i && data[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}
