package framework_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// Shutdown of a runtime: the drain lets in-flight calls finish, and the forced stop
// answers the callers of cut-off handlers.

// gated is a service whose command blocks until release is closed (mode "block": until
// its context ends), announcing on started that it runs.
func gated(started chan<- struct{}, release <-chan struct{}) *framework.Service {
	svc := framework.NewService(framework.NewContract("Gate", "1"), "waits")
	framework.Handle(svc, gate, func(c *framework.Context, in echoIn) (echoOut, error) {
		started <- struct{}{}
		if in.Mode == "block" {
			<-c.Done()
			return echoOut{}, c.Err()
		}
		<-release
		return echoOut{Text: in.Text}, nil
	})
	return svc
}

var gate = framework.Command[echoIn, echoOut](framework.NewContract("Gate", "1"), "wait", framework.WithTimeout(time.Hour))

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{gated(started, release)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := rt.Client(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := gate.Invoke(ctx, echoIn{Text: "slow"})
		done <- err
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- rt.Shutdown(context.Background()) }()
	waitFor(t, "the drain to begin", func() bool { return errors.Is(rt.Healthy(context.Background()), bridge.ErrClosed) })
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a handler still ran", err)
	default:
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight call failed during drain: %v", err)
	}
	if _, err := gate.Invoke(ctx, echoIn{Text: "late"}); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("call after shutdown: %v, want ErrClosed", err)
	}
}

// TestForcedStopAnswers503 checks that a handler cut off by the shutdown timeout gives its
// caller an unhandled 503 (the service stopped), never a masked 500 or a 504, whether it
// returns ctx.Err() at once (as it should) or ignores its context and answers later (its
// answer is then dropped). The callers run on another instance of the network, so that
// only the callee's instance stops.
func TestForcedStopAnswers503(t *testing.T) {
	for _, setting := range []string{"inline", "goroutines"} {
		for _, mode := range []string{"block", "ignore"} {
			t.Run(setting+"/"+mode, func(t *testing.T) {
				var opts []memory.Option
				if setting == "goroutines" {
					opts = append(opts, memory.WithHandlerGoroutines())
				}
				net := memory.NewNetwork()
				logs := &logBuffer{}
				started, release := make(chan struct{}, 3), make(chan struct{})
				var releaseOnce sync.Once
				t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
				callee, err := framework.Start(context.Background(), net.NewBridge(opts...), []*framework.Service{gated(started, release)},
					framework.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
				if err != nil {
					t.Fatal(err)
				}
				caller, err := framework.Start(context.Background(), net.NewBridge(), nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = caller.Shutdown(context.Background()) })
				base, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				const n = 3
				errs := make(chan error, n)
				for range n {
					go func() {
						_, err := gate.Invoke(caller.Client(base), echoIn{Text: "x", Mode: mode})
						errs <- err
					}()
				}
				for range n {
					<-started
				}
				sctx, stop := context.WithCancel(context.Background())
				shut := make(chan error, 1)
				go func() { shut <- callee.Shutdown(sctx) }()
				waitFor(t, "the drain to begin", func() bool { return errors.Is(callee.Healthy(context.Background()), bridge.ErrClosed) })
				stop() // the shutdown timeout passes
				if err := <-shut; !errors.Is(err, context.Canceled) {
					t.Fatalf("Shutdown = %v, want context.Canceled", err)
				}
				if mode == "ignore" && setting == "inline" {
					releaseOnce.Do(func() { close(release) }) // the callers run the handlers themselves
				}
				for range n {
					err := <-errs
					var ue *framework.UnhandledError
					if !errors.As(err, &ue) || ue.Status != 503 {
						t.Fatalf("caller got %v, want an unhandled 503", err)
					}
				}
				if mode == "block" && !strings.Contains(logs.String(), "command cut off by the shutdown") {
					t.Errorf("no warning of the cut-off command:\n%s", logs.String())
				}
			})
		}
	}
}
