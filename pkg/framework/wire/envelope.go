// Package wire is PURISTA's wire format: the JSON message envelope shared by every
// bridge and the subject, topic and queue names derived from it.
//
// The format is the one TypeScript PURISTA speaks (see docs/wire-format.md), so a Go
// service and a TypeScript service on one broker can call each other. Everything here is
// pure data and functions: no I/O, safe for concurrent use.
package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
)

// MessageType is the kind of a message, as carried in the envelope's messageType field.
type MessageType string

// The message types of PURISTA's wire format.
const (
	TypeCommand                  MessageType = "command"
	TypeCommandSuccessResponse   MessageType = "commandSuccessResponse"
	TypeCommandErrorResponse     MessageType = "commandErrorResponse"
	TypeCustomMessage            MessageType = "customMessage"
	TypeInfoServiceInit          MessageType = "infoServiceInit"
	TypeInfoServiceReady         MessageType = "infoServiceReady"
	TypeInfoServiceNotReady      MessageType = "infoServiceNotReady"
	TypeInfoServiceFunctionAdded MessageType = "infoServiceFunctionAdded"
	TypeInfoServiceDrain         MessageType = "infoServiceDrain"
	TypeInfoServiceShutdown      MessageType = "infoServiceShutdown"
	TypeInfoInvokeTimeout        MessageType = "infoInvokeTimeout"
	TypeInfoSubscriptionError    MessageType = "infoSubscriptionError"
)

// Valid reports whether t is one of the message types PURISTA defines.
func (t MessageType) Valid() bool {
	switch t {
	case TypeCommand, TypeCommandSuccessResponse, TypeCommandErrorResponse, TypeCustomMessage,
		TypeInfoServiceInit, TypeInfoServiceReady, TypeInfoServiceNotReady,
		TypeInfoServiceFunctionAdded, TypeInfoServiceDrain, TypeInfoServiceShutdown,
		TypeInfoInvokeTimeout, TypeInfoSubscriptionError:
		return true
	}
	return false
}

// IsResponse reports whether t is a command success or error response.
func (t MessageType) IsResponse() bool {
	return t == TypeCommandSuccessResponse || t == TypeCommandErrorResponse
}

// Content type and encoding every PURISTA message carries.
const (
	ContentTypeJSON = "application/json"
	EncodingUTF8    = "utf-8"
)

// Address names an endpoint: a service, its version, a target inside it (a command or
// subscription name, or "" for the service itself) and optionally the instance.
type Address struct {
	ServiceName    string `json:"serviceName"`
	ServiceVersion string `json:"serviceVersion"`
	ServiceTarget  string `json:"serviceTarget"`
	InstanceID     string `json:"instanceId,omitempty"`
}

// String renders the address as Service.vVersion.target, for logs and errors.
func (a Address) String() string {
	s := a.ServiceName + ".v" + a.ServiceVersion
	if a.ServiceTarget != "" {
		s += "." + a.ServiceTarget
	}
	return s
}

// SameEndpoint reports whether a and b name the same service, version and target,
// ignoring the instance.
func (a Address) SameEndpoint(b Address) bool {
	return a.ServiceName == b.ServiceName && a.ServiceVersion == b.ServiceVersion &&
		a.ServiceTarget == b.ServiceTarget
}

// Message is PURISTA's envelope. Optional fields are omitted from the JSON, never null.
//
// Payload holds the raw JSON body whose shape depends on MessageType: CommandPayload for
// commands, the raw result for success responses, ErrorPayload for error responses, the
// event body for custom messages.
type Message struct {
	ID              string          `json:"id"`
	Timestamp       int64           `json:"timestamp"`
	ContentType     string          `json:"contentType"`
	ContentEncoding string          `json:"contentEncoding"`
	MessageType     MessageType     `json:"messageType"`
	Sender          Address         `json:"sender"`
	Receiver        *Address        `json:"receiver,omitempty"`
	TraceID         string          `json:"traceId,omitempty"`
	CorrelationID   string          `json:"correlationId,omitempty"`
	PrincipalID     string          `json:"principalId,omitempty"`
	TenantID        string          `json:"tenantId,omitempty"`
	EventName       string          `json:"eventName,omitempty"`
	OTP             string          `json:"otp,omitempty"`
	IsHandledError  *bool           `json:"isHandledError,omitempty"`
	Payload         json.RawMessage `json:"payload,omitempty"`
}

// CommandPayload is the payload of a command message.
type CommandPayload struct {
	Payload   json.RawMessage `json:"payload"`
	Parameter json.RawMessage `json:"parameter"`
}

