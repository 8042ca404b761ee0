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

var benchInput = map[string]string{"email": "alice@example.com", "name": "Alice"}

// bridgeInvoker sets up a caller and a callee bridge (local delivery off, so every call
// crosses the broker) and returns a round trip through Invoke.
func bridgeInvoker(b testing.TB) invoker {
	addr := brokerAddr(b)
	caller := start(b, addr, mqtt.WithLocalDelivery(false))
	callee := start(b, addr)
	to := uniqAddr("BenchCallee", "echo")
	from := uniqAddr("BenchCaller", "run")
	// Like the raw responders, the handler does no JSON work of its own: it answers with
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

// rawPair is a raw paho v5 requester and responder: the requester publishes request
// (QoS 1) with fresh correlation data and waits for the reply with that correlation data
// on its subscription; the responder answers every request with respond(request).
type rawPair struct {
	requester *rawClient
	pmu       sync.Mutex
	pending   map[string]chan struct{}
}

func newRawPair(b testing.TB, addr, reqFilter, respFilter string, respond func(req *paho.Publish) *paho.Publish) *rawPair {
	rp := &rawPair{pending: map[string]chan struct{}{}}
	responder := dialRaw(b, addr)
	responder.mu.Lock()
	responder.fn = func(p *paho.Publish) {
		go func() { _, _ = responder.Publish(context.Background(), respond(p)) }()
	}
	responder.mu.Unlock()
	responder.sub(b, reqFilter)
	rp.requester = dialRaw(b, addr)
	rp.requester.mu.Lock()
	rp.requester.fn = func(p *paho.Publish) {
		rp.pmu.Lock()
		ch := rp.pending[string(p.Properties.CorrelationData)]
		rp.pmu.Unlock()
		if ch != nil {
			ch <- struct{}{}
		}
	}
	rp.requester.mu.Unlock()
	rp.requester.sub(b, respFilter)
	return rp
}

// call publishes req with correlation data corr and waits for the reply.
func (rp *rawPair) call(ctx context.Context, req *paho.Publish, corr string) error {
	ch := make(chan struct{}, 1)
	rp.pmu.Lock()
	rp.pending[corr] = ch
	rp.pmu.Unlock()
	defer func() { rp.pmu.Lock(); delete(rp.pending, corr); rp.pmu.Unlock() }()
	if _, err := rp.requester.Publish(ctx, req); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// benchResponse is the encoded success response to cmd, as the callee bridge sends it.
func benchResponse(cmd *wire.Message, responder string) []byte {
	sender := *cmd.Receiver
	sender.InstanceID = responder
	out, _ := json.Marshal(benchInput)
	body, _ := wire.Encode(&wire.Message{ID: cmd.ID, Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommandSuccessResponse, Sender: sender,
		Receiver: &cmd.Sender, CorrelationID: cmd.CorrelationID, Payload: out})
	return body
}

// sameWireInvoker is raw paho v5 putting on the wire what the bridges do: the encoded
// command (same envelope and size) on its 13-level PURISTA topic with the PURISTA user
// properties, content type, correlation data and expiry of a command, sent to a shared
// subscription of the command filter (with a subscription identifier) and answered with
// the encoded response on the caller's response topic, body-only (content type,
// correlation data and expiry, no user properties), received through the instance's
// response subscription. The ratio against it shows what the bridge costs beyond what the
// wire format itself does.
func sameWireInvoker(b testing.TB) invoker {
	addr := brokerAddr(b)
	from := uniqAddr("BenchCaller", "run")
	from.InstanceID = wire.NewID()
	to := uniqAddr("BenchCallee", "echo")
	cmd := command(b, from, to, benchInput)
	reqBody, _ := wire.Encode(cmd)
	respBody := benchResponse(cmd, wire.NewID())
	var resp wire.Message
	_ = json.Unmarshal(respBody, &resp)
	respTopic := wire.MQTTTopic(wire.TokensOf(&resp))
	var user paho.UserProperties
	wire.VisitHeaders(cmd, func(k, v string) { user.Add(k, v) })
	reqFilter := wire.MQTTCommandFilter(*cmd.Receiver, "purista_bench_"+wire.NewID()[:8])
	rp := newRawPair(b, addr, reqFilter, wire.MQTTResponseFilter(from.InstanceID), func(p *paho.Publish) *paho.Publish {
		return &paho.Publish{QoS: 1, Topic: respTopic, Payload: respBody, Properties: &paho.PublishProperties{
			ContentType: wire.ContentTypeJSON, CorrelationData: p.Properties.CorrelationData, MessageExpiry: p.Properties.MessageExpiry}}
	})
	reqTopic := wire.MQTTTopic(wire.TokensOf(cmd))
	expiry := uint32(10)
	return func(ctx context.Context) error {
		corr := wire.NewID()
		return rp.call(ctx, &paho.Publish{QoS: 1, Topic: reqTopic, Payload: reqBody, Properties: &paho.PublishProperties{
			ContentType: wire.ContentTypeJSON, CorrelationData: []byte(corr), MessageExpiry: &expiry, User: user}}, corr)
	}
}

// noHeaderInvoker is a second baseline, printed as context: the same bodies
// on short topics, with a response topic and correlation data and no user properties on
// either side, which the wire format cannot be.
func noHeaderInvoker(b testing.TB) invoker {
	addr := brokerAddr(b)
	id := wire.NewID()
	reqTopic, respTopic := "bench/raw/"+id+"/req", "bench/raw/"+id+"/resp"
	cmd := command(b, uniqAddr("BenchCaller", "run"), uniqAddr("BenchCallee", "echo"), benchInput)
	reqBody, _ := wire.Encode(cmd)
	respBody := benchResponse(cmd, wire.NewID())
	rp := newRawPair(b, addr, reqTopic, respTopic, func(p *paho.Publish) *paho.Publish {
		return &paho.Publish{QoS: 1, Topic: p.Properties.ResponseTopic, Payload: respBody,
			Properties: &paho.PublishProperties{CorrelationData: p.Properties.CorrelationData, ContentType: wire.ContentTypeJSON}}
	})
	return func(ctx context.Context) error {
		corr := wire.NewID()
		return rp.call(ctx, &paho.Publish{QoS: 1, Topic: reqTopic, Payload: reqBody,
			Properties: &paho.PublishProperties{ResponseTopic: respTopic, CorrelationData: []byte(corr), ContentType: wire.ContentTypeJSON}}, corr)
	}
}

// runSeq runs b.N sequential round trips and reports p50/p99 latency.
func runSeq(b *testing.B, inv invoker) {
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
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// run64 runs b.N round trips with 64 in flight.
func run64(b *testing.B, inv invoker) {
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
}

// BenchmarkInvoke compares the bridge's Invoke with raw paho v5 request/response sending
// the same bytes (samewire) and with the old no-header baseline, sequentially (p50/p99
// latency) and with 64 in flight.
func BenchmarkInvoke(b *testing.B) {
	for _, side := range []struct {
		name string
		inv  func(testing.TB) invoker
	}{{"mqtt", bridgeInvoker}, {"samewire", sameWireInvoker}, {"noheader", noHeaderInvoker}} {
		b.Run(side.name+"/seq", func(b *testing.B) { runSeq(b, side.inv(b)) })
		b.Run(side.name+"/64", func(b *testing.B) { run64(b, side.inv(b)) })
	}
}

// BenchmarkInvokeRatio prints the target lines "ratio mqtt-samewire-{seq,inflight64,p50}
// <ours÷raw>" against sameWireInvoker and, as context, the old no-header lines "ratio
// mqtt-invoke-{seq,64,p50}", each with both figures, measured side by side in one run by
// benchutil.
func BenchmarkInvokeRatio(b *testing.B) {
	ours, same, old := bridgeInvoker(b), sameWireInvoker(b), noHeaderInvoker(b)
	ctx := context.Background()
	side := func(name string, inv invoker) benchutil.Side {
		return benchutil.Side{Name: name, Call: func() error { return inv(ctx) }}
	}
	if err := benchutil.CompareAs("mqtt-samewire", "inflight64", 64, ratioWindow, ratioCalls,
		side("mqtt bridge", ours), side("raw paho v5, same wire", same)); err != nil {
		b.Fatal(err)
	}
	if err := benchutil.Compare("mqtt-invoke", 64, ratioWindow, ratioCalls,
		side("mqtt bridge", ours), side("raw paho v5, no headers", old)); err != nil {
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
