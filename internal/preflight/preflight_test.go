package preflight

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/mqtt/mqttembed"
	"github.com/purista-go/purista/pkg/framework/nats/natsembed"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		url, want, wantErr string
	}{
		{url: "nats://127.0.0.1:4222", want: "nats"},
		{url: "nats://a:4222,b:4223", want: "nats"},
		{url: "tls://h", want: "nats"},
		{url: "amqp://guest:guest@127.0.0.1:5672/", want: "amqp"},
		{url: "amqps://h/vhost", want: "amqp"},
		{url: "mqtt://h:1883", want: "mqtt"},
		{url: "wss://h/mqtt", want: "mqtt"},
		{url: "nats://nope:1", want: "nats"},
		{url: "nats://h:0", wantErr: `port "0" of nats://h:0 is not a number from 1 to 65535`},
		{url: "nats://h:99999", wantErr: `port "99999"`},
		{url: "amqp://guest:secret@h:65536/", wantErr: `port "65536" of amqp://xxxxx@h:65536/`},
		{url: "nats://h:abc", wantErr: `port "abc" of nats://h:abc is not a number`},
		{url: "amqp://u:p@h:-1/", wantErr: `port "-1"`},
		{url: "nats://a:4222,b:70000", wantErr: `port "70000"`},
		{url: "mqtt://:1883", wantErr: "names no host"},
		{url: "nats://", wantErr: "names no host"},
		{url: "kafka://h:9092", wantErr: `scheme "kafka" is unknown`},
		{url: "memory", wantErr: "in-memory bridge"},
		{url: "127.0.0.1:4222", wantErr: "is not understood"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := Validate(tt.url)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate(%q) = %q, %v; want an ErrInvalid with %q", tt.url, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Validate(%q) = %q, %v; want %q", tt.url, got, err, tt.want)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// silentServer accepts connections and never answers (a broker that hangs, or another
// protocol that waits for the client to speak).
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = l.Close(); <-done })
	go func() { // owned: ends when the listener closes
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return l.Addr().String()
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	ns, err := natsembed.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	ms, err := mqttembed.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	closed, silent := closedPort(t), silentServer(t)
	tests := []struct {
		name, url string
		wantErr   string // "" for success
		handshake bool
	}{
		{name: "nats up", url: ns.ClientURL()},
		{name: "mqtt up", url: ms.URL()},
		{name: "nats refused", url: "nats://" + closed, wantErr: "broker unavailable: nats://" + closed + " does not answer"},
		{name: "amqp refused, password masked", url: "amqp://guest:secret@" + closed + "/",
			wantErr: "broker unavailable: amqp://xxxxx@" + closed + "/ does not answer"},
		{name: "mqtt refused", url: "mqtt://" + closed, wantErr: "does not answer"},
		{name: "unknown host", url: "nats://nope.invalid:1", wantErr: "broker unavailable: nats://nope.invalid:1 does not answer"},
		{name: "nats on a silent port", url: "nats://" + silent, wantErr: "answers, but not as a NATS broker", handshake: true},
		{name: "amqp on the nats port", url: "amqp://guest:guest@" + strings.TrimPrefix(ns.ClientURL(), "nats://") + "/",
			wantErr: "answers, but not as an AMQP broker", handshake: true},
		{name: "mqtt on a silent port", url: "mqtt://" + silent, wantErr: "answers, but not as an MQTT broker", handshake: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(ctx, tt.url, 2*time.Second)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", tt.url, err)
				}
				return
			}
			var pe *Error
			if !errors.Is(err, ErrUnavailable) || !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check(%s) = %v, want an *Error with %q", tt.url, err, tt.wantErr)
			}
			if pe.Handshake != tt.handshake {
				t.Errorf("Handshake = %v, want %v", pe.Handshake, tt.handshake)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	t.Run("invalid before any connection", func(t *testing.T) {
		if err := Check(ctx, "nats://h:99999", time.Second); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("ended context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := Check(cctx, ns.ClientURL(), time.Second); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
}
