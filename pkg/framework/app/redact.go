package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
	"github.com/purista-go/purista/pkg/framework/internal/runopts"
)

// RedactURL returns s with every credential it holds (userinfo, whether a password or a
// user-only token, and sensitive query parameters such as token=) replaced by "xxxxx", for
// logs, errors and output. A setting without credentials is returned as written.
func RedactURL(s string) string { return redact.URL(s) }

// Redactor removes the credentials of one URL (password, token or user-only userinfo,
// sensitive query parameters; as written and percent-decoded) from text and errors that
// may quote the URL or a client library's message built from it, such as a process's
// output. The credentials are found once, by NewRedactor. The zero Redactor, and one made
// for a URL without credentials, changes nothing. Safe for concurrent use.
type Redactor struct{ secrets []string }

// NewRedactor returns the Redactor for the credentials of rawURL.
func NewRedactor(rawURL string) Redactor { return Redactor{secrets: redact.Secrets(rawURL)} }

// Active reports whether the URL held credentials, i.e. whether the Redactor changes
// anything.
func (r Redactor) Active() bool { return len(r.secrets) > 0 }

// Text returns text with every credential replaced by "xxxxx".
func (r Redactor) Text(text string) string { return redact.Text(text, r.secrets) }

// Error returns err with the credentials scrubbed from its message; the result unwraps
// to err, so errors.Is and errors.As see through it. An error whose message holds no
// credential is returned as is.
func (r Redactor) Error(err error) error { return redact.ErrorOf(err, r.secrets) }

// withBridgeURL tells the runtime the URL (PURISTA_BRIDGE) its bridge was built from, so
// that what it shows never holds the URL's credentials: the error in /readyz's body
// (a bridge's health error may quote the URL or a client library's message built from
// it) is scrubbed.
func withBridgeURL(rawURL string) framework.StartOption {
	return func(s *runopts.Settings) { s.Secrets = redact.Secrets(rawURL) }
}

// redactHandler is a slog.Handler that removes secrets from every record before next
// sees it: from the message, string attributes, groups, and the text of errors and
// other values (which then become strings). Records without a secret pass unchanged.
type redactHandler struct {
	next    slog.Handler
	secrets []string
}

// redactLogs returns h, wrapped so that the credentials of rawURL never reach it.
func redactLogs(h slog.Handler, rawURL string) slog.Handler {
	secrets := redact.Secrets(rawURL)
	if len(secrets) == 0 {
		return h
	}
	return redactHandler{next: h, secrets: secrets}
}

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact.Text(r.Message, h.secrets), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return redactHandler{next: h.next.WithAttrs(out), secrets: h.secrets}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// attr returns a with the secrets removed from its value.
func (h redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact.Text(v.String(), h.secrets))
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		text := fmt.Sprint(v.Any())
		if scrubbed := redact.Text(text, h.secrets); scrubbed != text {
			return slog.String(a.Key, scrubbed)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
