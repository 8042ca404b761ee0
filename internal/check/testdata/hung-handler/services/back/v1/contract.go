// Package backv1 is the contract of the Back service.
package backv1

import (
	"time"

	"github.com/purista-go/purista/pkg/framework"
)

// Contract names the service on the bridge.
var Contract = framework.NewContract("Back", "1")

// UpperIn is the input of Upper.
type UpperIn struct {
	Text string `json:"text"`
}

// UpperOut is the output of Upper.
type UpperOut struct {
	Text string `json:"text"`
}

// Upper upper-cases a text. Its short timeout keeps the fixture quick; the violation is
// in the handler.
var Upper = framework.Command[UpperIn, UpperOut](Contract, "upper", framework.WithExample(UpperIn{Text: "abc"}),
	framework.WithTimeout(2*time.Second))
