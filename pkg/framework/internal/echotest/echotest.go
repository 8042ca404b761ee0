// Package echotest holds the services the tests of package framework and of its runner
// (package app) run: Echo answers as its input's mode says, Relay calls Echo.
package echotest

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"github.com/purista-go/purista/pkg/framework"
)

// In is the input of Echo's commands. Mode chooses the answer: "block" (until the
// context ends), "handled" (a handled 409), "unhandled" (an error whose text holds a
// secret), "panic", "badOutput" (output that fails its schema), else an echo.
type In struct {
	Text string `json:"text" jsonschema:"minLength=1"`
	Mode string `json:"mode,omitempty"`
}

// Out is the output of Echo's commands: the text and what the handler's Context knew.
type Out struct {
	Text        string `json:"text"`
	Principal   string `json:"principal,omitempty"`
	Tenant      string `json:"tenant,omitempty"`
	TraceID     string `json:"traceId,omitempty"`
	Constrained string `json:"constrained,omitempty" jsonschema:"maxLength=3"`
}

var (
	// EchoContract is the Echo service's contract.
	EchoContract = framework.NewContract("Echo", "1")
	// Echo echoes, with the success event "echoed" and the default timeout.
	Echo = framework.Command[In, Out](EchoContract, "echo", framework.WithSuccessEvent("echoed"))
	// Stall is Echo with a short timeout, for the cases that run out of time (mode
	// "block"); Echo keeps the default timeout, so that no answer depends on load.
	Stall = framework.Command[In, Out](EchoContract, "stall", framework.WithTimeout(300*time.Millisecond))
	// RelayContract is the Relay service's contract.
	RelayContract = framework.NewContract("Relay", "1")
	// Relay calls Echo.
	Relay = framework.Command[In, Out](RelayContract, "relay")
)

// EchoService returns the Echo service, handling Echo and Stall.
func EchoService() *framework.Service {
	svc := framework.NewService(EchoContract, "echoes")
	h := func(c *framework.Context, in In) (Out, error) {
		switch in.Mode {
		case "block": // until the deadline (or a forced stop) ends the context
			<-c.Done()
			return Out{}, c.Err()
		case "handled":
			return Out{}, framework.NewHandledError(409, "conflict on "+in.Text, map[string]string{"text": in.Text})
		case "unhandled":
			return Out{}, errors.New("database password is hunter2")
		case "panic":
			panic("boom")
		case "badOutput":
			return Out{Text: in.Text, Constrained: "too long"}, nil
		}
		return Out{Text: in.Text, Principal: c.PrincipalID(), Tenant: c.TenantID(), TraceID: c.TraceID()}, nil
	}
	framework.Handle(svc, Echo, h)
	framework.Handle(svc, Stall, h)
	return svc
}

// RelayService returns the Relay service, which invokes Echo.
func RelayService() *framework.Service {
	svc := framework.NewService(RelayContract, "relays to Echo")
	framework.Handle(svc, Relay, func(c *framework.Context, in In) (Out, error) {
		return Echo.Invoke(c, in)
	})
	return svc
}

// LogBuffer is a bytes.Buffer safe for concurrent writes and reads.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
