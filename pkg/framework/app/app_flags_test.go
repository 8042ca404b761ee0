package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
)

// TestAppFlags: the application's flags are parsed with purista's, listed by -h, and
// their mistakes are usage errors; a Build error stops the process.
func TestAppFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		flags    func(fs *flag.FlagSet)
		build    func() ([]*framework.Service, error)
		wantCode int
		want     []string // substrings of stderr
	}{
		{name: "-h lists the application's flags with purista's", args: []string{"-h"}, wantCode: ExitOK,
			want: []string{"-dsn", "database address", "-bridge", "PURISTA_BRIDGE"}},
		{name: "unknown flag", args: []string{"--nope"}, wantCode: ExitConfig,
			want: []string{"flag provided but not defined: -nope", "run with -h"}},
		{name: "bad value of an application flag", args: []string{"--workers=many"}, wantCode: ExitConfig,
			want: []string{`invalid value "many" for flag -workers`}},
		{name: "an application flag purista uses", args: nil, wantCode: ExitConfig,
			flags: func(fs *flag.FlagSet) { fs.String("bridge", "", "mine") },
			want:  []string{"the application defines the flag -bridge, which purista uses: rename it"}},
		{name: "Build sees the parsed values; a config error is exit 2", args: []string{"--dsn=", "--workers=3"}, wantCode: ExitConfig,
			want: []string{"build the services: invalid configuration: --dsn is empty (workers 3)"}},
		{name: "another Build error is exit 1", args: []string{"--dsn=db"}, wantCode: ExitFailure,
			build: func() ([]*framework.Service, error) { return nil, errors.New("database down") },
			want:  []string{"build the services: database down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New()
			dsn := a.Flags().String("dsn", "memory", "database address")
			workers := a.Flags().Int("workers", 4, "worker count")
			if tt.flags != nil {
				tt.flags(a.Flags())
			}
			a.Build(func() ([]*framework.Service, error) {
				if *dsn == "" {
					return nil, fmt.Errorf("%w: --dsn is empty (workers %d)", framework.ErrConfig, *workers)
				}
				return nil, errors.New("unexpected: the test ends before the services run")
			})
			if tt.build != nil {
				a.Build(tt.build)
			}
			var out logBuffer
			code := a.Run(context.Background(), tt.args, func(string) string { return "" }, &out)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tt.wantCode, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not say %q:\n%s", w, out.String())
				}
			}
		})
	}
}
