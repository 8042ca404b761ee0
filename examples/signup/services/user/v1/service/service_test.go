package service

import (
	"errors"
	"testing"

	emailv1 "github.com/purista-go/purista/examples/signup/services/email/v1"
	userv1 "github.com/purista-go/purista/examples/signup/services/user/v1"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/frameworktest"
)

func TestSignUp(t *testing.T) {
	tests := []struct {
		name       string
		in         userv1.SignUpIn
		mailErr    error
		wantStatus int
		wantMails  int
	}{
		{name: "ok", in: userv1.SignUpIn{Email: "alice@example.com", Name: "Alice"}, wantStatus: 200, wantMails: 1},
		{name: "invalid e-mail is a 400", in: userv1.SignUpIn{Email: "nope", Name: "Alice"}, wantStatus: 400},
		{name: "empty name is a 400", in: userv1.SignUpIn{Email: "alice@example.com"}, wantStatus: 400},
		{name: "a handled mail failure wrapped with %w stays handled", in: userv1.SignUpIn{Email: "bob@example.com", Name: "Bob"},
			mailErr: framework.NewHandledError(422, "mailbox does not exist", nil), wantStatus: 422, wantMails: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := frameworktest.NewContext(t, frameworktest.WithPrincipal("u-1"))
			frameworktest.Stub(rec, emailv1.SendWelcome, func(in emailv1.SendWelcomeIn) (emailv1.SendWelcomeOut, error) {
				if in.Email != tt.in.Email {
					t.Errorf("welcome mail to %q, want %q", in.Email, tt.in.Email)
				}
				return emailv1.SendWelcomeOut{Sent: tt.mailErr == nil}, tt.mailErr
			})
			out, err := frameworktest.Call(c, New(nil), userv1.SignUp, tt.in)
			if got := framework.StatusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantStatus)
			}
			if got := len(rec.Invocations()); got != tt.wantMails {
				t.Fatalf("%d invocations, want %d", got, tt.wantMails)
			}
			if tt.wantStatus == 400 {
				var he *framework.HandledError
				if !errors.As(err, &he) || he.Data == nil {
					t.Fatalf("want a handled 400 with field data, got %#v", err)
				}
				return
			}
			if tt.wantStatus != 200 {
				return
			}
			if out.ID != userID(tt.in.Email) || out.Email != tt.in.Email {
				t.Fatalf("out = %+v", out)
			}
			ev := rec.Events()
			if len(ev) != 2 || ev[0].Name != userv1.UserAudit.Name() || ev[1].Name != userv1.SignUp.SuccessEvent().Name() {
				t.Fatalf("events = %+v, want userAudit, then the success event userSignedUp", ev)
			}
			if p := rec.Invocations()[0].Principal; p != "u-1" {
				t.Fatalf("the call carries principal %q, want u-1 inherited from the incoming message", p)
			}
		})
	}
}
