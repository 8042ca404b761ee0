package framework_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

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
var benchEcho = framework.Command[echoIn, echoOut](framework.NewContract("Bench", "1"), "echo")

func benchService() *framework.Service {
	svc := framework.NewService(framework.NewContract("Bench", "1"), "benchmark echo")
	framework.Handle(svc, benchEcho, func(c *framework.Context, in echoIn) (echoOut, error) {
		return echoOut{Text: in.Text}, nil
	})
	return svc
}

func benchRuntime(b *testing.B) *framework.Client {
	b.Helper()
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{benchService()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	return rt.Client(context.Background())
}

var benchIn = echoIn{Text: "hello, world"}

// BenchmarkInvoke compares an invoke through the in-memory bridge with the plain call.
func BenchmarkInvoke(b *testing.B) {
	plain := func() error { _, err := plainEcho(benchIn); return err }
	ctx := benchRuntime(b)
	ours := func() error { _, err := benchEcho.Invoke(ctx, benchIn); return err }
	for _, c := range []struct {
		name string
		call func() error
	}{{"plain", plain}, {"memory", ours}} {
		b.Run(c.name+"/seq", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/64", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkInvokeRatio prints `ratio memory-invoke-{seq,64,p50} <ours÷plain>`, both
// sides measured in the same run; `make bench` collects the lines.
func BenchmarkInvokeRatio(b *testing.B) {
	ctx := benchRuntime(b)
	plain := benchutil.Side{Name: "plain call", Call: func() error { _, err := plainEcho(benchIn); return err }}
	ours := benchutil.Side{Name: "memory invoke", Call: func() error { _, err := benchEcho.Invoke(ctx, benchIn); return err }}
	if err := benchutil.Compare("memory-invoke", 64, time.Second, 20000, ours, plain); err != nil {
		b.Fatal(err)
	}
	// Context for the figure above: the same plain call, but validating its input against
	// the command's JSON Schema as every invoke does. The difference to this one is the
	// cost of the bridge hop and the envelope.
	schema, err := framework.SchemaFor[echoIn]()
	if err != nil {
		b.Fatal(err)
	}
	validated := benchutil.Side{Name: "plain call + input validation", Call: func() error {
		raw, err := json.Marshal(benchIn)
		if err != nil {
			return err
		}
		if issues := schema.Validate(raw); issues != nil {
			return fmt.Errorf("invalid: %v", issues)
		}
		_, err = plainEcho(benchIn)
		return err
	}}
	if err := benchutil.Compare("memory-invoke-vs-validated", 64, time.Second, 20000, ours, validated); err != nil {
		b.Fatal(err)
	}
	for b.Loop() { // the work above is the measurement
	}
}
