// Package deploy implements `purista deploy manifests`: a Compose file and Kubernetes
// manifests for a profile of purista.yaml, rendered by internal/deploy (see
// docs/deployment.md).
package deploy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/deploy"
	"github.com/purista-go/purista/internal/project"
)

// DefaultOutput is the folder, relative to the project root, that manifests go to
// without --output.
const DefaultOutput = "dist/deploy"

// Options are the parsed flags and arguments of `purista deploy manifests`.
type Options struct {
	// IO are the streams to write to.
	IO *iostreams.IOStreams
	// Dir is the project folder (default ".").
	Dir string
	// Output is the folder to write to (default DefaultOutput in the project).
	Output string
	// Render holds what to render (profile, images, broker, Kubernetes settings).
	Render deploy.Options
}

// NewCmdDeploy returns the `deploy` command group. When runF is non-nil the verbs call it
// with the parsed options instead of Run (for tests of flag parsing).
func NewCmdDeploy(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy <manifests>",
		Short: "Make deployment manifests (Compose, Kubernetes) for a profile",
		Long: `Make what a platform needs to run the project's images: 'purista deploy manifests'
writes a Compose file and Kubernetes manifests for a profile of purista.yaml.`,
		Example: `  purista deploy manifests --profile microservices`,
		Args:    cmdutil.ExactArgs(1, "what to make: manifests"),
		RunE: func(_ *cobra.Command, args []string) error {
			return cmdutil.UsageErrorf("cannot deploy %q: use manifests, e.g. purista deploy manifests --profile microservices", args[0])
		},
	}
	cmd.AddCommand(newCmdManifests(f, runF))
	return cmd
}

