package nats_test

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// brokerURL returns the test broker's URL (PURISTA_TEST_NATS_URL).
func brokerURL() string {
	if u := os.Getenv("PURISTA_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// needBroker skips (or, with PURISTA_REQUIRE_BROKERS=1, fails) t when the broker does
// not answer, and returns its URL.
func needBroker(tb testing.TB) string {
	tb.Helper()
	u := brokerURL()
	nc, err := natsgo.Connect(u, natsgo.Timeout(2*time.Second))
	if err != nil {
		if os.Getenv("PURISTA_REQUIRE_BROKERS") == "1" {
			tb.Fatalf("NATS broker at %s unreachable (PURISTA_REQUIRE_BROKERS=1): %v", hostOf(u), err)
		}
		tb.Skipf("NATS broker at %s unreachable (set PURISTA_TEST_NATS_URL): %v", hostOf(u), err)
	}
	nc.Close()
	return u
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// proxyTo returns a proxy to the broker at rawURL, closed when tb ends, and the URL to
// reach the broker through it.
func proxyTo(tb testing.TB, rawURL string) (*tcpproxy.Proxy, string) {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	host := u.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "4222")
	}
	p, err := tcpproxy.New(host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	return p, u.String()
}

// testOpts are the options of test bridges: fast reconnects, short-lived consumers.
func testOpts(extra ...pnats.Option) []pnats.Option {
	return append([]pnats.Option{
		pnats.WithReconnectWait(20*time.Millisecond, 200*time.Millisecond),
		pnats.WithInactiveThreshold(2 * time.Minute),
		pnats.WithAckWait(5 * time.Second),
	}, extra...)
}

// newBridge returns an unstarted bridge on rawURL.
func newBridge(tb testing.TB, rawURL string, opts ...pnats.Option) *pnats.Bridge {
	tb.Helper()
	b, err := pnats.New(rawURL, testOpts(opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// startBridge returns a started bridge closed when tb ends.
func startBridge(tb testing.TB, rawURL string, opts ...pnats.Option) *pnats.Bridge {
	tb.Helper()
	b := newBridge(tb, rawURL, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

// rawConn returns a plain nats.go connection (with opts) closed when tb ends.
func rawConn(tb testing.TB, rawURL string, opts ...natsgo.Option) *natsgo.Conn {
	tb.Helper()
	nc, err := natsgo.Connect(rawURL, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

func addr(service, target string) wire.Address {
	return wire.Address{ServiceName: service, ServiceVersion: "1", ServiceTarget: target}
}

func uniq(prefix string) string { return prefix + wire.NewID()[:12] }

func command(from, to wire.Address, payload any) *wire.Message {
	in, _ := json.Marshal(payload)
	body, _ := json.Marshal(wire.CommandPayload{Payload: in, Parameter: json.RawMessage(`{}`)})
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(),
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCommand, Sender: from, Receiver: &to,
		CorrelationID: wire.NewID(), Payload: body,
	}
}

func event(from wire.Address, name string, payload any) *wire.Message {
	p, _ := json.Marshal(payload)
	return &wire.Message{
		ID: wire.NewID(), Timestamp: wire.NowMillis(),
		ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
		MessageType: wire.TypeCustomMessage, Sender: from, EventName: name, Payload: p,
	}
}

// echo answers a command with its input.
func echo(_ context.Context, cmd *wire.Message) *wire.Message {
	var p wire.CommandPayload
	_ = json.Unmarshal(cmd.Payload, &p)
	return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: p.Payload}
}

// counter is a concurrency-safe set of message ids with delivery counts.
type counter struct {
	mu  sync.Mutex
	ids map[string]int
}

func (c *counter) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]int{}
	}
	c.ids[id]++
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.ids))
	for k, v := range c.ids {
		out[k] = v
	}
	return out
}

func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outcome is what one Invoke returned.
type outcome struct {
	resp *wire.Message
	err  error
}

// blockingCalls registers on handler a command whose handler runs block, invokes it n
// times from caller (invoke timeout two minutes, far beyond ctx's deadline) and returns
// once every handler runs. The calls' outcomes arrive on the returned channel. When t
// ends, free (which lets block return) is called and the handlers are waited for
// (handlers cut off by a forced stop run on after Close).
func blockingCalls(ctx context.Context, t *testing.T, caller, handler *pnats.Bridge, n int, free func(), block bridge.CommandHandler) (wire.Address, <-chan outcome) {
	t.Helper()
	callee := addr(uniq("Blocked"), "run")
	var running atomic.Int64
	reg, err := handler.RegisterCommand(context.Background(), callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		running.Add(1)
		return block(ctx, cmd)
	}, bridge.CommandOptions{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waitHandlers(t, reg, free)
	out := make(chan outcome, n)
	for i := range n {
		go func() { // ends when Invoke returns, at the latest at ctx's deadline
			resp, err := caller.Invoke(ctx, command(addr("BlockedCaller", "run"), callee, i), 2*time.Minute)
			out <- outcome{resp, err}
		}()
	}
	waitFor(t, 30*time.Second, "every handler to run", func() bool { return running.Load() >= int64(n) })
	return callee, out
}

// collect returns n outcomes from out, failing t when ctx ends first.
func collect(ctx context.Context, t *testing.T, out <-chan outcome, n int) []outcome {
	t.Helper()
	all := make([]outcome, 0, n)
	for range n {
		select {
		case o := <-out:
			all = append(all, o)
		case <-ctx.Done():
			t.Fatalf("%d of %d calls still wait", n-len(all), n)
		}
	}
	return all
}

// waitHandlers calls free and waits for reg's handlers to return when t ends, so that
// none runs on into the next test.
func waitHandlers(t *testing.T, reg bridge.Registration, free func()) {
	t.Cleanup(func() {
		free()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := reg.Unregister(ctx); err != nil {
			t.Errorf("handlers still running: %v", err)
		}
	})
}

// releaser returns a channel closed by the returned func (idempotent) or when t ends.
func releaser(t *testing.T) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(free)
	return ch, free
}

var _ bridge.EventBridge = (*pnats.Bridge)(nil)
