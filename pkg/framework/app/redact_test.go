package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// credentialForm is one way a broker URL carries a credential: put returns base with
// secret in it.
type credentialForm struct {
	name string
	put  func(base url.URL, secret string) string
}

// credentialForms are the forms the issue names: a password (amqp://u:p@h), a token or
// user-only userinfo (nats://TOKEN@h, which the NATS bridge sends as a token; a user
// name alone for the other brokers), and a ?token= query parameter. The tests put each
// into the URL of every broker kind.
var credentialForms = []credentialForm{
	{"password", func(u url.URL, secret string) string {
		u.User = url.UserPassword("purista", secret)
		return u.String()
	}},
	{"token or user-only", func(u url.URL, secret string) string {
		u.User = url.User(secret)
		return u.String()
	}},
	{"query token", func(u url.URL, secret string) string { // keeps the userinfo (RabbitMQ's guest)
		q := u.Query()
		q.Set("token", secret)
		u.RawQuery = q.Encode()
		return u.String()
	}},
}

// brokers are the broker URLs of the test brokers (see the common brief), without a
// credential except RabbitMQ's guest account.
var brokers = []string{"nats://127.0.0.1:4222", "amqp://guest:guest@127.0.0.1:5672/", "mqtt://127.0.0.1:1883"}

// forEachCredential runs f as a parallel subtest for every credential form in the URL of
// every broker kind, at host instead of the broker's own when host is not "".
func forEachCredential(t *testing.T, host string, f func(t *testing.T, rawURL, secret string)) {
	for _, b := range brokers {
		base, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			base.Host = host
		}
		for _, form := range credentialForms {
			t.Run(base.Scheme+"/"+form.name, func(t *testing.T) {
				if testing.Short() && host == "" && base.Scheme == "amqp" {
					t.Skip("RabbitMQ takes seconds to refuse each login: skipped with -short, make test runs it")
				}
				t.Parallel()
				secret := "S3CRET" + wire.NewID()[:10]
				f(t, form.put(*base, secret), secret)
			})
		}
	}
}

// noSecret fails t when text holds secret (letters and digits: the same in every
// spelling, escaped or not).
func noSecret(t *testing.T, secret, where, text string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%s shows the credential %s:\n%s", where, secret, text)
	}
}

// TestRunMainNeverShowsCredentials: a start that fails (nothing listens at the broker's
// address), a configuration error, and the URL passed where a flag belongs show no
// credential in stderr.
func TestRunMainNeverShowsCredentials(t *testing.T) {
	for _, sc := range []struct {
		name     string
		args     func(rawURL string) []string
		extraEnv environ
	}{
		{"unreachable broker", func(string) []string { return nil }, environ{"PURISTA_START_TIMEOUT": "1s"}},
		{"configuration error", func(string) []string { return []string{"--log-level=loud"} }, nil},
		{"URL given as an argument", func(u string) []string { return []string{u} }, nil},
	} {
		t.Run(sc.name, func(t *testing.T) {
			forEachCredential(t, "127.0.0.1:1", func(t *testing.T, rawURL, secret string) {
				env := environ{"PURISTA_BRIDGE": rawURL, "PURISTA_HEALTH_ADDR": "off", "PURISTA_LOG_LEVEL": "debug"}
				for k, v := range sc.extraEnv {
					env[k] = v
				}
				var out logBuffer
				if code := runMain(context.Background(), sc.args(rawURL), env.get, &out, echoService()); code == ExitOK {
					t.Fatalf("exit 0, want a failure\n%s", out.String())
				}
				if !strings.Contains(out.String(), "Error: ") {
					t.Fatalf("no error shown:\n%s", out.String())
				}
				noSecret(t, secret, "stderr", out.String())
			})
		})
	}
}

// TestRunNeverShowsCredentials runs the application on the real brokers with a secret in
// each form (brokers without authentication accept any user or token, RabbitMQ refuses
// an unknown user) and checks the log (debug level, text and JSON), Run's error and the
// health bodies. A broker that is not listening is skipped.
func TestRunNeverShowsCredentials(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			forEachCredential(t, "", func(t *testing.T, rawURL, secret string) {
				u, _ := url.Parse(rawURL)
				if c, err := net.Dial("tcp", u.Host); err != nil {
					t.Skipf("no broker at %s: %v", u.Host, err)
				} else {
					_ = c.Close()
				}
				cfg, err := parseConfig(nil, nil, environ{"PURISTA_BRIDGE": rawURL, "PURISTA_HEALTH_ADDR": "off",
					"PURISTA_LOG_LEVEL": "debug", "PURISTA_LOG_FORMAT": format, "PURISTA_START_TIMEOUT": "5s"}.get, nil)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				var logs logBuffer
				var bodies []string
				err = runServices(ctx, cfg, []*framework.Service{echoService()}, settings{ready: func(rt *framework.Runtime) {
					defer cancel()
					for _, path := range []string{"/healthz", "/readyz"} {
						rec := httptest.NewRecorder()
						rt.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
						bodies = append(bodies, rec.Body.String())
					}
				}}, &logs)
				if err != nil {
					noSecret(t, secret, "Run's error", err.Error())
				}
				noSecret(t, secret, "the log", logs.String())
				noSecret(t, secret, "the health bodies", strings.Join(bodies, "\n"))
				if err == nil && !strings.Contains(logs.String(), "services ready") {
					t.Errorf("no ready line:\n%s", logs.String())
				}
			})
		})
	}
}

// environ is a map of environment variables with getenv's signature.
type environ map[string]string

func (e environ) get(k string) string { return e[k] }

// TestHealthNeverShowsCredentials: a bridge whose health error quotes its URL (as a
// client library's dial error does) is shown in /readyz without the credential.
func TestHealthNeverShowsCredentials(t *testing.T) {
	forEachCredential(t, "broker.example:1234", func(t *testing.T, rawURL, secret string) {
		b := memory.New()
		rt, err := framework.Start(context.Background(), b, []*framework.Service{echoService()}, withBridgeURL(rawURL))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
		b.SetHealthy(fmt.Errorf("dial %s: connection refused (credential %s)", rawURL, secret))
		rec := httptest.NewRecorder()
		rt.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "connection refused") {
			t.Fatalf("readyz %d %s, want a 503 with the error", rec.Code, rec.Body.String())
		}
		noSecret(t, secret, "/readyz", rec.Body.String())
	})
}