func newCmdManifests(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	var shutdown string
	cmd := &cobra.Command{
		Use:   "manifests [DIR] --profile NAME [flags]",
		Short: "Write a Compose file and Kubernetes manifests for a profile",
		Long: `Write, for a profile of purista.yaml of the project in DIR (default: the current folder
or the project that contains it), the files that run the images 'purista build' makes
with the same --services and --tag:

  compose.yaml        the images plus the profile's broker (NATS, RabbitMQ or Mosquitto,
                      with a health check they wait for), the HTTP port published
  k8s/<image>.yaml    per image a Deployment (probes on /readyz and /healthz, non-root,
                      read-only root file system, resource requests, a grace period
                      above PURISTA_SHUTDOWN_TIMEOUT) and, when the profile serves HTTP,
                      a Service for its port

A profile with split: true gets one image per service (as --services each). Every
workload gets the profile's PURISTA_* environment for containers: health and HTTP on
all interfaces, PURISTA_SERVICES, PURISTA_SHUTDOWN_TIMEOUT and --env. In Compose the
broker is the broker service; in Kubernetes PURISTA_BRIDGE comes from the key --broker-key
of the Secret or ConfigMap --broker-from, which you create in the cluster.

Files of the same names in the output folder are replaced; nothing is built, pulled or
applied. Exit codes: 0 written, 1 failed (not a project, unwritable output), 2 usage
error (unknown profile or service, bad flag value). Run 'purista docs deployment'.`,
		Example: `  # dist/deploy/compose.yaml and dist/deploy/k8s/signup-{user,email}.yaml
  purista deploy manifests --profile microservices
  docker compose -f dist/deploy/compose.yaml -p signup up -d
  kubectl create secret generic signup-broker --from-literal=PURISTA_BRIDGE=nats://nats:4222
  kubectl apply -f dist/deploy/k8s

  # images pushed with: purista build --services each --push ghcr.io/acme/signup:v1
  purista deploy manifests --profile microservices --tag ghcr.io/acme/signup:v1 \
    --namespace shop --replicas 2 --broker-from configmap/brokers --broker-key nats-url -o deploy`,
		Args: cmdutil.OptionalDir,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if shutdown != "" {
				d, err := time.ParseDuration(shutdown)
				if err != nil || d <= 0 {
					return cmdutil.UsageErrorf("--shutdown-timeout %q is not a positive duration: use e.g. 15s", shutdown)
				}
				opts.Render.ShutdownTimeout = d
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	fl := cmd.Flags()
	r := &opts.Render
	fl.StringVar(&r.Profile, "profile", "", "the purista.yaml profile to deploy (required)")
	fl.StringSliceVar(&r.Services, "services", nil, "images as for purista build: service names (one image) or \"each\" (default: each when the profile splits, else one image)")
	fl.StringVarP(&r.Tag, "tag", "t", "", "image NAME[:TAG] as for purista build, may include a registry (default <project>:latest)")
	fl.StringVarP(&opts.Output, "output", "o", "", "folder to write to (default "+DefaultOutput+" in the project)")
	fl.StringVar(&shutdown, "shutdown-timeout", "", "PURISTA_SHUTDOWN_TIMEOUT; the grace period is 10s longer (default 15s)")
	fl.StringArrayVar(&r.Env, "env", nil, "extra NAME=VALUE for every workload, repeatable (e.g. --env PURISTA_LOG_FORMAT=json)")
	fl.StringVar(&r.BrokerFrom, "broker-from", "", "Kubernetes: secret/NAME or configmap/NAME holding PURISTA_BRIDGE (default secret/<project>-broker)")
	fl.StringVar(&r.BrokerKey, "broker-key", "", "Kubernetes: the key in --broker-from (default "+deploy.DefaultBrokerKey+")")
	fl.StringVar(&r.BrokerImage, "broker-image", "", "Compose: the broker image (default "+deploy.ImageNATS+", "+deploy.ImageRabbitMQ+" or "+deploy.ImageMosquitto+")")
	fl.StringVarP(&r.Namespace, "namespace", "n", "", "Kubernetes: namespace of every object (default: kubectl's)")
	fl.Int32Var(&r.Replicas, "replicas", 1, "Kubernetes: replicas of every Deployment")
	fl.StringVar(&r.CPU, "cpu", deploy.DefaultCPU, "Kubernetes: CPU request of every container")
	fl.StringVar(&r.Memory, "memory", deploy.DefaultMemory, "Kubernetes: memory request of every container")
	fl.StringVar(&r.MemoryLimit, "memory-limit", "", "Kubernetes: memory limit of every container (default none)")
	cmd.ValidArgsFunction = completion.Dirs
	completion.Flags(cmd, map[string]cobra.CompletionFunc{"profile": completion.Profiles(completion.DirArg),
		"services": completion.ServiceList(completion.DirArg, cobra.CompletionWithDesc("each", "one image per service")),
		"output":   completion.Folders})
	return cmd
}

// Run renders the manifests and writes them, printing the path of each file written.
func Run(opts *Options) error {
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	m, root, err := project.Find(dir)
	if err != nil {
		return cmdutil.ProjectHint(err, "deploy manifests", "purista deploy manifests DIR")
	}
	plan, err := deploy.NewPlan(m, opts.Render)
	if err != nil {
		if errors.Is(err, deploy.ErrUsage) {
			return &cmdutil.UsageError{Err: errors.New(strings.TrimPrefix(err.Error(), deploy.ErrUsage.Error()+": "))}
		}
		return err
	}
	out := opts.Output
	if out == "" {
		out = filepath.Join(root, filepath.FromSlash(DefaultOutput))
	}
	paths, err := deploy.Write(out, plan)
	if err != nil {
		return cmdutil.WithHint(err, "Pick a writable folder with --output.")
	}
	for _, p := range paths {
		fmt.Fprintln(opts.IO.Out, p)
	}
	compose := filepath.Join(out, deploy.ComposeFile)
	fmt.Fprintf(opts.IO.ErrOut, "purista deploy: %d image(s) of profile %s; images from: purista build%s\n",
		len(plan.Workloads), plan.Profile, buildFlags(opts.Render, plan))
	fmt.Fprintf(opts.IO.ErrOut, "purista deploy: run: docker compose -f %s -p %s up -d\n", compose, m.Name)
	if plan.BrokerKind != "" {
		fmt.Fprintf(opts.IO.ErrOut, "purista deploy: Kubernetes needs %s %s with the key %s (the broker URL), then: kubectl apply -f %s\n",
			plan.BrokerKind, plan.BrokerName, plan.BrokerKey, filepath.Join(out, deploy.KubernetesDir))
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "purista deploy: Kubernetes: kubectl apply -f %s\n", filepath.Join(out, deploy.KubernetesDir))
	}
	return nil
}

// buildFlags returns the `purista build` flags that make the plan's images.
func buildFlags(r deploy.Options, p *deploy.Plan) string {
	var b strings.Builder
	if len(p.Workloads) > 1 {
		b.WriteString(" --services each")
	} else if len(r.Services) > 0 {
		b.WriteString(" --services " + strings.Join(r.Services, ","))
	}
	if r.Tag != "" {
		b.WriteString(" --tag " + r.Tag)
	}
	b.WriteString(" --profile " + p.Profile)
	return b.String()
}
