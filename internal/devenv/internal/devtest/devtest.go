// Package devtest holds what the tests of `purista dev`'s packages share: broker URLs
// with credentials that must never show, and golden-file comparison of screens.
package devtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// CredentialURL is a broker URL with a credential in it; Secret is the credential.
type CredentialURL struct{ Name, URL, Secret string }

// CredentialURLs returns broker URLs with a credential in every form a broker URL
// carries one: a password, a token (user-only userinfo that NATS sends as a token), a
// user-only URL of another broker, and a ?token= query parameter.
func CredentialURLs() []CredentialURL {
	return []CredentialURL{
		{"password", "amqp://guest:S3CRETpassw0rd@127.0.0.1:5672/", "S3CRETpassw0rd"},
		{"token", "nats://S3CRETtoken@127.0.0.1:4222", "S3CRETtoken"},
		{"user-only", "mqtt://S3CRETuser@127.0.0.1:1883", "S3CRETuser"},
		{"query token", "nats://127.0.0.1:4222?token=S3CRETquery", "S3CRETquery"},
	}
}

// NoSecret fails t when text holds secret (letters and digits: the same in every
// spelling, escaped or not).
func NoSecret(t *testing.T, secret, where, text string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%s shows the credential %s:\n%s", where, secret, text)
	}
}

// CheckGolden compares got with the file at path (trailing blanks of each line
// ignored), or writes it when update is set. The failure names the lines that differ
// and says to rerun with -update after a deliberate change.
func CheckGolden(t *testing.T, path, got string, update bool) {
	t.Helper()
	got = trimLines(got) + "\n"
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -run %s -update rewrites it after a deliberate change)\n%s",
			path, strings.SplitN(t.Name(), "/", 2)[0], lineDiff(string(want), got))
	}
}

// trimLines drops the trailing blanks of every line and trailing empty lines.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// lineDiff lists the lines that differ, numbered, as want/got pairs.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// PIDAlive reports whether the process pid exists and is not a zombie (Linux: it reads
// /proc).
func PIDAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(stat), ") Z ")
}
