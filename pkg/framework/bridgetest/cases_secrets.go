package bridgetest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
)

// credentialForms are the ways a broker URL carries a credential; put returns base with
// secret in that form.
var credentialForms = []struct {
	name string
	put  func(base url.URL, secret string) string
}{
	{"password", func(u url.URL, secret string) string { // scheme://user:SECRET@host
		u.User = url.UserPassword("purista", secret)
		return u.String()
	}},
	{"token", func(u url.URL, secret string) string { // scheme://SECRET@host: NATS sends it as a token
		u.User = url.User(secret)
		return u.String()
	}},
	{"query token", func(u url.URL, secret string) string { // scheme://host/?token=SECRET (userinfo kept)
		q := u.Query()
		q.Set("token", secret)
		u.RawQuery = q.Encode()
		return u.String()
	}},
}

// caseCredentialsNeverShown puts a secret into the broker URL in each credential form and
// checks that it appears nowhere, at two levels. The bridge itself (app.NewBridge
// from the URL, logging at debug level): its constructor's and Start's errors, its log,
// its Healthy error (also while the connection is cut, when the harness can cut it), and
// the errors of Invoke, Emit and Close; the bridge must scrub what its client library
// says. And the application (App.Run of package app, as --bridge configures it): its log,
// its error and the /healthz and /readyz bodies. The broker may refuse the credential;
// then only the failure paths are checked.
func caseCredentialsNeverShown(t *testing.T, h Harness) {
	if h.BrokerURL == nil {
		t.Skip("Harness.BrokerURL is nil: the harness does not say which URL reaches its broker")
	}
	if testing.Short() && strings.HasPrefix(h.BrokerURL(t), "amqp") {
		t.Skip("RabbitMQ takes seconds to refuse each login: skipped with -short, make test runs it")
	}
	// Not parallel with other cases: the subtests may disrupt their (own) connections.
	for _, form := range credentialForms {
		t.Run(form.name, func(t *testing.T) {
			t.Parallel()
			base, err := url.Parse(h.BrokerURL(t))
			if err != nil {
				t.Fatalf("Harness.BrokerURL: %v", err)
			}
			secret := uniq("S3cret")
			rawURL := form.put(*base, secret)
			for level, shown := range map[string][]string{"bridge": bridgeShows(t, h, rawURL), "application": appShows(t, h, rawURL)} {
				for _, s := range shown {
					if strings.Contains(s, secret) {
						t.Errorf("the %s shows the %s credential:\n%s", level, form.name, s)
					}
				}
			}
		})
	}
}

// logFile returns a file for a logger to write to (safe for concurrent writers) and a
// function that returns what was written.
func logFile(t *testing.T) (*os.File, func() string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, func() string {
		written, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(written)
	}
}

// cutHealth cuts the connection when h can, and returns what health says meanwhile (the
// last of up to h.Wait of polls, until it reports an error).
func cutHealth(t *testing.T, h Harness, health func() (string, bool)) []string {
	if h.Disrupt == nil {
		return nil
	}
	restore := h.Disrupt(t)
	defer restore()
	text, ok := health()
	for deadline := time.Now().Add(h.Wait); ok && time.Now().Before(deadline); text, ok = health() {
		time.Sleep(10 * time.Millisecond)
	}
	return []string{text}
}

// bridgeShows builds a bridge from rawURL, uses it, and returns what it showed.
func bridgeShows(t *testing.T, h Harness, rawURL string) []string {
	logs, written := logFile(t)
	var shown []string
	note := func(what string, err error) {
		if err != nil {
			shown = append(shown, what+": "+err.Error())
		}
	}
	b, err := app.NewBridge(rawURL, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		return append(shown, "NewBridge: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(h.ctx(t), h.Wait/2)
	defer cancel()
	note("Start", b.Start(ctx))
	note("Healthy", b.Healthy(ctx))
	if ctx.Err() == nil && b.Healthy(ctx) == nil {
		shown = append(shown, cutHealth(t, h, func() (string, bool) {
			err := b.Healthy(ctx)
			return fmt.Sprint("Healthy while cut: ", err), err == nil
		})...)
	}
	caller, callee := endpoints()
	_, err = b.Invoke(ctx, command(t, caller, callee, 1), h.Wait/4)
	note("Invoke", err)
	note("Emit", b.Emit(ctx, event(t, caller, uniq("btSecret"), 1)))
	cctx, ccancel := context.WithTimeout(h.ctx(t), h.Wait)
	defer ccancel()
	note("Close", b.Close(cctx))
	return append(shown, written())
}

// appShows runs a one-command application on rawURL until it is ready (or its start
// fails), reads its health, invokes its command, cuts its connection when h can, stops
// it, and returns everything it showed: the log, the error and the health bodies.
func appShows(t *testing.T, h Harness, rawURL string) []string {
	svcName := uniq("BtSecret")
	ping := framework.Command[struct{}, struct{}](framework.NewContract(svcName, "1"), "ping", framework.WithTimeout(h.Wait))
	svc := framework.NewService(framework.NewContract(svcName, "1"), "answers pings")
	framework.Handle(svc, ping, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	args := []string{"--bridge=" + rawURL, "--shutdown-timeout=" + h.Wait.String(), "--start-timeout=" + (h.Wait / 2).String(),
		"--log-level=debug", "--log-format=text", "--health-addr=off"}
	logs, written := logFile(t)
	var shown []string
	ctx, cancel := context.WithCancel(h.ctx(t))
	defer cancel()
	ready := func(rt *framework.Runtime) {
		defer cancel() // then Run shuts down
		health := rt.HealthHandler()
		get := func(path string) (string, bool) {
			rec := httptest.NewRecorder()
			health.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			return fmt.Sprintf("GET %s: %d %s", path, rec.Code, rec.Body.String()), rec.Code == http.StatusOK
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			body, _ := get(path)
			shown = append(shown, body)
		}
		if _, err := ping.Invoke(rt.Client(ctx), struct{}{}); err != nil {
			shown = append(shown, "invoke: "+err.Error())
		}
		shown = append(shown, cutHealth(t, h, func() (string, bool) { return get("/readyz") })...)
	}
	if code := app.New(svc).With(app.WithReady(ready)).Run(ctx, args, func(string) string { return "" }, logs); code != app.ExitOK {
		shown = append(shown, fmt.Sprintf("Run: exit code %d", code)) // its error is in the log
	}
	return append(shown, written())
}
