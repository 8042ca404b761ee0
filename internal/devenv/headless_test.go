package devenv

import (
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/runtime"
)

// TestPrinterLines: what the headless printer says for builds and log attributes.
func TestPrinterLines(t *testing.T) {
	logMsg := func(attrs map[string]any) UnitEventMsg {
		return UnitEventMsg{Unit: MonolithUnit, Event: runtime.Event{Type: "log", Level: "INFO", Message: "m", Attrs: attrs}}
	}
	tests := []struct {
		name    string
		msg     any
		want    string
		notWant string
	}{
		{"rebuild fails while the app runs", BuildMsg{Err: "x.go:1: bad"}, "build failed (the previous process keeps running):", ""},
		{"first build fails, watching", BuildMsg{Err: "x.go:1: bad", Idle: true, Watch: true},
			"build failed; fix the error and save to rebuild:", "previous process"},
		{"first build fails, no watch", BuildMsg{Err: "x.go:1: bad", Idle: true}, "dev  | build failed:", "previous process"},
		{"build cancelled", BuildMsg{Cancelled: true}, "dev  | build cancelled\n", "failed"},
		{"duration attribute", logMsg(map[string]any{"timeout": float64(15e9)}), "timeout=15s", "e+"},
		{"camel-case duration", logMsg(map[string]any{"retryDelay": float64(1.5e9)}), "retryDelay=1.5s", "e+"},
		{"snake-case duration", logMsg(map[string]any{"grace_period": float64(250e6)}), "grace_period=250ms", ""},
		{"large count stays a number", logMsg(map[string]any{"bytes": float64(2e10)}), "bytes=20000000000", "e+"},
		{"a key that only ends like a word", logMsg(map[string]any{"page": float64(3)}), "page=3", "ns"},
		{"fraction stays a fraction", logMsg(map[string]any{"ratio": 0.5}), "ratio=0.5", ""},
		{"string stays a string", logMsg(map[string]any{"timeout": "soon"}), "timeout=soon", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			NewPrinter(&b, false, []string{MonolithUnit}).Sink(tt.msg)
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("printed %q, want %q", b.String(), tt.want)
			}
			if tt.notWant != "" && strings.Contains(b.String(), tt.notWant) {
				t.Errorf("printed %q, must not contain %q", b.String(), tt.notWant)
			}
		})
	}
}
