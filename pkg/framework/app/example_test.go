package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
)

type greetIn struct {
	Name string `json:"name" jsonschema:"minLength=1"`
}

type greetOut struct {
	Greeting string `json:"greeting"`
}

var (
	greeter = framework.NewContract("Greeter", "1")
	greet   = framework.Command[greetIn, greetOut](greeter, "greet")
)

// newGreeter returns the Greeter service, greeting with salutation.
func newGreeter(salutation string) *framework.Service {
	svc := framework.NewService(greeter, "greets people")
	framework.Handle(svc, greet, func(c *framework.Context, in greetIn) (greetOut, error) {
		return greetOut{Greeting: salutation + ", " + in.Name}, nil
	})
	return svc
}

// Example is a project's main with a flag of its own: the services are built once the
// command line is parsed, from the flag's value. Main runs it with os.Args; Run, as
// here, takes the arguments and the environment, for tests.
func Example() {
	a := app.New()
	salutation := a.Flags().String("salutation", "Hello", "how the Greeter greets")
	a.Build(func() ([]*framework.Service, error) {
		if *salutation == "" {
			return nil, fmt.Errorf("%w: --salutation is empty", framework.ErrConfig)
		}
		return []*framework.Service{newGreeter(*salutation)}, nil
	})
	ctx, stop := context.WithCancel(context.Background())
	a.With(app.WithReady(func(rt *framework.Runtime) {
		defer stop() // then Run shuts down
		out, err := greet.Invoke(rt.Client(ctx), greetIn{Name: "Ada"})
		fmt.Println(out.Greeting, err)
	}))
	noEnv := func(string) string { return "" }
	code := a.Run(ctx, []string{"--salutation=Welcome", "--health-addr=off", "--log-level=error"}, noEnv, os.Stdout)
	fmt.Println("exit code", code)
	// Output:
	// Welcome, Ada <nil>
	// exit code 0
}

// ExampleApp_Run_badFlag: an unknown flag or a bad value is a usage error, exit code 2.
func ExampleApp_Run_badFlag() {
	a := app.New(newGreeter("Hi"))
	a.Flags().Int("workers", 4, "worker count")
	code := a.Run(context.Background(), []string{"--workers=many"}, func(string) string { return "" }, os.Stdout)
	fmt.Println("exit code", code)
	// Output:
	// Error: invalid configuration: invalid value "many" for flag -workers: parse error (run with -h to list the settings)
	// exit code 2
}

func ExampleRedactor() {
	r := app.NewRedactor("nats://S3CRETTOKEN@broker:4222")
	fmt.Println(r.Active())
	fmt.Println(r.Text("dial nats://S3CRETTOKEN@broker:4222: connection refused"))
	fmt.Println(r.Error(errors.New("authorization S3CRETTOKEN rejected")))
	// Output:
	// true
	// dial nats://xxxxx@broker:4222: connection refused
	// authorization xxxxx rejected
}
