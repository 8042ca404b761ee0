package mqtt_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
)

// TestSecretsNeverShown: the credentials of the broker URL, a password or a user-only
// userinfo (which some brokers take as a token), appear in no error, log line or health
// output of the bridge: bad URLs, a refused connection, a broker that refuses the
// credentials, and a connection that is cut and retried.
func TestSecretsNeverShown(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, form := range []struct {
		name     string
		userinfo string
	}{
		{"user and password", "alice:" + secret},
		{"user only", secret},
	} {
		t.Run(form.name, func(t *testing.T) {
			var logs lockedBuffer
			log := slogTo(&logs)
			check := func(what, s string) {
				t.Helper()
				if strings.Contains(s, secret) {
					t.Errorf("%s shows the secret: %s", what, s)
				}
			}
			url := func(host string) string { return "mqtt://" + form.userinfo + "@" + host }

			for _, bad := range []string{
				"foo://" + form.userinfo + "@127.0.0.1:1883",
				"mqtt://" + form.userinfo + "@",
				url("127.0.0.1:1883/?sessionExpiry=x"),
				url("[::1"),
			} {
				_, err := mqtt.New(bad, mqtt.WithLogger(log))
				if !errors.Is(err, mqtt.ErrConfig) {
					t.Errorf("New of a bad URL = %v, want ErrConfig", err)
				}
				if err != nil {
					check("New's error", err.Error())
				}
			}

			// A refused connection: Start fails with ErrUnavailable and logs why.
			refused, err := mqtt.New(url("127.0.0.1:1"), mqtt.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			check("URL()", refused.URL())
			startFails(t, refused, check)
			if !strings.Contains(logs.String(), "connection attempt failed") {
				t.Errorf("the failed connection was not logged:\n%s", logs.String())
			}

			// A broker that refuses the credentials.
			strict := startMosquitto(t, "allow_anonymous false", func(dir string) string {
				pw := filepath.Join(dir, "passwords")
				if out, err := exec.Command("mosquitto_passwd", "-c", "-b", pw, "someone", "else").CombinedOutput(); err != nil {
					t.Skipf("mosquitto_passwd: %v: %s", err, out)
				}
				return "password_file " + pw
			})
			denied, err := mqtt.New(url(strict), mqtt.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			startFails(t, denied, check)

			// A broker that accepts them (anonymous access allowed), cut and retried.
			p, err := tcpproxy.New(brokerAddr(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			b, err := mqtt.New(url(p.Addr()), mqtt.WithLogger(log), mqtt.WithLocalDelivery(false))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			p.Cut()
			waitFor(t, 10*time.Second, "health to report the cut", func() bool {
				err := b.Healthy(ctx)
				if err != nil {
					check("Healthy", err.Error())
				}
				return errors.Is(err, bridge.ErrUnavailable)
			})
			waitFor(t, 10*time.Second, "a failed reconnection attempt", func() bool {
				return strings.Contains(logs.String(), "connection lost") && strings.Count(logs.String(), "connection attempt failed") >= 3
			})
			from, to := uniqAddr("SecretCaller", "run"), uniqAddr("SecretCallee", "x")
			if _, err := b.Invoke(ctx, command(t, from, to, 1), time.Second); err != nil {
				check("Invoke's error", err.Error())
			}
			if err := b.Emit(ctx, event(from, "secretEvent", 1)); err != nil {
				check("Emit's error", err.Error())
			}
			cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer ccancel()
			if err := b.Close(cctx); err != nil {
				check("Close's error", err.Error())
			}
			check("the logs", logs.String())
		})
	}
}

// startFails starts b, which cannot connect, and checks its errors and health.
func startFails(t *testing.T, b *mqtt.Bridge, check func(what, s string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := b.Start(ctx)
	if !errors.Is(err, bridge.ErrUnavailable) {
		t.Errorf("Start = %v, want ErrUnavailable", err)
	}
	if err != nil {
		check("Start's error", err.Error())
	}
	if err := b.Healthy(context.Background()); err == nil {
		t.Error("Healthy = nil while not connected")
	} else {
		check("Healthy", err.Error())
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if err := b.Close(cctx); err != nil {
		check("Close's error", err.Error())
	}
}
