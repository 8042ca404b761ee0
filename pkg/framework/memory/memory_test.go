package memory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/bridgetest"
	"github.com/purista-go/purista/pkg/framework/memory"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// networks hands every test (and subtest) a network of its own, shared by all the bridges
// made for that test.
type networks struct {
	mu sync.Mutex
	m  map[*testing.T]*memory.Network
}

func (n *networks) get(t *testing.T) *memory.Network {
	n.mu.Lock()
	defer n.mu.Unlock()
	if net, ok := n.m[t]; ok {
		return net
	}
	net := memory.NewNetwork()
	n.m[t] = net
	t.Cleanup(func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.m, t)
	})
	return net
}

func harness() bridgetest.Harness {
	nets := &networks{m: map[*testing.T]*memory.Network{}}
	return bridgetest.Harness{
		NewBridge: func(t *testing.T) bridge.EventBridge { return nets.get(t).NewBridge() },
		Features:  bridgetest.Features{NoDurable: true},
		Disrupt:   func(t *testing.T) func() { return nets.get(t).Partition() },
		InjectRaw: func(t *testing.T, b bridge.EventBridge, raw []byte) {
			_ = b.(*memory.Bridge).InjectRaw(raw) // errors are the expected outcome for garbage
		},
	}
}

// TestConformance runs the suite on the default bridge (handlers on their callers'
// goroutines) and on bridges WithHandlerGoroutines.
func TestConformance(t *testing.T) {
	t.Run("inline", func(t *testing.T) {
		h := harness()
		h.Features.InlineHandlers = true
		bridgetest.Run(t, h)
	})
	t.Run("goroutines", func(t *testing.T) {
		nets := &networks{m: map[*testing.T]*memory.Network{}}
		h := harness()
		h.NewBridge = func(t *testing.T) bridge.EventBridge { return nets.get(t).NewBridge(memory.WithHandlerGoroutines()) }
		h.Disrupt = func(t *testing.T) func() { return nets.get(t).Partition() }
		bridgetest.Run(t, h)
	})
}

func TestCasesAreNamedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range bridgetest.Cases() {
		if c.Name == "" || c.Run == nil || seen[c.Name] {
			t.Errorf("bad or duplicate case %q", c.Name)
		}
		seen[c.Name] = true
	}
	if len(seen) < 30 {
		t.Errorf("%d cases, want at least 30", len(seen))
	}
}

// started returns n started bridges on one network, closed at the end of the test.
func started(t *testing.T, n int, opts ...memory.Option) []*memory.Bridge {
	t.Helper()
	net := memory.NewNetwork()
	bs := make([]*memory.Bridge, n)
	for i := range bs {
		bs[i] = net.NewBridge(opts...)
		if err := bs[i].Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := bs[i]
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = b.Close(ctx)
		})
	}
	return bs
}

var (
	callerAddr = wire.Address{ServiceName: "Caller", ServiceVersion: "1", ServiceTarget: "run"}
	calleeAddr = wire.Address{ServiceName: "Callee", ServiceVersion: "1", ServiceTarget: "echo"}
)

func newCommand(payload string) *wire.Message {
	to := calleeAddr
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommand, Sender: callerAddr,
		Receiver: &to, CorrelationID: wire.NewID(),
		Payload: json.RawMessage(`{"payload":` + payload + `,"parameter":{}}`),
	}
}

func echoHandler(_ context.Context, cmd *wire.Message) *wire.Message {
	var in wire.CommandPayload
	_ = json.Unmarshal(cmd.Payload, &in)
	return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: in.Payload}
}

