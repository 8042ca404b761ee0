// Package redact keeps credentials given in broker URLs out of logs, errors, health output
// and the CLI's output. Every form a credential takes in a URL is covered: a password
// (nats://user:pass@host, amqp://guest:guest@host), a user-only userinfo (NATS sends
// nats://TOKEN@host as a token) and sensitive query parameters (token=…, password=…).
package redact

import (
	"net/url"
	"strings"
)

// Mask is what stands in for a credential.
const Mask = "xxxxx"

// sensitiveQuery names query parameters whose values are credentials.
func sensitiveQuery(name string) bool {
	switch strings.ToLower(name) {
	case "token", "password", "pass", "passwd", "secret", "key", "apikey", "api_key",
		"access_token", "auth", "authorization", "nkey", "jwt", "creds":
		return true
	}
	return false
}

// URL returns s with its userinfo replaced by Mask and the values of sensitive query
// parameters replaced by Mask. A setting with no credential is returned exactly as
// written. A string that does not parse as a URL has everything between "://" and its last
// "@" masked.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		out := s
		if at := strings.LastIndex(out, "@"); at > 0 {
			if i := strings.Index(out, "://"); i >= 0 && i < at {
				out = out[:i+3] + Mask + out[at:]
			}
		}
		if q := strings.IndexByte(out, '?'); q >= 0 {
			out = out[:q+1] + maskQuery(out[q+1:])
		}
		return out
	}
	changed := false
	if u.User != nil {
		u.User = url.User(Mask)
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for name := range q {
			if sensitiveQuery(name) {
				q[name] = []string{Mask}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

// maskQuery masks the values of sensitive parameters in a raw query string, keeping
// everything else as written (for a URL that does not parse).
func maskQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if hasValue && sensitiveQuery(name) {
			parts[i] = name + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// Secrets returns the credentials in the URL s, each in every spelling in which a client
// library might repeat it (as written and percent-decoded), longest first. It returns nil
// when s holds none.
func Secrets(s string) []string {
	var out []string
	add := func(v string) {
		if len(v) < 3 { // too short to scrub without mangling unrelated text
			return
		}
		for _, o := range out {
			if o == v {
				return
			}
		}
		out = append(out, v)
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndex(rest, "@"); at > 0 {
			info := rest[:at]
			add(info)
			user, pass, _ := strings.Cut(info, ":")
			add(user)
			add(pass)
			if d, err := url.PathUnescape(user); err == nil {
				add(d)
			}
			if d, err := url.PathUnescape(pass); err == nil {
				add(d)
			}
		}
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		for _, p := range strings.Split(s[q+1:], "&") {
			name, v, _ := strings.Cut(p, "=")
			if !sensitiveQuery(name) {
				continue
			}
			add(v)
			if d, err := url.QueryUnescape(v); err == nil {
				add(d)
			}
		}
	}
	// Longest first, so that "user:pass" is scrubbed before "user".
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Text returns text with every secret replaced by Mask.
func Text(text string, secrets []string) string {
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, Mask)
	}
	return text
}

// Error returns err with the credentials of rawURL scrubbed from its message. The result
// unwraps to err, so errors.Is and errors.As see through it. It returns err itself when
// err is nil, rawURL holds no credential or the message quotes none.
func Error(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	return ErrorOf(err, Secrets(rawURL))
}

// ErrorOf returns err with secrets (as Secrets returns them) scrubbed from its message,
// unwrapping to err. It returns err itself when err is nil or its message holds none of
// them.
func ErrorOf(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	if clean := Text(msg, secrets); clean != msg {
		return &scrubbed{err: err, msg: clean}
	}
	return err
}

// scrubbed is an error whose message had credentials removed.
type scrubbed struct {
	err error
	msg string
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
