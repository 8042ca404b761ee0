package framework_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/purista-go/purista/internal/benchutil"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// plainEcho is the baseline: a plain Go function call that pays the same JSON costs an
// invoke pays at minimum (encode the input, decode it, encode the output, decode it).
func plainEcho(in echoIn) (echoOut, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return echoOut{}, err
	}
	var got echoIn
	if err := json.Unmarshal(raw, &got); err != nil {
		return echoOut{}, err
	}
	res, err := json.Marshal(echoOut{Text: got.Text})
	if err != nil {
		return echoOut{}, err
	}
	var out echoOut
	return out, json.Unmarshal(res, &out)
}

// benchEcho is the benchmarked command: echo with the default timeout, so a loaded
// machine cannot turn a slow run into failures.
var benchEcho = framework.Command[echoIn, echoOut]("Bench", "1", "echo")

func benchService() *framework.Service {
	svc := framework.NewService("Bench", "1", "benchmark echo")
	framework.Handle(svc, benchEcho, func(c *framework.Context, in echoIn) (echoOut, error) {
		return echoOut{Text: in.Text}, nil
	})
	return svc
}

func benchRuntime(b *testing.B) context.Context {
	b.Helper()
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{benchService()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	return rt.Context(context.Background())
}

var benchIn = echoIn{Text: "hello, world"}

// BenchmarkInvoke compares an invoke through the in-memory bridge with the plain call.
func BenchmarkInvoke(b *testing.B) {
	plain := func() error { _, err := plainEcho(benchIn); return err }
	b.Run("plain/seq", benchutil.Sequential(plain))
	b.Run("plain/64", benchutil.InFlight(64, plain))
	ctx := benchRuntime(b)
	ours := func() error { _, err := benchEcho.Invoke(ctx, benchIn); return err }
	b.Run("memory/seq", benchutil.Sequential(ours))
	b.Run("memory/64", benchutil.InFlight(64, ours))
}

// TestRatio prints `ratio <case> <ours÷baseline>` lines under `make bench`.
func TestRatio(t *testing.T) {
	if !benchutil.Enabled(t) {
		return
	}
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{benchService()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	ctx := rt.Context(context.Background())
	plain := func() error { _, err := plainEcho(benchIn); return err }
	ours := func() error { _, err := benchEcho.Invoke(ctx, benchIn); return err }
	benchutil.Compare(t, "memory-invoke-seq", benchutil.Sequential(ours), benchutil.Sequential(plain))
	benchutil.Compare(t, "memory-invoke-64", benchutil.InFlight(64, ours), benchutil.InFlight(64, plain))
}
