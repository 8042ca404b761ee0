package framework

import (
	"fmt"
	"log/slog"
	"net/url"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/memory"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/nats"
)

// NewBridge builds the event bridge that cfg.Bridge names, unstarted. It is how the
// deployment model becomes a run-time decision: service code never calls a bridge
// constructor. Errors wrap ErrConfig and never contain a password.
func NewBridge(cfg Config, log *slog.Logger) (bridge.EventBridge, error) {
	kind, err := BridgeKind(cfg.Bridge)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var b bridge.EventBridge
	switch kind {
	case "memory":
		opts, err := memoryOptions(cfg.Bridge)
		if err != nil {
			return nil, fmt.Errorf("%w: memory bridge: %w", ErrConfig, err)
		}
		opts = append(opts, memory.WithLogger(log))
		if cfg.InstanceID != "" {
			opts = append(opts, memory.WithInstanceID(cfg.InstanceID))
		}
		return memory.New(opts...), nil
	case "nats":
		opts := []nats.Option{nats.WithLogger(log), nats.WithLocalDelivery(cfg.LocalDelivery)}
		if cfg.InstanceID != "" {
			opts = append(opts, nats.WithInstanceID(cfg.InstanceID))
		}
		b, err = nats.New(cfg.Bridge, opts...)
	case "amqp":
		opts := []amqp.Option{amqp.WithLogger(log), amqp.WithLocalDelivery(cfg.LocalDelivery)}
		if cfg.InstanceID != "" {
			opts = append(opts, amqp.WithInstanceID(cfg.InstanceID))
		}
		b, err = amqp.New(cfg.Bridge, opts...)
	case "mqtt":
		opts := []mqtt.Option{mqtt.WithLogger(log), mqtt.WithLocalDelivery(cfg.LocalDelivery)}
		if cfg.InstanceID != "" {
			opts = append(opts, mqtt.WithInstanceID(cfg.InstanceID))
		}
		b, err = mqtt.New(cfg.Bridge, opts...)
	default:
		return nil, fmt.Errorf("%w: the %s bridge is not built into this binary", ErrConfig, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s bridge: %w", ErrConfig, kind, redact.Error(err, cfg.Bridge))
	}
	return b, nil
}

// memoryOptions reads the settings of a memory bridge URL: memory://?handlers=goroutines
// runs command handlers on goroutines of their own (memory.WithHandlerGoroutines);
// handlers=inline, the default, on their callers' goroutines.
func memoryOptions(setting string) ([]memory.Option, error) {
	if setting == "" || setting == "memory" {
		return nil, nil
	}
	u, err := url.Parse(setting)
	if err != nil {
		return nil, fmt.Errorf("bridge %q is not understood: use memory or memory://?handlers=goroutines", redact.URL(setting))
	}
	var opts []memory.Option
	for k, vs := range u.Query() {
		switch v := vs[len(vs)-1]; {
		case k == "handlers" && v == "goroutines":
			opts = append(opts, memory.WithHandlerGoroutines())
		case k == "handlers" && v == "inline":
		case k == "handlers":
			return nil, fmt.Errorf("handlers=%q is unknown: use handlers=inline (the default) or handlers=goroutines", v)
		default:
			return nil, fmt.Errorf("setting %q is unknown: the memory bridge takes only handlers=inline|goroutines", k)
		}
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%q names a host or path: the memory bridge is in-process, use memory:// with settings only", redact.URL(setting))
	}
	return opts, nil
}
