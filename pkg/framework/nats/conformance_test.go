package nats_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/bridgetest"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/nats/natsembed"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// harness builds the conformance harness for the broker at rawURL. Every test gets its
// own TCP proxy so that Disrupt cuts only that test's bridges.
func harness(rawURL string) bridgetest.Harness {
	var mu sync.Mutex
	proxies := map[*testing.T]*tcpproxy.Proxy{}
	urls := map[*testing.T]string{}
	via := func(t *testing.T) (string, *tcpproxy.Proxy) {
		mu.Lock()
		defer mu.Unlock()
		if p := proxies[t]; p != nil {
			return urls[t], p
		}
		p, u := proxyTo(t, rawURL)
		proxies[t], urls[t] = p, u
		t.Cleanup(func() {
			mu.Lock()
			delete(proxies, t)
			delete(urls, t)
			mu.Unlock()
		})
		return u, p
	}
	return bridgetest.Harness{
		Features: bridgetest.Features{MaxPayload: 1 << 20}, // nats-server's default max_payload
		NewBridge: func(t *testing.T) bridge.EventBridge {
			u, _ := via(t)
			return newBridge(t, u)
		},
		BrokerURL: func(t *testing.T) string {
			u, _ := via(t)
			return u
		},
		Disrupt: func(t *testing.T) func() {
			_, p := via(t)
			p.Cut()
			return p.Restore
		},
		InjectRaw: func(t *testing.T, _ bridge.EventBridge, raw []byte) {
			nc := rawConn(t, rawURL)
			if err := nc.Publish(injectSubject(raw), raw); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
		},
		Settle: 500 * time.Millisecond,
	}
}

// injectSubject is where raw bytes are published so that subscriptions on their event
// name see them: the subject of the decoded message, or a customMessage subject with the
// eventName field found in the JSON, or a subject no subscription uses.
func injectSubject(raw []byte) string {
	if m, err := wire.Decode(raw); err == nil {
		return wire.NATSSubject(wire.TokensOf(m))
	}
	var loose struct {
		EventName string `json:"eventName"`
	}
	name := "garbage"
	if json.Unmarshal(raw, &loose) == nil && loose.EventName != "" {
		name = loose.EventName
	}
	return wire.NATSSubject(wire.Tokens{MessageType: string(wire.TypeCustomMessage), EventName: name})
}

// TestConformance runs the whole bridge conformance suite against the real broker. No
// Features are switched off: NATS has fail-fast no-responders, JetStream durability,
// every-instance subscriptions and dead letters.
//
// nats-server limits a message to its max_payload (1 MiB by default), so the harness sets
// Features.MaxPayload: the large-payload case sends the largest input that fits and checks
// that a larger one fails at once (ErrTooLarge).
func TestConformance(t *testing.T) {
	bridgetest.Run(t, harness(needBroker(t)))
}

// cases returns the conformance cases (all of them; kept for the embedded-server run).
func cases() []bridgetest.Case { return bridgetest.Cases() }

// TestConformanceEmbedded runs the suite once against the in-process server of natsembed.
func TestConformanceEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := natsembed.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	bridgetest.RunCases(t, harness(srv.ClientURL()), cases())
}

// TestTooLarge: a message over the server's max_payload fails at once with ErrTooLarge.
func TestTooLarge(t *testing.T) {
	u := needBroker(t)
	a, b := startBridge(t, u), startBridge(t, u)
	callee := addr(uniq("Big"), "echo")
	if _, err := b.RegisterCommand(context.Background(), callee, echo, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, a.Conn().MaxPayload())
	for i := range big {
		big[i] = 'x'
	}
	_, err := a.Invoke(context.Background(), command(addr("Caller", "run"), callee, string(big)), 5*time.Second)
	if !errors.Is(err, pnats.ErrTooLarge) {
		t.Fatalf("Invoke = %v, want ErrTooLarge", err)
	}
	err = a.Emit(context.Background(), event(addr("Caller", "run"), "big", string(big)))
	if !errors.Is(err, pnats.ErrTooLarge) {
		t.Fatalf("Emit = %v, want ErrTooLarge", err)
	}
}