func TestResponseDefaultsFilledFromCommand(t *testing.T) {
	bs := started(t, 2)
	if _, err := bs[1].RegisterCommand(context.Background(), calleeAddr, echoHandler, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := newCommand(`"x"`)
	resp, err := bs[0].Invoke(context.Background(), cmd, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != cmd.ID || resp.CorrelationID != cmd.CorrelationID || resp.Sender.InstanceID != bs[1].InstanceID() ||
		!resp.Sender.SameEndpoint(calleeAddr) || resp.Receiver == nil || resp.Receiver.InstanceID != bs[0].InstanceID() {
		t.Errorf("response defaults not filled: %+v", resp)
	}
}

func TestInvokeTimeoutCancelsHandlerWithLongerOwnTimeout(t *testing.T) {
	bs := started(t, 1)
	cancelled := make(chan struct{})
	h := func(ctx context.Context, cmd *wire.Message) *wire.Message {
		<-ctx.Done()
		close(cancelled)
		return nil
	}
	if _, err := bs[0].RegisterCommand(context.Background(), calleeAddr, h, bridge.CommandOptions{Timeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := bs[0].Invoke(context.Background(), newCommand("1"), 50*time.Millisecond); !errors.Is(err, bridge.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("handler ctx not cancelled when the caller gave up")
	}
}

func TestHandlerTimeoutAnswers504(t *testing.T) {
	bs := started(t, 1)
	h := func(ctx context.Context, _ *wire.Message) *wire.Message { <-ctx.Done(); return nil }
	if _, err := bs[0].RegisterCommand(context.Background(), calleeAddr, h, bridge.CommandOptions{Timeout: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	resp, err := bs[0].Invoke(context.Background(), newCommand("1"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var p wire.ErrorPayload
	_ = json.Unmarshal(resp.Payload, &p)
	if resp.MessageType != wire.TypeCommandErrorResponse || p.Status != 504 || *resp.IsHandledError {
		t.Errorf("got %s %+v, want unhandled 504", resp.MessageType, p)
	}
}

func TestPanickingHandlers(t *testing.T) {
	bs := started(t, 1)
	ctx := context.Background()
	if _, err := bs[0].RegisterCommand(ctx, calleeAddr, func(context.Context, *wire.Message) *wire.Message { panic("boom") }, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := bs[0].Invoke(ctx, newCommand("1"), time.Second)
	if err != nil || resp.MessageType != wire.TypeCommandErrorResponse {
		t.Fatalf("panicking command handler: %v %v, want an error response", resp, err)
	}
	dead := make(chan bridge.DeadLetter, 1)
	if _, err := bs[0].OnDeadLetter(ctx, wire.Address{}, func(_ context.Context, dl bridge.DeadLetter) { dead <- dl }); err != nil {
		t.Fatal(err)
	}
	sub := bridge.Subscription{Subscriber: callerAddr, Filter: bridge.Filter{EventName: "e"}, Retry: bridge.RetryPolicy{MaxAttempts: 2, Backoff: bridge.BackoffImmediate}}
	if _, err := bs[0].RegisterSubscription(ctx, sub, func(context.Context, *wire.Message) error { panic("kaboom") }); err != nil {
		t.Fatal(err)
	}
	if err := bs[0].Emit(ctx, &wire.Message{ID: wire.NewID(), MessageType: wire.TypeCustomMessage, Sender: callerAddr, EventName: "e"}); err != nil {
		t.Fatal(err)
	}
	select {
	case dl := <-dead:
		if want := "memory: subscription handler panicked: kaboom"; dl.Attempts != 2 || dl.Reason != want {
			t.Errorf("dead letter after %d attempts, reason %q; want 2, %q", dl.Attempts, dl.Reason, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no dead letter for a panicking subscription handler")
	}
}

func TestSetHealthy(t *testing.T) {
	bs := started(t, 2)
	ctx := context.Background()
	if _, err := bs[1].RegisterCommand(ctx, calleeAddr, echoHandler, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("cable cut")
	bs[0].SetHealthy(cause)
	if err := bs[0].Healthy(ctx); !errors.Is(err, bridge.ErrUnavailable) || !errors.Is(err, cause) {
		t.Errorf("Healthy = %v, want ErrUnavailable and the cause", err)
	}
	if _, err := bs[0].Invoke(ctx, newCommand("1"), time.Second); !errors.Is(err, bridge.ErrUnavailable) {
		t.Errorf("Invoke on a broken instance = %v", err)
	}
	bs[1].SetHealthy(cause) // the only handler instance is unreachable
	bs[0].SetHealthy(nil)
	if _, err := bs[0].Invoke(ctx, newCommand("1"), time.Second); !errors.Is(err, bridge.ErrNoHandler) {
		t.Errorf("Invoke of an unreachable handler = %v, want ErrNoHandler", err)
	}
	bs[1].SetHealthy(nil)
	if _, err := bs[0].Invoke(ctx, newCommand("1"), time.Second); err != nil {
		t.Errorf("Invoke after recovery: %v", err)
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	net := memory.NewNetwork()
	a, b := net.NewBridge(), net.NewBridge(memory.WithMaxConcurrency(4))
	ctx := context.Background()
	for _, x := range []*memory.Bridge{a, b} {
		if err := x.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var handled atomic.Int32
	sub := bridge.Subscription{Subscriber: callerAddr, Filter: bridge.Filter{EventName: "e"},
		Retry: bridge.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Hour}}
	if _, err := b.RegisterSubscription(ctx, sub, func(context.Context, *wire.Message) error {
		handled.Add(1)
		return errors.New("retry in an hour")
	}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := a.Emit(ctx, &wire.Message{ID: wire.NewID(), MessageType: wire.TypeCustomMessage, Sender: callerAddr, EventName: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	for handled.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with pending hour-long retries = %v, want DeadlineExceeded", err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func TestDrainingHandlerMayStillCall(t *testing.T) {
	bs := started(t, 1)
	ctx := context.Background()
	other := wire.Address{ServiceName: "Other", ServiceVersion: "1", ServiceTarget: "x"}
	if _, err := bs[0].RegisterCommand(ctx, other, echoHandler, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	inHandler := make(chan struct{})
	h := func(hctx context.Context, cmd *wire.Message) *wire.Message {
		close(inHandler)
		for !errors.Is(bs[0].Healthy(hctx), bridge.ErrClosed) { // until Close has begun
			time.Sleep(time.Millisecond)
		}
		c := newCommand(`"nested"`)
		c.Receiver = &other
		if _, err := bs[0].Invoke(hctx, c, time.Hour); err != nil {
			return &wire.Message{MessageType: wire.TypeCommandErrorResponse, Payload: json.RawMessage(`{"status":500,"message":"` + err.Error() + `"}`)}
		}
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`true`)}
	}
	if _, err := bs[0].RegisterCommand(ctx, calleeAddr, h, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *wire.Message, 1)
	go func() {
		resp, _ := bs[0].Invoke(ctx, newCommand("1"), time.Hour)
		got <- resp
	}()
	<-inHandler
	if err := bs[0].Close(ctx); err != nil {
		t.Fatal(err)
	}
	if resp := <-got; resp == nil || resp.MessageType != wire.TypeCommandSuccessResponse {
		t.Fatalf("in-flight handler could not call during drain: %+v", resp)
	}
}

func TestInjectRawReportsDrops(t *testing.T) {
	bs := started(t, 1)
	if err := bs[0].InjectRaw([]byte("{")); !errors.Is(err, wire.ErrInvalidMessage) {
		t.Errorf("InjectRaw(garbage) = %v, want wire.ErrInvalidMessage", err)
	}
}

// ExampleNew shows a command handled and invoked in one process.
func ExampleNew() {
	ctx := context.Background()
	b := memory.New()
	if err := b.Start(ctx); err != nil {
		panic(err)
	}
	defer b.Close(ctx)

	greeter := wire.Address{ServiceName: "Greeter", ServiceVersion: "1", ServiceTarget: "greet"}
	_, _ = b.RegisterCommand(ctx, greeter, func(_ context.Context, cmd *wire.Message) *wire.Message {
		var in wire.CommandPayload
		_ = json.Unmarshal(cmd.Payload, &in)
		var name string
		_ = json.Unmarshal(in.Payload, &name)
		out, _ := json.Marshal("hello " + name)
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: out}
	}, bridge.CommandOptions{})

	resp, err := b.Invoke(ctx, &wire.Message{
		ID: wire.NewID(), MessageType: wire.TypeCommand, CorrelationID: wire.NewID(),
		Sender:   wire.Address{ServiceName: "Caller", ServiceVersion: "1"},
		Receiver: &greeter,
		Payload:  json.RawMessage(`{"payload":"ada","parameter":{}}`),
	}, time.Second)
	fmt.Println(string(resp.Payload), err)
	// Output: "hello ada" <nil>
}

// ExampleNetwork shows two instances sharing a subscription: each event reaches one.
func ExampleNetwork() {
	ctx := context.Background()
	net := memory.NewNetwork()
	var handled atomic.Int32
	var bridges []*memory.Bridge
	for range 2 {
		b := net.NewBridge()
		_, _ = b.RegisterSubscription(ctx, bridge.Subscription{
			Subscriber: wire.Address{ServiceName: "Audit", ServiceVersion: "1", ServiceTarget: "onSignUp"},
			Filter:     bridge.Filter{EventName: "userSignedUp"},
		}, func(context.Context, *wire.Message) error { handled.Add(1); return nil })
		_ = b.Start(ctx)
		bridges = append(bridges, b)
	}
	for range 10 {
		_ = bridges[0].Emit(ctx, &wire.Message{ID: wire.NewID(), MessageType: wire.TypeCustomMessage,
			Sender: wire.Address{ServiceName: "User", ServiceVersion: "1"}, EventName: "userSignedUp"})
	}
	for _, b := range bridges {
		_ = b.Close(ctx) // drains: every queued event is handled first
	}
	fmt.Println(handled.Load())
	// Output: 10
}
