package app

import (
	"context"
	"io"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/echotest"
)

// The services of the runner's tests (package echotest): Echo answers as its input's
// mode says, Relay calls Echo.
type (
	echoIn    = echotest.In
	echoOut   = echotest.Out
	logBuffer = echotest.LogBuffer
)

var (
	relay        = echotest.Relay
	echoService  = echotest.EchoService
	relayService = echotest.RelayService
)

// runMain runs services as a main function would, returning the exit code.
func runMain(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, services ...*framework.Service) int {
	return New(services...).Run(ctx, args, getenv, stderr)
}
