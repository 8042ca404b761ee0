package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/project"
)

// SessionOptions describe one `purista dev` session.
type SessionOptions struct {
	// Root and Manifest are the project's.
	Root     string
	Manifest *project.Manifest
	// Distributed runs one process per service over a broker.
	Distributed bool
	// Broker ("nats", "amqp", "mqtt") and BrokerURL choose the broker (see Provision).
	// A BrokerURL (or Broker) without Distributed runs the monolith on that broker (a profile with
	// a broker bridge and no split).
	Broker, BrokerURL string
	// HTTPAddr is the app's PURISTA_HTTP_ADDR (a profile's http; see Options.HTTPAddr).
	HTTPAddr string
	// SecureHTTP runs the app's HTTP endpoint with the project's own authentication
	// instead of the framework's HTTP development mode (see Options.SecureHTTP).
	SecureHTTP bool
	// NoContainers skips testcontainers when looking for a broker.
	NoContainers bool
	// Watch rebuilds on changes.
	Watch bool
	// Headless prints lines instead of drawing the TUI; JSON prints JSON lines.
	Headless, JSON bool
	// NoColor renders the TUI without colours.
	NoColor bool
	// Grace is the SIGTERM → SIGKILL grace period.
	Grace time.Duration
	// BinaryPath overrides where the binary is built.
	BinaryPath string
	// In, Out and ErrOut are the terminal's streams.
	In          io.Reader
	Out, ErrOut io.Writer
}

// RunSession runs `purista dev` until ctx ends or the user quits, then tears every
// process (and a provisioned broker) down before it returns.
func RunSession(ctx context.Context, o SessionOptions) error {
	if o.Manifest == nil || len(o.Manifest.Services) == 0 {
		return errors.New("the project has no services: add one with `purista add service <Name>`")
	}
	bridge, mode := "memory", "monolith · memory"
	var notes []InfoMsg
	if o.Distributed || o.BrokerURL != "" || o.Broker != "" {
		b, err := Provision(ctx, ProvisionOptions{Kind: o.Broker, URL: o.BrokerURL, NoContainers: o.NoContainers})
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while looking for a broker: nothing to tear down
			}
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = b.Close(cctx) // a broker that does not stop cleanly is gone with us anyway
		}()
		bridge, mode = b.URL, "distributed · "+b.String()
		if !o.Distributed {
			mode = "monolith · " + b.String()
		}
		notes = append(notes, InfoMsg{Text: "broker: " + b.String()})
		if b.Note != "" {
			notes = append(notes, InfoMsg{Text: "broker note: " + b.Note})
		}
	}
	ropts := Options{Root: o.Root, Manifest: o.Manifest, Bridge: bridge, Distributed: o.Distributed,
		Watch: o.Watch, Grace: o.Grace, BinaryPath: o.BinaryPath, HTTPAddr: o.HTTPAddr, SecureHTTP: o.SecureHTTP}
	notes = append(notes, httpModeNote(o.SecureHTTP))
	if o.Headless {
		var pr *Printer
		units := []string{MonolithUnit}
		if o.Distributed {
			units = o.Manifest.ServiceNames()
		}
		pr = NewPrinter(o.Out, o.JSON, append(units, o.Manifest.ServiceNames()...))
		pr.secureHTTP = o.SecureHTTP
		for _, n := range notes {
			pr.Sink(n)
		}
		ropts.Sink = pr.Sink
		r := NewRunner(ropts)
		err := r.Run(ctx)
		pr.Sink(InfoMsg{Text: "stopped"})
		return err
	}
	return runTUI(ctx, o, ropts, mode, notes)
}

// runTUI runs the runner under the bubbletea program.
func runTUI(ctx context.Context, o SessionOptions, ropts Options, mode string, notes []InfoMsg) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var p *tea.Program
	ready := make(chan struct{})
	ropts.Sink = func(msg any) {
		<-ready
		p.Send(RunnerMsg{Msg: msg})
	}
	r := NewRunner(ropts)
	model := NewModel(ModelOptions{Project: o.Manifest.Name, Mode: mode, Services: o.Manifest.Services,
		Units: r.Units(), Invoker: r, Controller: r, NoColor: o.NoColor, SecureHTTP: o.SecureHTTP})
	for _, n := range notes {
		model.apply(n)
	}
	p = tea.NewProgram(model, tea.WithContext(runCtx), tea.WithInput(o.In), tea.WithOutput(o.Out))
	close(ready)
	errc := make(chan error, 1)
	go func() { // owned: ends when runCtx is cancelled below
		err := r.Run(runCtx)
		if err != nil {
			p.Quit()
		}
		errc <- err
	}()
	_, uiErr := p.Run()
	cancel()
	fmt.Fprintln(o.ErrOut, "purista dev: stopping every process…")
	err := <-errc
	if err == nil && uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) && ctx.Err() == nil {
		err = uiErr
	}
	if err == nil {
		fmt.Fprintln(o.ErrOut, "purista dev: stopped")
	}
	return err
}

// httpModeNote says how the app's HTTP endpoint runs: loudly, in the framework's HTTP
// development mode; with secure, under the project's own authentication.
func httpModeNote(secure bool) InfoMsg {
	if secure {
		return InfoMsg{Text: "HTTP: the project's own authentication applies (--secure-http): endpoints, GET /api and /openapi.json need credentials " +
			"unless public; command routes are off, so the invoke dialog reaches no command"}
	}
	return InfoMsg{Text: "HTTP DEVELOPMENT MODE: no credentials needed (callers are whoever X-Principal-Id names) and every command is also at " +
		"POST /api/<service>/v<n>/<command>; never deploy like this (purista dev --secure-http uses the project's authentication)", Warn: true}
}
