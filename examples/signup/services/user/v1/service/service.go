// Package service implements the User service, version 1.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	emailv1 "github.com/purista-go/purista/examples/signup/services/email/v1"
	userv1 "github.com/purista-go/purista/examples/signup/services/user/v1"
	"github.com/purista-go/purista/pkg/framework"
)

// Store keeps users. Implementations must be safe for concurrent use; production code
// passes a database-backed store so that every instance of the service sees the same data.
type Store interface {
	// Upsert stores the user and reports whether it was new.
	Upsert(ctx context.Context, u userv1.SignUpOut) (created bool, err error)
}

// MemoryStore is a Store in memory, for the monolith and tests.
type MemoryStore struct {
	mu    sync.Mutex
	users map[string]userv1.SignUpOut
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{users: map[string]userv1.SignUpOut{}} }

// Upsert implements Store.
func (m *MemoryStore) Upsert(_ context.Context, u userv1.SignUpOut) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, exists := m.users[u.ID]
	m.users[u.ID] = u
	return !exists, nil
}

// New returns the User service definition backed by store (a new MemoryStore when nil).
func New(store Store) *framework.Service {
	if store == nil {
		store = NewMemoryStore()
	}
	svc := framework.NewService(userv1.Contract, "Manages users")
	framework.Handle(svc, userv1.SignUp, func(c *framework.Context, in userv1.SignUpIn) (userv1.SignUpOut, error) {
		return signUp(c, store, in)
	})
	return svc
}

// userID derives a stable id from the e-mail address, so that every instance gives the
// same answer to the same sign-up (the service keeps no state of its own).
func userID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:16])
}

func signUp(c *framework.Context, store Store, in userv1.SignUpIn) (userv1.SignUpOut, error) {
	u := userv1.SignUpOut{ID: userID(in.Email), Email: in.Email}
	if _, err := store.Upsert(c, u); err != nil {
		return userv1.SignUpOut{}, fmt.Errorf("store user: %w", err)
	}
	if _, err := emailv1.SendWelcome.Invoke(c, emailv1.SendWelcomeIn{Email: in.Email, Name: in.Name}); err != nil {
		return userv1.SignUpOut{}, fmt.Errorf("send welcome e-mail: %w", err)
	}
	if err := userv1.UserAudit.Emit(c, userv1.AuditEntry{Action: "signUp"}); err != nil {
		c.Logger().Warn("audit event lost", "error", err)
	}
	return u, nil
}
