package image

import (
	"fmt"
	"strings"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework/app"
)

// AllBridges returns the bridges a purista binary can link, memory first. Every binary
// links the memory bridge; each other one is left out by the build tag
// purista_no_<bridge> (see NewBridge in pkg/framework/app).
func AllBridges() []string { return []string{"memory", "nats", "amqp", "mqtt"} }

// BridgeTags returns the bridges the binary for profile links, in the order of
// AllBridges, and the build tags that leave out the others: the memory bridge and the
// bridge of the profile's PURISTA_BRIDGE. An empty profile links every bridge, with no
// tags. An unknown profile, or one whose bridge is not understood, wraps ErrUsage.
func BridgeTags(m *project.Manifest, profile string) (bridges, tags []string, err error) {
	if profile == "" {
		return AllBridges(), nil, nil
	}
	p, ok := m.Profiles[profile]
	if !ok {
		known := "none: add one under profiles:"
		if names := m.ProfileNames(); len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return nil, nil, fmt.Errorf("%w: --profile %q is not a profile of %s (profiles: %s)", ErrUsage, profile, project.FileName, known)
	}
	kind, err := app.BridgeKind(p.Bridge)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: profiles.%s.bridge in %s: %v", ErrUsage, profile, project.FileName, err)
	}
	for _, b := range AllBridges() {
		switch {
		case b == "memory" || b == kind:
			bridges = append(bridges, b)
		default:
			tags = append(tags, "purista_no_"+b)
		}
	}
	return bridges, tags, nil
}
