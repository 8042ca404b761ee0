// Package service implements Back.
package service

import (
	"strings"
	"time"

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

// upper violates graceful-shutdown: its slow work ignores the context, so shutdown
// cannot finish within its timeout while a call is in flight.
func upper(_ *framework.Context, in backv1.UpperIn) (backv1.UpperOut, error) {
	time.Sleep(6 * time.Second)
	return backv1.UpperOut{Text: strings.ToUpper(in.Text)}, nil
}

func onGreeted(c *framework.Context, out frontv1.HelloOut) error {
	c.Logger().Info("greeted", "message", out.Message)
	return nil
}
