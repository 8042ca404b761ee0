package app

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestRedactLogs: the logger Run builds scrubs the credentials of the bridge URL from the
// message and from every kind of attribute (strings, errors, other values, groups, and
// attributes bound with With), in text and JSON; records without one are unchanged.
func TestRedactLogs(t *testing.T) {
	forms := []struct{ name, url, secret string }{
		{"password", "amqp://guest:S3CRETpassw0rd@h:5672/", "S3CRETpassw0rd"},
		{"token", "nats://S3CRETtoken@h:4222", "S3CRETtoken"},
		{"user-only", "mqtt://S3CRETuser@h:1883", "S3CRETuser"},
		{"query token", "nats://h:4222?token=S3CRETquery", "S3CRETquery"},
	}
	type point struct{ URL string }
	for _, form := range forms {
		for _, format := range []string{"text", "json"} {
			t.Run(form.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				var h slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
				if format == "json" {
					h = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
				}
				log := slog.New(redactLogs(h, form.url)).With("bound", form.url)
				log.Info("dial "+form.url+" failed",
					"url", form.url,
					"error", fmt.Errorf("connect %s: %w", form.url, errors.New("refused")),
					"value", point{URL: form.url},
					slog.Group("conn", "server", form.url, "n", 3))
				log.WithGroup("g").Debug("plain", "count", 7, "name", "kept")
				out := buf.String()
				if strings.Contains(out, form.secret) {
					t.Fatalf("the log shows the %s credential:\n%s", form.name, out)
				}
				for _, want := range []string{"refused", "xxxxx", "kept", "7"} {
					if !strings.Contains(out, want) {
						t.Errorf("the log lost %q:\n%s", want, out)
					}
				}
			})
		}
	}
	if h := slog.NewTextHandler(&bytes.Buffer{}, nil); redactLogs(h, "nats://127.0.0.1:4222") != slog.Handler(h) {
		t.Error("a URL without credentials wraps the handler")
	}
}
