// Package traces collects the OpenTelemetry spans of the processes `purista dev` runs
// and arranges them for the trace view: an OTLP/HTTP receiver on loopback (Receiver)
// decodes the export requests of every process into a bounded Store, indexed by W3C
// trace id and by PURISTA's traceId (the span attribute purista.trace_id), and Tree
// turns the spans of one trace into the rows of a waterfall.
package traces

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Limits of a Store created with zero limits.
const (
	DefaultMaxTraces        = 500
	DefaultMaxSpansPerTrace = 1000
)

// Span is one received span, reduced to what the trace view shows.
type Span struct {
	// TraceID, SpanID and ParentID are lowercase hex ids; ParentID is "" for a root.
	TraceID, SpanID, ParentID string
	// Name is the span's name, e.g. "User.v1/signUp" or "send userSignedUp".
	Name string
	// Kind is "server", "client", "producer", "consumer", "internal" or "".
	Kind string
	// Start and End bound the span.
	Start, End time.Time
	// Resource is the service.name of the process that recorded the span.
	Resource string
	// Attrs are the span's attributes with string, integer or boolean values, as text.
	Attrs map[string]string
	// Error is set for status Error; Message is the status description.
	Error   bool
	Message string
}

// Duration is the span's length (0 when it ends before it starts).
func (s Span) Duration() time.Duration { return max(0, s.End.Sub(s.Start)) }

// PuristaTraceID is PURISTA's traceId of the span (attribute purista.trace_id), or "".
func (s Span) PuristaTraceID() string { return s.Attrs["purista.trace_id"] }

// Store keeps the spans of the most recent traces: at most MaxTraces traces (the trace
// seen first is dropped first) of at most MaxSpansPerTrace spans each (later spans of a
// full trace are counted as dropped). It is safe for concurrent use.
type Store struct {
	maxTraces, maxSpans int

	mu      sync.Mutex
	traces  map[string]*traceSpans // by W3C trace id
	order   []string               // W3C trace ids, first seen first
	byPTID  map[string][]string    // PURISTA traceId → W3C trace ids
	version uint64
}

type traceSpans struct {
	spans   []Span
	ids     map[string]bool // span ids held, to drop a span sent twice
	dropped int
	ptids   []string // the PURISTA traceIds seen on its spans
}

// NewStore returns an empty store with the given limits (0: the defaults).
func NewStore(maxTraces, maxSpansPerTrace int) *Store {
	if maxTraces <= 0 {
		maxTraces = DefaultMaxTraces
	}
	if maxSpansPerTrace <= 0 {
		maxSpansPerTrace = DefaultMaxSpansPerTrace
	}
	return &Store{maxTraces: maxTraces, maxSpans: maxSpansPerTrace, traces: map[string]*traceSpans{}, byPTID: map[string][]string{}}
}

// Add stores spans, in any order and from any process; a span already held (same trace
// and span id) is ignored. It returns the W3C trace ids that changed.
func (s *Store) Add(spans []Span) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var changed []string
	for _, sp := range spans {
		if sp.TraceID == "" || sp.SpanID == "" {
			continue
		}
		t := s.traces[sp.TraceID]
		if t == nil {
			t = &traceSpans{ids: map[string]bool{}}
			s.traces[sp.TraceID] = t
			s.order = append(s.order, sp.TraceID)
			s.evict()
		}
		if t.ids[sp.SpanID] {
			continue
		}
		if len(t.spans) >= s.maxSpans {
			t.dropped++
			continue
		}
		t.ids[sp.SpanID] = true
		t.spans = append(t.spans, sp)
		if p := sp.PuristaTraceID(); p != "" && !slices.Contains(t.ptids, p) {
			t.ptids = append(t.ptids, p)
			s.byPTID[p] = append(s.byPTID[p], sp.TraceID)
		}
		if !slices.Contains(changed, sp.TraceID) {
			changed = append(changed, sp.TraceID)
		}
	}
	if len(changed) > 0 {
		s.version++
	}
	return changed
}

// evict drops the oldest traces beyond the limit; s.mu is held.
func (s *Store) evict() {
	for len(s.order) > s.maxTraces {
		id := s.order[0]
		s.order = s.order[1:]
		for _, p := range s.traces[id].ptids {
			rest := slices.DeleteFunc(s.byPTID[p], func(x string) bool { return x == id })
			if len(rest) == 0 {
				delete(s.byPTID, p)
			} else {
				s.byPTID[p] = rest
			}
		}
		delete(s.traces, id)
	}
}

// Lookup returns the spans of the trace id names, a W3C trace id or a PURISTA traceId
// (the spans of every W3C trace that carries it), and how many spans of them were
// dropped at the cap. The spans are copies, in no particular order.
func (s *Store) Lookup(id string) (spans []Span, dropped int) {
	id = strings.TrimSpace(id)
	w3c := strings.ToLower(id) // W3C ids are lowercase hex; a PURISTA traceId is any text
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Clone(s.byPTID[id])
	if _, ok := s.traces[w3c]; ok && !slices.Contains(ids, w3c) {
		ids = append(ids, w3c)
	}
	for _, w := range ids {
		t := s.traces[w]
		spans = append(spans, t.spans...)
		dropped += t.dropped
	}
	return spans, dropped
}

// Version counts the changes of the store: it grows whenever Add stores a span.
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Len returns the number of traces held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.traces)
}
