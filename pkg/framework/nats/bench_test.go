package nats_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

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
func benchSetups(tb testing.TB, u string) (ours, raw invoker) {
	caller := startBridge(tb, u, pnats.WithLocalDelivery(false))
	handler := startBridge(tb, u)
	callee := addr(uniq("Bench"), "echo")
	if _, err := handler.RegisterCommand(context.Background(), callee, echo, bridge.CommandOptions{}); err != nil {
		tb.Fatal(err)
	}
	from := addr("BenchCaller", "run")
	ours = func(ctx context.Context) error {
		_, err := caller.Invoke(ctx, command(from, callee, benchPayload), 10*time.Second)
		return err
	}

	cmd := command(from, callee, benchPayload)
	reqBody, _ := wire.Encode(cmd)
	resp := &wire.Message{ID: cmd.ID, Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommandSuccessResponse, Sender: callee, Receiver: &from, CorrelationID: cmd.CorrelationID, Payload: []byte(`"` + benchPayload + `"`)}
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
	return ours, raw
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
	ours, raw := benchSetups(b, needBroker(b))
	b.Run("nats", func(b *testing.B) { runSeq(b, ours) })
	b.Run("raw", func(b *testing.B) { runSeq(b, raw) })
	b.Run("nats-64", func(b *testing.B) { run64(b, ours) })
	b.Run("raw-64", func(b *testing.B) { run64(b, raw) })
}

// BenchmarkInvokeRatio prints, once, "ratio nats-invoke-seq <n>" and
// "ratio nats-invoke-64 <n>" (ours ÷ raw time per op, measured side by side for about
// ratioWindow each; testing.Benchmark cannot be nested in a running benchmark) and the
// sequential p50/p99 latency of both.
func BenchmarkInvokeRatio(b *testing.B) {
	if b.N > 1 {
		b.Skip("runs once")
	}
	ours, raw := benchSetups(b, needBroker(b))
	seqOurs, seqRaw := timePerOp(b, ours, 1), timePerOp(b, raw, 1)
	parOurs, parRaw := timePerOp(b, ours, 64), timePerOp(b, raw, 64)
	fmt.Printf("ns/op nats-invoke-seq ours %.0f raw %.0f\n", seqOurs, seqRaw)
	fmt.Printf("ns/op nats-invoke-64 ours %.0f raw %.0f\n", parOurs, parRaw)
	fmt.Printf("ratio nats-invoke-seq %.3f\n", seqOurs/seqRaw)
	fmt.Printf("ratio nats-invoke-64 %.3f\n", parOurs/parRaw)
	p50o, p99o := latencies(b, ours, 3000)
	p50r, p99r := latencies(b, raw, 3000)
	fmt.Printf("latency nats-invoke-seq ours p50 %s p99 %s raw p50 %s p99 %s\n", p50o, p99o, p50r, p99r)
	fmt.Printf("ratio nats-invoke-p50 %.3f\n", float64(p50o)/float64(p50r))
}

// ratioWindow is how long timePerOp measures each case.
const ratioWindow = 2 * time.Second

// timePerOp runs inv from workers goroutines for ratioWindow (after a short warm-up) and
// returns the wall time per completed call in ns.
func timePerOp(tb testing.TB, inv invoker, workers int) float64 {
	measure := func(d time.Duration) (int64, time.Duration) {
		var n atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					if err := inv(context.Background()); err != nil {
						tb.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return n.Load(), time.Since(start)
	}
	measure(200 * time.Millisecond)
	n, el := measure(ratioWindow)
	return float64(el.Nanoseconds()) / float64(max(n, 1))
}

// latencies measures n sequential calls and returns the p50 and p99.
func latencies(tb testing.TB, inv invoker, n int) (p50, p99 time.Duration) {
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if err := inv(context.Background()); err != nil {
			tb.Fatal(err)
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[n/2], d[n*99/100]
}
