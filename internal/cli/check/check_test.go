package check

import (
	"testing"
	"time"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

func TestNewCmdCheck(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      Options
		wantUsage bool
	}{
		{name: "defaults", want: Options{Broker: "nats", Format: "text", Timeout: 5 * time.Minute}},
		{name: "all flags", args: []string{"proj", "--only", "stateless,two-models", "--skip", "x", "--broker", "mqtt",
			"--broker-url", "mqtt://h:1883", "--format", "json", "--junit", "r.xml", "--timeout", "1m"},
			want: Options{Dir: "proj", Only: []string{"stateless", "two-models"}, Skip: []string{"x"}, Broker: "mqtt",
				BrokerURL: "mqtt://h:1883", Format: "json", JUnit: "r.xml", Timeout: time.Minute}},
		{name: "bad format", args: []string{"--format", "xml"}, wantUsage: true},
		{name: "bad broker", args: []string{"--broker", "kafka"}, wantUsage: true},
		{name: "two dirs", args: []string{"a", "b"}, wantUsage: true},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdCheck(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.wantUsage {
				if !cmdutil.IsUsageError(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := *got
			g.IO = nil
			if g.Dir != tt.want.Dir || g.Broker != tt.want.Broker || g.BrokerURL != tt.want.BrokerURL || g.Format != tt.want.Format ||
				g.JUnit != tt.want.JUnit || g.Timeout != tt.want.Timeout || len(g.Only) != len(tt.want.Only) || len(g.Skip) != len(tt.want.Skip) {
				t.Errorf("options = %+v, want %+v", g, tt.want)
			}
		})
	}
}
