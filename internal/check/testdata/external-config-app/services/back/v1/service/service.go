// Package service implements Back.
package service

import (
	"strings"

	backv1 "example.com/fixture/services/back/v1"
	frontv1 "example.com/fixture/services/front/v1"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
)

// New returns the Back service.
func New() *framework.Service {
	svc := framework.NewService(backv1.Contract, "shouts")
	framework.Handle(svc, backv1.Upper, upper)
	framework.Subscribe(svc, "onGreeted", frontv1.Hello.SuccessEvent(), onGreeted)
	return svc
}

// Standalone violates external-config: the service starts an application of its own,
// so the app's main no longer decides what runs and on which bridge.
func Standalone() { app.New(New()).Main() }

func upper(_ *framework.Context, in backv1.UpperIn) (backv1.UpperOut, error) {
	return backv1.UpperOut{Text: strings.ToUpper(in.Text)}, nil
}

func onGreeted(c *framework.Context, out frontv1.HelloOut) error {
	c.Logger().Info("greeted", "message", out.Message)
	return nil
}
