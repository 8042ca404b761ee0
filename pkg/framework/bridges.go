package framework

import (
	"fmt"
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
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
		opts := []memory.Option{memory.WithLogger(log)}
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
		return nil, fmt.Errorf("%w: %s bridge: %w", ErrConfig, kind, err)
	}
	return b, nil
}
