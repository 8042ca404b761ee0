package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/runopts"
)

// eventStream writes the runtime's records, logs and service states as JSON lines, one
// object per line with a "type" of "record", "log" or "state". `purista dev` reads it to
// draw its UI instead of scraping output. It is safe for concurrent use; a write error
// disables the stream (the application keeps running).
type eventStream struct {
	mu     sync.Mutex
	enc    *json.Encoder
	failed bool
}

// NeweventStream returns a stream writing to w.
func newEventStream(w io.Writer) *eventStream { return &eventStream{enc: json.NewEncoder(w)} }

// StreamLine is one line of the event stream an application writes with PURISTA_EVENTS
// (--events): a JSON object with a "type" of "record", "log" or "state". `purista dev`
// and `purista check` read it.
type StreamLine struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Record is set for type "record".
	Record *Record `json:"record,omitempty"`
	// Level, Message and Attrs are set for type "log".
	Level   string         `json:"level,omitempty"`
	Message string         `json:"message,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	// Service and State are set for type "state" (starting, ready, draining, stopped) and
	// for logs of a service.
	Service  string                  `json:"service,omitempty"`
	State    string                  `json:"state,omitempty"`
	Commands []framework.CommandInfo `json:"commands,omitempty"`
}

func (s *eventStream) write(l StreamLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		return
	}
	if err := s.enc.Encode(l); err != nil {
		s.failed = true
	}
}

// Observe implements Observer.
func (s *eventStream) Observe(rec Record) {
	s.write(StreamLine{Type: "record", Time: rec.Time, Record: &rec})
}

// State reports a service's life-cycle state, with its commands when it becomes ready.
func (s *eventStream) State(service, state string, commands []framework.CommandInfo) {
	s.write(StreamLine{Type: "state", Time: time.Now(), Service: service, State: state, Commands: commands})
}

// LogHandler returns a slog.Handler that writes records at or above level to the stream.
func (s *eventStream) LogHandler(level slog.Leveler) slog.Handler {
	return &streamHandler{s: s, level: level}
}

type streamHandler struct {
	s     *eventStream
	level slog.Leveler
	attrs []slog.Attr
}

func (h *streamHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *streamHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]any{}
	add := func(a slog.Attr) bool {
		v := a.Value.Resolve()
		if err, ok := v.Any().(error); ok {
			attrs[a.Key] = err.Error()
		} else if v.Kind() == slog.KindDuration {
			attrs[a.Key] = v.Duration().String() // "15s", not nanoseconds
		} else {
			attrs[a.Key] = v.Any()
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	svc, _ := attrs["service"].(string)
	h.s.write(StreamLine{Type: "log", Time: r.Time, Level: r.Level.String(), Message: r.Message, Attrs: attrs, Service: svc})
	return nil
}

func (h *streamHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &streamHandler{s: h.s, level: h.level, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *streamHandler) WithGroup(string) slog.Handler { return h }

// teeHandler sends every record to all handlers.
type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			_ = h.Handle(ctx, r.Clone()) // one failing sink must not silence the others
		}
	}
	return nil
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}

// Record describes one message the runtime handled: a command, a subscription delivery
// or an emitted event.
type Record = runopts.Record

// Observer receives a Record of everything the runtime handles. Observe is called
// concurrently from handler goroutines and must not block.
type Observer = runopts.Observer

// WithObserver makes the runtime send o a Record of every handled command, subscription
// delivery and emitted event (`purista dev` draws its message stream from them).
func WithObserver(o Observer) framework.StartOption {
	return func(s *runopts.Settings) { s.Observer = o }
}
