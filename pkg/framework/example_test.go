package framework_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// The contract of a service: its name and version, and typed command handles that
// callers import.
var Greeter = framework.NewContract("Greeter", "1")

type GreetIn struct {
	Name string `json:"name" jsonschema:"minLength=1"`
}

type GreetOut struct {
	Greeting string `json:"greeting"`
}

var Greet = framework.Command[GreetIn, GreetOut](Greeter, "greet",
	framework.WithSuccessEvent("greeted"))

// Example shows a service defined once and called through the in-memory bridge. The same
// service runs unchanged on NATS, AMQP or MQTT: only the bridge passed to Start (or
// PURISTA_BRIDGE, with package app) changes.
func Example() {
	svc := framework.NewService(Greeter, "greets people")
	framework.Handle(svc, Greet, func(c *framework.Context, in GreetIn) (GreetOut, error) {
		return GreetOut{Greeting: "Hello, " + in.Name}, nil
	})

	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{svc})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Shutdown(context.Background())

	out, err := Greet.Invoke(rt.Client(context.Background()), GreetIn{Name: "Ada"})
	fmt.Println(out.Greeting, err)

	_, err = Greet.Invoke(rt.Client(context.Background()), GreetIn{})
	var he *framework.HandledError
	fmt.Println(errors.As(err, &he), he.Status)
	// Output:
	// Hello, Ada <nil>
	// true 400
}

// ExampleSubscribe reacts to a command's success event.
func ExampleSubscribe() {
	greeter := framework.NewService(Greeter, "greets people")
	framework.Handle(greeter, Greet, func(c *framework.Context, in GreetIn) (GreetOut, error) {
		return GreetOut{Greeting: "Hi " + in.Name}, nil
	})
	seen := make(chan string, 1)
	audit := framework.NewService(framework.NewContract("Audit", "1"), "records greetings")
	framework.Subscribe(audit, "onGreeted", Greet.SuccessEvent(), func(c *framework.Context, out GreetOut) error {
		seen <- out.Greeting
		return nil
	})
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{greeter, audit})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Shutdown(context.Background())
	if _, err := Greet.Invoke(rt.Client(context.Background()), GreetIn{Name: "Bob"}); err != nil {
		fmt.Println(err)
		return
	}
	select {
	case g := <-seen:
		fmt.Println("audited:", g)
	case <-time.After(time.Minute):
		fmt.Println("no event")
	}
	// Output: audited: Hi Bob
}

// ExampleContext_WithContext gives one call of a handler a shorter deadline: the derived
// Context still invokes and emits.
func ExampleContext_WithContext() {
	contract := framework.NewContract("Twice", "1")
	greetedTwice := framework.Event[GreetOut](contract, "greetedTwice")
	twice := framework.Command[GreetIn, GreetOut](contract, "greetTwice")
	svc := framework.NewService(contract, "greets twice, quickly")
	framework.Handle(svc, twice, func(c *framework.Context, in GreetIn) (GreetOut, error) {
		tctx, cancel := context.WithTimeout(c, 2*time.Second)
		defer cancel()
		quick := c.WithContext(tctx)
		out, err := Greet.Invoke(quick, in)
		if err != nil {
			return GreetOut{}, err
		}
		out.Greeting += " " + out.Greeting
		return out, greetedTwice.Emit(quick, out)
	})
	greeter := framework.NewService(Greeter, "greets people")
	framework.Handle(greeter, Greet, func(c *framework.Context, in GreetIn) (GreetOut, error) {
		return GreetOut{Greeting: "Hi " + in.Name}, nil
	})
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{svc, greeter})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Shutdown(context.Background())
	out, err := twice.Invoke(rt.Client(context.Background()), GreetIn{Name: "Ada"})
	fmt.Println(out.Greeting, err)
	// Output: Hi Ada Hi Ada <nil>
}

// ExampleNewHandledError shows an error the caller is meant to see.
func ExampleNewHandledError() {
	err := framework.NewHandledError(404, "user not found", map[string]string{"id": "42"})
	fmt.Println(framework.StatusOf(err), err)
	// Output: 404 handled error 404: user not found
}
