package httpauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// DefaultAlgorithms are the signing algorithms a JWT authenticator accepts when its
// configuration names none: the asymmetric ones. HMAC algorithms (HS256, …) are accepted
// only when listed explicitly, and "none" never.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Defaults of JWTConfig.
const (
	DefaultPrincipalClaim   = "sub"
	DefaultTenantClaim      = "tenant_id"
	DefaultClockSkew        = 30 * time.Second
	DefaultJWKSRefresh      = time.Hour
	DefaultJWKSFetchTimeout = 10 * time.Second
	DefaultJWKSMaxBytes     = 1 << 20
)

// JWTConfig configures a bearer JWT authenticator.
type JWTConfig struct {
	// JWKSURL is the URL of a JSON Web Key Set to verify signatures with. It is fetched at
	// start, every JWKSRefresh, and when a token names an unknown key id (at most once
	// a minute). Either JWKSURL or Keys (or both) must be set.
	JWKSURL string
	// Keys are static verification keys, as read by ParseKeys.
	Keys []any
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Audience lists the accepted values of the token's aud claim; the token must name
	// at least one of them. It must not be empty.
	Audience []string
	// Algorithms are the accepted values of the token header's alg (default
	// DefaultAlgorithms). "none" is refused.
	Algorithms []string
	// ClockSkew is the leeway for exp, nbf and iat (default DefaultClockSkew).
	ClockSkew time.Duration
	// PrincipalClaim names the claim holding the principal id (default "sub").
	PrincipalClaim string
	// TenantClaim names the claim holding the tenant id (default "tenant_id"); a token
	// without it has no tenant.
	TenantClaim string
	// JWKSRefresh is the interval at which JWKSURL is fetched again (default one hour).
	JWKSRefresh time.Duration
	// JWKSFetchTimeout bounds one fetch of JWKSURL (default 10s).
	JWKSFetchTimeout time.Duration
	// JWKSMaxBytes bounds the size of the JWKS document (default 1 MiB).
	JWKSMaxBytes int64
	// HTTPClient fetches JWKSURL (default: a client with JWKSFetchTimeout).
	HTTPClient *http.Client
	// Logger receives failed JWKS fetches (default slog.Default()).
	Logger *slog.Logger
}

// JWT authenticates requests that carry "Authorization: Bearer <JWT>". The token's
// signature is verified with the configured keys, its alg must be one of the accepted
// algorithms and fit the key's type, exp must be present and not past, nbf and iat not in
// the future (both within the clock skew), aud must name an accepted audience and iss
// must equal the configured issuer.
type JWT struct {
	cfg    JWTConfig
	kf     keyfunc.Keyfunc
	parser *jwt.Parser
}

// NewJWT returns a JWT authenticator. ctx bounds the JWKS refresh: the background
// fetches stop when it is done. A failed first fetch of the JWKS is logged, not returned:
// tokens fail verification until a later fetch succeeds.
func NewJWT(ctx context.Context, cfg JWTConfig) (*JWT, error) {
	if cfg.JWKSURL == "" && len(cfg.Keys) == 0 {
		return nil, errors.New("JWT authentication needs a JWKS URL or static keys")
	}
	if cfg.JWKSURL != "" {
		if err := checkJWKSURL(cfg.JWKSURL); err != nil {
			return nil, err
		}
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("JWT authentication needs an audience: the value of the aud claim your identity provider puts into tokens for this API")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	for _, a := range cfg.Algorithms {
		if strings.EqualFold(a, "none") {
			return nil, errors.New(`JWT algorithm "none" is never accepted`)
		}
		if jwt.GetSigningMethod(a) == nil {
			return nil, fmt.Errorf("JWT algorithm %q is unknown: use RS256, ES256, EdDSA, PS256, HS256 or another JWS algorithm", a)
		}
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.PrincipalClaim == "" {
		cfg.PrincipalClaim = DefaultPrincipalClaim
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	if cfg.JWKSRefresh <= 0 {
		cfg.JWKSRefresh = DefaultJWKSRefresh
	}
	if cfg.JWKSFetchTimeout <= 0 {
		cfg.JWKSFetchTimeout = DefaultJWKSFetchTimeout
	}
	if cfg.JWKSMaxBytes <= 0 {
		cfg.JWKSMaxBytes = DefaultJWKSMaxBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	given := jwkset.NewMemoryStorage()
	for i, k := range cfg.Keys {
		_, secret := k.([]byte) // an HMAC secret is "private" to jwkset
		jwk, err := jwkset.NewJWKFromKey(k, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "static-" + strconv.Itoa(i)},
			Marshal: jwkset.JWKMarshalOptions{Private: secret}})
		if err != nil {
			return nil, fmt.Errorf("static JWT key %d: %w", i+1, err)
		}
		if err := given.KeyWrite(ctx, jwk); err != nil {
			return nil, fmt.Errorf("static JWT key %d: %w", i+1, err)
		}
	}
	var storage jwkset.Storage = given
	if cfg.JWKSURL != "" {
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: cfg.JWKSFetchTimeout}
		}
		bounded := *client
		bounded.Transport = limitTransport{base: client.Transport, max: cfg.JWKSMaxBytes}
		log := cfg.Logger
		remote, err := jwkset.NewStorageFromHTTP(cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
			Client:                    &bounded,
			Ctx:                       ctx,
			HTTPTimeout:               cfg.JWKSFetchTimeout,
			NoErrorReturnFirstHTTPReq: true,
			RefreshInterval:           cfg.JWKSRefresh,
			RefreshErrorHandler: func(ctx context.Context, err error) {
				log.WarnContext(ctx, "JWKS fetch failed; tokens signed with keys not yet known are refused", slog.String("url", cfg.JWKSURL), slog.Any("error", err))
			},
		})
		if err != nil {
			return nil, fmt.Errorf("JWKS URL %q: %w", cfg.JWKSURL, err)
		}
		storage, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
			Given:             given,
			HTTPURLs:          map[string]jwkset.Storage{cfg.JWKSURL: remote},
			RateLimitWaitMax:  cfg.JWKSFetchTimeout,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
		})
		if err != nil {
			return nil, fmt.Errorf("JWKS URL %q: %w", cfg.JWKSURL, err)
		}
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage})
	if err != nil {
		return nil, err
	}
	popts := []jwt.ParserOption{jwt.WithValidMethods(cfg.Algorithms), jwt.WithAudience(cfg.Audience...),
		jwt.WithLeeway(cfg.ClockSkew), jwt.WithExpirationRequired(), jwt.WithIssuedAt()}
	if cfg.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(cfg.Issuer))
	}
	return &JWT{cfg: cfg, kf: kf, parser: jwt.NewParser(popts...)}, nil
}

