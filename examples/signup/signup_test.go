// Package signup_test runs the sign-up example end to end on the in-memory bridge.
package signup_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	emailv1 "github.com/purista-go/purista/examples/signup/services/email/v1"
	emailsvc "github.com/purista-go/purista/examples/signup/services/email/v1/service"
	userv1 "github.com/purista-go/purista/examples/signup/services/user/v1"
	usersvc "github.com/purista-go/purista/examples/signup/services/user/v1/service"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/memory"
)

type counter struct{ events, commands atomic.Int64 }

func (c *counter) Observe(r app.Record) {
	switch r.Kind {
	case "subscription":
		c.events.Add(1)
	case "command":
		c.commands.Add(1)
	}
}

func TestSignUpMonolith(t *testing.T) {
	ctx := context.Background()
	obs := &counter{}
	rt, err := framework.Start(ctx, memory.New(), []*framework.Service{usersvc.New(nil), emailsvc.New()}, app.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	cctx := rt.Client(ctx)

	out, err := userv1.SignUp.Invoke(cctx, userv1.SignUpIn{Email: "alice@example.com", Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Email != "alice@example.com" || len(out.ID) != 32 {
		t.Fatalf("out = %+v", out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for obs.events.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if obs.events.Load() != 1 || obs.commands.Load() != 2 {
		t.Fatalf("subscription deliveries %d (want 1), commands %d (want 2)", obs.events.Load(), obs.commands.Load())
	}

	_, err = emailv1.SendWelcome.Invoke(cctx, emailv1.SendWelcomeIn{Email: "x@example.invalid", Name: "X"})
	var he *framework.HandledError
	if !errors.As(err, &he) || he.Status != 422 {
		t.Fatalf("want handled 422, got %v", err)
	}
	_, err = userv1.SignUp.Invoke(cctx, userv1.SignUpIn{Email: "not-an-email", Name: "X"})
	if !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("want handled 400, got %v", err)
	}
}

// TestSignUpOverHTTP calls the public endpoint SignUp declares; SendWelcome declares
// none, so it is not on HTTP.
func TestSignUpOverHTTP(t *testing.T) {
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{usersvc.New(nil), emailsvc.New()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	h, err := rt.HTTPHandler() // only public endpoints: no authenticator needed
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, contentType, body string
		wantStatus              int
		wantBody                string
	}{
		{"/users", "application/json", `{"email":"alice@example.com","name":"Alice"}`, 201, `"email":"alice@example.com"`},
		{"/users", "application/json", `{"email":"nope","name":"Alice"}`, 400, `"field":"/email"`},
		{"/users", "text/plain", `{"email":"alice@example.com","name":"Alice"}`, 415, `"status":415`},
		{"/api/Email/v1/sendWelcome", "application/json", `{"email":"alice@example.com","name":"Alice"}`, 404, `"status":404`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
			t.Errorf("POST %s (%s): %d %s, want %d containing %s", tt.path, tt.contentType, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
		}
	}
}
