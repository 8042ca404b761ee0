// Package devenv runs a `purista dev` session: it wires the broker provisioning
// (brokers), the process supervisor (supervise, which uses watch) and the terminal UI
// (ui) or the headless printer (headless) together.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/devenv/brokers"
	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/headless"
	"github.com/purista-go/purista/internal/devenv/supervise"
	"github.com/purista-go/purista/internal/devenv/traces"
	"github.com/purista-go/purista/internal/devenv/ui"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// Options describe one `purista dev` session.
type Options struct {
	// Root and Manifest are the project's.
	Root     string
	Manifest *project.Manifest
	// Distributed runs one process per service over a broker.
	Distributed bool
	// Broker ("nats", "amqp", "mqtt") and BrokerURL choose the broker (see brokers.Provision).
	// A BrokerURL (or Broker) without Distributed runs the monolith on that broker (a profile with
	// a broker bridge and no split).
	Broker, BrokerURL string
	// HTTPAddr is the app's PURISTA_HTTP_ADDR (a profile's http; see supervise.Options.HTTPAddr).
	HTTPAddr string
	// SecureHTTP runs the app's HTTP endpoint with the project's own authentication
	// instead of the framework's HTTP development mode (see supervise.Options.SecureHTTP).
	SecureHTTP bool
	// NoContainers skips testcontainers when looking for a broker.
	NoContainers bool
	// BrokerImage is the container image of the broker kind; it wins over the
	// manifest's dev.images.
	BrokerImage string
	// Watch rebuilds on changes.
	Watch bool
	// Headless prints lines instead of drawing the TUI; JSON prints JSON lines.
	Headless, JSON bool
	// NoTraces turns the TUI's trace view off: the processes get no OTEL_* settings
	// from dev (see startTraces).
	NoTraces bool
	// NoColor renders the TUI without colours.
	NoColor bool
	// Grace is the SIGTERM → SIGKILL grace period.
	Grace time.Duration
	// BinaryPath overrides where the binary is built.
	BinaryPath string
	// In, Out and ErrOut are the terminal's streams.
	In          io.Reader
	Out, ErrOut io.Writer
	// Build, Start and Provision are the engines: how the project is compiled, how its
	// processes start and how a broker is found (nil: runtime.Build, runtime.Start,
	// brokers.Provision).
	Build     func(context.Context, runtime.BuildOptions) (*runtime.Binary, error)
	Start     func(context.Context, runtime.StartOptions) (*runtime.Process, error)
	Provision func(context.Context, brokers.ProvisionOptions) (*brokers.Broker, error)
}

// RunSession runs `purista dev` until ctx ends or the user quits, then tears every
// process (and a provisioned broker) down before it returns.
func RunSession(ctx context.Context, o Options) error {
	if o.Manifest == nil || len(o.Manifest.Services) == 0 {
		return errors.New("the project has no services: add one with `purista add service <Name>`")
	}
	bridge, mode := "memory", "monolith · memory"
	var notes []devmsg.InfoMsg
	if o.Distributed || o.BrokerURL != "" || o.Broker != "" {
		provision := o.Provision
		if provision == nil {
			provision = brokers.Provision
		}
		po, closeLog := brokerOptions(o)
		defer closeLog()
		b, err := provision(ctx, po)
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
		notes = append(notes, devmsg.InfoMsg{Text: "broker: " + b.String()})
		if b.Note != "" {
			notes = append(notes, devmsg.InfoMsg{Text: "broker note: " + b.Note})
		}
	}
	ropts := supervise.Options{Root: o.Root, Manifest: o.Manifest, Bridge: bridge, Distributed: o.Distributed,
		Watch: o.Watch, Grace: o.Grace, BinaryPath: o.BinaryPath, HTTPAddr: o.HTTPAddr, SecureHTTP: o.SecureHTTP,
		Build: o.Build, Start: o.Start}
	notes = append(notes, devmsg.HTTPModeNote(o.SecureHTTP))
	if o.Headless {
		units := []string{devmsg.MonolithUnit}
		if o.Distributed {
			units = o.Manifest.ServiceNames()
		}
		pr := headless.NewPrinter(o.Out, headless.Options{JSON: o.JSON, Units: append(units, o.Manifest.ServiceNames()...),
			SecureHTTP: o.SecureHTTP})
		for _, n := range notes {
			pr.Sink(n)
		}
		ropts.Sink = pr.Sink
		err := supervise.NewRunner(ropts).Run(ctx)
		pr.Sink(devmsg.InfoMsg{Text: "stopped"})
		return err
	}
	return runTUI(ctx, o, ropts, mode, notes)
}