// Authenticate verifies the request's bearer token. A request without an Authorization
// header of the Bearer scheme has no credentials (ErrNoCredentials); a token that fails
// any check is ErrInvalidCredentials, with the reason in the error.
func (j *JWT) Authenticate(r *http.Request) (Identity, error) {
	raw, ok := BearerToken(r)
	if !ok {
		return Identity{}, ErrNoCredentials
	}
	keyfn := j.kf.KeyfuncCtx(r.Context())
	claims := jwt.MapClaims{}
	_, err := j.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		key, err := keyfn(t)
		if err != nil {
			return nil, err
		}
		alg := t.Method.Alg()
		if set, ok := key.(jwt.VerificationKeySet); ok {
			fit := jwt.VerificationKeySet{}
			for _, k := range set.Keys {
				if keyFits(alg, k) {
					fit.Keys = append(fit.Keys, k)
				}
			}
			if len(fit.Keys) == 0 {
				return nil, fmt.Errorf("no key for alg %s", alg)
			}
			return fit, nil
		}
		if !keyFits(alg, key) {
			return nil, fmt.Errorf("alg %s does not fit the key %q names", alg, t.Header["kid"])
		}
		return key, nil
	})
	if err != nil {
		return Identity{}, fmt.Errorf("%w: bearer token: %w", ErrInvalidCredentials, err)
	}
	principal, ok := claimString(claims[j.cfg.PrincipalClaim])
	if !ok || principal == "" {
		return Identity{}, fmt.Errorf("%w: bearer token has no %q claim naming the principal", ErrInvalidCredentials, j.cfg.PrincipalClaim)
	}
	tenant, _ := claimString(claims[j.cfg.TenantClaim])
	return Identity{PrincipalID: principal, TenantID: tenant, Method: "jwt"}, nil
}

// checkJWKSURL accepts https URLs, and http ones only to a loopback host: keys fetched
// over plain HTTP from elsewhere could be swapped on the way.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("JWKS URL %q is not an absolute URL: use e.g. https://idp.example.com/.well-known/jwks.json", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return fmt.Errorf("JWKS URL %q uses plain http to a remote host, where the keys could be swapped on the way: use https", raw)
	}
	return fmt.Errorf("JWKS URL %q must use https", raw)
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header (scheme
// case-insensitive) and whether there is one.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// claimString returns a string or number claim as a string.
func claimString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// keyFits reports whether key is of the type alg verifies with, so that a token cannot
// pick a verification that treats a public key as an HMAC secret.
func keyFits(alg string, key any) bool {
	switch {
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		_, ok := key.(*rsa.PublicKey)
		return ok
	case strings.HasPrefix(alg, "ES"):
		_, ok := key.(*ecdsa.PublicKey)
		return ok
	case alg == "EdDSA":
		_, ok := key.(ed25519.PublicKey)
		return ok
	case strings.HasPrefix(alg, "HS"):
		_, ok := key.([]byte)
		return ok
	}
	return false
}

// ParseKeys reads static JWT verification keys: PEM blocks (PUBLIC KEY, RSA PUBLIC KEY,
// CERTIFICATE) or JSON holding a JWK or a JWK Set. Private keys are refused: a
// verifier needs only public keys (and HMAC secrets, as JWKs of kty "oct").
func ParseKeys(data []byte) ([]any, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var set jwkset.JWKSMarshal
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("JSON keys: %w", err)
		}
		if len(set.Keys) == 0 { // a single JWK, not a set
			var one jwkset.JWKMarshal
			if err := json.Unmarshal(data, &one); err != nil {
				return nil, fmt.Errorf("JSON key: %w", err)
			}
			set.Keys = []jwkset.JWKMarshal{one}
		}
		keys := make([]any, 0, len(set.Keys))
		for i, m := range set.Keys {
			if m.D != "" {
				return nil, fmt.Errorf("JWK %d is a private key: give the public key only", i+1)
			}
			jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{Private: true}, jwkset.JWKValidateOptions{})
			if err != nil {
				return nil, fmt.Errorf("JWK %d: %w", i+1, err)
			}
			keys = append(keys, jwk.Key())
		}
		return keys, nil
	}
	var keys []any
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			err = fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM key %d: %w", len(keys)+1, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys found: give PEM public keys or certificates, or a JWK Set as JSON")
	}
	return keys, nil
}

// limitTransport fails a response whose body exceeds max bytes.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// errTooLarge reports a JWKS document over the size limit.
var errTooLarge = errors.New("JWKS document over the size limit")

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 { // at the limit: only the end of the body may follow
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// SecuritySchemes returns BearerJWTScheme.
func (j *JWT) SecuritySchemes() []SecurityScheme { return []SecurityScheme{BearerJWTScheme()} }
