package redact_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework/internal/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"memory", "memory"},
		{"nats://S3CRETTOKEN@host:4222", "nats://xxxxx@host:4222"},
		{"nats://user:S3CRET@host:4222", "nats://xxxxx@host:4222"},
		{"amqp://guest:guest@127.0.0.1:5672/", "amqp://xxxxx@127.0.0.1:5672/"},
		{"mqtt://u:p%40ss@host:1883", "mqtt://xxxxx@host:1883"},
		{"nats://host:4222?token=S3CRET&name=x", "nats://host:4222?name=x&token=xxxxx"},
		{"nats://us er:S3CRET@ho st", "nats://xxxxx@ho st"},
		{"nats://[::1?token=S3CRET&name=x", "nats://[::1?token=xxxxx&name=x"},
		{"nats://u:S3CRET@[::1?password=S3CRET2", "nats://xxxxx@[::1?password=xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := redact.URL(tt.in)
			if got != tt.want {
				t.Fatalf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, s := range redact.Secrets(tt.in) {
				if strings.Contains(got, s) {
					t.Fatalf("URL(%q) = %q still holds %q", tt.in, got, s)
				}
			}
		})
	}
}

func TestError(t *testing.T) {
	tests := []struct {
		name, url, msg string
	}{
		{"token", "nats://S3CRETTOKEN@host:4222", "dial nats://S3CRETTOKEN@host:4222: refused"},
		{"password", "amqp://guest:S3CRET@host:5672/", "Exception (403) user guest:S3CRET refused"},
		{"encoded password", "mqtt://u:p%40ssw0rd@host:1883", "auth p@ssw0rd refused"},
		{"query token", "nats://host:4222?token=S3CRET", "token S3CRET refused"},
		{"query token of a URL that does not parse", "nats://[::1?token=S3CRET", "bad URL nats://[::1?token=S3CRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := redact.Error(fmt.Errorf("%s: %w", tt.msg, io.EOF), tt.url)
			if !errors.Is(err, io.EOF) {
				t.Fatal("the scrubbed error no longer unwraps")
			}
			for _, s := range []string{"S3CRET", "p@ssw0rd"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q still holds %q", err, s)
				}
			}
		})
	}
	if redact.Error(nil, "nats://a:b@c") != nil {
		t.Fatal("nil error became non-nil")
	}
}
