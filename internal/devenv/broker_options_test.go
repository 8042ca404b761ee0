package devenv

import (
	"maps"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/project"
)

// TestBrokerOptions: dev.images of purista.yaml and --broker-image (for the chosen kind,
// winning) name the images; progress goes to ErrOut; testcontainers' log to a file.
func TestBrokerOptions(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	m := &project.Manifest{Dev: project.Dev{Images: map[string]string{"nats": "reg/nats:1", "mqtt": "reg/mqtt:1"}}}
	tests := []struct {
		name   string
		broker string
		image  string
		want   map[string]string
	}{
		{"purista.yaml", "", "", map[string]string{"nats": "reg/nats:1", "mqtt": "reg/mqtt:1"}},
		{"--broker-image for the default kind", "", "mine/nats:2", map[string]string{"nats": "mine/nats:2", "mqtt": "reg/mqtt:1"}},
		{"--broker-image for mqtt", "mqtt", "mine/mqtt:2", map[string]string{"nats": "reg/nats:1", "mqtt": "mine/mqtt:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut strings.Builder
			po, closeLog := brokerOptions(Options{Root: t.TempDir(), Manifest: m, Broker: tt.broker, BrokerImage: tt.image, ErrOut: &errOut})
			t.Cleanup(closeLog)
			if !maps.Equal(po.Images, tt.want) {
				t.Errorf("images %v, want %v", po.Images, tt.want)
			}
			po.Progress("starting x")
			if errOut.String() != "purista dev: starting x\n" {
				t.Errorf("progress printed %q", errOut.String())
			}
			if po.Log == nil {
				t.Error("testcontainers' log goes nowhere")
			}
		})
	}
	if len(m.Dev.Images) != 2 || m.Dev.Images["nats"] != "reg/nats:1" {
		t.Errorf("the manifest was changed: %v", m.Dev.Images)
	}
}
