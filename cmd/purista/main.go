// Command purista is the purista CLI: scaffolding, a development runner, checks and builds
// for message-based Go services. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ios := iostreams.System()
	code := cli.Execute(ctx, root.NewCmdRoot(root.NewFactory(ios)), os.Args[1:], ios)
	stop()
	os.Exit(code)
}
