package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

func TestAuthAPIKeys(t *testing.T) {
	entries, err := httpauth.ParseAPIKeys("# ops keys\n" + httpauth.HashAPIKey("k-billing") + " billing-job acme\n," +
		httpauth.HashAPIKey("k-ops") + " ops\n")
	if err != nil {
		t.Fatal(err)
	}
	a := httpauth.NewAPIKeys(entries)
	tests := []struct {
		name    string
		key     string
		want    httpauth.Identity
		wantErr error
	}{
		{"right key with tenant", "k-billing", httpauth.Identity{PrincipalID: "billing-job", TenantID: "acme", Method: "apikey"}, nil},
		{"right key", "k-ops", httpauth.Identity{PrincipalID: "ops", Method: "apikey"}, nil},
		{"wrong key", "k-opz", httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"the hash is not the key", httpauth.HashAPIKey("k-ops"), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"no key", "", httpauth.Identity{}, httpauth.ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if tt.key != "" {
				r.Header.Set("X-API-Key", tt.key)
			}
			got, err := a.Authenticate(r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAuthAPIKeysParseRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"plain key":      "my-secret-key ops",
		"short digest":   "sha256:abcd ops",
		"no principal":   httpauth.HashAPIKey("k"),
		"too many parts": httpauth.HashAPIKey("k") + " a b c",
	} {
		if _, err := httpauth.ParseAPIKeys(text); err == nil {
			t.Errorf("%s: accepted %q", name, text)
		}
	}
	_, err := httpauth.ParseAPIKeys("my-secret-key ops")
	if err == nil || strings.Contains(err.Error(), "my-secret-key") {
		t.Errorf("the error must not repeat a key given in clear: %v", err)
	}
}

func TestAuthTrustedProxy(t *testing.T) {
	p, err := httpauth.NewTrustedProxy([]string{"10.0.0.0/8", "192.0.2.7", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		header  string
		want    httpauth.Identity
		wantErr error
	}{
		{"trusted network", "10.1.2.3:5555", "admin", httpauth.Identity{PrincipalID: "admin", TenantID: "other-tenant", Method: "proxy"}, nil},
		{"trusted address", "192.0.2.7:1", "svc", httpauth.Identity{PrincipalID: "svc", TenantID: "other-tenant", Method: "proxy"}, nil},
		{"trusted IPv6", "[::1]:1", "svc", httpauth.Identity{PrincipalID: "svc", TenantID: "other-tenant", Method: "proxy"}, nil},
		{"forged from elsewhere", "203.0.113.9:4444", "admin", httpauth.Identity{}, httpauth.ErrNoCredentials},
		{"neighbour of the trusted address", "192.0.2.8:1", "admin", httpauth.Identity{}, httpauth.ErrNoCredentials},
		{"trusted, no identity", "10.1.2.3:5555", "", httpauth.Identity{}, httpauth.ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.header != "" {
				r.Header.Set("X-Principal-Id", tt.header)
			}
			r.Header.Set("X-Tenant-Id", "other-tenant")
			got, err := p.Authenticate(r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	for _, bad := range [][]string{{"10.0.0.0/33"}, {"example.com"}, {""}} {
		if _, err := httpauth.NewTrustedProxy(bad); err == nil {
			t.Errorf("NewTrustedProxy(%q) accepted it", bad)
		}
	}
}

func TestAuthChain(t *testing.T) {
	keys, err := httpauth.ParseAPIKeys(httpauth.HashAPIKey("good") + " ops")
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := httpauth.NewTrustedProxy([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	chain := httpauth.Chain{httpauth.NewAPIKeys(keys), proxy}
	tests := []struct {
		name    string
		remote  string
		headers map[string]string
		want    string
		wantErr error
	}{
		{"anonymous", "203.0.113.9:1", nil, "", httpauth.ErrNoCredentials},
		{"forged identity headers", "203.0.113.9:1", map[string]string{"X-Principal-Id": "admin", "X-Tenant-Id": "t"}, "", httpauth.ErrNoCredentials},
		{"API key wins", "10.0.0.1:1", map[string]string{"X-API-Key": "good", "X-Principal-Id": "admin"}, "ops", nil},
		{"a wrong key is not passed on to the next", "10.0.0.1:1", map[string]string{"X-API-Key": "bad", "X-Principal-Id": "admin"}, "", httpauth.ErrInvalidCredentials},
		{"proxy when no key", "10.0.0.1:1", map[string]string{"X-Principal-Id": "admin"}, "admin", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got, err := chain.Authenticate(r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || got.PrincipalID != tt.want {
				t.Fatalf("got %+v, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAuthSettings(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keysFile, []byte(httpauth.HashAPIKey("from-file")+" filed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if a, err := httpauth.New(ctx, httpauth.Settings{}, quietLog()); a != nil || err != nil {
		t.Fatalf("nothing configured: %v, %v; want nil, nil", a, err)
	}
	a, err := httpauth.New(ctx, httpauth.Settings{APIKeys: httpauth.HashAPIKey("inline") + " inl", APIKeysFile: keysFile}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"inline": "inl", "from-file": "filed"} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("X-API-Key", key)
		if id, err := a.Authenticate(r); err != nil || id.PrincipalID != want {
			t.Errorf("key %q: %+v, %v", key, id, err)
		}
	}
	// Development mode lets anonymous callers in, but configured credentials still count.
	dev, err := httpauth.New(ctx, httpauth.Settings{APIKeys: httpauth.HashAPIKey("k") + " ops", DevInsecure: true}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if id, err := dev.Authenticate(r); err != nil || id.PrincipalID != httpauth.DevPrincipal || id.Method != "dev-insecure" {
		t.Errorf("dev anonymous: %+v, %v", id, err)
	}
	r.Header.Set("X-API-Key", "wrong")
	if _, err := dev.Authenticate(r); !errors.Is(err, httpauth.ErrInvalidCredentials) {
		t.Errorf("dev with a wrong key: %v", err)
	}
	for name, tt := range map[string]struct {
		s       httpauth.Settings
		want    string // in the error
		notWant string // not in the error ("" for no check)
	}{
		"JWT without audience": {s: httpauth.Settings{JWTKeysFile: keysFile}, want: "JWT keys file"},
		"missing keys file": {s: httpauth.Settings{APIKeysFile: filepath.Join(dir, "nope")}, want: "no such file",
			notWant: "none is given"},
		"missing keys file beside inline keys": {s: httpauth.Settings{APIKeys: httpauth.HashAPIKey("k") + " ops", APIKeysFile: filepath.Join(dir, "nope")},
			want: "no such file"},
		"bad proxy":          {s: httpauth.Settings{TrustedProxies: []string{"nope"}}, want: "nope"},
		"no API key entries": {s: httpauth.Settings{APIKeys: "# nothing"}, want: "none is given"},
	} {
		_, err := httpauth.New(ctx, tt.s, quietLog())
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case !strings.Contains(err.Error(), tt.want):
			t.Errorf("%s: error %q does not say %q", name, err, tt.want)
		case tt.notWant != "" && strings.Contains(err.Error(), tt.notWant):
			t.Errorf("%s: error %q also says %q", name, err, tt.notWant)
		}
	}
}

func TestAuthChainDescribesItself(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keys := filepath.Join(t.TempDir(), "k.json")
	if err := os.WriteFile(keys, []byte(`{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := httpauth.New(ctx, httpauth.Settings{JWTKeysFile: keys, JWTAudience: []string{"x"}, JWTAlgorithms: []string{"HS256"},
		APIKeys: httpauth.HashAPIKey("k") + " ops", TrustedProxies: []string{"10.0.0.0/8"}, DevInsecure: true}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	d, ok := a.(httpauth.Describer)
	if !ok {
		t.Fatalf("%T does not describe itself", a)
	}
	var names []string
	for _, s := range d.SecuritySchemes() {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "bearerAuth,apiKeyAuth" {
		t.Fatalf("schemes = %v", names)
	}
}
