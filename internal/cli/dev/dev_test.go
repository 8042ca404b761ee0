package dev

import (
	"testing"
	"time"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

func TestNewCmdDevFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(*Options) bool
	}{
		{"defaults", nil, false, func(o *Options) bool { return o.Dir == "." && !o.NoTUI && !o.Distributed && o.Grace == 10*time.Second }},
		{"headless json", []string{"--json", "-C", "x"}, false, func(o *Options) bool { return o.JSON && o.Dir == "x" }},
		{"distributed amqp", []string{"--distributed", "--broker-url", "amqp://guest:guest@127.0.0.1:5672/", "--grace", "2s"}, false,
			func(o *Options) bool { return o.Distributed && o.BrokerURL != "" && o.Grace == 2*time.Second }},
		{"broker without distributed", []string{"--broker", "nats"}, true, nil},
		{"unknown broker", []string{"--distributed", "--broker", "kafka"}, true, nil},
		{"no args", []string{"extra"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdDev(cmdutil.NewFactory(ios), func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && (got == nil || !tt.check(got)) {
				t.Errorf("options %+v", got)
			}
		})
	}
}
