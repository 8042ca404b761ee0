package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/httpauth"
)

type whoOut struct {
	Principal string `json:"principal"`
	Tenant    string `json:"tenant"`
}

var (
	whoAmI = framework.Command[struct{}, whoOut](framework.NewContract("Guard", "1"), "whoAmI",
		framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/whoami"}))
	ping = framework.Command[struct{}, struct{}](framework.NewContract("Guard", "1"), "ping",
		framework.WithHTTP(framework.Endpoint{Method: http.MethodGet, Path: "/ping", Public: true}))
	guardStall = framework.Command[struct{}, struct{}](framework.NewContract("Guard", "1"), "stall",
		framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/stall", Public: true}))
)

// guardService has a protected, a public and a stalling command; entered gets a value
// when the stalling command runs, which ends when release is closed.
func guardService(entered chan<- struct{}, release <-chan struct{}) *framework.Service {
	svc := framework.NewService(framework.NewContract("Guard", "1"), "guard")
	framework.Handle(svc, whoAmI, func(c *framework.Context, _ struct{}) (whoOut, error) {
		return whoOut{Principal: c.PrincipalID(), Tenant: c.TenantID()}, nil
	})
	framework.Handle(svc, ping, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	framework.Handle(svc, guardStall, func(c *framework.Context, _ struct{}) (struct{}, error) {
		entered <- struct{}{}
		select { // outlasts the shutdown timeout
		case <-c.Done():
		case <-release:
		}
		return struct{}{}, nil
	})
	return svc
}

// runGuard runs the guard service with env over HTTP and returns the base URL, the
// logs, and a function that stops the process and returns its exit code.
func runGuard(t *testing.T, env map[string]string, entered chan<- struct{}, release <-chan struct{}) (string, *logBuffer, func() int) {
	t.Helper()
	addr := freeAddr(t)
	env["PURISTA_HTTP_ADDR"], env["PURISTA_HEALTH_ADDR"] = addr, "off"
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, nil, func(k string) string { return env[k] }, logs, guardService(entered, release))
	}()
	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	t.Cleanup(func() { stop() })
	waitReady(t, "never served", done, logs, func() error {
		resp, err := http.Get("http://" + addr + "/ping")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	})
	return "http://" + addr, logs, stop
}

func TestServerRefusesToStartWithoutAuthenticator(t *testing.T) {
	env := map[string]string{"PURISTA_HTTP_ADDR": freeAddr(t), "PURISTA_HEALTH_ADDR": "off"}
	var out logBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := runMain(ctx, nil, func(k string) string { return env[k] }, &out, guardService(make(chan struct{}, 1), nil))
	if code != ExitConfig {
		t.Fatalf("exit %d, want %d\n%s", code, ExitConfig, out.String())
	}
	for _, want := range []string{"POST /whoami", "PURISTA_HTTP_AUTH_JWKS_URL", "PURISTA_HTTP_API_KEYS", "PURISTA_HTTP_TRUSTED_PROXIES", "PURISTA_HTTP_DEV_INSECURE=1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the refusal does not mention %s:\n%s", want, out.String())
		}
	}
}

func TestAuthAppIdentityFromCredentialsOnly(t *testing.T) {
	env := map[string]string{"PURISTA_HTTP_API_KEYS": httpauth.HashAPIKey("s3cret") + " billing-job acme"}
	base, _, _ := runGuard(t, env, make(chan struct{}, 1), nil)
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		want    whoOut
	}{
		{"anonymous", nil, http.StatusUnauthorized, whoOut{}},
		{"forged identity headers", map[string]string{"X-Principal-Id": "admin", "X-Tenant-Id": "other-tenant"}, http.StatusUnauthorized, whoOut{}},
		{"wrong key", map[string]string{"X-API-Key": "guess"}, http.StatusUnauthorized, whoOut{}},
		{"right key", map[string]string{"X-API-Key": "s3cret"}, http.StatusOK, whoOut{"billing-job", "acme"}},
		{"right key, forged headers ignored", map[string]string{"X-API-Key": "s3cret", "X-Principal-Id": "admin", "X-Tenant-Id": "other-tenant"}, http.StatusOK, whoOut{"billing-job", "acme"}},
		{"bearer token nobody verifies", map[string]string{"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."}, http.StatusUnauthorized, whoOut{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ct, body := postWhoami(t, base, tt.headers)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.status != http.StatusOK {
				if ct != "application/problem+json" {
					t.Fatalf("Content-Type %q, want a problem", ct)
				}
				return
			}
			var got whoOut
			if err := json.Unmarshal(body, &got); err != nil || got != tt.want {
				t.Fatalf("identity %+v (%v), want %+v", got, err, tt.want)
			}
		})
	}
}

