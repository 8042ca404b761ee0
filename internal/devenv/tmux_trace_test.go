package devenv

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/runtime"
)

// normalizeTrace makes a captured trace view comparable: it masks a bar with the
// duration after it (bars scale with the durations), then times, ids and other
// durations (the first normalizers of screenNormalizers). The columns keep their
// padding, so that the indentation of nested spans is compared too.
//
// A chain that starts with an HTTP call takes the W3C trace id of its HTTP server span as
// its traceId, so the summary names no other W3C trace (the golden shows none).
func normalizeTrace(s string) string {
	bar := normalizer{regexp.MustCompile(`[·█]*█[·█]* +\d+(\.\d+)?(ns|µs|ms|s|m)\b`), "<bar> <duration>"}
	return normalize(s, append([]normalizer{bar}, screenNormalizers[:4]...))
}

// TestTmuxTrace runs the real `purista dev` TUI on a copy of examples/signup in tmux,
// monolith and distributed (one process per service on the embedded NATS), signs a user
// up over HTTP, selects the message and opens its trace: the waterfall shows the spans of
// every process — the HTTP request and its invoke, the User.v1/signUp handling, its nested
// Email.v1/sendWelcome call and handling, the userAudit emit and the userSignedUp
// subscription — compared, with times, ids, durations and bars masked, with
// testdata/tmux-trace-<mode>.golden. esc goes back and q stops everything.
func TestTmuxTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and runs purista dev in tmux")
	}
	requireTmux(t)
	bin := buildPurista(t)
	tests := []struct {
		name string
		args string
	}{
		{"monolith", ""},
		{"distributed", " --distributed --no-containers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj := copyTree(t)
			cache, err := runtime.CacheDir(proj)
			if err != nil {
				t.Fatal(err)
			}
			// The go commands work offline; an OTEL_* export of the test's environment
			// would turn the trace view off.
			cmdline := "env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -u OTEL_TRACES_EXPORTER -u OTEL_SDK_DISABLED " +
				"NO_COLOR=1 GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off " +
				shellQuote([]string{bin}) + " dev --grace 5s" + tt.args + "; sleep 600" // the pane stays to be read; cleanup kills it
			tm := startTmux(t, proj, cmdline, 140, 40)
			s := tm.wait(3*time.Minute, `purista dev · signup · .* · ready in`, `(?m)^  User\s+1\s+ready\s+ok`, `(?m)^  Email\s+1\s+ready\s+ok`)
			m := regexp.MustCompile(`OpenAPI (?:User )?http://(127\.0\.0\.1:\d+)/openapi\.json`).FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("no HTTP address of User on the screen:\n%s", s)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := runtime.InvokeHTTP(ctx, m[1], "User", "1", "signUp", json.RawMessage(`{"email":"trace@example.com","name":"T"}`))
			if err != nil {
				t.Fatalf("signUp: %v", err)
			}
			t.Logf("signUp answered %s", out)
			tm.wait(30*time.Second, `subscription User\.signUp → Email\.onUserSignedUp 200`)

			tm.keys("Tab") // selects the newest message: the subscription, the last of the chain
			tm.wait(10*time.Second, `(?m)^▸ \S+ subscription User\.signUp → Email\.onUserSignedUp`)
			tm.keys("t")
			s = tm.wait(30*time.Second, `(?m)^Trace [0-9a-f]{32} · `, `(?m)^7 spans · `,
				`(?m)^  \S+\s+POST /api/User/v1/signUp\s+server\s.*\sok$`,
				`(?m)^  \S+\s+User\.v1/signUp\s+client\s`,
				`(?m)^  User\s+User\.v1/signUp\s+server\s.*\sok$`,
				`(?m)^  User\s+Email\.v1/sendWelcome\s+client\s`,
				`(?m)^  Email\s+Email\.v1/sendWelcome\s+server\s.*\sok$`,
				`(?m)^  User\s+send userAudit\s+producer\s`,
				`(?m)^  Email\s+process userSignedUp\s+consumer\s.*\sok$`)
			got := normalizeTrace(s)
			devtest.CheckGolden(t, filepath.Join("testdata", "tmux-trace-"+tt.name+".golden"), got, *update)

			tm.keys("Escape")
			tm.wait(10*time.Second, `(?m)^Messages · ↑/↓ select`)
			tm.keys("q")
			tm.wait(30*time.Second, "purista dev: stopped")
			if pids := processesMentioning(cache); len(pids) > 0 {
				t.Errorf("processes left behind: %v", pids)
			}
		})
	}
}
