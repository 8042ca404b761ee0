package framework

import (
	"fmt"
	"log/slog"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// NewBridge builds the event bridge that cfg.Bridge names, unstarted. It is how the
// deployment model becomes a run-time decision: service code never calls a bridge
// constructor. Errors wrap ErrConfig and never contain a password.
func NewBridge(cfg Config, log *slog.Logger) (bridge.EventBridge, error) {
	kind, err := BridgeKind(cfg.Bridge)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	switch kind {
	case "memory":
		opts := []memory.Option{memory.WithLogger(log)}
		if cfg.InstanceID != "" {
			opts = append(opts, memory.WithInstanceID(cfg.InstanceID))
		}
		return memory.New(opts...), nil
	}
	return nil, fmt.Errorf("%w: the %s bridge is not built into this binary", ErrConfig, kind)
}
