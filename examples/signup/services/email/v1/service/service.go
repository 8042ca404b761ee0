// Package service implements the Email service, version 1.
package service

import (
	"log/slog"
	"strings"

	emailv1 "github.com/purista-go/purista/examples/signup/services/email/v1"
	userv1 "github.com/purista-go/purista/examples/signup/services/user/v1"
	"github.com/purista-go/purista/pkg/framework"
)

// New returns the Email service definition.
func New() *framework.Service {
	svc := framework.NewService(emailv1.Contract, "Sends e-mails")
	framework.Handle(svc, emailv1.SendWelcome, sendWelcome)
	framework.Subscribe(svc, "onUserSignedUp", userv1.SignUp.SuccessEvent(), onUserSignedUp)
	return svc
}

// sendWelcome "sends" the welcome e-mail. Addresses at example.invalid bounce, to show a
// handled error crossing the bridge.
func sendWelcome(c *framework.Context, in emailv1.SendWelcomeIn) (emailv1.SendWelcomeOut, error) {
	if strings.HasSuffix(in.Email, "@example.invalid") {
		return emailv1.SendWelcomeOut{}, framework.NewHandledError(422, "mailbox does not exist", map[string]string{"email": in.Email})
	}
	c.Logger().Info("welcome e-mail sent", slog.String("to", in.Email))
	return emailv1.SendWelcomeOut{Sent: true}, nil
}

// onUserSignedUp reacts to every successful sign-up (once per event, whichever instance).
func onUserSignedUp(c *framework.Context, u userv1.SignUpOut) error {
	c.Logger().Info("new user signed up", slog.String("userId", u.ID), slog.String("email", u.Email))
	return nil
}
