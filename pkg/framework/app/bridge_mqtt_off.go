//go:build purista_no_mqtt

package app

import (
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

// mqttLinked reports whether the MQTT bridge is in this binary: the build tag
// purista_no_mqtt leaves it out.
const mqttLinked = false

// newMQTT fails: the build tag purista_no_mqtt leaves the MQTT bridge out of this binary.
func newMQTT(config, *slog.Logger) (bridge.EventBridge, error) {
	return nil, notLinked("mqtt", "purista_no_mqtt")
}
