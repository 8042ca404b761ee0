//go:build purista_no_nats

package app

import (
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

// natsLinked reports whether the NATS bridge is in this binary: the build tag
// purista_no_nats leaves it out.
const natsLinked = false

// newNATS fails: the build tag purista_no_nats leaves the NATS bridge out of this binary.
func newNATS(config, *slog.Logger) (bridge.EventBridge, error) {
	return nil, notLinked("nats", "purista_no_nats")
}
