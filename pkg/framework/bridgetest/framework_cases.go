package bridgetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
)

// frameworkCases run typed services through the framework's runtime on the bridge: what
// a user sees, end to end. Each service runs on its own bridge instance, so every call
// crosses the transport.
func frameworkCases() []Case {
	return []Case{
		{"FrameworkChainPropagatesTraceAndPrincipal", caseFrameworkChain},
		{"FrameworkHandledErrorCrossesTwoHops", caseFrameworkHandled},
		{"FrameworkUnhandledErrorMasked", caseFrameworkUnhandled},
		{"FrameworkInvalidInputIsHandled400", caseFrameworkInvalidInput},
		{"FrameworkSuccessEventReachesSubscription", caseFrameworkSuccessEvent},
		{"FrameworkForcedStopAnswers503", caseFrameworkForcedStop},
	}
}

type chainIn struct {
	Mode string `json:"mode,omitempty"`
	Name string `json:"name" jsonschema:"minLength=1"`
}

// chainOut collects, hop by hop, what each service saw.
type chainOut struct {
	Hops []hop `json:"hops"`
}

type hop struct {
	Service   string `json:"service"`
	TraceID   string `json:"traceId"`
	Principal string `json:"principal"`
	Tenant    string `json:"tenant"`
}

// chain starts three services A → B → C, each on its own bridge, and returns the
// command of A and a context to call it from.
func chain(t *testing.T, h Harness) (framework.CommandRef[chainIn, chainOut], *framework.Client) {
	t.Helper()
	names := []string{uniq("FwA"), uniq("FwB"), uniq("FwC")}
	cmds := make([]framework.CommandRef[chainIn, chainOut], 3)
	for i, n := range names {
		cmds[i] = framework.Command[chainIn, chainOut](framework.NewContract(n, "1"), "run", framework.WithTimeout(h.Wait))
	}
	var ctx *framework.Client
	for i, n := range names {
		svc := framework.NewService(framework.NewContract(n, "1"), "conformance chain hop")
		i, n := i, n
		framework.Handle(svc, cmds[i], func(c *framework.Context, in chainIn) (chainOut, error) {
			me := hop{Service: n, TraceID: c.TraceID(), Principal: c.PrincipalID(), Tenant: c.TenantID()}
			if i == len(names)-1 {
				switch in.Mode {
				case "handled":
					return chainOut{}, framework.NewHandledError(418, "teapot at the end of the chain", map[string]string{"hop": n})
				case "unhandled":
					return chainOut{}, errors.New("secret cause s3cr3t")
				}
				return chainOut{Hops: []hop{me}}, nil
			}
			out, err := cmds[i+1].Invoke(c, in)
			if err != nil {
				return chainOut{}, err
			}
			out.Hops = append([]hop{me}, out.Hops...)
			return out, nil
		})
		rt, err := framework.Start(h.ctx(t), h.newBridge(t), []*framework.Service{svc})
		if err != nil {
			t.Fatalf("start service %s: %v", n, err)
		}
		t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
		if i == 0 {
			ctx = rt.Client(h.ctx(t))
		}
	}
	return cmds[0], ctx
}

func caseFrameworkChain(t *testing.T, h Harness) {
	t.Parallel()
	run, ctx := chain(t, h)
	out, err := run.InvokeWith(ctx, chainIn{Name: "x"}, framework.InvokeOptions{PrincipalID: "alice", TenantID: "acme"})
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if len(out.Hops) != 3 {
		t.Fatalf("%d hops, want 3: %+v", len(out.Hops), out.Hops)
	}
	for _, hp := range out.Hops {
		if hp.TraceID != out.Hops[0].TraceID || len(hp.TraceID) != 32 {
			t.Fatalf("trace id not propagated: %+v", out.Hops)
		}
		if hp.Principal != "alice" || hp.Tenant != "acme" {
			t.Fatalf("principal/tenant not propagated at %s: %+v", hp.Service, hp)
		}
	}
}

func caseFrameworkHandled(t *testing.T, h Harness) {
	t.Parallel()
	run, ctx := chain(t, h)
	_, err := run.Invoke(ctx, chainIn{Name: "x", Mode: "handled"})
	var he *framework.HandledError
	if !errors.As(err, &he) || he.Status != 418 || he.Message != "teapot at the end of the chain" {
		t.Fatalf("want the handled 418 from the end of the chain, got %T %v", err, err)
	}
	var data map[string]string
	if err := he.DecodeData(&data); err != nil || !strings.HasPrefix(data["hop"], "FwC") {
		t.Fatalf("data %v (%v)", data, err)
	}
}

