// Package frontv1 is the contract of the Front service.
package frontv1

import (
	"time"

	"github.com/purista-go/purista/pkg/framework"
)

// Contract names the service on the bridge.
var Contract = framework.NewContract("Front", "1")

// HelloIn is the input of Hello.
type HelloIn struct {
	Name string `json:"name" jsonschema:"minLength=1"`
}

// HelloOut is the output of Hello.
type HelloOut struct {
	Message string `json:"message"`
}

// Hello greets by name, shouting it through Back. Its short timeout keeps the fixture
// quick; the violation is in the handler.
var Hello = framework.Command[HelloIn, HelloOut](Contract, "hello",
	framework.WithSuccessEvent("greeted"), framework.WithExample(HelloIn{Name: "Alice"}),
	framework.WithTimeout(2*time.Second))
