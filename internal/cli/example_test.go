package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

// Execute prints errors on standard error with a hint and returns the exit code; here a
// mistyped shell name is a usage error (exit code 2).
func ExampleExecute() {
	ios, _, _, stderr := iostreams.Test()
	code := cli.Execute(context.Background(), root.NewCmdRoot(root.NewFactory(ios)), []string{"completion", "tcsh"}, ios)
	fmt.Fprint(os.Stdout, stderr.String())
	fmt.Println("exit code:", code)
	// Output:
	// Error: unknown shell "tcsh": choose one of bash, zsh, fish, powershell
	// Run 'purista completion --help' for usage.
	// exit code: 2
}
