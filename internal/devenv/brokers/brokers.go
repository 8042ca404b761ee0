// Package brokers provisions the broker a distributed `purista dev` session runs over:
// an explicit URL, a testcontainers container when a Docker daemon answers, or an
// embedded server.
package brokers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/mqtt/mqttembed"
	"github.com/purista-go/purista/pkg/framework/nats/natsembed"
)

// Broker sources, in the order Provision tries them.
const (
	SourceURL            = "url"            // --broker-url or PURISTA_BROKER_URL
	SourceTestcontainers = "testcontainers" // a container started through a Docker daemon
	SourceEmbedded       = "embedded"       // an in-process server (nats, mqtt)
)

// Container images started when a Docker daemon answers.
const (
	ImageNATS      = "nats:2.10-alpine"
	ImageRabbitMQ  = "rabbitmq:3.13-management-alpine"
	ImageMosquitto = "eclipse-mosquitto:2.0"
)

// ErrNoBroker is wrapped by Provision's error when no broker of the kind can be found.
var ErrNoBroker = errors.New("no broker available")

// Broker is a broker the supervisor connects its processes to.
type Broker struct {
	// Kind is "nats", "amqp" or "mqtt".
	Kind string
	// URL is the PURISTA_BRIDGE value for the processes.
	URL string
	// Source says where the broker came from (SourceURL, SourceTestcontainers, SourceEmbedded).
	Source string
	// Note is a human-readable detail (the container image, why a source was skipped).
	Note string
	// ContainerID is the Docker container of a SourceTestcontainers broker, else "".
	ContainerID string
	close       func(context.Context) error
}

// String describes the broker for the UI, with any password masked.
func (b *Broker) String() string {
	return fmt.Sprintf("%s %s (%s)", b.Kind, app.RedactURL(b.URL), b.Source)
}

// Close stops a broker that Provision started (container or embedded server); a broker
// given by URL is left alone.
func (b *Broker) Close(ctx context.Context) error {
	if b == nil || b.close == nil {
		return nil
	}
	return b.close(ctx)
}

// ProvisionOptions say which broker to find.
type ProvisionOptions struct {
	// Kind is "nats" (default), "amqp" or "mqtt". When empty and URL is set, the kind
	// follows from the URL's scheme.
	Kind string
	// URL is an explicit broker URL (--broker-url); it wins over everything else.
	URL string
	// Getenv reads the environment (PURISTA_BROKER_URL); nil means os.Getenv.
	Getenv func(string) string
	// Dir is a scratch folder for an embedded broker's storage (nil: a temporary one).
	Dir string
	// DockerAvailable reports whether a Docker daemon answers; nil uses DockerAvailable.
	DockerAvailable func(context.Context) error
	// NoContainers skips the testcontainers step.
	NoContainers bool
	// Images names the container image per kind ("nats", "amqp", "mqtt") for the
	// testcontainers step; a kind not in it uses DefaultImage.
	Images map[string]string
	// StartTimeout bounds pulling and starting the container until it is ready (zero:
	// DefaultStartTimeout).
	StartTimeout time.Duration
	// Progress, when set, receives one line per step of the testcontainers step
	// (pulling, starting, ready); it is called on Provision's goroutine.
	Progress func(line string)
	// Log receives testcontainers' own log lines (nil: discarded); they never go to the
	// terminal. Unless NoContainers, Provision also makes it testcontainers' process-wide
	// default logger, which its "Connected to docker" banner uses whatever the options.
	Log io.Writer
}

