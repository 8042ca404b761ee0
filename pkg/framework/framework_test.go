package framework_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/echotest"
	"github.com/purista-go/purista/pkg/framework/memory"
	"github.com/purista-go/purista/pkg/framework/wire"
)

type (
	echoIn    = echotest.In
	echoOut   = echotest.Out
	logBuffer = echotest.LogBuffer
)

var (
	echoContract = echotest.EchoContract
	echo         = echotest.Echo
	stall        = echotest.Stall
	relay        = echotest.Relay
	echoService  = echotest.EchoService
	relayService = echotest.RelayService
	missing      = framework.Command[echoIn, echoOut](framework.NewContract("Nobody", "1"), "nothing", framework.WithTimeout(time.Hour))
)

func start(t *testing.T, opts ...framework.StartOption) (*framework.Runtime, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts = append([]framework.StartOption{framework.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{echoService(), relayService()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	return rt, logs
}

// TestInvokeOutcomes checks what a caller gets for every way a command can end. No case
// depends on how fast anything runs: the timeouts are decided by the handler blocking
// until its deadline, and a call that should fail fast instead of waiting for its
// (hour-long) timeout would end with the test's one-minute deadline, a 504, not the 503.
func TestInvokeOutcomes(t *testing.T) {
	rt, logs := start(t)
	base, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ctx := rt.Client(base)
	tests := []struct {
		name       string
		cmd        framework.CommandRef[echoIn, echoOut]
		in         echoIn
		opts       framework.InvokeOptions
		wantStatus int
		handled    bool
		wantIs     error
	}{
		{name: "success", cmd: echo, in: echoIn{Text: "hi"}, wantStatus: 200},
		{name: "success through a second service", cmd: relay, in: echoIn{Text: "hi"}, wantStatus: 200},
		{name: "handled error crosses intact", cmd: echo, in: echoIn{Text: "x", Mode: "handled"}, wantStatus: 409, handled: true},
		{name: "handled error crosses two hops", cmd: relay, in: echoIn{Text: "x", Mode: "handled"}, wantStatus: 409, handled: true},
		{name: "unhandled error is masked", cmd: echo, in: echoIn{Text: "x", Mode: "unhandled"}, wantStatus: 500},
		{name: "panic is masked", cmd: echo, in: echoIn{Text: "x", Mode: "panic"}, wantStatus: 500},
		{name: "invalid input is a handled 400", cmd: echo, in: echoIn{Text: ""}, wantStatus: 400, handled: true},
		{name: "invalid output is an unhandled 500", cmd: echo, in: echoIn{Text: "x", Mode: "badOutput"}, wantStatus: 500},
		// The command's timeout bounds both the caller's wait and the handler's deadline:
		// whichever fires first, the caller gets an unhandled 504 that is ErrTimeout.
		{name: "timeout is an unhandled 504", cmd: stall, in: echoIn{Text: "x", Mode: "block"}, wantStatus: 504, wantIs: bridge.ErrTimeout},
		{name: "timeout of the caller's shorter wait is an unhandled 504", cmd: stall, in: echoIn{Text: "x", Mode: "block"},
			opts: framework.InvokeOptions{Timeout: 20 * time.Millisecond}, wantStatus: 504, wantIs: bridge.ErrTimeout},
		{name: "timeout of the handler's shorter deadline is an unhandled 504", cmd: stall, in: echoIn{Text: "x", Mode: "block"},
			opts: framework.InvokeOptions{Timeout: time.Hour}, wantStatus: 504, wantIs: bridge.ErrTimeout},
		{name: "unknown command fails fast with 503", cmd: missing, in: echoIn{Text: "x"}, wantStatus: 503, wantIs: bridge.ErrNoHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.cmd.InvokeWith(ctx, tt.in, tt.opts)
			if got := framework.StatusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (err %v), want %d", got, err, tt.wantStatus)
			}
			var he *framework.HandledError
			if errors.As(err, &he) != tt.handled {
				t.Fatalf("handled = %v, want %v (%v)", !tt.handled, tt.handled, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if tt.wantStatus == 200 && out.Text != tt.in.Text {
				t.Fatalf("out = %+v", out)
			}
			if tt.wantStatus == 500 && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("cause leaked to the caller: %v", err)
			}
		})
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("masked cause not logged at the callee:\n%s", logs.String())
	}
}

func TestHandledErrorData(t *testing.T) {
	rt, _ := start(t)
	_, err := echo.Invoke(rt.Client(context.Background()), echoIn{Text: "abc", Mode: "handled"})
	var he *framework.HandledError
	if !errors.As(err, &he) {
		t.Fatalf("want *HandledError, got %T %v", err, err)
	}
	var data map[string]string
	if err := he.DecodeData(&data); err != nil || data["text"] != "abc" || he.Message != "conflict on abc" {
		t.Fatalf("data %v (%v), message %q", data, err, he.Message)
	}
	_, err = echo.Invoke(rt.Client(context.Background()), echoIn{})
	if !errors.As(err, &he) {
		t.Fatal(err)
	}
	var issues []framework.ValidationIssue
	if err := he.DecodeData(&issues); err != nil || len(issues) == 0 || issues[0].Field != "/text" {
		t.Fatalf("validation data %+v (%v), want an issue on /text", issues, err)
	}
}

func TestPropagation(t *testing.T) {
	rt, _ := start(t)
	out, err := relay.InvokeWith(rt.Client(context.Background()), echoIn{Text: "t"},
		framework.InvokeOptions{PrincipalID: "alice", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Principal != "alice" || out.Tenant != "acme" || len(out.TraceID) != 32 {
		t.Fatalf("principal/tenant/trace not propagated through two hops: %+v", out)
	}
}

func TestSuccessEventReachesSubscription(t *testing.T) {
	got := make(chan echoOut, 1)
	sub := framework.NewService(framework.NewContract("Audit", "1"), "audits")
	framework.Subscribe(sub, "onEchoed", echo.SuccessEvent(), func(c *framework.Context, body echoOut) error {
		got <- body
		return nil
	})
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{echoService(), sub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	if _, err := echo.Invoke(rt.Client(context.Background()), echoIn{Text: "evt"}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if b.Text != "evt" {
			t.Fatalf("body %+v", b)
		}
	case <-time.After(time.Minute):
		t.Fatal("success event not delivered")
	}
}

func TestSubscriptionRetriesThenDeadLetter(t *testing.T) {
	ticker := framework.NewContract("Ticker", "1")
	ev := framework.Event[map[string]int](ticker, "tick")
	emitter := framework.NewService(ticker, "ticks")
	trigger := framework.Command[struct{}, struct{}](ticker, "tick")
	framework.Handle(emitter, trigger, func(c *framework.Context, _ struct{}) (struct{}, error) {
		return struct{}{}, ev.Emit(c, map[string]int{"n": 1})
	})
	var mu sync.Mutex
	attempts := 0
	sub := framework.NewService(framework.NewContract("Flaky", "1"), "always fails")
	framework.Subscribe(sub, "onTick", ev, func(c *framework.Context, _ map[string]int) error {
		mu.Lock()
		attempts++
		mu.Unlock()
		return errors.New("downstream is down")
	}, framework.WithRetry(bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}))
	b := memory.New()
	rt, err := framework.Start(context.Background(), b, []*framework.Service{emitter, sub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	dead := make(chan bridge.DeadLetter, 1)
	if _, err := b.OnDeadLetter(context.Background(), wire.Address{}, func(_ context.Context, dl bridge.DeadLetter) { dead <- dl }); err != nil {
		t.Fatal(err)
	}
	if _, err := trigger.Invoke(rt.Client(context.Background()), struct{}{}); err != nil {
		t.Fatal(err)
	}
	select {
	case dl := <-dead:
		if dl.Attempts != 3 || !strings.Contains(dl.Reason, "downstream is down") || dl.Subscriber.ServiceTarget != "onTick" {
			t.Fatalf("dead letter %+v", dl)
		}
	case <-time.After(time.Minute):
		t.Fatal("no dead letter")
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3", attempts)
	}
}

func TestDefinitionErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() *framework.Service
		want  string
	}{
		{"command of another contract", func() *framework.Service {
			s := framework.NewService(framework.NewContract("Other", "1"), "")
			framework.Handle(s, echo, func(*framework.Context, echoIn) (echoOut, error) { return echoOut{}, nil })
			return s
		}, "declared from the contract Echo v1, not from this service's Other v1"},
		{"command of another version", func() *framework.Service {
			s := framework.NewService(framework.NewContract("Echo", "2"), "")
			framework.Handle(s, echo, func(*framework.Context, echoIn) (echoOut, error) { return echoOut{}, nil })
			return s
		}, "declared from the contract Echo v1"},
		{"zero CommandRef", func() *framework.Service {
			s := framework.NewService(echoContract, "")
			framework.Handle(s, framework.CommandRef[echoIn, echoOut]{}, func(*framework.Context, echoIn) (echoOut, error) { return echoOut{}, nil })
			return s
		}, "zero command or event reference"},
		{"zero EventRef", func() *framework.Service {
			s := framework.NewService(framework.NewContract("S", "1"), "")
			framework.Subscribe(s, "onX", framework.EventRef[echoOut]{}, func(*framework.Context, echoOut) error { return nil })
			return s
		}, "zero command or event reference"},
		{"input type without a schema", func() *framework.Service {
			s := framework.NewService(framework.NewContract("S", "1"), "")
			ref := framework.Command[chan int, echoOut](framework.NewContract("S", "1"), "chan")
			framework.Handle(s, ref, func(*framework.Context, chan int) (echoOut, error) { return echoOut{}, nil })
			return s
		}, "chan"},
		{"duplicate command", func() *framework.Service {
			s := framework.NewService(echoContract, "")
			h := func(*framework.Context, echoIn) (echoOut, error) { return echoOut{}, nil }
			framework.Handle(s, echo, h)
			framework.Handle(s, echo, h)
			return s
		}, "registered twice"},
		{"subscription without event name", func() *framework.Service {
			s := framework.NewService(framework.NewContract("S", "1"), "")
			framework.Subscribe(s, "onX", relay.SuccessEvent(), func(*framework.Context, echoOut) error { return nil })
			return s
		}, "declares WithSuccessEvent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := tt.build()
			err := svc.Err()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, framework.ErrInvalidDefinition) {
				t.Fatalf("Err() = %v, want ErrInvalidDefinition containing %q", err, tt.want)
			}
			if _, err := framework.Start(context.Background(), memory.New(), []*framework.Service{svc}); err == nil {
				t.Fatal("Start accepted an invalid service")
			}
		})
	}
}

func TestHealthHandler(t *testing.T) {
	b := memory.New()
	rt, err := framework.Start(context.Background(), b, []*framework.Service{echoService()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	srv := httptest.NewServer(rt.HealthHandler())
	t.Cleanup(srv.Close)
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/healthz") != 200 || get("/readyz") != 200 {
		t.Fatal("want healthy")
	}
	b.SetHealthy(bridge.ErrUnavailable)
	if get("/readyz") != 503 || get("/healthz") != 200 {
		t.Fatal("readiness must follow the bridge, liveness must not")
	}
	b.SetHealthy(nil)
	if get("/readyz") != 200 {
		t.Fatal("want ready again")
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