func TestAuthAppTrustedProxyAndDevMode(t *testing.T) {
	call := func(t *testing.T, base string, headers map[string]string) (int, whoOut) {
		t.Helper()
		status, _, body := postWhoami(t, base, headers)
		var got whoOut
		_ = json.Unmarshal(body, &got)
		return status, got
	}
	forged := map[string]string{"X-Principal-Id": "admin", "X-Tenant-Id": "other-tenant"}
	t.Run("untrusted source", func(t *testing.T) {
		base, _, _ := runGuard(t, map[string]string{"PURISTA_HTTP_TRUSTED_PROXIES": "10.0.0.0/8"}, make(chan struct{}, 1), nil)
		if code, _ := call(t, base, forged); code != http.StatusUnauthorized {
			t.Fatalf("identity headers from 127.0.0.1, trusting 10.0.0.0/8: status %d, want 401", code)
		}
	})
	t.Run("trusted source", func(t *testing.T) {
		base, _, _ := runGuard(t, map[string]string{"PURISTA_HTTP_TRUSTED_PROXIES": "127.0.0.1/32"}, make(chan struct{}, 1), nil)
		if code, got := call(t, base, forged); code != http.StatusOK || got != (whoOut{"admin", "other-tenant"}) {
			t.Fatalf("identity headers from a trusted proxy: %d %+v", code, got)
		}
	})
	t.Run("dev mode", func(t *testing.T) {
		base, logs, _ := runGuard(t, map[string]string{"PURISTA_HTTP_DEV_INSECURE": "1"}, make(chan struct{}, 1), nil)
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "DEVELOPMENT MODE") {
			t.Fatalf("development mode is not logged as a warning:\n%s", logs.String())
		}
		if code, got := call(t, base, nil); code != http.StatusOK || got.Principal != httpauth.DevPrincipal {
			t.Fatalf("anonymous in dev mode: %d %+v", code, got)
		}
		if code, got := call(t, base, forged); code != http.StatusOK || got != (whoOut{"admin", "other-tenant"}) {
			t.Fatalf("claimed identity in dev mode: %d %+v", code, got)
		}
	})
}

func TestShutdownAnswersCutOffHTTPCalls503(t *testing.T) {
	const calls = 5
	entered := make(chan struct{}, calls)
	env := map[string]string{"PURISTA_HTTP_DEV_INSECURE": "1", "PURISTA_SHUTDOWN_TIMEOUT": "1s"}
	release := make(chan struct{})
	base, logs, stop := runGuard(t, env, entered, release)
	type result struct {
		status int
		ct     string
		err    error
	}
	results := make(chan result, calls)
	for range calls {
		go func() {
			resp, err := http.Post(base+"/stall", "application/json", strings.NewReader("{}"))
			if err != nil {
				results <- result{err: err}
				return
			}
			defer resp.Body.Close()
			_, err = io.ReadAll(resp.Body)
			results <- result{resp.StatusCode, resp.Header.Get("Content-Type"), err}
		}()
	}
	for range calls {
		<-entered
	}
	stopped := make(chan int, 1)
	go func() { stopped <- stop() }()
	for range calls {
		r := <-results
		if r.err != nil || r.status != http.StatusServiceUnavailable || r.ct != "application/problem+json" {
			t.Errorf("a call cut off by shutdown: %d %q %v, want a 503 problem", r.status, r.ct, r.err)
		}
	}
	close(release) // lets the bridge drain
	<-stopped
	if t.Failed() {
		t.Log(logs.String())
	}
}

