package httpauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// issuer is a test identity provider: keys, a JWKS endpoint and token minting.
type issuer struct {
	rsa     *rsa.PrivateKey
	ec      *ecdsa.PrivateKey
	jwks    *httptest.Server
	fetches atomic.Int32
	body    atomic.Value // []byte served at the JWKS URL
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{rsa: rk, ec: ek}
	is.setKeys(t, map[string]any{"rsa-1": &rk.PublicKey, "ec-1": &ek.PublicKey})
	is.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(is.body.Load().([]byte))
	}))
	t.Cleanup(is.jwks.Close)
	return is
}

// setKeys replaces the JWKS document with the given public keys by kid.
func (is *issuer) setKeys(t *testing.T, keys map[string]any) {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for kid, k := range keys {
		var alg jwkset.ALG
		if _, ok := k.(*rsa.PublicKey); ok {
			alg = jwkset.AlgRS256
		}
		jwk, err := jwkset.NewJWKFromKey(k, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg}})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	is.body.Store([]byte(raw))
}

func (is *issuer) claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": "https://idp.test", "aud": "orders-api", "sub": "user-1", "tenant_id": "acme",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/orders", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newJWT(t *testing.T, cfg httpauth.JWTConfig) *httpauth.JWT {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if cfg.Logger == nil {
		cfg.Logger = quietLog()
	}
	j, err := httpauth.NewJWT(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func rsaPEM(t *testing.T, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestAuthJWTFromJWKS(t *testing.T) {
	is := newIssuer(t)
	j := newJWT(t, httpauth.JWTConfig{JWKSURL: is.jwks.URL, Issuer: "https://idp.test", Audience: []string{"orders-api"}, ClockSkew: time.Second})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := rsaPEM(t, &is.rsa.PublicKey)
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, is.claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// alg RS384 on a token whose kid names an RS256 key is an alg mismatch.
	mismatch := jwt.NewWithClaims(jwt.SigningMethodRS384, is.claims(nil))
	mismatch.Header["kid"] = "rsa-1"
	mismatchTok, err := mismatch.SignedString(is.rsa)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tok     string
		want    httpauth.Identity
		wantErr error
	}{
		{"valid RS256", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(nil)), httpauth.Identity{PrincipalID: "user-1", TenantID: "acme", Method: "jwt"}, nil},
		{"valid ES256", sign(t, jwt.SigningMethodES256, "ec-1", is.ec, is.claims(func(c jwt.MapClaims) { delete(c, "tenant_id") })), httpauth.Identity{PrincipalID: "user-1", Method: "jwt"}, nil},
		{"audience list", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { c["aud"] = []string{"x", "orders-api"} })), httpauth.Identity{PrincipalID: "user-1", TenantID: "acme", Method: "jwt"}, nil},
		{"expired", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"no exp", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { delete(c, "exp") })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"wrong audience", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { c["aud"] = "billing-api" })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"no audience", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { delete(c, "aud") })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"wrong issuer", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"alg none", noneTok, httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"alg mismatch with the key", mismatchTok, httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"HS256 keyed with the RSA public key", sign(t, jwt.SigningMethodHS256, "rsa-1", pubPEM, is.claims(nil)), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"HS256 keyed with the RSA public key, no kid", sign(t, jwt.SigningMethodHS256, "", pubPEM, is.claims(nil)), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"signed by another key", sign(t, jwt.SigningMethodRS256, "rsa-1", otherKey, is.claims(nil)), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"no principal claim", sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) { delete(c, "sub") })), httpauth.Identity{}, httpauth.ErrInvalidCredentials},
		{"garbage", "not.a.jwt", httpauth.Identity{}, httpauth.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.Authenticate(bearer(tt.tok))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("identity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAuthJWTHMACNeverWithoutOptIn(t *testing.T) {
	// Even a JWKS holding an HMAC secret is not used for HS256 unless HS256 is listed.
	secret := []byte("0123456789abcdef0123456789abcdef")
	cfg := httpauth.JWTConfig{Keys: []any{secret}, Audience: []string{"orders-api"}}
	c := jwt.MapClaims{"aud": "orders-api", "sub": "u", "exp": time.Now().Add(time.Hour).Unix()}
	tok := sign(t, jwt.SigningMethodHS256, "", secret, c)
	if _, err := newJWT(t, cfg).Authenticate(bearer(tok)); !errors.Is(err, httpauth.ErrInvalidCredentials) {
		t.Fatalf("HS256 with default algorithms: err = %v, want ErrInvalidCredentials", err)
	}
	cfg.Algorithms = []string{"HS256"}
	if id, err := newJWT(t, cfg).Authenticate(bearer(tok)); err != nil || id.PrincipalID != "u" {
		t.Fatalf("HS256 listed: %+v, %v", id, err)
	}
}

func TestAuthJWTNoCredentials(t *testing.T) {
	is := newIssuer(t)
	j := newJWT(t, httpauth.JWTConfig{JWKSURL: is.jwks.URL, Audience: []string{"orders-api"}})
	for _, h := range []string{"", "Basic dXNlcjpwdw==", "Bearer", "Bearer   "} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if _, err := j.Authenticate(r); !errors.Is(err, httpauth.ErrNoCredentials) {
			t.Errorf("Authorization %q: err = %v, want ErrNoCredentials", h, err)
		}
	}
}

