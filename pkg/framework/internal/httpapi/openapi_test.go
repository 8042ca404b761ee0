package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// keysOnly accepts API keys only and says so.
type keysOnly struct{}

func (keysOnly) Authenticate(*http.Request) (httpauth.Identity, error) {
	return httpauth.Identity{}, httpauth.ErrNoCredentials
}

func (keysOnly) SecuritySchemes() []httpauth.SecurityScheme {
	return []httpauth.SecurityScheme{httpauth.APIKeyScheme()}
}

// TestDescribedAuthenticator checks that an authenticator that describes itself sets
// the document's security schemes and the 401 challenge.
func TestDescribedAuthenticator(t *testing.T) {
	routes, err := Compile([]*Route{{Service: "S", Version: "1", Command: "c", Path: "/items/{item-id}",
		Parameter: json.RawMessage(`{"type":"object","properties":{"item-id":{"type":"string"}}}`),
		Input:     json.RawMessage(`{"type":"object"}`), Output: json.RawMessage(`{"type":"object"}`)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Document(routes, Info{}, keysOnly{})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	sec := doc.Paths["/items/{item-id}"]["post"].Security
	if len(doc.Components.SecuritySchemes) != 1 || string(doc.Components.SecuritySchemes["apiKeyAuth"]) == "" ||
		len(sec) != 1 || sec[0]["apiKeyAuth"] == nil {
		t.Fatalf("schemes %s, security %v; want apiKeyAuth only", doc.Components.SecuritySchemes, sec)
	}
	h := New(Config{Routes: routes, Auth: keysOnly{},
		Trace: func(r *http.Request) (context.Context, string) { return r.Context(), strings.Repeat("b", 32) }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/items/7", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `APIKey header="X-API-Key"` {
		t.Fatalf("%d with WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}
