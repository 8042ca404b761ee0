// Package service implements Front.
package service

import (
	"time"

	backv1 "example.com/fixture/services/back/v1"
	frontv1 "example.com/fixture/services/front/v1"
	"github.com/purista-go/purista/pkg/framework"
)

// New returns the Front service.
func New() *framework.Service {
	svc := framework.NewService(frontv1.Contract, "greets")
	framework.Handle(svc, frontv1.Hello, hello)
	return svc
}

// hello violates timeouts-and-retries: it retries Back until Back answers, ignoring its
// context, so with Back stopped it never ends.
func hello(c *framework.Context, in frontv1.HelloIn) (frontv1.HelloOut, error) {
	for {
		out, err := backv1.Upper.Invoke(c, backv1.UpperIn{Text: in.Name})
		if err == nil {
			return frontv1.HelloOut{Message: "Hello, " + out.Text + "!"}, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