func caseFrameworkUnhandled(t *testing.T, h Harness) {
	t.Parallel()
	run, ctx := chain(t, h)
	_, err := run.Invoke(ctx, chainIn{Name: "x", Mode: "unhandled"})
	var ue *framework.UnhandledError
	if !errors.As(err, &ue) || ue.Status != 500 {
		t.Fatalf("want an unhandled 500, got %T %v", err, err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("the cause leaked to the caller: %v", err)
	}
}

func caseFrameworkInvalidInput(t *testing.T, h Harness) {
	t.Parallel()
	run, ctx := chain(t, h)
	_, err := run.Invoke(ctx, chainIn{})
	var he *framework.HandledError
	if !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("want a handled 400, got %T %v", err, err)
	}
	var issues []framework.ValidationIssue
	if err := he.DecodeData(&issues); err != nil || len(issues) == 0 || issues[0].Field != "/name" {
		t.Fatalf("want an issue on /name, got %+v (%v)", issues, err)
	}
}

func caseFrameworkSuccessEvent(t *testing.T, h Harness) {
	t.Parallel()
	svcName := uniq("FwEvt")
	cmd := framework.Command[chainIn, chainOut](framework.NewContract(svcName, "1"), "make", framework.WithSuccessEvent(uniq("made")))
	producer := framework.NewService(framework.NewContract(svcName, "1"), "produces")
	framework.Handle(producer, cmd, func(c *framework.Context, in chainIn) (chainOut, error) {
		return chainOut{Hops: []hop{{Service: in.Name}}}, nil
	})
	got := make(chan chainOut, 4)
	consumer := framework.NewService(framework.NewContract(uniq("FwSub"), "1"), "consumes")
	framework.Subscribe(consumer, "onMade", cmd.SuccessEvent(), func(c *framework.Context, body chainOut) error {
		got <- body
		return nil
	})
	var ctx *framework.Client
	for i, svc := range []*framework.Service{consumer, producer} {
		rt, err := framework.Start(h.ctx(t), h.newBridge(t), []*framework.Service{svc})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
		if i == 1 {
			ctx = rt.Client(h.ctx(t))
		}
	}
	if _, err := cmd.Invoke(ctx, chainIn{Name: "evt"}); err != nil {
		t.Fatalf("invoke: %v", err)
	}
	h.eventually(t, "the success event at the subscription", func() bool { return len(got) > 0 })
	if b := <-got; len(b.Hops) != 1 || b.Hops[0].Service != "evt" {
		t.Fatalf("event body %+v", b)
	}
}

// caseFrameworkForcedStop: a handler that honours its context and returns ctx.Err() when
// the shutdown timeout cuts it off gives its caller an unhandled 503 (the service
// stopped), never a masked 500, a 504 or a wait for the timeout.
func caseFrameworkForcedStop(t *testing.T, h Harness) {
	t.Parallel()
	svcName := uniq("FwStop")
	cmd := framework.Command[chainIn, chainOut](framework.NewContract(svcName, "1"), "block", framework.WithTimeout(refuseTimeout))
	const n = 3
	started := make(chan struct{}, n)
	svc := framework.NewService(framework.NewContract(svcName, "1"), "blocks until stopped")
	framework.Handle(svc, cmd, func(c *framework.Context, _ chainIn) (chainOut, error) {
		started <- struct{}{}
		<-c.Done()
		return chainOut{}, c.Err()
	})
	cb := h.newBridge(t)
	callee, err := framework.Start(h.ctx(t), cb, []*framework.Service{svc})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	caller, err := framework.Start(h.ctx(t), h.newBridge(t), nil)
	if err != nil {
		t.Fatalf("start the caller: %v", err)
	}
	t.Cleanup(func() { _ = caller.Shutdown(context.Background()) })
	errs := make(chan error, n)
	ctx := caller.Client(h.ctx(t))
	for range n {
		go func() { // ends when Invoke returns, at the latest at ctx's deadline
			_, err := cmd.Invoke(ctx, chainIn{Name: "x"})
			errs <- err
		}()
	}
	for range n {
		await(t, h, "every handler to start", started)
	}
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	closed := beginClose(t, h, cb, func() error { return callee.Shutdown(sctx) })
	stop() // the shutdown timeout passes
	if err := await(t, h, "Shutdown to return once its ctx ended", closed); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown past its deadline = %v, want an error wrapping context.Canceled", err)
	}
	for range n {
		err := await(t, h, "every caller's answer", errs)
		var ue *framework.UnhandledError
		if !errors.As(err, &ue) || ue.Status != 503 {
			t.Errorf("a caller of a handler cut off by the shutdown got %v, want an unhandled 503", err)
		}
	}
}