// brokerOptions are the broker provisioning options of a session: the images of
// dev.images and --broker-image, progress lines on ErrOut (before the UI starts), and
// testcontainers' own log appended to broker.log in the project's cache folder (never
// the terminal). closeLog closes that file; call it after the broker is closed.
func brokerOptions(o Options) (po brokers.ProvisionOptions, closeLog func()) {
	images := map[string]string{}
	for k, v := range o.Manifest.Dev.Images {
		images[k] = v
	}
	if o.BrokerImage != "" {
		kind := o.Broker
		if kind == "" {
			kind = "nats"
		}
		images[kind] = o.BrokerImage
	}
	po = brokers.ProvisionOptions{Kind: o.Broker, URL: o.BrokerURL, NoContainers: o.NoContainers, Images: images}
	if o.ErrOut != nil {
		po.Progress = func(line string) { fmt.Fprintf(o.ErrOut, "purista dev: %s\n", line) }
	}
	closeLog = func() {}
	if dir, err := runtime.CacheDir(o.Root); err == nil && os.MkdirAll(dir, 0o755) == nil {
		if f, err := os.OpenFile(filepath.Join(dir, "broker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			po.Log, closeLog = f, func() { _ = f.Close() }
		}
	}
	return po, closeLog
}

// runTUI runs the runner under the bubbletea program.
func runTUI(ctx context.Context, o Options, ropts supervise.Options, mode string, notes []devmsg.InfoMsg) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var p *tea.Program
	ready := make(chan struct{})
	ropts.Sink = func(msg any) {
		<-ready
		p.Send(ui.RunnerMsg{Msg: msg})
	}
	// The receiver outlives the processes, so that their last spans still arrive.
	traceCtx, stopTraces := context.WithCancel(context.WithoutCancel(ctx))
	defer stopTraces()
	store, recv, note := startTraces(traceCtx, o, func() { <-ready; p.Send(ui.TracesMsg{}) })
	if recv != nil {
		defer recv.Wait()
		ropts.Env = append(append([]string(nil), ropts.Env...), traces.Env(recv.Endpoint())...)
	}
	if note != "" {
		notes = append(notes, devmsg.InfoMsg{Text: note})
	}
	r := supervise.NewRunner(ropts)
	model := ui.NewModel(ui.ModelOptions{Project: o.Manifest.Name, Mode: mode, Services: o.Manifest.Services,
		Units: r.Units(), Invoker: r, Controller: r, NoColor: o.NoColor, SecureHTTP: o.SecureHTTP, Info: notes, Traces: store})
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
	stopTraces()
	if err == nil && uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) && ctx.Err() == nil {
		err = uiErr
	}
	if err == nil {
		fmt.Fprintln(o.ErrOut, "purista dev: stopped")
	}
	return err
}

// startTraces starts the trace view's OTLP receiver for the TUI, which calls changed
// whenever spans arrive, and returns its store. The view is off — nil store and
// receiver, and a note saying why — with NoTraces, or when dev's environment already
// says where spans go (an OTLP endpoint, OTEL_TRACES_EXPORTER or OTEL_SDK_DISABLED):
// the processes then keep that setting.
func startTraces(ctx context.Context, o Options, changed func()) (*traces.Store, *traces.Receiver, string) {
	if o.NoTraces {
		return nil, nil, ""
	}
	if v := traces.UserConfigured(nil); v != "" {
		return nil, nil, "trace view off: " + v + " is set, so the processes export as it says (unset it for the trace view)"
	}
	store := traces.NewStore(0, 0)
	recv, err := traces.Listen(ctx, store, func([]string) { changed() })
	if err != nil {
		return nil, nil, "trace view off: " + err.Error()
	}
	return store, recv, ""
}
