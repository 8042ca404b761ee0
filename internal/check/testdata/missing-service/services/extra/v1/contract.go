// Package extrav1 is the contract of the Extra service.
package extrav1

import "github.com/purista-go/purista/pkg/framework"

// Contract names the service on the bridge.
var Contract = framework.NewContract("Extra", "1")

// PingIn is the input of Ping.
type PingIn struct{}

// PingOut is the output of Ping.
type PingOut struct {
	Pong bool `json:"pong"`
}

// Ping answers pong.
var Ping = framework.Command[PingIn, PingOut](Contract, "ping")
