package nats_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/internal/benchutil"
	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// benchPayload is the command input of every benchmark (a ~256-byte string).
var benchPayload = strings.Repeat("x", 256)

// invoker performs one request/reply round trip.
type invoker func(ctx context.Context) error

// benchSetups returns the bridge and raw invokers on the broker at u, cleaned up with tb.
// The bridge case uses two bridges (caller and handler), so every call crosses the broker.
// The raw case is plain nats.go request/reply of a payload of the same size (the encoded
// command) answered by a plain subscription with the same bytes as our response.
//
// sameWire is raw nats.go too, but its responses carry the WIRE.md headers our bridge
// sends with every response (built once): the same traffic on the wire, so that the
// ratio against it shows what our code costs beyond what the wire format itself does.
func benchSetups(tb testing.TB, u string) (ours, raw, sameWire invoker) {
	caller := startBridge(tb, u, pnats.WithLocalDelivery(false))
	handler := startBridge(tb, u)
	callee := addr(uniq("Bench"), "echo")
	from := addr("BenchCaller", "run")
	cmd := command(from, callee, benchPayload)
	output := json.RawMessage(`"` + benchPayload + `"`)
	// Like the raw responder, the handler does no JSON work of its own: it answers with
	// the bytes of its input (the bridge still decodes the command and encodes the
	// response). Each call is a new command (fresh id, correlation id and timestamp)
	// carrying the same payload bytes, as the raw side sends the same request bytes.
	answer := func(context.Context, *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: output}
	}
	if _, err := handler.RegisterCommand(context.Background(), callee, answer, bridge.CommandOptions{}); err != nil {
		tb.Fatal(err)
	}
	ours = func(ctx context.Context) error {
		c := *cmd
		c.ID, c.CorrelationID, c.Timestamp = wire.NewID(), wire.NewID(), wire.NowMillis()
		_, err := caller.Invoke(ctx, &c, 10*time.Second)
		return err
	}

	reqBody, _ := wire.Encode(cmd)
	resp := &wire.Message{ID: cmd.ID, Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommandSuccessResponse, Sender: callee, Receiver: &from, CorrelationID: cmd.CorrelationID, Payload: output}
	respBody, _ := wire.Encode(resp)
	subject := "bench.raw." + wire.NewID()
	srv := rawConn(tb, u)
	if _, err := srv.QueueSubscribe(subject, "q", func(m *natsgo.Msg) { _ = m.Respond(respBody) }); err != nil {
		tb.Fatal(err)
	}
	_ = srv.Flush()
	cli := rawConn(tb, u)
	raw = func(ctx context.Context) error {
		_, err := cli.RequestWithContext(ctx, subject, reqBody)
		return err
	}

	respHeader := natsgo.Header{}
	wire.VisitHeaders(resp, func(name, value string) { respHeader.Set(name, value) })
	wireSubject := "bench.raw." + wire.NewID()
	if _, err := srv.QueueSubscribe(wireSubject, "q", func(m *natsgo.Msg) {
		_ = m.RespondMsg(&natsgo.Msg{Data: respBody, Header: respHeader})
	}); err != nil {
		tb.Fatal(err)
	}
	_ = srv.Flush()
	sameWire = func(ctx context.Context) error {
		_, err := cli.RequestWithContext(ctx, wireSubject, reqBody)
		return err
	}
	return ours, raw, sameWire
}

func runSeq(b *testing.B, inv invoker) {
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := inv(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func run64(b *testing.B, inv invoker) {
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := inv(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkInvoke compares the bridge's invoke round trip with raw nats.go
// request/reply, sequentially and with 64 calls in flight.
func BenchmarkInvoke(b *testing.B) {
	ours, raw, _ := benchSetups(b, needBroker(b))
	b.Run("nats", func(b *testing.B) { runSeq(b, ours) })
	b.Run("raw", func(b *testing.B) { runSeq(b, raw) })
	b.Run("nats-64", func(b *testing.B) { run64(b, ours) })
	b.Run("raw-64", func(b *testing.B) { run64(b, raw) })
}

// BenchmarkInvokeRatio prints "ratio nats-invoke-{seq,64,p50} <ours÷raw>" with both
// figures, measured side by side in one run by benchutil.Compare.
func BenchmarkInvokeRatio(b *testing.B) {
	ours, raw, sameWire := benchSetups(b, needBroker(b))
	ctx := context.Background()
	if err := benchutil.Compare("nats-invoke", 64, ratioWindow, ratioCalls,
		benchutil.Side{Name: "nats bridge", Call: func() error { return ours(ctx) }},
		benchutil.Side{Name: "raw nats.go", Call: func() error { return raw(ctx) }}); err != nil {
		b.Fatal(err)
	}
	// Context for the figure above, not the target: raw nats.go sending the same
	// response headers as the bridge.
	if err := benchutil.Compare("nats-invoke-vs-samewire", 64, ratioWindow, ratioCalls,
		benchutil.Side{Name: "nats bridge", Call: func() error { return ours(ctx) }},
		benchutil.Side{Name: "raw nats.go + WIRE.md headers", Call: func() error { return sameWire(ctx) }}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() { // the work above is the measurement
	}
}

// ratioWindow and ratioCalls size BenchmarkInvokeRatio: time per op over ratioWindow per
// side and case, latency over ratioCalls sequential calls per side.
const (
	ratioWindow = time.Second
	ratioCalls  = 2000
)