// Provision finds a broker in this order: an explicit URL (option or
// PURISTA_BROKER_URL) → a testcontainers container when a Docker daemon answers → an
// embedded broker (nats, mqtt) → an error wrapping ErrNoBroker that says how to get one.
//
// A container that cannot be pulled or is not ready within StartTimeout is removed, and
// Provision falls back to the embedded broker (nats, mqtt) with Note saying why and how
// to choose; for amqp that is an error wrapping ErrNoBroker. Before starting a container
// it removes the broker containers of a purista that was killed (RemoveLeftovers).
// Unless TESTCONTAINERS_RYUK_DISABLED is set, Provision sets it to true for the process:
// the reaper's image is often not pullable, and purista removes its containers itself.
func Provision(ctx context.Context, opts ProvisionOptions) (*Broker, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	url, from := opts.URL, "--broker-url"
	if url == "" {
		url, from = getenv("PURISTA_BROKER_URL"), "PURISTA_BROKER_URL"
	}
	kind := opts.Kind
	if url != "" {
		k, err := app.BridgeKind(url)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", from, app.RedactURL(url), err)
		}
		if k == "memory" {
			return nil, fmt.Errorf("%s %q is the in-memory bridge: --distributed needs nats://, amqp:// or mqtt://", from, app.RedactURL(url))
		}
		if kind != "" && kind != k {
			return nil, fmt.Errorf("--broker %s does not match the broker URL %s (a %s URL)", kind, app.RedactURL(url), k)
		}
		return &Broker{Kind: k, URL: url, Source: SourceURL}, nil
	}
	if kind == "" {
		kind = "nats"
	}
	if kind != "nats" && kind != "amqp" && kind != "mqtt" {
		return nil, fmt.Errorf("broker %q is unknown: use nats, amqp or mqtt", kind)
	}
	var skipped string
	if !opts.NoContainers {
		// testcontainers prints its "Connected to docker" banner to its default logger
		// whatever the options say: that goes to Log too.
		tclog.SetDefault(printfLogger(opts.Log))
		probe := opts.DockerAvailable
		if probe == nil {
			probe = DockerAvailable
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := probe(pctx)
		cancel()
		if err == nil {
			b, err := containerBroker(ctx, kind, opts)
			if err == nil || ctx.Err() != nil {
				return b, err
			}
			if kind == "amqp" {
				return nil, fmt.Errorf("%w: %v. Give a RabbitMQ with --broker-url amqp://guest:guest@127.0.0.1:5672/ (or PURISTA_BROKER_URL), "+
					"or make the image available (docker pull %s, or choose another with --broker-image)", ErrNoBroker, err, imageOf("amqp", opts))
			}
			skipped = fmt.Sprintf("%v; using the embedded broker instead (--no-containers skips containers, --broker-url names a broker)", err)
		} else {
			skipped = "testcontainers skipped: " + err.Error()
		}
	}
	switch kind {
	case "nats":
		dir := opts.Dir
		if dir == "" {
			d, err := os.MkdirTemp("", "purista-nats-*")
			if err != nil {
				return nil, err
			}
			dir = d
		}
		s, err := natsembed.Start(ctx, filepath.Join(dir, "jetstream"))
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
		return &Broker{Kind: kind, URL: s.ClientURL(), Source: SourceEmbedded, Note: skipped,
			close: func(context.Context) error {
				s.Shutdown()
				if opts.Dir == "" {
					return os.RemoveAll(dir)
				}
				return nil
			}}, nil
	case "mqtt":
		s, err := mqttembed.Start(ctx, "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("embedded MQTT: %w", err)
		}
		return &Broker{Kind: kind, URL: s.URL(), Source: SourceEmbedded, Note: skipped,
			close: func(context.Context) error { return s.Close() }}, nil
	}
	return nil, fmt.Errorf("%w: AMQP has no embedded broker and %s. Give one with "+
		"--broker-url amqp://guest:guest@127.0.0.1:5672/ (or PURISTA_BROKER_URL), start Docker so that "+
		"testcontainers can run %s, or run RabbitMQ yourself (e.g. docker run -p 5672:5672 rabbitmq:3)",
		ErrNoBroker, orNone(skipped), imageOf("amqp", opts))
}

// imageOf returns the container image of kind: opts.Images or DefaultImage.
func imageOf(kind string, opts ProvisionOptions) string {
	if img := opts.Images[kind]; img != "" {
		return img
	}
	return DefaultImage(kind)
}

// containerBroker removes what a killed purista left, turns the reaper off unless the
// environment decides, and starts the broker container.
func containerBroker(ctx context.Context, kind string, opts ProvisionOptions) (*Broker, error) {
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if removed, err := RemoveLeftovers(ctx); err == nil && len(removed) > 0 && opts.Progress != nil {
		opts.Progress(fmt.Sprintf("removed %d broker container(s) left by a purista that was killed: %s", len(removed), strings.Join(removed, ", ")))
	}
	return startContainer(ctx, kind, imageOf(kind, opts), opts)
}

func orNone(s string) string {
	if s == "" {
		return "containers are disabled"
	}
	return s
}

// DockerAvailable reports whether a Docker daemon answers. Without DOCKER_HOST and
// without a socket at a usual place it fails at once, without asking testcontainers.
func DockerAvailable(ctx context.Context) error {
	if os.Getenv("DOCKER_HOST") == "" {
		found := false
		home, _ := os.UserHomeDir()
		for _, s := range []string{"/var/run/docker.sock", filepath.Join(home, ".docker/run/docker.sock"),
			filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "docker.sock")} {
			if _, err := os.Stat(s); err == nil {
				found = true
				break
			}
		}
		if !found {
			return errors.New("no Docker daemon (no DOCKER_HOST, no docker.sock)")
		}
	}
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return fmt.Errorf("no Docker daemon: %w", err)
	}
	if err := p.Health(ctx); err != nil { // Health closes the provider
		return fmt.Errorf("the Docker daemon does not answer: %w", err)
	}
	return nil
}
