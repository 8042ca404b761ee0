//go:build !purista_no_nats

package app

import (
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/nats"
)

// natsLinked reports whether the NATS bridge is in this binary: it is, unless the
// build tag purista_no_nats is set.
const natsLinked = true

// newNATS builds the NATS bridge of cfg.
func newNATS(cfg config, log *slog.Logger) (bridge.EventBridge, error) {
	opts := []nats.Option{nats.WithLogger(log), nats.WithLocalDelivery(cfg.LocalDelivery)}
	if cfg.InstanceID != "" {
		opts = append(opts, nats.WithInstanceID(cfg.InstanceID))
	}
	b, err := nats.New(cfg.Bridge, opts...)
	if err != nil {
		return nil, err
	}
	return b, nil
}
