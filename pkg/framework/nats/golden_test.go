package nats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// capture is one record of wire/testdata/nats.json (TypeScript PURISTA 1.11 traffic).
type capture struct {
	Seq     int               `json:"seq"`
	Subject string            `json:"subject"`
	Reply   *string           `json:"reply"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

func captures(t *testing.T) map[int]capture {
	t.Helper()
	raw, err := os.ReadFile("../wire/testdata/nats.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []capture
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	out := map[int]capture{}
	for _, c := range list {
		out[c.Seq] = c
	}
	return out
}

func decodeCapture(t *testing.T, c capture) *wire.Message {
	t.Helper()
	m, err := wire.Decode(c.Body)
	if err != nil {
		t.Fatalf("capture %d: %v", c.Seq, err)
	}
	return m
}

// sniff subscribes raw to subject and returns the channel of what it sees.
func sniff(t *testing.T, nc *natsgo.Conn, subject string) <-chan *natsgo.Msg {
	t.Helper()
	ch := make(chan *natsgo.Msg, 4096) // wildcard sniffers see other tests too: never a slow consumer
	s, err := nc.ChanSubscribe(subject, ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// nextOf returns the next message on ch whose data holds id, skipping others: the broker
// is shared, so a wildcard sniffer also sees other tests' traffic.
func nextOf(t *testing.T, ch <-chan *natsgo.Msg, what, id string) *natsgo.Msg {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-ch:
			if strings.Contains(string(m.Data), id) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s with %s seen on the broker", what, id)
			return nil
		}
	}
}

func next(t *testing.T, ch <-chan *natsgo.Msg, what string) *natsgo.Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s seen on the broker", what)
		return nil
	}
}

// headerMap flattens nats headers for comparison with a capture: the JetStream
// de-duplication header Nats-Msg-Id (our addition) is dropped, and traceparent is reduced
// to its trace id (TS PURISTA sends the publishing span's id there, we send the one from
// the envelope's otp; the trace id, which links a chain, is the same).
func headerMap(h natsgo.Header) map[string]string {
	if h == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range h {
		out[k] = v[0]
	}
	return normHeaders(out)
}

func normHeaders(h map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		switch k {
		case "Nats-Msg-Id":
			continue
		case wire.HeaderTraceParent:
			v = wire.TraceIDOf(v)
		}
		out[k] = v
	}
	return out
}

// TestGoldenCommandAndResponse: a Go caller's command and a Go handler's response look
// like the captured TypeScript ones (subject, reply, headers, envelope), and the Go
// handler accepts the captured TypeScript command body as is.
func TestGoldenCommandAndResponse(t *testing.T) {
	u := needBroker(t)
	caps := captures(t)
	cmdCap, respCap, evCap := caps[9], caps[13], caps[14]
	tsCmd := decodeCapture(t, cmdCap)
	tsResp := decodeCapture(t, respCap)

	// The caller and the User service use the captured instance ids, so the subjects must
	// be byte-identical to the capture.
	caller := startBridge(t, u, pnats.WithInstanceID(tsCmd.Sender.InstanceID))
	user := startBridge(t, u, pnats.WithInstanceID(tsResp.Sender.InstanceID))
	gotCmd := make(chan *wire.Message, 2)
	_, err := user.RegisterCommand(context.Background(), *tsCmd.Receiver, func(_ context.Context, cmd *wire.Message) *wire.Message {
		gotCmd <- cmd
		r := *tsResp
		r.Timestamp = 0
		return &r
	}, bridge.CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sniffer := rawConn(t, u)
	cmds := sniff(t, sniffer, cmdCap.Subject)
	events := sniff(t, sniffer, evCap.Subject)
	inbox := sniff(t, sniffer, "_INBOX.>")

	// 1. Go → Go, published exactly like TS.
	resp, err := caller.Invoke(context.Background(), tsCmd, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := nextOf(t, cmds, "command", tsCmd.CorrelationID)
	if m.Subject != cmdCap.Subject || !strings.HasPrefix(m.Reply, "_INBOX.") || m.Header != nil {
		t.Errorf("command: subject %q reply %q headers %v; want %q, _INBOX.…, none", m.Subject, m.Reply, m.Header, cmdCap.Subject)
	}
	sameEnvelope(t, "command", m.Data, cmdCap.Body)
	r := nextOf(t, inbox, "response", tsCmd.CorrelationID)
	tsReads(t, "response", r, respCap, tsCmd)
	e := nextOf(t, events, "success event", tsCmd.CorrelationID)
	if got := headerMap(e.Header); !reflect.DeepEqual(got, normHeaders(evCap.Headers)) {
		t.Errorf("event headers\n got %v\nwant %v", got, evCap.Headers)
	}
	sameEnvelope(t, "success event", e.Data, evCap.Body, "timestamp", "traceId")
	if resp.MessageType != wire.TypeCommandSuccessResponse || !sameJSON(resp.Payload, tsResp.Payload) {
		t.Errorf("Invoke returned %s %s", resp.MessageType, resp.Payload)
	}

	// 2. The captured TS command body, sent raw, is answered in the captured shape.
	reply, err := sniffer.Request(cmdCap.Subject, cmdCap.Body, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tsReads(t, "response to the TS command", reply, respCap, tsCmd)
	for range 2 {
		if c := <-gotCmd; c.CorrelationID != tsCmd.CorrelationID || !sameJSON(c.Payload, tsCmd.Payload) {
			t.Errorf("handler saw %+v", c)
		}
	}
}

// tsReads checks a reply sent to a caller's inbox against the captured TypeScript reply
// respCap to cmd, the way a TypeScript PURISTA caller reads it: the envelope from the
// body (equal to the capture's but for timestamp and traceId), and the trace context from
// the body's otp, which continues cmd's trace. Unlike the capture, the reply carries no
// headers at all (a deviation: the envelope in the body is authoritative, and the headers
// of a point-to-point reply serve no reader).
func tsReads(t *testing.T, what string, reply *natsgo.Msg, respCap capture, cmd *wire.Message) {
	t.Helper()
	if reply.Header != nil {
		t.Errorf("%s: headers %v, want none", what, reply.Header)
	}
	sameEnvelope(t, what, reply.Data, respCap.Body, "timestamp", "traceId")
	m, err := wire.Decode(reply.Data)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got, want := wire.TraceIDOf(wire.TraceParent(m)), wire.TraceIDOf(wire.TraceParent(cmd)); got == "" || got != want {
		t.Errorf("%s: trace id %q from the body's otp, want the command's %q", what, got, want)
	}
}

// TestGoldenErrorResponses: TS error responses decode into the error shape of
// docs/wire-format.md.
func TestGoldenErrorResponses(t *testing.T) {
	u := needBroker(t)
	caps := captures(t)
	caller := startBridge(t, u)
	raw := rawConn(t, u)
	for _, seq := range [][2]int{{15, 16}, {17, 18}} {
		cmd, resp := decodeCapture(t, caps[seq[0]]), caps[seq[1]]
		to := *cmd.Receiver
		to.ServiceName = uniq(to.ServiceName) // private subject for this run
		cmd.Receiver = &to
		s, err := raw.Subscribe(wire.NATSCommandSubject(to), func(m *natsgo.Msg) { _ = m.Respond(resp.Body) })
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.Flush()
		got, err := caller.Invoke(context.Background(), cmd, 5*time.Second)
		_ = s.Unsubscribe()
		if err != nil {
			t.Fatal(err)
		}
		var p wire.ErrorPayload
		if got.MessageType != wire.TypeCommandErrorResponse || got.IsHandledError == nil || json.Unmarshal(got.Payload, &p) != nil {
			t.Fatalf("seq %d: got %+v", seq[1], got)
		}
		if (seq[1] == 16) != *got.IsHandledError || (seq[1] == 16) != (p.Status == 404) {
			t.Errorf("seq %d: handled=%v status=%d", seq[1], *got.IsHandledError, p.Status)
		}
	}
}

// TestGoldenEvent: an emitted customMessage has the captured subject and headers, and a
// captured TS customMessage reaches a Go subscription.
func TestGoldenEvent(t *testing.T) {
	u := needBroker(t)
	evCap := captures(t)[12]
	ev := decodeCapture(t, evCap)
	b := startBridge(t, u)
	sniffer := rawConn(t, u)
	seen := sniff(t, sniffer, evCap.Subject)
	if err := b.Emit(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	m := next(t, seen, "event")
	if got := headerMap(m.Header); m.Subject != evCap.Subject || !reflect.DeepEqual(got, normHeaders(evCap.Headers)) {
		t.Errorf("event %q headers %v\nwant %q %v", m.Subject, got, evCap.Subject, evCap.Headers)
	}
	sameEnvelope(t, "event", m.Data, evCap.Body)

	// The TS body published raw (a fresh id so durable de-duplication and other runs do not
	// interfere) reaches a subscription on its event name.
	got := make(chan *wire.Message, 4)
	sub := bridge.Subscription{Subscriber: addr(uniq("Golden"), "onAudit"), Filter: bridge.Filter{EventName: ev.EventName, Sender: bridge.AddressFilter{InstanceID: ev.Sender.InstanceID}}}
	if _, err := b.RegisterSubscription(context.Background(), sub, func(_ context.Context, m *wire.Message) error {
		got <- m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sniffer.Publish(evCap.Subject, evCap.Body); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.ID != ev.ID || string(m.Payload) != string(ev.Payload) {
			t.Errorf("subscription got %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("captured TS event not delivered")
	}
}

// sameEnvelope compares two JSON envelopes field by field, ignoring the named fields.
func sameEnvelope(t *testing.T, what string, got, want []byte, ignore ...string) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	for _, k := range ignore {
		if _, ok := w[k]; ok != (g[k] != nil) {
			t.Errorf("%s: field %s present=%v, capture present=%v", what, k, g[k] != nil, ok)
		}
		delete(g, k)
		delete(w, k)
	}
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Errorf("%s envelope\n got %s\nwant %s", what, gb, wb)
	}
}

// sameJSON reports whether a and b hold the same JSON value, insignificant whitespace
// aside: wire.Decode keeps a payload as it arrived (the captured TypeScript bodies are
// indented), while our encoding is compact.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}
