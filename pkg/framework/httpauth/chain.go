package httpauth

import (
	"errors"
	"net/http"
)

// Chain tries authenticators in order: the first that finds credentials decides (its
// identity or its error); when none finds any, the request has no credentials.
type Chain []Authenticator

// Authenticate runs the chain.
func (c Chain) Authenticate(r *http.Request) (Identity, error) {
	for _, a := range c {
		id, err := a.Authenticate(r)
		if errors.Is(err, ErrNoCredentials) {
			continue
		}
		return id, err
	}
	return Identity{}, ErrNoCredentials
}

// DevPrincipal is the principal of a request in development mode that names none.
const DevPrincipal = "dev"

// DevInsecure is the development-mode authenticator: it accepts every request, taking
// principal and tenant from the X-Principal-Id and X-Tenant-Id headers of anyone
// (DevPrincipal when there is none). It must never run in production; the runtime logs a
// warning when it is on.
type DevInsecure struct{}

// Authenticate returns the identity the request claims.
func (DevInsecure) Authenticate(r *http.Request) (Identity, error) {
	p := r.Header.Get(PrincipalHeader)
	if p == "" {
		p = DevPrincipal
	}
	return Identity{PrincipalID: p, TenantID: r.Header.Get(TenantHeader), Method: "dev-insecure"}, nil
}

// SecuritySchemes returns the schemes of the chain's authenticators that describe
// themselves, each name once, in chain order.
func (c Chain) SecuritySchemes() []SecurityScheme {
	var out []SecurityScheme
	seen := map[string]bool{}
	for _, a := range c {
		d, ok := a.(Describer)
		if !ok {
			continue
		}
		for _, s := range d.SecuritySchemes() {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
	}
	return out
}
