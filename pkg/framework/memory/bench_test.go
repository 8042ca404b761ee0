package memory_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// BenchmarkInvoke measures a raw bridge round trip (encode, route, decode, handle, encode,
// decode) between two instances: sequential latency and 64 calls in flight.
func BenchmarkInvoke(b *testing.B) {
	net := memory.NewNetwork()
	caller, callee := net.NewBridge(), net.NewBridge()
	ctx := context.Background()
	for _, x := range []*memory.Bridge{caller, callee} {
		if err := x.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer x.Close(ctx)
	}
	if _, err := callee.RegisterCommand(ctx, calleeAddr, echoHandler, bridge.CommandOptions{}); err != nil {
		b.Fatal(err)
	}
	cmd := newCommand(`{"email":"ada@example.com","name":"Ada Lovelace"}`)

	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := caller.Invoke(ctx, cmd, time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel64", func(b *testing.B) {
		b.ReportAllocs()
		// RunParallel starts parallelism × GOMAXPROCS goroutines: 64 calls in flight.
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((64 + procs - 1) / procs)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := caller.Invoke(ctx, cmd, time.Second); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