// ErrorPayload is the payload of a commandErrorResponse.
type ErrorPayload struct {
	Status  int             `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
	TraceID string          `json:"traceId,omitempty"`
}

// NewID returns a random id of 32 lowercase hex characters, the form PURISTA uses for
// message, trace, correlation and instance ids.
//
// Ids must be unique, not secret: they come from math/rand/v2's per-thread ChaCha8
// generator (seeded from the OS), which costs nanoseconds instead of a system call.
func NewID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// IsID reports whether s has the form of NewID's ids: 32 lowercase hex characters.
func IsID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// NowMillis returns the current time in milliseconds since the epoch.
func NowMillis() int64 { return time.Now().UnixMilli() }

// ErrInvalidMessage is wrapped by every decoding and validation error of this package.
var ErrInvalidMessage = errors.New("invalid PURISTA message")

// Decode parses and validates one envelope. It never panics on any input; errors wrap
// ErrInvalidMessage. Unknown fields (such as the misspelled "sennder" object TypeScript
// PURISTA's AMQP bridge adds to responses) are ignored. The payload is kept as it arrived
// (valid JSON, whitespace included); Encode writes it compacted, so Decode(Encode(m))
// equals m up to the payload's insignificant whitespace.
//
// The message does not share memory with data; its strings and payload share one copy of
// data (so a string kept from it keeps that copy alive).
func Decode(data []byte) (*Message, error) {
	return decode(data, true)
}

// DecodeOwned is Decode without the copy of data: the message's strings and payload
// point into data itself. The caller hands data over: neither it nor anyone else may
// modify data afterwards (a bridge passes the body its client library allocated for
// this one message).
func DecodeOwned(data []byte) (*Message, error) {
	return decode(data, false)
}

func decode(data []byte, clone bool) (*Message, error) {
	copyOf := bytes.Clone
	if !clone {
		copyOf = nil
	}
	if m, ok := decodeEnvelope(data, copyOf); ok {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		return m, nil
	}
	var m Message
	if err := jsonx.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// decodeSlow is Decode with encoding/json alone, the reference FuzzCodec compares with.
func decodeSlow(data []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Encode renders m as compact JSON. Like JavaScript's JSON.stringify it does not escape
// "<", ">" and "&".
func Encode(m *Message) ([]byte, error) {
	if out, ok := encodeFast(m); ok {
		return out, nil
	}
	return encodeSlow(m)
}

// encodeSlow is Encode with encoding/json alone, the reference FuzzCodec compares with.
func encodeSlow(m *Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %s message: %w", m.MessageType, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Validate checks the fields every message of m's type must carry. Errors wrap
// ErrInvalidMessage.
func (m *Message) Validate() error {
	switch {
	case !m.MessageType.Valid():
		return fmt.Errorf("%w: unknown messageType %q", ErrInvalidMessage, m.MessageType)
	case m.ID == "":
		return fmt.Errorf("%w: %s without id", ErrInvalidMessage, m.MessageType)
	case m.Sender.ServiceName == "":
		return fmt.Errorf("%w: %s %s without sender.serviceName", ErrInvalidMessage, m.MessageType, m.ID)
	}
	switch m.MessageType {
	case TypeCommand:
		if m.Receiver == nil || m.Receiver.ServiceName == "" || m.Receiver.ServiceTarget == "" {
			return fmt.Errorf("%w: command %s without receiver service and target", ErrInvalidMessage, m.ID)
		}
		if m.CorrelationID == "" {
			return fmt.Errorf("%w: command %s without correlationId", ErrInvalidMessage, m.ID)
		}
	case TypeCommandSuccessResponse, TypeCommandErrorResponse:
		if m.CorrelationID == "" {
			return fmt.Errorf("%w: %s %s without correlationId", ErrInvalidMessage, m.MessageType, m.ID)
		}
	case TypeCustomMessage:
		if m.EventName == "" {
			return fmt.Errorf("%w: customMessage %s without eventName", ErrInvalidMessage, m.ID)
		}
	}
	return nil
}

// Clone returns a deep copy of m (payload bytes included).
func (m *Message) Clone() *Message {
	c := *m
	if m.Receiver != nil {
		r := *m.Receiver
		c.Receiver = &r
	}
	if m.IsHandledError != nil {
		h := *m.IsHandledError
		c.IsHandledError = &h
	}
	if m.Payload != nil {
		c.Payload = append(json.RawMessage(nil), m.Payload...)
	}
	return &c
}
