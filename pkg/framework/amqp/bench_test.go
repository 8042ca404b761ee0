package amqp_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

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
	if _, err := server.RegisterCommand(context.Background(), svc, echoHandler, bridge.CommandOptions{}); err != nil {
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
	dial := func() *amqp091.Connection {
		c, err := amqp091.Dial(u)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return c
	}
	sc, cc := dial(), dial()
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
	var mu sync.Mutex
	pending := map[string]chan []byte{}
	go func() {
		for d := range replies {
			mu.Lock()
			ch := pending[d.CorrelationId]
			delete(pending, d.CorrelationId)
			mu.Unlock()
			if ch != nil {
				ch <- d.Body
			}
		}
	}()
	return func(ctx context.Context) error {
		id := wire.NewID()
		ch := make(chan []byte, 1)
		mu.Lock()
		pending[id] = ch
		mu.Unlock()
		if err := cch.PublishWithContext(ctx, "", q.Name, false, false, amqp091.Publishing{
			ContentType: "application/json", CorrelationId: id, ReplyTo: rq.Name, Body: body}); err != nil {
			return err
		}
		select {
		case <-ch:
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("raw rpc timed out")
		}
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

// BenchmarkInvoke compares the bridge's Invoke with the raw amqp091 RPC doing the same
// request/reply, sequentially and with 64 calls in flight.
func BenchmarkInvoke(b *testing.B) {
	ours, raw := bridgeRPC(b), rawRPC(b)
	b.Run("amqp/seq", benchSeq(ours))
	b.Run("amqp/64", bench64(ours))
	b.Run("raw/seq", benchSeq(raw))
	b.Run("raw/64", bench64(raw))
}

// latencies returns the p50 and p99 of n sequential calls.
func latencies(b *testing.B, call rpc, n int) (p50, p99 time.Duration) {
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		if err := call(context.Background()); err != nil {
			b.Fatal(err)
		}
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], ds[n*99/100]
}

// measure returns the time per call of call run for d by workers goroutines.
func measure(tb testing.TB, call rpc, workers int, d time.Duration) time.Duration {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for time.Now().Before(deadline) {
				if err := call(context.Background()); err != nil {
					tb.Error(err)
					return
				}
				n++
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total == 0 {
		tb.Fatal("no call completed")
	}
	return time.Since(start) / time.Duration(total)
}

// BenchmarkInvokeRatio prints "ratio <case> <ours÷raw time per op>" lines and the
// sequential p50/p99 latencies of both; its own ns/op is meaningless. It times the calls
// itself (3s per case) because testing.Benchmark deadlocks inside a running benchmark
// (both take the testing package's benchmark lock). Run it with
// go test -run '^$' -bench InvokeRatio -benchtime 1x.
func BenchmarkInvokeRatio(b *testing.B) {
	ours, raw := bridgeRPC(b), rawRPC(b)
	for range 200 { // warm up both paths
		_ = ours(context.Background())
		_ = raw(context.Background())
	}
	for _, c := range []struct {
		name    string
		workers int
	}{{"seq", 1}, {"64", 64}} {
		o := measure(b, ours, c.workers, 3*time.Second)
		r := measure(b, raw, c.workers, 3*time.Second)
		fmt.Printf("bench amqp-invoke-%s ours %d ns/op, raw %d ns/op\n", c.name, o.Nanoseconds(), r.Nanoseconds())
		fmt.Printf("ratio amqp-invoke-%s %.2f\n", c.name, float64(o)/float64(r))
	}
	o50, o99 := latencies(b, ours, 2000)
	r50, r99 := latencies(b, raw, 2000)
	fmt.Printf("latency amqp-invoke-seq ours p50 %s p99 %s, raw p50 %s p99 %s\n", o50, o99, r50, r99)
	fmt.Printf("ratio amqp-invoke-p50 %.2f\n", float64(o50)/float64(r50))
	for b.Loop() {
	}
}

var _ = amqp.Name
