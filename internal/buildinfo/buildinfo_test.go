package buildinfo_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/purista-go/purista/internal/buildinfo"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef"},
		{Key: "vcs.time", Value: "2026-11-25T10:00:00Z"},
	}
	tests := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  buildinfo.Info
	}{
		{
			name:    "unstamped without build info",
			version: "dev", commit: "unknown", date: "unknown",
			want: buildinfo.Info{Version: "dev", Commit: "unknown", Date: "unknown"},
		},
		{
			name:    "empty stamps fall back to placeholders",
			version: "", commit: "", date: "",
			want: buildinfo.Info{Version: "dev", Commit: "unknown", Date: "unknown"},
		},
		{
			name:    "linker stamps win over build info",
			version: "v1.2.3", commit: "abc1234", date: "2026-01-02T03:04:05Z",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs},
			want: buildinfo.Info{Version: "v1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"},
		},
		{
			name:    "go install of a tagged module",
			version: "dev", commit: "unknown", date: "unknown",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}},
			want: buildinfo.Info{Version: "v0.4.0", Commit: "unknown", Date: "unknown"},
		},
		{
			name:    "local build with vcs stamping",
			version: "dev", commit: "unknown", date: "unknown",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			want: buildinfo.Info{Version: "dev", Commit: "0123456789abcdef", Date: "2026-11-25T10:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := buildinfo.Resolve(tt.version, tt.commit, tt.date, tt.bi)
			tt.want.GoVersion = runtime.Version()
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got != tt.want {
				t.Errorf("Resolve() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	got := buildinfo.Get()
	if got.Version == "" || got.Commit == "" || got.Date == "" || got.GoVersion == "" || got.Platform == "" {
		t.Fatalf("Get() has an empty field: %+v", got)
	}
}
