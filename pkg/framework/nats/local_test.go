package nats_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestLocalShortCircuit: with local delivery on, a same-process call puts nothing on the
// broker (a raw sniffer on purista.command.> sees nothing); switched off, the call goes
// over the broker. The remote call is the marker: it leaves on the same connection and
// subject after the local one, and NATS keeps one connection's messages in order, so
// once the sniffer has it, anything the local call had published would be there too.
func TestLocalShortCircuit(t *testing.T) {
	u := needBroker(t)
	b := startBridge(t, u)
	callee := addr(uniq("Local"), "echo")
	if _, err := b.RegisterCommand(context.Background(), callee, echo, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	sniffer := rawConn(t, u)
	var mu sync.Mutex
	var seen []*natsgo.Msg
	s, err := sniffer.Subscribe("purista.command.>", func(m *natsgo.Msg) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Unsubscribe() }()
	if err := sniffer.Flush(); err != nil {
		t.Fatal(err)
	}
	// toCallee returns the bodies of the commands to callee the sniffer saw.
	toCallee := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, m := range seen {
			if strings.HasSuffix(m.Subject, "."+wire.SnakeCase(callee.ServiceName)+".1.echo") {
				out = append(out, string(m.Data))
			}
		}
		return out
	}

	local := command(addr("Caller", "run"), callee, "hi")
	resp, err := b.Invoke(context.Background(), local, 5*time.Second)
	if err != nil || string(resp.Payload) != `"hi"` {
		t.Fatalf("local Invoke = %v, %v", resp, err)
	}

	b.SetLocalDelivery(false)
	remote := command(addr("Caller", "run"), callee, "hi")
	resp, err = b.Invoke(context.Background(), remote, 5*time.Second)
	if err != nil || string(resp.Payload) != `"hi"` {
		t.Fatalf("remote Invoke = %v, %v", resp, err)
	}
	waitFor(t, 30*time.Second, "the remote command on the broker", func() bool {
		for _, body := range toCallee() {
			if strings.Contains(body, remote.ID) {
				return true
			}
		}
		return false
	})
	if got := toCallee(); len(got) != 1 {
		t.Fatalf("the broker carried %d commands to the callee, want only the remote one: %v", len(got), got)
	}
}

// TestLocalSuccessEvent: a local call whose handler answers with an eventName gives the
// caller its response, and the response reaches a subscription on that event through the
// broker.
func TestLocalSuccessEvent(t *testing.T) {
	u := needBroker(t)
	b := startBridge(t, u)
	callee := addr(uniq("LocalEvt"), "make")
	name := uniq("made")
	if _, err := b.RegisterCommand(context.Background(), callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		resp := echo(ctx, cmd)
		resp.EventName = name
		return resp
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *wire.Message, 4)
	sub := bridge.Subscription{Subscriber: addr(uniq("LocalSub"), "onMade"), Filter: bridge.Filter{EventName: name}}
	if _, err := b.RegisterSubscription(context.Background(), sub, func(_ context.Context, m *wire.Message) error {
		got <- m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cmd := command(addr("Caller", "run"), callee, "hi")
	resp, err := b.Invoke(context.Background(), cmd, 5*time.Second)
	if err != nil || string(resp.Payload) != `"hi"` || resp.EventName != name {
		t.Fatalf("local Invoke = %+v, %v", resp, err)
	}
	select {
	case m := <-got:
		if m.MessageType != wire.TypeCommandSuccessResponse || m.ID != cmd.ID || string(m.Payload) != `"hi"` {
			t.Errorf("subscription got %+v, want the success response to %s", m, cmd.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the success event of a local call did not reach the subscription")
	}
}

// TestSecretsNeverLogged: a credential in the URL, in each form (password, token as
// user-only userinfo, ?token=), appears in no error, log line or health output: not when
// connecting fails (nothing listens on port 1), not for URLs New refuses, and not on the
// real broker (which has no auth and accepts any credential) while the connection is
// up, cut (disconnect logs, Healthy's error) and restored (reconnect logs).
func TestSecretsNeverLogged(t *testing.T) {
	const secret = "S3CRETTOKEN"
	forms := []struct {
		name string
		url  func(hostPort string) string
	}{
		{"password", func(h string) string { return "nats://alice:" + secret + "@" + h }},
		{"token", func(h string) string { return "nats://" + secret + "@" + h }},
		{"query token", func(h string) string { return "nats://" + h + "?token=" + secret }},
	}
	for _, form := range forms {
		t.Run(form.name, func(t *testing.T) {
			var logs bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			var shown []string

			b, err := pnats.New(form.url("127.0.0.1:1"), pnats.WithLogger(logger))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err = b.Start(ctx)
			if !errors.Is(err, bridge.ErrUnavailable) {
				t.Fatalf("Start = %v, want ErrUnavailable", err)
			}
			shown = append(shown, err.Error())
			for _, bad := range []string{form.url("[::1"), strings.Replace(form.url("h"), "nats:", "ftp:", 1), withQuery(form.url("h"), "tls=maybe")} {
				if _, err := pnats.New(bad); err == nil {
					t.Errorf("New(%q) accepted", bad)
				} else {
					shown = append(shown, err.Error())
				}
			}

			if u := needBroker(t); !testing.Short() {
				proxy, viaProxy := proxyTo(t, u)
				b := startBridge(t, form.url(hostOf(viaProxy)), pnats.WithLogger(logger))
				proxy.Cut()
				waitFor(t, 30*time.Second, "health to report the cut", func() bool {
					err := b.Healthy(context.Background())
					if err != nil {
						shown = append(shown, err.Error())
					}
					return errors.Is(err, bridge.ErrUnavailable)
				})
				proxy.Restore()
				waitFor(t, 30*time.Second, "the reconnect", func() bool { return b.Healthy(context.Background()) == nil })
				waitFor(t, 30*time.Second, "the reconnect's log line", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return strings.Contains(logs.String(), "reconnected")
				})
			}
			mu.Lock()
			out := logs.String()
			mu.Unlock()
			shown = append(shown, out)
			for _, s := range shown {
				if strings.Contains(s, secret) {
					t.Errorf("the secret is shown:\n%s", s)
				}
			}
			if !strings.Contains(out, "connect failed") {
				t.Errorf("expected connect failures in the log, got:\n%s", out)
			}
		})
	}
}

// withQuery appends the query parameter kv to rawURL.
func withQuery(rawURL, kv string) string {
	if strings.Contains(rawURL, "?") {
		return rawURL + "&" + kv
	}
	return rawURL + "?" + kv
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
