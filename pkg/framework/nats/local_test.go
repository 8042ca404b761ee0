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
// over the broker.
func TestLocalShortCircuit(t *testing.T) {
	u := needBroker(t)
	b := startBridge(t, u)
	callee := addr(uniq("Local"), "echo")
	if _, err := b.RegisterCommand(context.Background(), callee, echo, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	sniffer := rawConn(t, u)
	var mu sync.Mutex
	var seen []string
	s, err := sniffer.Subscribe("purista.command.>", func(m *natsgo.Msg) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m.Subject)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Unsubscribe() }()
	_ = sniffer.Flush()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, subj := range seen {
			if strings.HasSuffix(subj, "."+wire.SnakeCase(callee.ServiceName)+".1.echo") {
				n++
			}
		}
		return n
	}

	resp, err := b.Invoke(context.Background(), command(addr("Caller", "run"), callee, "hi"), 5*time.Second)
	if err != nil || string(resp.Payload) != `"hi"` {
		t.Fatalf("local Invoke = %v, %v", resp, err)
	}
	_ = sniffer.Flush()
	time.Sleep(300 * time.Millisecond)
	if n := count(); n != 0 {
		t.Fatalf("local call put %d command(s) on the broker: %v", n, seen)
	}

	b.SetLocalDelivery(false)
	resp, err = b.Invoke(context.Background(), command(addr("Caller", "run"), callee, "hi"), 5*time.Second)
	if err != nil || string(resp.Payload) != `"hi"` {
		t.Fatalf("remote Invoke = %v, %v", resp, err)
	}
	waitFor(t, 5*time.Second, "the command on the broker", func() bool { return count() == 1 })
}

// TestSecretsNeverLogged: a password or token in the URL appears neither in errors nor in
// the log output, whether the connection fails or succeeds.
func TestSecretsNeverLogged(t *testing.T) {
	const secret = "s3cr3tPassw0rd"
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Nothing listens on port 1: connecting fails and is retried until ctx ends.
	b, err := pnats.New("nats://alice:"+secret+"@127.0.0.1:1", pnats.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = b.Start(ctx)
	if !errors.Is(err, bridge.ErrUnavailable) {
		t.Fatalf("Start = %v, want ErrUnavailable", err)
	}
	errs := []string{err.Error()}
	for _, bad := range []string{"nats://alice:" + secret + "@[::1", "ftp://alice:" + secret + "@h", "nats://alice:" + secret + "@h?tls=maybe"} {
		if _, err := pnats.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		} else {
			errs = append(errs, err.Error())
		}
	}
	// A token and a password against the real broker (which has no auth and accepts
	// them): the connected log line must not show them either.
	if u := brokerURL(); !testing.Short() {
		for _, cred := range []string{"alice:" + secret, secret} {
			withCred := strings.Replace(u, "://", "://"+cred+"@", 1)
			if b2, err := pnats.New(withCred, pnats.WithLogger(logger)); err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := b2.Start(ctx); err != nil {
					errs = append(errs, err.Error())
				}
				_ = b2.Close(ctx)
				cancel()
			}
		}
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if strings.Contains(out, secret) {
		t.Errorf("the log shows the secret:\n%s", out)
	}
	for _, e := range errs {
		if strings.Contains(e, secret) {
			t.Errorf("an error shows the secret: %s", e)
		}
	}
	if !strings.Contains(out, "connect failed") {
		t.Errorf("expected connect failures in the log, got:\n%s", out)
	}
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
