//go:build purista_no_amqp

package app

import (
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

// amqpLinked reports whether the AMQP bridge is in this binary: the build tag
// purista_no_amqp leaves it out.
const amqpLinked = false

// newAMQP fails: the build tag purista_no_amqp leaves the AMQP bridge out of this binary.
func newAMQP(config, *slog.Logger) (bridge.EventBridge, error) {
	return nil, notLinked("amqp", "purista_no_amqp")
}
