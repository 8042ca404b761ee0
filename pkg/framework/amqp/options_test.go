package amqp_test

import (
	"errors"
	"testing"

	"github.com/purista-go/purista/pkg/framework/amqp"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// TestNewInstanceID shows the instance id New accepts (PURISTA's ids and pod names, or
// none: a fresh one) and the ones it refuses with ErrConfig (a header cannot carry them).
// New does not connect, so no broker is needed.
func TestNewInstanceID(t *testing.T) {
	const u = "amqp://guest:guest@127.0.0.1:5672/"
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"none: a fresh id", "", true},
		{"a PURISTA id", "0123456789abcdef0123456789abcdef", true},
		{"a pod name", "signup-0", true},
		{"a line break", "pod\n0", false},
		{"no letter or digit", "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := amqp.New(u, amqp.WithInstanceID(tt.id))
			if !tt.ok {
				if !errors.Is(err, amqp.ErrConfig) || !errors.Is(err, transport.ErrInstanceID) {
					t.Fatalf("New(%q) = %v, want ErrConfig and ErrInstanceID", tt.id, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.id, err)
			}
			if b.InstanceID() == "" || tt.id != "" && b.InstanceID() != tt.id {
				t.Fatalf("InstanceID() = %q, want %q (or a fresh one)", b.InstanceID(), tt.id)
			}
		})
	}
}
