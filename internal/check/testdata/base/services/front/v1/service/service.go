// Package service implements Front.
package service

import (
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

func hello(c *framework.Context, in frontv1.HelloIn) (frontv1.HelloOut, error) {
	out, err := backv1.Upper.Invoke(c, backv1.UpperIn{Text: in.Name})
	if err != nil {
		return frontv1.HelloOut{}, err
	}
	return frontv1.HelloOut{Message: "Hello, " + out.Text + "!"}, nil
}
