// Package runtime is how the purista CLI drives a user project: it builds the project's
// binary, starts it with a deployment profile (PURISTA_* environment), reads the
// framework's event stream from an extra file descriptor, probes health, invokes
// commands over the app's HTTP endpoint and stops it with SIGTERM, then SIGKILL after a
// grace period. `purista dev`, `purista check` and `purista build` share it.
//
// The API is small and stable:
//
//	bin, err := runtime.Build(ctx, runtime.BuildOptions{Dir: root, Main: "./cmd/shop"})
//	// err may be a *runtime.BuildError carrying the compiler output
//	p, err := runtime.Start(ctx, runtime.StartOptions{
//		Binary:  bin,
//		Dir:     root,
//		Profile: runtime.Profile{Bridge: "memory", Services: []string{"Orders"}},
//		OnEvent: func(e runtime.Event) { /* called from one goroutine, keep it short */ },
//	})
//	err = p.WaitReady(ctx)                          // GET /readyz answers 200
//	out, err := p.Invoke(ctx, "Orders", "1", "place", json.RawMessage(`{"sku":"a"}`))
//	err = p.Stop(5 * time.Second)                    // SIGTERM, SIGKILL after 5 s
//	code := p.ExitCode()
//
// Every process runs in its own process group; Stop signals the whole group so that
// nothing the app started survives it, and on Linux the child also gets SIGKILL when the
// CLI itself dies (Pdeathsig). Health and HTTP listen on free loopback ports chosen by
// Start unless the profile names them. The event stream is the framework's documented
// JSON-lines stream (package framework, EventStream): records, logs and states.
package runtime
