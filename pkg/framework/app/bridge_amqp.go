//go:build !purista_no_amqp

package app

import (
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
)

// amqpLinked reports whether the AMQP bridge is in this binary: it is, unless the
// build tag purista_no_amqp is set.
const amqpLinked = true

// newAMQP builds the AMQP bridge of cfg.
func newAMQP(cfg config, log *slog.Logger) (bridge.EventBridge, error) {
	opts := []amqp.Option{amqp.WithLogger(log), amqp.WithLocalDelivery(cfg.LocalDelivery)}
	if cfg.InstanceID != "" {
		opts = append(opts, amqp.WithInstanceID(cfg.InstanceID))
	}
	b, err := amqp.New(cfg.Bridge, opts...)
	if err != nil {
		return nil, err
	}
	return b, nil
}
