package wire

import (
	"strconv"
	"unicode/utf8"
)

// encodeFast returns the compact encoding of m, byte for byte what encodeSlow
// (encoding/json without HTML escaping) writes, and whether it succeeded; it fails only
// for a payload that is not valid JSON, which encodeSlow then reports.
//
// It is written by hand, not with a reflection-based encoder: goccy/go-json's encoder
// needs a large stack frame, and on the short stacks of bridge goroutines (new, or shrunk
// by the garbage collector) growing the stack for it cost more than the encoding itself
// (≈ 10 % of the NATS bridge's CPU at 64 calls in flight). FuzzCodec compares it with
// encodeSlow on every input.
func encodeFast(m *Message) ([]byte, bool) {
	b := make([]byte, 0, 384+len(m.Payload)+len(m.OTP))
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, m.Timestamp, 10)
	b = append(b, `,"contentType":`...)
	b = appendString(b, m.ContentType)
	b = append(b, `,"contentEncoding":`...)
	b = appendString(b, m.ContentEncoding)
	b = append(b, `,"messageType":`...)
	b = appendString(b, string(m.MessageType))
	b = append(b, `,"sender":`...)
	b = appendAddress(b, &m.Sender)
	if m.Receiver != nil {
		b = append(b, `,"receiver":`...)
		b = appendAddress(b, m.Receiver)
	}
	b = appendOptional(b, `,"traceId":`, m.TraceID)
	b = appendOptional(b, `,"correlationId":`, m.CorrelationID)
	b = appendOptional(b, `,"principalId":`, m.PrincipalID)
	b = appendOptional(b, `,"tenantId":`, m.TenantID)
	b = appendOptional(b, `,"eventName":`, m.EventName)
	b = appendOptional(b, `,"otp":`, m.OTP)
	if m.IsHandledError != nil {
		b = append(b, `,"isHandledError":`...)
		b = strconv.AppendBool(b, *m.IsHandledError)
	}
	if len(m.Payload) > 0 {
		var ok bool
		// encoding/json compacts a RawMessage and fails on one that is not valid JSON.
		if b, ok = appendCompactJSON(append(b, `,"payload":`...), m.Payload); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

func appendAddress(b []byte, a *Address) []byte {
	b = append(b, `{"serviceName":`...)
	b = appendString(b, a.ServiceName)
	b = append(b, `,"serviceVersion":`...)
	b = appendString(b, a.ServiceVersion)
	b = append(b, `,"serviceTarget":`...)
	b = appendString(b, a.ServiceTarget)
	b = appendOptional(b, `,"instanceId":`, a.InstanceID)
	return append(b, '}')
}

// appendOptional appends key and s unless s is empty (omitempty).
func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does without HTML
// escaping: the short escapes for \b \f \n \r \t, \u00XX for the other control
// characters, \ufffd for each invalid UTF-8 byte, and \u2028 \u2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && plainASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
