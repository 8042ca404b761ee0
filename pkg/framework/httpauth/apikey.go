package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// APIKeyHeader is the request header an API key is sent in.
const APIKeyHeader = "X-API-Key"

// APIKeyEntry is one accepted API key, known only by its SHA-256 digest.
type APIKeyEntry struct {
	// Hash is the SHA-256 digest of the key (32 bytes).
	Hash []byte
	// PrincipalID and TenantID are the identity of the key's holder.
	PrincipalID, TenantID string
}

// APIKeys authenticates requests carrying an API key in the X-API-Key header. The
// configuration holds only the keys' SHA-256 digests; a presented key is hashed and
// compared with every entry in constant time.
type APIKeys struct {
	entries []APIKeyEntry
}

// NewAPIKeys returns an authenticator accepting the given keys.
func NewAPIKeys(entries []APIKeyEntry) *APIKeys {
	return &APIKeys{entries: entries}
}

// HashAPIKey returns the configuration form of a key: "sha256:" and the hex digest.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseAPIKeys reads API key entries, one per line or separated by commas:
//
//	sha256:<64 hex digits> <principal> [<tenant>]
//
// Blank lines and lines starting with # are skipped. The digest is HashAPIKey of the key;
// principal and tenant contain no spaces or commas.
func ParseAPIKeys(text string) ([]APIKeyEntry, error) {
	var out []APIKeyEntry
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("API key entry %d: want \"sha256:<hex digest> <principal> [<tenant>]\", got %d fields", len(out)+1, len(f))
		}
		digest, ok := strings.CutPrefix(f[0], "sha256:")
		sum, err := hex.DecodeString(digest)
		if !ok || err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("API key entry %d (principal %q): the key must be given as sha256:<64 hex digits>, the SHA-256 of the key (e.g. printf %%s \"$KEY\" | sha256sum), never the key itself", len(out)+1, f[1])
		}
		e := APIKeyEntry{Hash: sum, PrincipalID: f[1]}
		if len(f) == 3 {
			e.TenantID = f[2]
		}
		out = append(out, e)
	}
	return out, nil
}

// Authenticate checks the X-API-Key header. A request without it has no credentials
// (ErrNoCredentials); a key that matches no entry is ErrInvalidCredentials.
func (a *APIKeys) Authenticate(r *http.Request) (Identity, error) {
	key := r.Header.Get(APIKeyHeader)
	if key == "" {
		return Identity{}, ErrNoCredentials
	}
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range a.entries { // every entry is compared, so timing tells nothing
		if subtle.ConstantTimeCompare(sum[:], a.entries[i].Hash) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, fmt.Errorf("%w: unknown API key", ErrInvalidCredentials)
	}
	e := a.entries[found]
	return Identity{PrincipalID: e.PrincipalID, TenantID: e.TenantID, Method: "apikey"}, nil
}

// SecuritySchemes returns APIKeyScheme.
func (a *APIKeys) SecuritySchemes() []SecurityScheme { return []SecurityScheme{APIKeyScheme()} }
