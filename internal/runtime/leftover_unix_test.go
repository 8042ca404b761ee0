//go:build unix

package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/runtime"
)

func TestLeftRunning(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   bool
	}{
		{"clean exit leaves nothing", "#!/bin/sh\nexit 0\n", false},
		{"a background child outlives the app", "#!/bin/sh\nsleep 30 &\nexit 0\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "app.sh")
			if err := os.WriteFile(bin, []byte(tt.script), 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			t.Cleanup(cancel)
			p, err := runtime.Start(ctx, runtime.StartOptions{Binary: &runtime.Binary{Path: bin}, Profile: runtime.Profile{Bridge: "memory"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Stop(time.Second) })
			_ = p.Wait()
			if got := p.LeftRunning(); got != tt.want {
				t.Fatalf("LeftRunning = %v, want %v", got, tt.want)
			}
		})
	}
}
