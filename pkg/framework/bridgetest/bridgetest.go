// Package bridgetest is the conformance suite of the bridge.EventBridge contract. Every
// bridge runs it with one call from its tests:
//
//	func TestConformance(t *testing.T) {
//		bridgetest.Run(t, bridgetest.Harness{
//			NewBridge: func(t *testing.T) bridge.EventBridge { return newBridgeOnTestBroker(t) },
//		})
//	}
//
// Features switch off the cases a bridge cannot pass by design (each skipped case says
// why); optional hooks (Disrupt, InjectRaw) enable the cases that need control over the
// transport. Cases use unique service names, event names and ids, so runs against one
// shared real broker never interfere, and they never assert on speed: they poll with
// generous deadlines (Harness.Wait) and watch for things that must not happen for a while
// (Harness.Settle). Cases run in parallel unless they disrupt the transport.
package bridgetest

import (
	"context"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

// Harness connects the suite to a bridge implementation.
type Harness struct {
	// NewBridge returns a new, unstarted bridge instance connected to the same broker or
	// network as every other bridge NewBridge returned for the same t. The suite starts and
	// closes it. Required.
	NewBridge func(t *testing.T) bridge.EventBridge
	// Features lists what the bridge lacks.
	Features Features
	// Disrupt breaks the transport connection of the bridges made for t (health must turn
	// to an error wrapping bridge.ErrUnavailable) until restore is called. Optional; the
	// broken-connection case is skipped without it. Cases that call it do not run in
	// parallel with others.
	Disrupt func(t *testing.T) (restore func())
	// InjectRaw pushes raw bytes into the transport so that b receives them the way it
	// receives an event from the broker (a well-formed customMessage injected this way must
	// reach b's matching subscriptions). Optional; the garbage case is skipped without it.
	InjectRaw func(t *testing.T, b bridge.EventBridge, raw []byte)
	// BrokerURL returns the URL (a PURISTA_BRIDGE value, as app.NewBridge reads it)
	// of the broker the bridges made for t connect to, for the cases that build a bridge
	// from configuration: the credential case puts secrets into it in every form a URL
	// carries them (password, token or user-only userinfo, ?token=) and checks that none
	// appears in a log line, error or health report. Optional; those cases are skipped
	// without it. When Disrupt is set it must cut the connections made to this URL too.
	BrokerURL func(t *testing.T) string
	// Wait bounds every "eventually" condition and every blocking call. Default 10s.
	Wait time.Duration
	// Settle is how long the suite watches for something that must not happen (a delivery
	// after Unregister, a duplicate, a filtered message). Default 300ms; raise it for
	// brokers with slow delivery.
	Settle time.Duration
}

// Features are things a bridge may lack. A case that needs one is skipped with the reason.
type Features struct {
	// NoFailFastUnknownCommand: an invocation of a command nobody handles ends with
	// ErrTimeout instead of an immediate ErrNoHandler.
	NoFailFastUnknownCommand bool
	// NoDurable: Subscription.Durable is ignored (messages emitted while no instance runs
	// are lost).
	NoDurable bool
	// NoEveryInstance: Subscription.EveryInstance is not supported.
	NoEveryInstance bool
	// NoDeadLetter: dead letters are not observable through OnDeadLetter.
	NoDeadLetter bool
	// NoCommandSubscription: subscriptions with Filter.MessageType == TypeCommand do not see
	// commands.
	NoCommandSubscription bool
	// MaxPayload, when not zero, is the largest message (envelope included) the transport
	// carries, e.g. nats-server's max_payload (1 MiB by default). The large-payload case then
	// sends the largest input that fits (at least 512 KiB) instead of 1 MiB, and checks that
	// an input over the limit fails at once with an error instead of hanging.
	MaxPayload int
	// InlineHandlers: command handlers run on their callers' goroutines, so a handler that
	// ignores its ctx holds its caller until it returns. The timeout case's handler then
	// answers as soon as its ctx ended (instead of once its caller gave up), and the case
	// checks that this late answer became ErrTimeout.
	InlineHandlers bool
}

// Case is one named conformance case. Run receives the harness with defaults applied.
// Append to Cases() and call RunCases to add cases (framework-level ones, say).
type Case struct {
	Name string
	Run  func(t *testing.T, h Harness)
}

// Run runs every case of Cases against h, each as a subtest named after the case.
func Run(t *testing.T, h Harness) {
	t.Helper()
	RunCases(t, h, Cases())
}

// RunCases runs the given cases against h, each as a subtest named after the case.
func RunCases(t *testing.T, h Harness, cases []Case) {
	t.Helper()
	if h.NewBridge == nil {
		t.Fatal("bridgetest: Harness.NewBridge is required")
	}
	h = h.withDefaults()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, h) })
	}
}

func (h Harness) withDefaults() Harness {
	if h.Wait <= 0 {
		h.Wait = 10 * time.Second
	}
	if h.Settle <= 0 {
		h.Settle = 300 * time.Millisecond
	}
	return h
}

// ctx returns a context that ends after h.Wait or when the test ends.
func (h Harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.Wait)
	t.Cleanup(cancel)
	return ctx
}

// newBridge returns an unstarted bridge that is closed when the test ends.
func (h Harness) newBridge(t *testing.T) bridge.EventBridge {
	t.Helper()
	b := h.NewBridge(t)
	if b == nil {
		t.Fatal("bridgetest: Harness.NewBridge returned nil")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.Wait)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("cleanup: Close: %v", err)
		}
	})
	return b
}

// start returns a started bridge that is closed when the test ends.
func (h Harness) start(t *testing.T) bridge.EventBridge {
	t.Helper()
	b := h.newBridge(t)
	if err := b.Start(h.ctx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

// eventually polls cond until it holds or h.Wait passes.
func (h Harness) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(h.Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", h.Wait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// steady checks that cond holds throughout h.Settle.
func (h Harness) steady(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(h.Settle)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s no longer holds", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
