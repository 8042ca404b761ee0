// Package service implements Back.
package service

import (
	"os"
	"strings"

	backv1 "example.com/fixture/services/back/v1"
	frontv1 "example.com/fixture/services/front/v1"
	"github.com/purista-go/purista/pkg/framework"
)

// New returns the Back service.
func New() *framework.Service {
	svc := framework.NewService(backv1.Contract, "shouts")
	framework.Handle(svc, backv1.Upper, upper)
	framework.Subscribe(svc, "onGreeted", frontv1.Hello.SuccessEvent(), onGreeted)
	return svc
}

// upper violates two-models: it reads what Front left in the process environment,
// which it only sees when both run in one process.
func upper(_ *framework.Context, in backv1.UpperIn) (backv1.UpperOut, error) {
	text := strings.ToUpper(in.Text)
	if caller := os.Getenv("FIXTURE_CALLER"); caller != "" {
		text += " (for " + caller + ")"
	}
	return backv1.UpperOut{Text: text}, nil
}

func onGreeted(c *framework.Context, out frontv1.HelloOut) error {
	c.Logger().Info("greeted", "message", out.Message)
	return nil
}
