package check

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/purista-go/purista/pkg/framework/mqtt/mqttembed"
	"github.com/purista-go/purista/pkg/framework/nats/natsembed"
)

// brokers hands each broker check a broker: a fresh embedded one per check (so that
// concurrent checks never see each other's services), or the one external URL.
type brokers struct {
	kind, url string
}

func newBrokers(kind, rawURL string) (*brokers, error) {
	switch kind {
	case "nats", "mqtt":
	case "amqp":
		if rawURL == "" {
			return nil, usagef("AMQP has no embedded broker: give one with --broker-url, e.g. --broker-url amqp://guest:guest@127.0.0.1:5672/")
		}
	default:
		return nil, usagef("broker %q is unknown: use nats, amqp or mqtt", kind)
	}
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return nil, usagef("--broker-url %q is not a URL such as nats://127.0.0.1:4222", redact(rawURL))
		}
	}
	return &brokers{kind: kind, url: rawURL}, nil
}

// shared reports whether all checks use one external broker.
func (b *brokers) shared() bool { return b.url != "" }

func (b *brokers) describe() string {
	if b.url != "" {
		return b.kind + " " + redact(b.url)
	}
	return b.kind + " (embedded)"
}

// get returns a broker URL for one check and a function that releases it.
func (b *brokers) get(ctx context.Context) (string, func(), error) {
	if b.url != "" {
		return b.url, func() {}, nil
	}
	switch b.kind {
	case "mqtt":
		s, err := mqttembed.Start(ctx, "127.0.0.1:0")
		if err != nil {
			return "", nil, fmt.Errorf("embedded MQTT broker: %w", err)
		}
		return s.URL(), func() { _ = s.Close() }, nil
	default:
		dir, err := os.MkdirTemp("", "purista-check-nats-")
		if err != nil {
			return "", nil, err
		}
		s, err := natsembed.Start(ctx, dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			return "", nil, fmt.Errorf("embedded NATS server: %w", err)
		}
		return s.ClientURL(), func() { s.Shutdown(); _ = os.RemoveAll(dir) }, nil
	}
}
