package httpauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Settings are the built-in authenticators' configuration as a process reads it from
// its environment and flags (see the framework's Config). The zero value configures no
// authenticator.
type Settings struct {
	// JWKSURL enables bearer JWT authentication with keys from this JWK Set URL.
	JWKSURL string
	// JWTKeysFile enables bearer JWT authentication with static keys from this file
	// (PEM public keys or certificates, or a JWK Set; see ParseKeys).
	JWTKeysFile string
	// JWTIssuer, JWTAudience, JWTAlgorithms, JWTClockSkew, PrincipalClaim and
	// TenantClaim are those of JWTConfig.
	JWTIssuer      string
	JWTAudience    []string
	JWTAlgorithms  []string
	JWTClockSkew   time.Duration
	PrincipalClaim string
	TenantClaim    string
	// APIKeys holds API key entries (see ParseAPIKeys); APIKeysFile names a file of them.
	APIKeys     string
	APIKeysFile string
	// TrustedProxies are the source networks whose X-Principal-Id and X-Tenant-Id
	// headers are believed (see TrustedProxy).
	TrustedProxies []string
	// DevInsecure turns on development mode: requests without credentials are let in
	// with the identity their headers claim (see DevInsecure).
	DevInsecure bool
}

// Configured reports whether the settings name an authenticator that verifies
// credentials (development mode does not count).
func (s Settings) Configured() bool {
	return s.JWKSURL != "" || s.JWTKeysFile != "" || s.APIKeys != "" || s.APIKeysFile != "" || len(s.TrustedProxies) > 0
}

// New builds the authenticator the settings describe: a Chain of JWT, API keys and
// trusted proxy (those configured, in that order), followed by DevInsecure in
// development mode. It returns nil when nothing is configured. ctx bounds the
// background JWKS refresh. Errors say which setting is wrong.
func New(ctx context.Context, s Settings, log *slog.Logger) (Authenticator, error) {
	var chain Chain
	var errs []error
	if s.JWKSURL != "" || s.JWTKeysFile != "" {
		cfg := JWTConfig{JWKSURL: s.JWKSURL, Issuer: s.JWTIssuer, Audience: s.JWTAudience,
			Algorithms: s.JWTAlgorithms, ClockSkew: s.JWTClockSkew, PrincipalClaim: s.PrincipalClaim,
			TenantClaim: s.TenantClaim, Logger: log}
		var err error
		if s.JWTKeysFile != "" {
			var data []byte
			if data, err = os.ReadFile(s.JWTKeysFile); err == nil {
				cfg.Keys, err = ParseKeys(data)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("JWT keys file %s: %w", s.JWTKeysFile, err))
			}
		}
		if err == nil {
			j, err := NewJWT(ctx, cfg)
			if err != nil {
				errs = append(errs, err)
			} else {
				chain = append(chain, j)
			}
		}
	}
	if s.APIKeys != "" || s.APIKeysFile != "" {
		text := s.APIKeys
		var fileErr error
		if s.APIKeysFile != "" {
			var data []byte
			if data, fileErr = os.ReadFile(s.APIKeysFile); fileErr != nil {
				fileErr = fmt.Errorf("API keys file: %w: give the path of a readable file of entries \"sha256:<hex digest> <principal> [<tenant>]\"", fileErr)
			}
			text += "\n" + string(data)
		}
		entries, err := ParseAPIKeys(text)
		switch {
		case fileErr != nil: // the entries are incomplete: say only why
			errs = append(errs, fileErr)
		case err != nil:
			errs = append(errs, err)
		case len(entries) == 0:
			errs = append(errs, errors.New("API keys are configured but none is given: add entries \"sha256:<hex digest> <principal> [<tenant>]\""))
		default:
			chain = append(chain, NewAPIKeys(entries))
		}
	}
	if len(s.TrustedProxies) > 0 {
		p, err := NewTrustedProxy(s.TrustedProxies)
		if err != nil {
			errs = append(errs, err)
		} else {
			chain = append(chain, p)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.DevInsecure {
		chain = append(chain, DevInsecure{})
	}
	if len(chain) == 0 {
		return nil, nil
	}
	return chain, nil
}