func TestAuthConfigSettings(t *testing.T) {
	env := map[string]string{
		"PURISTA_HTTP_AUTH_JWKS_URL": "https://idp.example/jwks", "PURISTA_HTTP_AUTH_JWT_ISSUER": "https://idp.example/",
		"PURISTA_HTTP_AUTH_JWT_AUDIENCE": "orders, billing", "PURISTA_HTTP_AUTH_JWT_ALGS": "RS256,ES256",
		"PURISTA_HTTP_AUTH_JWT_CLOCK_SKEW": "10s", "PURISTA_HTTP_AUTH_PRINCIPAL_CLAIM": "email",
		"PURISTA_HTTP_AUTH_TENANT_CLAIM": "org", "PURISTA_HTTP_API_KEYS": "sha256:ab ops",
		"PURISTA_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.1", "PURISTA_HTTP_DEV_INSECURE": "1",
		"PURISTA_HTTP_PUBLIC_INDEX": "true", "PURISTA_HTTP_READ_TIMEOUT": "3s", "PURISTA_HTTP_MAX_BODY_MEMORY": "16MiB",
		"PURISTA_HTTP_MAX_CONCURRENT": "10", "PURISTA_HTTP_CORS_ORIGINS": "https://app.example",
	}
	cfg, err := parseConfig(nil, []string{"--http-write-timeout=4s", "--http-auth-jwt-issuer=https://flag.example/"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.HTTPAuth
	if a.JWKSURL != "https://idp.example/jwks" || a.JWTIssuer != "https://flag.example/" || strings.Join(a.JWTAudience, "|") != "orders|billing" ||
		strings.Join(a.JWTAlgorithms, "|") != "RS256|ES256" || a.JWTClockSkew != 10*time.Second || a.PrincipalClaim != "email" ||
		a.TenantClaim != "org" || a.APIKeys != "sha256:ab ops" || strings.Join(a.TrustedProxies, "|") != "10.0.0.0/8|192.168.0.1" || !a.DevInsecure {
		t.Errorf("auth settings: %+v", a)
	}
	l := cfg.HTTPLimits
	if !cfg.HTTPPublicIndex || l.ReadTimeout != 3*time.Second || l.WriteTimeout != 4*time.Second || l.BodyMemory != 16<<20 ||
		l.MaxConcurrent != 10 || strings.Join(l.CORSOrigins, "|") != "https://app.example" {
		t.Errorf("limits: %+v, public index %v", l, cfg.HTTPPublicIndex)
	}
	for name, bad := range map[string]string{
		"PURISTA_HTTP_READ_TIMEOUT": "soon", "PURISTA_HTTP_MAX_BODY_MEMORY": "lots", "PURISTA_HTTP_DEV_INSECURE": "maybe",
		"PURISTA_HTTP_MAX_CONCURRENT": "-1",
	} {
		_, err := parseConfig(nil, nil, func(k string) string {
			if k == name {
				return bad
			}
			return ""
		}, io.Discard)
		if !errors.Is(err, framework.ErrConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err = %v, want a config error naming it", name, bad, err)
		}
	}
}

func TestServerHealthIsHardened(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"PURISTA_HEALTH_ADDR": addr}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, nil, func(k string) string { return env[k] }, logs, echoService())
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var c net.Conn
	waitReady(t, "health never listened", done, logs, func() (err error) {
		c, err = net.Dial("tcp", addr)
		return err
	})
	defer c.Close()
	if _, err := io.WriteString(c, "GET /readyz HTTP/1.1\r\nHost: x\r\n"); err != nil { // headers never end
		t.Fatal(err)
	}
	// The health server reads headers for at most 2s; allow as much again for it to act.
	if err := c.SetReadDeadline(time.Now().Add(4 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the health server keeps a connection with endless headers open")
	}
}

func TestAuthAppJWTFromKeysFile(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _, _ := runGuard(t, map[string]string{"PURISTA_HTTP_AUTH_JWT_KEYS_FILE": file, "PURISTA_HTTP_AUTH_JWT_AUDIENCE": "guard",
		"PURISTA_HTTP_AUTH_JWT_ISSUER": "https://idp.test"}, make(chan struct{}, 1), nil)
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.test", "aud": "guard", "sub": "ann", "tenant_id": "t9", "exp": time.Now().Add(time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	signed := func(c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"valid", signed(claims(nil)), http.StatusOK},
		{"expired", signed(claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), http.StatusUnauthorized},
		{"wrong audience", signed(claims(func(c jwt.MapClaims) { c["aud"] = "billing" })), http.StatusUnauthorized},
		{"wrong issuer", signed(claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })), http.StatusUnauthorized},
		{"alg none", none, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := postWhoami(t, base, map[string]string{"Authorization": "Bearer " + tt.token,
				"X-Principal-Id": "admin"}) // never believed
			var got whoOut
			_ = json.Unmarshal(body, &got)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if tt.status == http.StatusOK && got != (whoOut{"ann", "t9"}) {
				t.Fatalf("identity %+v, want ann in t9", got)
			}
		})
	}
}

// postWhoami posts {} as JSON to base's /whoami with headers and returns the answer's
// status, Content-Type and body.
func postWhoami(t *testing.T, base string, headers map[string]string) (status int, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/whoami", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// TestHealthOpensAfterHTTP checks that readiness never precedes the HTTP listener: when
// the HTTP address cannot be listened on, the health endpoint never opens, and when both
// open, the HTTP port accepts connections as soon as /readyz answers.
func TestHealthOpensAfterHTTP(t *testing.T) {
	t.Run("http address taken", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = taken.Close() })
		env := map[string]string{"PURISTA_HTTP_ADDR": taken.Addr().String(), "PURISTA_HEALTH_ADDR": freeAddr(t),
			"PURISTA_HTTP_DEV_INSECURE": "1"}
		logs := &logBuffer{}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if code := runMain(ctx, nil, func(k string) string { return env[k] }, logs, echoService()); code == ExitOK {
			t.Fatalf("exit %d with the HTTP address taken\n%s", code, logs.String())
		}
		if strings.Contains(logs.String(), "health endpoint listening") {
			t.Errorf("the health endpoint opened although the HTTP address could not be listened on:\n%s", logs.String())
		}
	})
	t.Run("both open", func(t *testing.T) {
		httpAddr, healthAddr := freeAddr(t), freeAddr(t)
		env := map[string]string{"PURISTA_HTTP_ADDR": httpAddr, "PURISTA_HEALTH_ADDR": healthAddr, "PURISTA_HTTP_DEV_INSECURE": "1"}
		ctx, cancel := context.WithCancel(context.Background())
		logs := &logBuffer{}
		done := make(chan int, 1)
		go func() { done <- runMain(ctx, nil, func(k string) string { return env[k] }, logs, echoService()) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		waitReady(t, "never ready", done, logs, readyz(healthAddr))
		c, err := net.Dial("tcp", httpAddr)
		if err != nil {
			t.Fatalf("/readyz answered ok but the HTTP port refuses connections: %v", err)
		}
		_ = c.Close()
	})
}
