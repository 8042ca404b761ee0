package amqp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/internal/benchutil"
	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// rpc is one request/reply implementation under benchmark.
type rpc func(ctx context.Context) error

// bridgeRPC sets up a caller and a server bridge (separate connections, as two services)
// with an echo command and returns the invoke.
func bridgeRPC(b testing.TB) rpc {
	u := brokerURL(b)
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "Bench" + id, ServiceVersion: "1", ServiceTarget: "echo"}
	from := wire.Address{ServiceName: "BenchCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	caller, server := startBridge(b, u), startBridge(b, u)
	// Like the raw responder, the handler does no JSON work of its own: it answers with
	// fixed bytes (its input); the bridge still decodes the command and encodes the response.
	output := json.RawMessage(`{"email":"alice@example.com","name":"Alice"}`)
	answer := func(context.Context, *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: output}
	}
	if _, err := server.RegisterCommand(context.Background(), svc, answer, bridge.CommandOptions{}); err != nil {
		b.Fatal(err)
	}
	return func(ctx context.Context) error {
		_, err := caller.Invoke(ctx, cmdTo(from, svc, `{"email":"alice@example.com","name":"Alice"}`), 10*time.Second)
		return err
	}
}

// rawRPC is the classic amqp091 RPC (default exchange, server queue, exclusive reply
// queue, correlationId, no confirms, auto-ack) with the bridge's payload size: the body is
// an encoded PURISTA command and the reply echoes it.
func rawRPC(b testing.TB) rpc {
	u := brokerURL(b)
	body, _ := wire.Encode(cmdTo(wire.Address{ServiceName: "BenchCaller0123456789", ServiceVersion: "1", ServiceTarget: "run"},
		wire.Address{ServiceName: "Bench0123456789", ServiceVersion: "1", ServiceTarget: "echo"}, `{"email":"alice@example.com","name":"Alice"}`))
	sc, cc := rawDial(b, u), rawDial(b, u)
	sch, _ := sc.Channel()
	q, err := sch.QueueDeclare("purista.bench.raw."+wire.NewID()[:10], false, true, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	reqs, err := sch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for d := range reqs {
			_ = sch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false,
				amqp091.Publishing{ContentType: "application/json", CorrelationId: d.CorrelationId, Body: d.Body})
		}
	}()
	cch, _ := cc.Channel()
	rq, err := cch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	replies, err := cch.Consume(rq.Name, "", true, true, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	calls := newRPCCalls(replies)
	return func(ctx context.Context) error {
		return calls.call(func(id string) error {
			return cch.PublishWithContext(ctx, "", q.Name, false, false, amqp091.Publishing{
				ContentType: "application/json", CorrelationId: id, ReplyTo: rq.Name, Body: body})
		})
	}
}

