package httpauth

// Describer is implemented by authenticators that can describe the credentials they
// accept, for the OpenAPI document and the WWW-Authenticate header of 401 answers.
type Describer interface {
	// SecuritySchemes returns the schemes the authenticator accepts, any one of which
	// suffices. Names are unique keys of the OpenAPI components.securitySchemes.
	SecuritySchemes() []SecurityScheme
}

// SecurityScheme is an OpenAPI 3.1 security scheme of type http or apiKey.
type SecurityScheme struct {
	// Name is the key in components.securitySchemes ("bearerAuth", "apiKeyAuth").
	Name string
	// Type is "http" or "apiKey".
	Type string
	// Scheme is the HTTP authentication scheme of an http scheme ("bearer").
	Scheme string
	// BearerFormat hints at the bearer token format ("JWT").
	BearerFormat string
	// In and ParamName locate an apiKey scheme's key ("header", "X-API-Key").
	In, ParamName string
	// Description explains the scheme to API users.
	Description string
}

// BearerJWTScheme is the scheme of the built-in JWT authenticator: a JWT in the
// Authorization header. The OpenAPI document names it (with APIKeyScheme) when the
// authenticator is not known, for example when it is rendered at build time.
func BearerJWTScheme() SecurityScheme {
	return SecurityScheme{Name: "bearerAuth", Type: "http", Scheme: "bearer", BearerFormat: "JWT",
		Description: "A JWT in the Authorization header: Authorization: Bearer <token>."}
}

// APIKeyScheme is the scheme of the built-in API key authenticator: a key in the
// X-API-Key header.
func APIKeyScheme() SecurityScheme {
	return SecurityScheme{Name: "apiKeyAuth", Type: "apiKey", In: "header", ParamName: APIKeyHeader,
		Description: "An API key in the " + APIKeyHeader + " header."}
}
