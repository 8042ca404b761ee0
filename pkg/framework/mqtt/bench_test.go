package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/internal/benchutil"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// invoker performs one request/reply round trip.
type invoker func(ctx context.Context) error

// bridgeInvoker sets up a caller and a callee bridge (local delivery off, so every call
// crosses the broker) and returns a round trip through Invoke.
func bridgeInvoker(b testing.TB) invoker {
	addr := brokerAddr(b)
	caller := start(b, addr, mqtt.WithLocalDelivery(false))
	callee := start(b, addr)
	to := uniqAddr("BenchCallee", "echo")
	from := uniqAddr("BenchCaller", "run")
	// Like the raw responder, the handler does no JSON work of its own: it answers with
	// fixed bytes (the input); the bridge still decodes the command and encodes the
	// response. Each call is a new command (fresh ids and timestamp) carrying the same
	// payload bytes, as the raw side sends the same request bytes.
	cmd := command(b, from, to, benchInput)
	output, _ := json.Marshal(benchInput)
	register(b, callee, to, func(context.Context, *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: output}
	})
	return func(ctx context.Context) error {
		c := *cmd
		c.ID, c.CorrelationID, c.Timestamp = wire.NewID(), wire.NewID(), wire.NowMillis()
		resp, err := caller.Invoke(ctx, &c, 10*time.Second)
		if err == nil && resp.MessageType != wire.TypeCommandSuccessResponse {
			err = fmt.Errorf("response %s", resp.MessageType)
		}
		return err
	}
}

var benchInput = map[string]string{"email": "alice@example.com", "name": "Alice"}

// rawInvoker is the same request/reply with plain paho v5 clients: the requester
// publishes (QoS 1) with a response topic and correlation data and waits for the reply; the
// responder publishes the reply (QoS 1) to the response topic. The payloads are an encoded
// command and response envelope, so the sizes match.
func rawInvoker(b testing.TB) invoker {
	addr := brokerAddr(b)
	id := wire.NewID()
	reqTopic, respTopic := "bench/raw/"+id+"/req", "bench/raw/"+id+"/resp"
	cmd := command(b, uniqAddr("BenchCaller", "run"), uniqAddr("BenchCallee", "echo"), benchInput)
	reqBody, _ := wire.Encode(cmd)
	respBody, _ := wire.Encode(&wire.Message{ID: cmd.ID, Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommandSuccessResponse, Sender: *cmd.Receiver,
		Receiver: &cmd.Sender, CorrelationID: cmd.CorrelationID, Payload: json.RawMessage(`{"email":"alice@example.com","name":"Alice"}`)})

	responder := dialRaw(b, addr)
	responder.mu.Lock()
	responder.fn = func(p *paho.Publish) {
		go func() {
			_, _ = responder.Publish(context.Background(), &paho.Publish{QoS: 1, Topic: p.Properties.ResponseTopic, Payload: respBody,
				Properties: &paho.PublishProperties{CorrelationData: p.Properties.CorrelationData, ContentType: wire.ContentTypeJSON}})
		}()
	}
	responder.mu.Unlock()
	responder.sub(b, reqTopic)

	var pmu sync.Mutex
	pending := map[string]chan []byte{}
	requester := dialRaw(b, addr)
	requester.mu.Lock()
	requester.fn = func(p *paho.Publish) {
		pmu.Lock()
		ch := pending[string(p.Properties.CorrelationData)]
		pmu.Unlock()
		if ch != nil {
			ch <- p.Payload
		}
	}
	requester.mu.Unlock()
	requester.sub(b, respTopic)
	return func(ctx context.Context) error {
		corr := wire.NewID()
		ch := make(chan []byte, 1)
		pmu.Lock()
		pending[corr] = ch
		pmu.Unlock()
		defer func() { pmu.Lock(); delete(pending, corr); pmu.Unlock() }()
		if _, err := requester.Publish(ctx, &paho.Publish{QoS: 1, Topic: reqTopic, Payload: reqBody,
			Properties: &paho.PublishProperties{ResponseTopic: respTopic, CorrelationData: []byte(corr), ContentType: wire.ContentTypeJSON}}); err != nil {
			return err
		}
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// runSeq runs b.N sequential round trips and reports p50/p99 latency.
func runSeq(b *testing.B, inv invoker) (p50, p99 float64) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := inv(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	p50, p99 = float64(lat[len(lat)/2].Nanoseconds()), float64(lat[len(lat)*99/100].Nanoseconds())
	b.ReportMetric(p50, "p50-ns")
	b.ReportMetric(p99, "p99-ns")
	return p50, p99
}

// run64 runs b.N round trips with 64 in flight.
func run64(b *testing.B, inv invoker) (p50, p99 float64) {
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	var failed atomic.Value
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := inv(ctx); err != nil {
				failed.Store(err)
				return
			}
		}
	})
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return 0, 0
}

// BenchmarkInvoke compares the bridge's Invoke with raw paho v5 request/response, with
// the same payload sizes, sequentially (p50/p99 latency) and with 64 in flight.
func BenchmarkInvoke(b *testing.B) {
	b.Run("mqtt/seq", func(b *testing.B) { runSeq(b, bridgeInvoker(b)) })
	b.Run("raw/seq", func(b *testing.B) { runSeq(b, rawInvoker(b)) })
	b.Run("mqtt/64", func(b *testing.B) { run64(b, bridgeInvoker(b)) })
	b.Run("raw/64", func(b *testing.B) { run64(b, rawInvoker(b)) })
}

// BenchmarkInvokeRatio prints "ratio mqtt-invoke-{seq,64,p50} <ours÷raw>" with both
// figures, measured side by side in one run by benchutil.Compare.
func BenchmarkInvokeRatio(b *testing.B) {
	ours, raw := bridgeInvoker(b), rawInvoker(b)
	ctx := context.Background()
	if err := benchutil.Compare("mqtt-invoke", 64, ratioWindow, ratioCalls,
		benchutil.Side{Name: "mqtt bridge", Call: func() error { return ours(ctx) }},
		benchutil.Side{Name: "raw paho v5", Call: func() error { return raw(ctx) }}); err != nil {
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