func TestAuthJWTClaimNamesAndSkew(t *testing.T) {
	is := newIssuer(t)
	j := newJWT(t, httpauth.JWTConfig{JWKSURL: is.jwks.URL, Audience: []string{"orders-api"},
		PrincipalClaim: "email", TenantClaim: "https://example.com/org", ClockSkew: time.Minute})
	tok := sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(func(c jwt.MapClaims) {
		c["email"], c["https://example.com/org"] = "ann@example.com", "org-7"
		c["exp"] = time.Now().Add(-20 * time.Second).Unix() // expired, but within the skew
	}))
	id, err := j.Authenticate(bearer(tok))
	if err != nil || id.PrincipalID != "ann@example.com" || id.TenantID != "org-7" {
		t.Fatalf("got %+v, %v", id, err)
	}
}

func TestAuthJWTKeyRotationRefetches(t *testing.T) {
	is := newIssuer(t)
	j := newJWT(t, httpauth.JWTConfig{JWKSURL: is.jwks.URL, Audience: []string{"orders-api"}})
	before := is.fetches.Load()
	next, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.setKeys(t, map[string]any{"rsa-2": &next.PublicKey})
	tok := sign(t, jwt.SigningMethodRS256, "rsa-2", next, is.claims(nil))
	if _, err := j.Authenticate(bearer(tok)); err != nil {
		t.Fatalf("token of a rotated key: %v", err)
	}
	if is.fetches.Load() != before+1 {
		t.Fatalf("fetches = %d, want %d", is.fetches.Load(), before+1)
	}
	// Unknown key ids do not make the process fetch the JWKS again within the rate limit.
	for i := 0; i < 5; i++ {
		tok := sign(t, jwt.SigningMethodRS256, "nope", next, is.claims(nil))
		if _, err := j.Authenticate(bearer(tok)); !errors.Is(err, httpauth.ErrInvalidCredentials) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if is.fetches.Load() != before+1 {
		t.Fatalf("fetches after unknown kids = %d, want %d", is.fetches.Load(), before+1)
	}
}

func TestAuthJWKSFetchIsBounded(t *testing.T) {
	is := newIssuer(t)
	var keys struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(is.body.Load().([]byte), &keys); err != nil {
		t.Fatal(err)
	}
	// A document over the limit is refused: its keys are not used.
	pad := strings.Repeat(" ", 4096)
	is.body.Store([]byte(`{"keys":[` + string(keys.Keys[0]) + "," + string(keys.Keys[1]) + `]` + pad + `}`))
	j := newJWT(t, httpauth.JWTConfig{JWKSURL: is.jwks.URL, Audience: []string{"orders-api"}, JWKSMaxBytes: 1024})
	tok := sign(t, jwt.SigningMethodRS256, "rsa-1", is.rsa, is.claims(nil))
	if _, err := j.Authenticate(bearer(tok)); !errors.Is(err, httpauth.ErrInvalidCredentials) {
		t.Fatalf("keys from an oversized JWKS: err = %v", err)
	}
	// A JWKS that never answers fails within the fetch timeout instead of holding start-up.
	stall := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(stall.Close)
	done := make(chan struct{})
	go func() {
		defer close(done)
		newJWT(t, httpauth.JWTConfig{JWKSURL: stall.URL, Audience: []string{"a"}, JWKSFetchTimeout: 50 * time.Millisecond})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("NewJWT still waits for a JWKS that never answers")
	}
}

func TestAuthJWTStaticKeys(t *testing.T) {
	is := newIssuer(t)
	jwkJSON, err := jwkset.NewJWKFromKey(&is.ec.PublicKey, jwkset.JWKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(jwkJSON.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file []byte
		m    jwt.SigningMethod
		key  any
	}{
		{"PEM", rsaPEM(t, &is.rsa.PublicKey), jwt.SigningMethodRS256, is.rsa},
		{"JWK", raw, jwt.SigningMethodES256, is.ec},
		{"JWK Set", []byte(`{"keys":[` + string(raw) + `]}`), jwt.SigningMethodES256, is.ec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := httpauth.ParseKeys(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			j := newJWT(t, httpauth.JWTConfig{Keys: keys, Audience: []string{"orders-api"}})
			if id, err := j.Authenticate(bearer(sign(t, tt.m, "", tt.key, is.claims(nil)))); err != nil || id.PrincipalID != "user-1" {
				t.Fatalf("got %+v, %v", id, err)
			}
		})
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(is.rsa)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"private PEM": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		"empty":       nil,
		"bad JSON":    []byte(`{"keys":`),
	} {
		if _, err := httpauth.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%s) accepted it", name)
		}
	}
}

func TestAuthJWTConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  httpauth.JWTConfig
		want string
	}{
		{"no keys", httpauth.JWTConfig{Audience: []string{"a"}}, "JWKS URL or static keys"},
		{"no audience", httpauth.JWTConfig{Keys: []any{[]byte("k")}}, "audience"},
		{"alg none", httpauth.JWTConfig{Keys: []any{[]byte("k")}, Audience: []string{"a"}, Algorithms: []string{"RS256", "none"}}, `"none"`},
		{"unknown alg", httpauth.JWTConfig{Keys: []any{[]byte("k")}, Audience: []string{"a"}, Algorithms: []string{"XY999"}}, "unknown"},
		{"JWKS over plain http", httpauth.JWTConfig{JWKSURL: "http://idp.example.com/jwks", Audience: []string{"a"}}, "use https"},
		{"JWKS URL not absolute", httpauth.JWTConfig{JWKSURL: "/jwks", Audience: []string{"a"}}, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpauth.NewJWT(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %s", err, tt.want)
			}
		})
	}
}

func TestAuthJWTKeyConfusionWithHMACAllowed(t *testing.T) {
	// With HS256 accepted too, a token "signed" with the RSA public key as an HMAC secret
	// is still refused: an RSA key never verifies an HMAC.
	is := newIssuer(t)
	pubPEM := rsaPEM(t, &is.rsa.PublicKey)
	keys, err := httpauth.ParseKeys(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]httpauth.JWTConfig{
		"JWKS":   {JWKSURL: is.jwks.URL, Audience: []string{"orders-api"}, Algorithms: []string{"RS256", "HS256"}},
		"static": {Keys: keys, Audience: []string{"orders-api"}, Algorithms: []string{"RS256", "HS256"}},
	} {
		j := newJWT(t, cfg)
		for _, kid := range []string{"", "rsa-1", "static-0"} {
			tok := sign(t, jwt.SigningMethodHS256, kid, pubPEM, is.claims(nil))
			if _, err := j.Authenticate(bearer(tok)); !errors.Is(err, httpauth.ErrInvalidCredentials) {
				t.Errorf("%s, kid %q: err = %v, want ErrInvalidCredentials", name, kid, err)
			}
		}
		if _, err := j.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, "", is.rsa, is.claims(nil)))); err != nil {
			t.Errorf("%s: a good RS256 token: %v", name, err)
		}
	}
}
