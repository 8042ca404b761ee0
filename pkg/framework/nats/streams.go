package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Header names of dead letters (on the subject wire.NATSDeadLetterSubject).
const (
	// HeaderDeadLetterReason holds the last handler error's text.
	HeaderDeadLetterReason = "deadLetterReason"
	// HeaderDeadLetterAttempts holds the number of deliveries made (decimal).
	HeaderDeadLetterAttempts = "deadLetterAttempts"
	// HeaderDeadLetterInstance holds the instance id of the subscriber that gave up.
	HeaderDeadLetterInstance = "deadLetterInstanceId"
	// HeaderDeadLetterSubscriber holds the subscriber address as service/version/target
	// (raw values joined by "/").
	HeaderDeadLetterSubscriber = "deadLetterSubscriber"
	// HeaderDeadLetterAt holds when the message was dead-lettered (RFC 3339, ms).
	HeaderDeadLetterAt = "deadLetterAt"
)

// eventTypes are the message types the events stream captures: every type except
// command, so the stream never answers a command request with a publish ack.
var eventTypes = []wire.MessageType{
	wire.TypeCommandSuccessResponse, wire.TypeCommandErrorResponse, wire.TypeCustomMessage,
	wire.TypeInfoServiceInit, wire.TypeInfoServiceReady, wire.TypeInfoServiceNotReady,
	wire.TypeInfoServiceFunctionAdded, wire.TypeInfoServiceDrain, wire.TypeInfoServiceShutdown,
	wire.TypeInfoInvokeTimeout, wire.TypeInfoSubscriptionError,
}

// EventStreamSubjects returns the subjects of the events stream:
// purista.<snake(type)>.> for every message type except command.
func EventStreamSubjects() []string {
	out := make([]string, len(eventTypes))
	for i, t := range eventTypes {
		out[i] = wire.Prefix + "." + wire.SnakeCase(string(t)) + ".>"
	}
	return out
}

// DeadLetterStreamSubjects returns the subjects of the dead-letter stream.
func DeadLetterStreamSubjects() []string { return []string{wire.Prefix + ".deadletter.>"} }

// setupStreams creates (or updates) the events and dead-letter streams.
func (b *Bridge) setupStreams(ctx context.Context, nc *natsgo.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, cfg := range []jetstream.StreamConfig{
		{Name: b.cfg.streamName, Subjects: EventStreamSubjects()},
		{Name: b.cfg.dlqStreamName, Subjects: DeadLetterStreamSubjects()},
	} {
		cfg.Description = "purista: " + strings.ToLower(cfg.Name)
		cfg.Retention = jetstream.LimitsPolicy
		cfg.Storage = jetstream.FileStorage
		cfg.Discard = jetstream.DiscardOld
		cfg.MaxAge = b.cfg.streamMaxAge
		cfg.MaxBytes = b.cfg.streamMaxBytes
		cfg.Duplicates = time.Minute
		if s, err := js.Stream(sctx, cfg.Name); err == nil && sameStream(s.CachedInfo().Config, cfg) {
			continue // as wanted: no update (every bridge start would update it otherwise)
		}
		if _, err := js.CreateOrUpdateStream(sctx, cfg); err != nil {
			if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
				return nil, err
			}
			return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return js, nil
}

// ConsumerName returns the durable consumer name of the subscription at a:
// "purista_sub_<svc>_<ver>_<target>" from the snake-cased parts, with every character
// JetStream does not allow in a name replaced by "_".
func ConsumerName(a wire.Address) string {
	var sb strings.Builder
	sb.WriteString("purista_sub")
	for _, p := range []string{a.ServiceName, a.ServiceVersion, a.ServiceTarget} {
		sb.WriteString("__")
		if p == "" {
			p = "empty"
		}
		for _, c := range wire.SnakeCase(p) {
			if c == '.' || c == '*' || c == '>' || c == '/' || c == '\\' || c <= ' ' || c > '~' {
				c = '_'
			}
			sb.WriteRune(c)
		}
	}
	return sb.String()
}

// sameStream reports whether the stream configuration have (as the server reports it)
// already is want in every field setupStreams sets. Updating a stream that needs no
// change is not free: nats-server rewrites its configuration, which also raced with
// consumers being created on the embedded server (its fileStore, under -race).
func sameStream(have, want jetstream.StreamConfig) bool {
	limit := func(n int64) int64 { // 0 and -1 both mean no limit
		if n <= 0 {
			return -1
		}
		return n
	}
	return limit(have.MaxBytes) == limit(want.MaxBytes) &&
		slices.Equal(sortedCopy(have.Subjects), sortedCopy(want.Subjects)) &&
		have.Description == want.Description && have.Retention == want.Retention &&
		have.Storage == want.Storage && have.Discard == want.Discard &&
		have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates
}

// sortedCopy returns a sorted copy of s.
func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// messageHeader returns the headers of m (the names of docs/wire-format.md), with room
// for one more. The
// values share one backing array.
func messageHeader(m *wire.Message) natsgo.Header {
	h := make(natsgo.Header, wire.MaxHeaders+1)
	vals := make([]string, 0, wire.MaxHeaders)
	wire.VisitHeaders(m, func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	})
	return h
}

// subjects remembers the subjects of recent messages by their tokens, so that the
// commands of one caller to one receiver, alike in every token, share one subject
// instead of snake-casing and joining 13 tokens each. Safe for concurrent use; the zero
// value is ready.
type subjects struct {
	namer wire.Namer // tokens snake-cased once
	mu    sync.RWMutex
	m     map[wire.Tokens]string
}

// maxSubjects bounds subjects: when full it starts over.
const maxSubjects = 1024

// of returns the 13-token subject m is published on.
func (c *subjects) of(m *wire.Message) string {
	t := wire.TokensOf(m)
	c.mu.RLock()
	s, ok := c.m[t]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = c.namer.NATSSubject(t)
	for _, p := range []*string{&t.MessageType, &t.PrincipalID, &t.TenantID, &t.SenderInstanceID, &t.SenderServiceName,
		&t.SenderServiceVersion, &t.SenderServiceTarget, &t.EventName, &t.ReceiverInstanceID, &t.ReceiverServiceName,
		&t.ReceiverServiceVersion, &t.ReceiverServiceTarget} {
		*p = strings.Clone(*p) // a decoded message's strings keep its whole body alive
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSubjects {
		c.m = make(map[wire.Tokens]string, maxSubjects)
	}
	c.m[t] = s
	c.mu.Unlock()
	return s
}

// subjectOf returns the 13-token subject m is published on.
func (b *Bridge) subjectOf(m *wire.Message) string { return b.subjects.of(m) }
