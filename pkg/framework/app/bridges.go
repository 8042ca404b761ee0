package app

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// NewBridge builds the event bridge that the setting rawURL (a PURISTA_BRIDGE value)
// names, unstarted, logging to log, with local delivery on and a random instance id.
// It is how the deployment model becomes a run-time decision: service code never calls
// a bridge constructor. Errors wrap framework.ErrConfig and never contain a password.
//
// The memory bridge is in every binary. Each broker bridge is linked in unless the
// binary was built with its build tag: purista_no_nats, purista_no_amqp or
// purista_no_mqtt (`purista build --profile` sets the tags of the bridges the profile
// does not use; `go build` and `go run` without tags link every bridge). A setting
// that names a bridge left out of the binary fails with an error that names the tag.
func NewBridge(rawURL string, log *slog.Logger) (bridge.EventBridge, error) {
	return newBridge(config{Bridge: rawURL, LocalDelivery: true}, log)
}

// newBridge builds the event bridge cfg configures, unstarted.
func newBridge(cfg config, log *slog.Logger) (bridge.EventBridge, error) {
	kind, err := BridgeKind(cfg.Bridge)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", framework.ErrConfig, err)
	}
	var b bridge.EventBridge
	switch kind {
	case "memory":
		b, err = newMemory(cfg, log)
	case "nats":
		b, err = newNATS(cfg, log)
	case "amqp":
		b, err = newAMQP(cfg, log)
	case "mqtt":
		b, err = newMQTT(cfg, log)
	default:
		err = fmt.Errorf("the %s bridge is not built into this binary: choose a bridge it has: %s", kind, strings.Join(linkedBridges(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s bridge: %w", framework.ErrConfig, kind, redact.Error(err, cfg.Bridge))
	}
	return b, nil
}

// linkedBridges returns the kinds of the bridges linked into this binary.
func linkedBridges() []string {
	kinds := []string{"memory"}
	for _, l := range []struct {
		kind   string
		linked bool
	}{{"nats", natsLinked}, {"amqp", amqpLinked}, {"mqtt", mqttLinked}} {
		if l.linked {
			kinds = append(kinds, l.kind)
		}
	}
	return kinds
}

// notLinked is the error of a bridge that the build tag tag leaves out of the binary.
func notLinked(kind, tag string) error {
	return fmt.Errorf("this binary is built without the %s bridge (build tag %s): rebuild it without that tag "+
		"(purista build --profile NAME with a profile whose bridge is %s://…, or go build without -tags %s), "+
		"or choose a bridge it has: %s", kind, tag, kind, tag, strings.Join(linkedBridges(), ", "))
}

// newMemory builds the memory bridge of cfg.
func newMemory(cfg config, log *slog.Logger) (bridge.EventBridge, error) {
	opts, err := memoryOptions(cfg.Bridge)
	if err != nil {
		return nil, err
	}
	opts = append(opts, memory.WithLogger(log))
	if cfg.InstanceID != "" {
		opts = append(opts, memory.WithInstanceID(cfg.InstanceID))
	}
	return memory.New(opts...), nil
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
