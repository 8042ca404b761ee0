package amqp

import (
	"sync"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Headers returns the AMQP headers this bridge attaches to commands and events (m), and
// TypeScript PURISTA's AMQP bridge to responses: wire.AMQPHeaders without the NATS/MQTT
// name receiverInstanceId (the receiver instance travels as receiverServiceInstanceId),
// plus replyTo when not empty. The bridge's replies to its callers carry none.
func Headers(m *wire.Message, replyTo string) map[string]string {
	t := headerTable(m, replyTo)
	h := make(map[string]string, len(t))
	for k, v := range t {
		h[k], _ = v.(string)
	}
	return h
}

// headerTable builds the table of Headers directly (no intermediate map).
func headerTable(m *wire.Message, replyTo string) amqp091.Table {
	t := make(amqp091.Table, wire.MaxHeaders+1)
	visitHeaders(m, func(k string, v any) { t[k] = v })
	if replyTo != "" {
		t[wire.HeaderReplyTo] = replyTo
	}
	return t
}

// visitHeaders calls f with the name and value of every header of Headers(m, "").
func visitHeaders(m *wire.Message, f func(name string, value any)) {
	wire.VisitHeaders(m, func(k, v string) {
		if k == wire.HeaderReceiverInstanceID {
			k = wire.HeaderAMQPReceiverInstanceID
		}
		f(k, v)
	})
}

// header is one entry of a header table, its value boxed once for all the messages that
// carry it.
type header struct {
	name  string
	value any
}

// maxRoutes bounds how many header sets headerTables keeps; when it is full it starts
// over.
const maxRoutes = 1024

// headerTables makes the header tables of the commands and events a bridge publishes. A
// table of Headers holds up to 14 boxed strings; made for every publish it costs a dozen
// allocations. But all its values except the traceparent are the message's tokens
// (wire.TokensOf), which repeat from one message to the next between the same services:
// headerTables keeps their entries, boxed once, by tokens (immutable, so shared safely),
// and lends out cleared tables to fill. A table goes back with put once the publish that
// used it has returned: amqp091's Publish writes the message, headers included, before it
// returns (the I/O is done inside the call) and keeps no reference to the table. The zero
// value is ready; safe for concurrent use.
type headerTables struct {
	tables sync.Pool // cleared amqp091.Table

	mu     sync.RWMutex
	routes map[wire.Tokens][]header // the token headers, by the message's tokens
}

// get returns the table of Headers(m, ""); hand it back with put after the publish.
func (h *headerTables) get(m *wire.Message) amqp091.Table {
	tok := wire.TokensOf(m)
	h.mu.RLock()
	hs, ok := h.routes[tok]
	h.mu.RUnlock()
	if !ok {
		tokens := *m
		tokens.OTP = "" // the traceparent is the message's own
		visitHeaders(&tokens, func(k string, v any) { hs = append(hs, header{k, v}) })
		h.mu.Lock()
		if h.routes == nil || len(h.routes) >= maxRoutes {
			h.routes = make(map[wire.Tokens][]header)
		}
		h.routes[tok] = hs
		h.mu.Unlock()
	}
	t, _ := h.tables.Get().(amqp091.Table)
	if t == nil {
		t = make(amqp091.Table, wire.MaxHeaders+1)
	}
	for _, e := range hs {
		t[e.name] = e.value
	}
	if tp := wire.TraceParent(m); tp != "" {
		t[wire.HeaderTraceParent] = tp
	}
	return t
}

// put takes back a table of get whose publish has returned.
func (h *headerTables) put(t amqp091.Table) {
	clear(t)
	h.tables.Put(t)
}
