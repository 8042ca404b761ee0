package version_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/version"
)

// info is the build info reported in these tests.
func info() buildinfo.Info {
	return buildinfo.Info{Version: "v0.9.0", Commit: "deadbee", Date: "2026-11-25T00:00:00Z", GoVersion: "go1.26.8", Platform: "darwin/arm64"}
}

func TestNewCmdVersionParsing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantJSON bool
		wantErr  bool
	}{
		{name: "no flags", args: nil},
		{name: "json", args: []string{"--json"}, wantJSON: true},
		{name: "json=false", args: []string{"--json=false"}},
		{name: "positional argument", args: []string{"now"}, wantErr: true},
		{name: "unknown flag", args: []string{"--yaml"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, BuildInfo: info}
			var got *version.Options
			cmd := version.NewCmdVersion(f, func(o *version.Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.ErrOut)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Execute() error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			// Every field: the Factory's streams and build info, and the flag.
			if got == nil || got.IO != ios || got.BuildInfo == nil || got.BuildInfo() != info() || got.JSON != tt.wantJSON {
				t.Errorf("options = %+v, want the Factory's IO and BuildInfo and JSON=%v", got, tt.wantJSON)
			}
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		json, tty bool
		want      string
	}{
		{
			name: "human",
			want: "purista v0.9.0\ncommit:   deadbee\nbuilt:    2026-11-25T00:00:00Z\ngo:       go1.26.8\nplatform: darwin/arm64\n",
		},
		{
			name: "json to a pipe is one line",
			json: true,
			want: `{"version":"v0.9.0","commit":"deadbee","date":"2026-11-25T00:00:00Z","goVersion":"go1.26.8","platform":"darwin/arm64"}` + "\n",
		},
		{
			name: "json to a terminal is indented",
			json: true, tty: true,
			want: "{\n  \"version\": \"v0.9.0\",\n  \"commit\": \"deadbee\",\n  \"date\": \"2026-11-25T00:00:00Z\",\n  \"goVersion\": \"go1.26.8\",\n  \"platform\": \"darwin/arm64\"\n}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, errOut := iostreams.Test()
			ios.SetStdoutTTY(tt.tty)
			err := version.Run(&version.Options{IO: ios, BuildInfo: info, JSON: tt.json})
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("stdout = %q, want %q", out.String(), tt.want)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr = %q, want empty", errOut.String())
			}
			if tt.json {
				var back buildinfo.Info
				if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&back); err != nil || back != info() {
					t.Errorf("JSON round trip = %+v, %v; want %+v", back, err, info())
				}
			}
		})
	}
}
