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

// hello violates timeouts-and-retries: its call to Back may wait an hour. (It does not
// retry in a loop: a loop that ignores shutdown would violate graceful-shutdown too, and
// each fixture violates exactly one item.)
func hello(c *framework.Context, in frontv1.HelloIn) (frontv1.HelloOut, error) {
	out, err := backv1.Upper.InvokeWith(c, backv1.UpperIn{Text: in.Name}, framework.InvokeOptions{Timeout: time.Hour})
	if err != nil {
		return frontv1.HelloOut{}, err
	}
	return frontv1.HelloOut{Message: "Hello, " + out.Text + "!"}, nil
}
