package brokers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcmosquitto "github.com/testcontainers/testcontainers-go/modules/mosquitto"
	tcnats "github.com/testcontainers/testcontainers-go/modules/nats"
	tcrabbit "github.com/testcontainers/testcontainers-go/modules/rabbitmq"
)

// Labels on every broker container Provision starts: LabelDev marks it, LabelHost and
// LabelPID name the purista process that started it, so that a later Provision on the
// same host removes the containers of a purista that is gone (killed with SIGKILL).
const (
	LabelDev  = "dev.purista.dev"
	LabelHost = "dev.purista.dev.host"
	LabelPID  = "dev.purista.dev.pid"
)

// DefaultStartTimeout bounds pulling, starting and the readiness wait of a broker
// container when ProvisionOptions.StartTimeout is zero.
const DefaultStartTimeout = 2 * time.Minute

// DefaultImage returns the container image of kind ("nats", "amqp", "mqtt").
func DefaultImage(kind string) string {
	return map[string]string{"nats": ImageNATS, "amqp": ImageRabbitMQ, "mqtt": ImageMosquitto}[kind]
}

// printfLogger is testcontainers' logger writing to w.
func printfLogger(w io.Writer) tclog.Logger {
	if w == nil {
		w = io.Discard
	}
	return log.New(w, "testcontainers: ", log.LstdFlags)
}

// dockerClient returns a client of the daemon at DOCKER_HOST (or the default socket).
func dockerClient() (*client.Client, error) {
	return client.New(client.FromEnv)
}

// RemoveLeftovers removes the broker containers that a purista on this host started and
// did not remove because it is gone (killed before its teardown): those with LabelHost
// of this host whose LabelPID process does not exist. It returns their names; an
// unreachable daemon is an error.
func RemoveLeftovers(ctx context.Context) ([]string, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	c, err := dockerClient()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", LabelDev+"=true", LabelHost+"="+host)})
	if err != nil {
		return nil, fmt.Errorf("list broker containers: %w", err)
	}
	var removed []string
	for _, ctr := range list.Items {
		pid, err := strconv.Atoi(ctr.Labels[LabelPID])
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		if _, err := c.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			return removed, fmt.Errorf("remove the container %s left by purista %d: %w", ctr.ID[:12], pid, err)
		}
		removed = append(removed, ctr.Image+" "+ctr.ID[:12])
	}
	return removed, nil
}

// alive reports whether a process pid exists on this host.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// startContainer runs the broker of kind in a container of img (empty: DefaultImage)
// within opts.StartTimeout and returns it. On any failure it removes what it started.
func startContainer(ctx context.Context, kind, img string, opts ProvisionOptions) (*Broker, error) {
	if img == "" {
		img = DefaultImage(kind)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	logger := printfLogger(opts.Log)
	if dc, err := dockerClient(); err == nil {
		if _, err := dc.ImageInspect(ctx, img); err != nil {
			progress(fmt.Sprintf("pulling %s (not in the Docker daemon yet)…", img))
		}
		_ = dc.Close()
	}
	progress(fmt.Sprintf("starting %s in a container (at most %s)…", img, timeout))
	started := time.Now()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _ := os.Hostname()
	custom := []testcontainers.ContainerCustomizer{testcontainers.WithLogger(logger),
		testcontainers.WithLabels(map[string]string{LabelDev: "true", LabelHost: host, LabelPID: strconv.Itoa(os.Getpid())})}
	var (
		c   testcontainers.Container
		url string
		err error
	)
	switch kind {
	case "nats":
		var n *tcnats.NATSContainer
		n, err = tcnats.Run(sctx, img, custom...)
		if n != nil {
			c = n
		}
		if err == nil {
			url, err = n.ConnectionString(sctx)
		}
	case "amqp":
		var r *tcrabbit.RabbitMQContainer
		r, err = tcrabbit.Run(sctx, img, custom...)
		if r != nil {
			c = r
		}
		if err == nil {
			url, err = r.AmqpURL(sctx)
		}
	case "mqtt":
		var m *tcmosquitto.Container
		m, err = tcmosquitto.Run(sctx, img, custom...)
		if m != nil {
			c = m
		}
		if err == nil {
			url, err = m.BrokerURL(sctx)
		}
	}
	if err != nil {
		if c != nil {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_ = testcontainers.TerminateContainer(c, testcontainers.StopContext(rctx))
			rcancel()
		}
		if sctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("not ready within %s: %w", timeout, err)
		}
		return nil, fmt.Errorf("testcontainers %s: %w", img, err)
	}
	progress(fmt.Sprintf("%s is ready in %s", img, time.Since(started).Round(100*time.Millisecond)))
	return &Broker{Kind: kind, URL: url, Source: SourceTestcontainers, Note: img, ContainerID: c.GetContainerID(),
		close: func(ctx context.Context) error { return c.Terminate(ctx) }}, nil
}