// rawDial opens a plain amqp091 connection to u, closed with tb.
func rawDial(tb testing.TB, u string) *amqp091.Connection {
	c, err := amqp091.Dial(u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// rpcCalls matches the replies of a raw RPC client to its calls by correlation id.
type rpcCalls struct {
	mu      sync.Mutex
	pending map[string]chan []byte
}

// newRPCCalls starts handing replies to their calls; that ends when replies is closed
// (with its connection, in the test's cleanup).
func newRPCCalls(replies <-chan amqp091.Delivery) *rpcCalls {
	c := &rpcCalls{pending: map[string]chan []byte{}}
	go func() {
		for d := range replies {
			c.mu.Lock()
			ch := c.pending[d.CorrelationId]
			delete(c.pending, d.CorrelationId)
			c.mu.Unlock()
			if ch != nil {
				ch <- d.Body
			}
		}
	}()
	return c
}

// call publishes a request with a new correlation id and waits (at most 10 s) for its reply.
func (c *rpcCalls) call(publish func(id string) error) error {
	id := wire.NewID()
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	if err := publish(id); err != nil {
		c.forget(id)
		return err
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		c.forget(id)
		return fmt.Errorf("raw rpc %s timed out", id)
	}
}

// forget removes the pending call id, whose reply will not be waited for.
func (c *rpcCalls) forget(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// rawSameWireRPC is the raw amqp091 RPC on the bridge's wire, the baseline of the
// samewire ratios: it sends the bytes the wire format requires and nothing else. Commands
// go to the headers exchange with the headers and properties of docs/wire-format.md
// (mandatory) and
// reach a command queue bound on them; the responder replies straight to the caller's
// reply queue (default exchange, routing key = the queue) with the encoded response in
// the body and the properties the bridge's replies carry (contentType, contentEncoding,
// correlationId, messageId), no headers; right after it, on the same channel, it publishes
// the response's copy for subscriptions to the headers exchange with the response's
// headers (no replyTo) and the properties of the bridge's copy, as the wire format
// requires (see amqp.WithResponseCopies). The reply queue is bound on replyTo as the
// bridge's is. Bodies and headers are built once: no JSON work, no confirms, auto-ack.
func rawSameWireRPC(b testing.TB) rpc {
	u := brokerURL(b)
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "BenchSame" + id, ServiceVersion: "1", ServiceTarget: "echo"}
	from := wire.Address{ServiceName: "BenchSameCaller" + id, ServiceVersion: "1", ServiceTarget: "run", InstanceID: wire.NewID()}
	cmd := cmdTo(from, svc, `{"email":"alice@example.com","name":"Alice"}`)
	body, _ := wire.Encode(cmd)
	sc, cc := rawDial(b, u), rawDial(b, u)
	sch, _ := sc.Channel()
	if err := sch.ExchangeDeclare(wire.AMQPExchange, amqp091.ExchangeHeaders, true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	q, err := sch.QueueDeclare(wire.AMQPCommandQueue(svc), false, true, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := sch.QueueBind(q.Name, "", wire.AMQPExchange, false, tableOf(wire.AMQPCommandBindingArgs(svc))); err != nil {
		b.Fatal(err)
	}
	reqs, err := sch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	cch, _ := cc.Channel()
	rq, replies := tsReplyQueue(b, cch)
	resp := &wire.Message{ID: cmd.ID, CorrelationID: cmd.CorrelationID, Timestamp: cmd.Timestamp,
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommandSuccessResponse, Sender: svc, Receiver: &from,
		Payload: json.RawMessage(`{"email":"alice@example.com","name":"Alice"}`)}
	resp.Sender.InstanceID = wire.NewID()
	respBody, _ := wire.Encode(resp)
	cmdHeaders, respHeaders := tableOf(amqp.Headers(cmd, "")), tableOf(amqp.Headers(resp, ""))
	go func() {
		for d := range reqs {
			_ = sch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp091.Publishing{
				ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
				CorrelationId: d.CorrelationId, MessageId: resp.ID, Body: respBody})
			_ = sch.PublishWithContext(context.Background(), wire.AMQPExchange, "", false, false, amqp091.Publishing{
				Headers: respHeaders, ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
				DeliveryMode: amqp091.Persistent, CorrelationId: d.CorrelationId, MessageId: resp.ID,
				Timestamp: time.Unix(resp.Timestamp, 0), Type: string(resp.MessageType), Body: respBody})
		}
	}()
	calls := newRPCCalls(replies)
	return func(ctx context.Context) error {
		return calls.call(func(corr string) error {
			return cch.PublishWithContext(ctx, wire.AMQPExchange, "", true, false, amqp091.Publishing{
				Headers: cmdHeaders, ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
				DeliveryMode: amqp091.Persistent, CorrelationId: corr, ReplyTo: rq, MessageId: cmd.ID,
				Timestamp: time.Unix(cmd.Timestamp, 0), Type: string(cmd.MessageType), Body: body})
		})
	}
}

func benchSeq(call rpc) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func bench64(call rpc) func(b *testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := call(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}

// BenchmarkInvoke measures the bridge's Invoke, the raw amqp091 RPC without headers
// (rawRPC) and the raw RPC on the same wire (rawSameWireRPC), sequentially and with 64
// calls in flight, each on its own; BenchmarkInvokeRatio compares them side by side.
func BenchmarkInvoke(b *testing.B) {
	ours, raw := bridgeRPC(b), rawRPC(b)
	b.Run("amqp/seq", benchSeq(ours))
	b.Run("amqp/64", bench64(ours))
	b.Run("raw/seq", benchSeq(raw))
	b.Run("raw/64", bench64(raw))
	// Each with its own set-up, removed when it ends, so that its bindings on the headers
	// exchange do not weigh on the others.
	for _, c := range []struct {
		name  string
		bench func(rpc) func(*testing.B)
	}{{"samewire/seq", benchSeq}, {"samewire/64", bench64}} {
		b.Run(c.name, func(b *testing.B) {
			call := rawSameWireRPC(b) // closed by b's clean-up, after each run
			b.ResetTimer()
			c.bench(call)(b)
		})
	}
}

// BenchmarkInvokeRatio prints the target lines "ratio amqp-samewire-{seq,inflight64,p50}
// <ours÷raw>": the bridge against rawSameWireRPC, raw amqp091 sending the same bytes
// (same bodies, same headers and properties on commands, body-only replies straight to
// the reply queue, each response's copy to the exchange), measured side by side in one
// run by benchutil. As context it then prints the old "ratio amqp-invoke-{seq,64,p50}" against rawRPC, which sends no headers
// and no exchange routing at all: traffic the wire format cannot be.
func BenchmarkInvokeRatio(b *testing.B) {
	ours, same := bridgeRPC(b), rawSameWireRPC(b)
	ctx := context.Background()
	if err := benchutil.CompareAs("amqp-samewire", "inflight64", 64, ratioWindow, ratioCalls,
		benchutil.Side{Name: "amqp bridge", Call: func() error { return ours(ctx) }},
		benchutil.Side{Name: "raw amqp091, same wire", Call: func() error { return same(ctx) }}); err != nil {
		b.Fatal(err)
	}
	raw := rawRPC(b)
	if err := benchutil.Compare("amqp-invoke", 64, ratioWindow, ratioCalls,
		benchutil.Side{Name: "amqp bridge", Call: func() error { return ours(ctx) }},
		benchutil.Side{Name: "raw amqp091, no headers (context)", Call: func() error { return raw(ctx) }}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() { // the work above is the measurement
	}
}

// ratioWindow and ratioCalls size BenchmarkInvokeRatio: time per op over ratioWindow per
// side and case (in benchutil.Rounds alternating rounds: the longer the window, the less
// a burst of load elsewhere on a shared machine weighs), latency over ratioCalls
// sequential calls per side.
const (
	ratioWindow = 2 * time.Second
	ratioCalls  = 2000
)
