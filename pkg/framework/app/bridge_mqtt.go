//go:build !purista_no_mqtt

package app

import (
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
)

// mqttLinked reports whether the MQTT bridge is in this binary: it is, unless the
// build tag purista_no_mqtt is set.
const mqttLinked = true

// newMQTT builds the MQTT bridge of cfg.
func newMQTT(cfg config, log *slog.Logger) (bridge.EventBridge, error) {
	opts := []mqtt.Option{mqtt.WithLogger(log), mqtt.WithLocalDelivery(cfg.LocalDelivery)}
	if cfg.InstanceID != "" {
		opts = append(opts, mqtt.WithInstanceID(cfg.InstanceID))
	}
	b, err := mqtt.New(cfg.Bridge, opts...)
	if err != nil {
		return nil, err
	}
	return b, nil
}
