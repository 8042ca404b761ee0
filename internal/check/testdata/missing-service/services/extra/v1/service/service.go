// Package service implements Extra, which purista.yaml lists but cmd/fixture does not run.
package service

import (
	extrav1 "example.com/fixture/services/extra/v1"
	"github.com/purista-go/purista/pkg/framework"
)

// New returns the Extra service.
func New() *framework.Service {
	svc := framework.NewService(extrav1.Contract, "pings")
	framework.Handle(svc, extrav1.Ping, func(*framework.Context, extrav1.PingIn) (extrav1.PingOut, error) {
		return extrav1.PingOut{Pong: true}, nil
	})
	return svc
}
