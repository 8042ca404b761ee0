package memory_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework/memory"
)

// TestInstanceIDOption checks that New keeps any given id (the memory network carries
// every id) and warns about one that a broker bridge could not carry.
func TestInstanceIDOption(t *testing.T) {
	tests := []struct {
		name, id string
		warn     bool
	}{
		{"pod name", "orders-7d4f9c-x2k", false},
		{"wildcard only", "*", true},
		{"line break", "a\nb", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			b := memory.New(memory.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), memory.WithInstanceID(tt.id))
			if got := b.InstanceID(); got != tt.id {
				t.Errorf("InstanceID() = %q, want %q", got, tt.id)
			}
			if warned := strings.Contains(logs.String(), "invalid instance id"); warned != tt.warn {
				t.Errorf("warning logged = %v, want %v; log:\n%s", warned, tt.warn, logs.String())
			}
		})
	}
	if id := memory.New().InstanceID(); id == "" {
		t.Error("default InstanceID() is empty, want a generated id")
	}
}
