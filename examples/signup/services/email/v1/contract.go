// Package emailv1 is the contract of the Email service, version 1: the commands other
// services may invoke and the types they exchange. Callers import this package only,
// never the implementation in ./service.
package emailv1

import "github.com/purista-go/purista/pkg/framework"

// Contract names the service on the bridge; its commands and events are declared from it.
var Contract = framework.NewContract("Email", "1")

// SendWelcomeIn is the input of SendWelcome.
type SendWelcomeIn struct {
	Email string `json:"email" jsonschema:"format=email"`
	Name  string `json:"name" jsonschema:"minLength=1"`
}

// SendWelcomeOut is the output of SendWelcome.
type SendWelcomeOut struct {
	Sent bool `json:"sent"`
}

// SendWelcome sends the welcome e-mail to a new user. It is for other services only, so
// it declares no HTTP endpoint and is not served over HTTP.
var SendWelcome = framework.Command[SendWelcomeIn, SendWelcomeOut](Contract, "sendWelcome",
	framework.WithDescription("send the welcome e-mail to a new user"),
	framework.WithExample(SendWelcomeIn{Email: "alice@example.com", Name: "Alice"}))
