// Package service implements Back.
package service

import (
	"crypto/rand"
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

// upper answers with a random id: stateless and legitimate, but no two answers are equal.
func upper(_ *framework.Context, in backv1.UpperIn) (backv1.UpperOut, error) {
	return backv1.UpperOut{Text: strings.ToUpper(in.Text), ID: rand.Text()}, nil
}

func onGreeted(c *framework.Context, out frontv1.HelloOut) error {
	c.Logger().Info("greeted", "message", out.Message)
	return nil
}
