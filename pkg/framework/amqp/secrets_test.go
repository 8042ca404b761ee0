package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
)

// urlForm is one way a URL carries a credential. url builds the URL for host (host:port)
// with the secret in it.
type urlForm struct {
	name string
	url  func(host, secret string) string
	// login: the broker accepts the URL (the credential is extra, the login guest:guest).
	login bool
}

var urlForms = []urlForm{
	{"password", func(h, s string) string { return "amqp://guest:" + s + "@" + h + "/" }, false},
	{"user only", func(h, s string) string { return "amqp://" + s + "@" + h + "/" }, false},
	{"query token", func(h, s string) string { return "amqp://guest:guest@" + h + "/?token=" + s }, true},
	{"query password", func(h, s string) string { return "amqp://guest:guest@" + h + "/?heartbeat=5&password=" + s }, true},
}

// TestSecretsNeverLeak checks every error, log line and Healthy output of the bridge for
// the credential of each URL form: New's errors on invalid URLs, Start on a closed port
// and on the real broker (a refused login, or a successful one), the lost-connection,
// reconnect and Healthy output while the connection is cut, and the URL as shown.
func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("RabbitMQ takes seconds to refuse each login: skipped with -short, make test runs it")
	}
	u, err := url.Parse(brokerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range urlForms {
		t.Run(f.name, func(t *testing.T) {
			secret := "S3cr3t" + strings.ReplaceAll(f.name, " ", "") + "Xq9"
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			check := func(what, s string) {
				t.Helper()
				if strings.Contains(s, secret) {
					t.Errorf("%s shows the credential: %s", what, s)
				}
			}

			good := f.url("127.0.0.1:5672", secret)
			sep := "?"
			if strings.Contains(good, "?") {
				sep = "&"
			}
			for _, bad := range []string{
				f.url("127.0.0.1:notaport", secret),       // url.Parse: invalid port
				"http" + strings.TrimPrefix(good, "amqp"), // not amqp or amqps
				f.url("127.0.0.1:5672/%zz", secret),       // url.Parse: invalid escape
				good + sep + "channel_max=x",              // amqp091.ParseURI
			} {
				_, err := amqp.New(bad, amqp.WithLogger(log))
				if !errors.Is(err, amqp.ErrConfig) {
					t.Errorf("New(%q) = %v, want ErrConfig", strings.ReplaceAll(bad, secret, "…"), err)
				}
				check("New error", fmt.Sprint(err))
			}

			closed, err := amqp.New(f.url("127.0.0.1:1", secret), amqp.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			check("URL as shown", closed.RedactedURL())
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			err = closed.Start(ctx)
			cancel()
			if !errors.Is(err, bridge.ErrUnavailable) {
				t.Errorf("Start on a closed port = %v, want ErrUnavailable", err)
			}
			check("Start error (no broker)", fmt.Sprint(err))
			_ = closed.Close(context.Background())

			proxy, pu := proxied(t)
			host, _ := url.Parse(pu)
			real := f.url(host.Host+u.Path, secret)
			b := newBridge(t, real, amqp.WithLogger(log), amqp.WithReconnectBackoff(10*time.Millisecond, 50*time.Millisecond))
			ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = b.Start(ctx)
			check("Start error (broker)", fmt.Sprint(err))
			if !f.login {
				if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "refused access") {
					t.Errorf("Start with a refused login = %v (deadline passed: %v), want an immediate access-refused error", err, ctx.Err() != nil)
				}
			} else {
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				t.Cleanup(func() { _ = b.Close(context.Background()) })
				proxy.Cut()
				var health error
				waitFor(t, 10*time.Second, "Healthy to report the cut", func() bool {
					health = b.Healthy(context.Background())
					return errors.Is(health, bridge.ErrUnavailable)
				})
				check("Healthy error", health.Error())
				waitFor(t, 10*time.Second, "a failed reconnect", func() bool { return strings.Contains(logs.String(), "reconnect failed") })
				proxy.Restore()
				waitFor(t, 10*time.Second, "the reconnect", func() bool { return b.Healthy(context.Background()) == nil })
			}
			_ = b.Close(context.Background())
			if !strings.Contains(logs.String(), "xxxxx") {
				t.Errorf("the logs never mention the (masked) URL:\n%s", logs.String())
			}
			check("log output", logs.String())
		})
	}
}
