package devmsg

import (
	"testing"
	"time"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestTexts: how records, durations, builds and changes of the services read.
func TestTexts(t *testing.T) {
	rec := func(r app.Record) runtime.Event { return runtime.Event{Type: "record", Record: &r} }
	user := wire.Address{ServiceName: "User", ServiceTarget: "signUp"}
	tests := []struct {
		name, got, want string
	}{
		{"command record", FormatRecord(rec(app.Record{Kind: "command", From: wire.Address{ServiceName: "client", ServiceTarget: "invoke"},
			To: user, Status: 200, Latency: 1450 * time.Microsecond, TraceID: "t1"})), "command client.invoke → User.signUp 200 1.45ms trace=t1"},
		{"event record with an error", FormatRecord(rec(app.Record{Kind: "event", From: user, EventName: "userSignedUp",
			Status: 500, Latency: 2 * time.Second, Error: "boom"})), "event User.signUp → event userSignedUp 500 2s error=boom"},
		{"address without target", FormatAddress(wire.Address{ServiceName: "Email"}), "Email"},
		{"sub-microsecond", Round(1500 * time.Nanosecond), "2µs"},
		{"attributes sorted, service left out", FormatAttrs(map[string]any{"b": "x", "service": "User", "a": float64(3), "took": float64(2e9)}),
			" a=3 b=x took=2s"},
		{"build failed while running", BuildMsg{Err: "x"}.FailText(), "build failed (the previous process keeps running)"},
		{"build failed, watching, idle", BuildMsg{Err: "x", Idle: true, Watch: true}.FailText(), "build failed; fix the error and save to rebuild"},
		{"build cancelled", BuildMsg{Cancelled: true, Idle: true}.FailText(), "build cancelled"},
		{"services changed", ServicesMsg{Services: []project.Service{{Name: "User"}, {Name: "Shipping"}},
			Added: []string{"Shipping v1"}, Removed: []string{"Email v1"}}.Text(),
			"services changed (added Shipping v1; removed Email v1): now User, Shipping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	if n := HTTPModeNote(false); !n.Warn || HTTPModeNote(true).Warn {
		t.Errorf("the development-mode note must warn and the secure one not: %+v", n)
	}
}
