// Package httpauth authenticates HTTP requests to a purista process's command endpoints.
//
// An Authenticator turns the credentials of a request into a verified Identity. The
// HTTP surface calls it for every endpoint that is not declared public, answers 401
// when it returns an error matching ErrNoCredentials or ErrInvalidCredentials and 403
// when it returns one matching ErrForbidden, and passes the Identity's principal and
// tenant to the command. Principal and tenant never come from unverified request
// headers.
package httpauth

import (
	"errors"
	"net/http"
)

// ErrNoCredentials reports a request that carries no credentials the authenticator
// understands. The HTTP surface answers it with 401.
var ErrNoCredentials = errors.New("no credentials")

// ErrInvalidCredentials reports credentials that fail verification (bad signature,
// expired, wrong issuer or audience, unknown key). The HTTP surface answers it with 401.
var ErrInvalidCredentials = errors.New("invalid credentials")

// ErrForbidden reports verified credentials that may not call the endpoint. The HTTP
// surface answers it with 403.
var ErrForbidden = errors.New("forbidden")

// Identity is the verified caller of a request.
type Identity struct {
	// PrincipalID identifies the caller; it becomes the command's principal id.
	PrincipalID string
	// TenantID is the caller's tenant, empty when the credentials name none.
	TenantID string
	// Method names how the caller was verified, for logs ("jwt", "apikey", …).
	Method string
}

// Authenticator verifies the credentials of HTTP requests.
//
// Authenticate is called concurrently from many goroutines and must not block longer
// than the request's context allows (r.Context()). It returns an error wrapping
// ErrNoCredentials, ErrInvalidCredentials or ErrForbidden for a caller that may not
// proceed; any other error is treated as an internal failure (500, message not shown
// to the client). It must not read the request body.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(r *http.Request) (Identity, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Identity, error) { return f(r) }
