// Package deploy renders deployment manifests for a profile of purista.yaml: a Compose
// file that runs the project's images with the profile's broker on one machine, and
// Kubernetes manifests (a Deployment per image, a Service for the HTTP port). `purista
// deploy manifests` is its command line; docs/deployment.md describes the result.
//
// The images are those `purista build` makes for the same --services and --tag
// (image.Plan): one image with every service, or with --services each (the default for
// a profile with split: true) one image per service. Every workload gets the profile's
// PURISTA_* environment, rewritten for containers: the HTTP and health servers listen
// on all interfaces, the broker is the Compose broker service or, in Kubernetes, a key
// of a Secret or ConfigMap that the cluster's operator provides.
//
// Typical use:
//
//	m, root, err := project.Find(".")
//	plan, err := deploy.NewPlan(m, deploy.Options{Profile: "microservices"})
//	compose, err := deploy.Compose(plan)      // compose.yaml
//	files, err := deploy.Kubernetes(plan)     // k8s/<name>.yaml
//	err = deploy.Write("dist/deploy", plan)   // both
package deploy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/purista-go/purista/internal/image"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework/app"
)

// ErrUsage is wrapped by errors caused by bad input (unknown profile, bad flag value):
// the command line or purista.yaml, not the machine, must change.
var ErrUsage = errors.New("bad deploy input")

// Defaults of Options.
const (
	// DefaultShutdownTimeout is the framework's own default of PURISTA_SHUTDOWN_TIMEOUT.
	DefaultShutdownTimeout = 15 * time.Second
	// GraceMargin is added to the shutdown timeout for the platform's grace period
	// (terminationGracePeriodSeconds, stop_grace_period), so that the process ends its
	// own graceful stop before it is killed.
	GraceMargin = 10 * time.Second
	// DefaultHTTPPort is the container port of HTTP when the profile's port is 0.
	DefaultHTTPPort = 8080
	// HealthPort is the port of /healthz and /readyz in every image (image.HealthAddr).
	HealthPort = 8081
	// DefaultBrokerKey is the key of the broker Secret or ConfigMap that holds the
	// PURISTA_BRIDGE URL.
	DefaultBrokerKey = "PURISTA_BRIDGE"
	// DefaultCPU and DefaultMemory are the resource requests of every container.
	DefaultCPU, DefaultMemory = "50m", "64Mi"
)

// Default Compose broker images, one per bridge kind (the same as `purista dev`'s).
const (
	ImageNATS      = "nats:2.10-alpine"
	ImageRabbitMQ  = "rabbitmq:3.13-management-alpine"
	ImageMosquitto = "eclipse-mosquitto:2.0"
)

// Options say what to render.
type Options struct {
	// Profile is the purista.yaml profile (required).
	Profile string
	// Services selects the images as for `purista build --services`: empty means one
	// image per service when the profile splits, else one image with every service;
	// []string{"each"} one image per service; names one image running those services.
	Services []string
	// Tag is the image NAME[:TAG] as for `purista build --tag` (default
	// <project>:latest); NAME may include a registry ("ghcr.io/acme/signup:v1").
	Tag string
	// ShutdownTimeout is PURISTA_SHUTDOWN_TIMEOUT (default DefaultShutdownTimeout);
	// the grace period is GraceMargin longer.
	ShutdownTimeout time.Duration
	// Env are extra environment variables of every workload, "NAME=VALUE" (e.g.
	// PURISTA_LOG_LEVEL=debug); they override the generated ones of the same name,
	// except PURISTA_BRIDGE.
	Env []string
	// BrokerFrom is where Kubernetes pods read PURISTA_BRIDGE: "secret/NAME" or
	// "configmap/NAME" (default secret/<project>-broker). Unused for memory profiles.
	BrokerFrom string
	// BrokerKey is the key in BrokerFrom (default DefaultBrokerKey).
	BrokerKey string
	// BrokerImage is the Compose broker image (default per bridge: ImageNATS,
	// ImageRabbitMQ, ImageMosquitto). It must accept the official image's arguments.
	BrokerImage string
	// Namespace is the Kubernetes namespace of every object ("" leaves it to kubectl).
	Namespace string
	// Replicas is the replica count of every Deployment (default 1).
	Replicas int32
	// CPU and Memory are the resource requests of every container (defaults
	// DefaultCPU, DefaultMemory); MemoryLimit, when set, is the memory limit.
	CPU, Memory, MemoryLimit string
}

// Plan is what the renderers need: the workloads and their settings, checked.
type Plan struct {
	// Project is the project name (purista.yaml name).
	Project string
	// Profile is the profile name.
	Profile string
	// Kind is the bridge kind: "memory", "nats", "amqp" or "mqtt".
	Kind string
	// Bridge is the profile's PURISTA_BRIDGE as written in purista.yaml.
	Bridge string
	// HTTPPort is the container port of HTTP, 0 when the profile serves no HTTP.
	HTTPPort int
	// HTTPHost and HTTPHostPort are where Compose publishes the HTTP port of the first
	// workload (the next ones get HTTPHostPort+1, …, as in `purista dev`): the profile's
	// host ("" for all interfaces, localhost as 127.0.0.1) and port (0 for a port
	// Docker picks).
	HTTPHost     string
	HTTPHostPort int
	// Workloads are the images to run, in the order of image.Plan.
	Workloads []Workload
	// ShutdownTimeout is PURISTA_SHUTDOWN_TIMEOUT; Grace the platform's grace period.
	ShutdownTimeout, Grace time.Duration
	// Env are the extra environment variables (Options.Env), parsed.
	Env []EnvVar
	// BrokerKind ("secret" or "configmap"), BrokerName and BrokerKey say where
	// Kubernetes pods read PURISTA_BRIDGE.
	BrokerKind, BrokerName, BrokerKey string
	// BrokerImage is the Compose broker image ("" for memory profiles).
	BrokerImage string
	// Namespace, Replicas, CPU, Memory and MemoryLimit are Options' Kubernetes settings
	// with defaults applied.
	Namespace                string
	Replicas                 int32
	CPU, Memory, MemoryLimit resource.Quantity
}

// Workload is one image: a Compose service and a Kubernetes Deployment.
type Workload struct {
	// Name is the Kubernetes name: the image's last path element, e.g. "signup-user".
	Name string
	// ComposeName is the Compose service name: the lower-case service ("user"), or the
	// project name for an image with several services.
	ComposeName string
	// Image is the image reference NAME:TAG.
	Image string
	// Services are the services the image runs (PURISTA_SERVICES), nil for all.
	Services []string
}

// EnvVar is one environment variable.
type EnvVar struct {
	// Name and Value of the variable.
	Name, Value string
}

// NewPlan checks the options against the manifest and resolves the workloads. Bad
// input wraps ErrUsage and says what to change.
func NewPlan(m *project.Manifest, opts Options) (*Plan, error) {
	if opts.Profile == "" {
		return nil, fmt.Errorf("%w: --profile is required: name a profile of %s (%s)", ErrUsage, project.FileName, profileList(m))
	}
	prof, ok := m.Profiles[opts.Profile]
	if !ok {
		return nil, fmt.Errorf("%w: --profile %q is not a profile of %s (profiles: %s)", ErrUsage, opts.Profile, project.FileName, profileList(m))
	}
	kind, err := app.BridgeKind(prof.Bridge)
	if err != nil {
		return nil, fmt.Errorf("%w: profiles.%s.bridge in %s: %w", ErrUsage, opts.Profile, project.FileName, err)
	}
	p := &Plan{Project: m.Name, Profile: opts.Profile, Kind: kind, Bridge: prof.Bridge,
		ShutdownTimeout: opts.ShutdownTimeout, Namespace: opts.Namespace, Replicas: opts.Replicas}
	if p.ShutdownTimeout == 0 {
		p.ShutdownTimeout = DefaultShutdownTimeout
	}
	if p.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("%w: --shutdown-timeout %s is negative: use e.g. 15s", ErrUsage, p.ShutdownTimeout)
	}
	p.Grace = (p.ShutdownTimeout + GraceMargin).Round(time.Second)
	if p.Grace <= p.ShutdownTimeout {
		p.Grace += time.Second
	}
	if p.Replicas == 0 {
		p.Replicas = 1
	}
	if p.Replicas < 0 {
		return nil, fmt.Errorf("%w: --replicas %d is negative: use 1 or more", ErrUsage, p.Replicas)
	}
	if err := p.setHTTP(opts.Profile, prof.HTTP); err != nil {
		return nil, err
	}
	if err := p.setResources(opts); err != nil {
		return nil, err
	}
	if err := p.setEnv(opts.Env); err != nil {
		return nil, err
	}
	if err := p.setBroker(opts); err != nil {
		return nil, err
	}
	if p.Namespace != "" {
		if errs := validation.IsDNS1123Label(p.Namespace); len(errs) > 0 {
			return nil, fmt.Errorf("%w: --namespace %q: %s", ErrUsage, p.Namespace, strings.Join(errs, "; "))
		}
	}
	services := opts.Services
	if len(services) == 0 && prof.Split {
		services = []string{image.Each}
	}
	planned, err := image.Plan(m, services, opts.Tag)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUsage, strings.TrimPrefix(err.Error(), image.ErrUsage.Error()+": "))
	}
	if kind == "memory" && len(planned) > 1 {
		return nil, fmt.Errorf("%w: profile %q uses the memory bridge, so its services must run in one process; "+
			"use a profile with a broker (bridge: nats://…) or one image (no --services each)", ErrUsage, opts.Profile)
	}
	for _, im := range planned {
		w := Workload{Name: dnsName(path.Base(im.Name)), Image: im.Ref(), Services: im.Services, ComposeName: dnsName(m.Name)}
		if im.Service != "" {
			w.ComposeName = dnsName(im.Service)
		}
		if errs := validation.IsDNS1123Label(w.Name); len(errs) > 0 {
			return nil, fmt.Errorf("%w: image name %q does not give a Kubernetes name (%s): choose another --tag", ErrUsage, im.Name, strings.Join(errs, "; "))
		}
		p.Workloads = append(p.Workloads, w)
	}
	return p, nil
}

func profileList(m *project.Manifest) string {
	if names := m.ProfileNames(); len(names) > 0 {
		return strings.Join(names, ", ")
	}
	return "none: add one under profiles:"
}

// dnsName turns a service or image name into an RFC 1123 label: lower case, '_' and
// '.' become '-'.
func dnsName(s string) string {
	return strings.Trim(strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(s)), "-")
}

// setHTTP reads the profile's http address.
func (p *Plan) setHTTP(profile, addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%w: profiles.%s.http %q in %s is not HOST:PORT (e.g. http: 127.0.0.1:8080)", ErrUsage, profile, addr, project.FileName)
	}
	p.HTTPPort, p.HTTPHostPort = n, n
	if n == 0 {
		p.HTTPPort = DefaultHTTPPort
	}
	switch host {
	case "", "0.0.0.0", "::":
	case "localhost": // Docker publishes on addresses, not names
		p.HTTPHost = "127.0.0.1"
	default:
		p.HTTPHost = host
	}
	return nil
}

func (p *Plan) setResources(opts Options) error {
	for _, r := range []struct {
		flag, value, def string
		dst              *resource.Quantity
	}{{"--cpu", opts.CPU, DefaultCPU, &p.CPU}, {"--memory", opts.Memory, DefaultMemory, &p.Memory}, {"--memory-limit", opts.MemoryLimit, "", &p.MemoryLimit}} {
		v := r.value
		if v == "" {
			v = r.def
		}
		if v == "" {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return fmt.Errorf("%w: %s %q is not a Kubernetes quantity (e.g. %s 100m for CPU, 128Mi for memory)", ErrUsage, r.flag, v, r.flag)
		}
		*r.dst = q
	}
	if !p.MemoryLimit.IsZero() && p.MemoryLimit.Cmp(p.Memory) < 0 {
		return fmt.Errorf("%w: --memory-limit %s is below the request --memory %s", ErrUsage, p.MemoryLimit.String(), p.Memory.String())
	}
	return nil
}

func (p *Plan) setEnv(env []string) error {
	for _, e := range env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || len(validation.IsEnvVarName(name)) > 0 {
			return fmt.Errorf("%w: --env %q is not NAME=VALUE (e.g. --env PURISTA_LOG_LEVEL=debug)", ErrUsage, e)
		}
		if name == "PURISTA_BRIDGE" {
			return fmt.Errorf("%w: --env PURISTA_BRIDGE: the broker comes from the profile (Compose) and --broker-from (Kubernetes)", ErrUsage)
		}
		p.Env = slices.DeleteFunc(p.Env, func(v EnvVar) bool { return v.Name == name })
		p.Env = append(p.Env, EnvVar{Name: name, Value: value})
	}
	return nil
}

func (p *Plan) setBroker(opts Options) error {
	if p.Kind == "memory" {
		return nil
	}
	from := opts.BrokerFrom
	if from == "" {
		from = "secret/" + dnsName(p.Project) + "-broker"
	}
	kind, name, ok := strings.Cut(from, "/")
	kind = strings.ToLower(kind)
	if !ok || (kind != "secret" && kind != "configmap") || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return fmt.Errorf("%w: --broker-from %q is not secret/NAME or configmap/NAME (e.g. secret/%s-broker)", ErrUsage, from, dnsName(p.Project))
	}
	p.BrokerKind, p.BrokerName, p.BrokerKey = kind, name, opts.BrokerKey
	if p.BrokerKey == "" {
		p.BrokerKey = DefaultBrokerKey
	}
	if errs := validation.IsConfigMapKey(p.BrokerKey); len(errs) > 0 {
		return fmt.Errorf("%w: --broker-key %q: %s", ErrUsage, p.BrokerKey, strings.Join(errs, "; "))
	}
	p.BrokerImage = opts.BrokerImage
	if p.BrokerImage == "" {
		p.BrokerImage = map[string]string{"nats": ImageNATS, "amqp": ImageRabbitMQ, "mqtt": ImageMosquitto}[p.Kind]
	}
	return nil
}

// env returns the environment of w without PURISTA_BRIDGE, in a fixed order: the
// generated variables, then the extra ones (which replace generated ones of the same
// name).
func (p *Plan) env(w Workload) []EnvVar {
	out := []EnvVar{{"PURISTA_HEALTH_ADDR", "0.0.0.0:" + strconv.Itoa(HealthPort)}}
	if len(w.Services) > 0 {
		out = append(out, EnvVar{"PURISTA_SERVICES", strings.Join(w.Services, ",")})
	}
	if p.HTTPPort != 0 {
		out = append(out, EnvVar{"PURISTA_HTTP_ADDR", "0.0.0.0:" + strconv.Itoa(p.HTTPPort)})
	}
	out = append(out, EnvVar{"PURISTA_SHUTDOWN_TIMEOUT", p.ShutdownTimeout.String()})
	for _, e := range p.Env {
		out = slices.DeleteFunc(out, func(v EnvVar) bool { return v.Name == e.Name })
	}
	return append(out, p.Env...)
}

// composeBridge returns the profile's bridge URL pointing at the Compose broker service
// host: the scheme without TLS (the broker service has none), the profile's user,
// password, path and (for plain schemes) query.
func (p *Plan) composeBridge(host string) string {
	if p.Kind == "memory" {
		return "memory"
	}
	u := p.bridgeURL()
	plain := map[string]string{"nats": "nats", "amqp": "amqp", "mqtt": "mqtt"}[p.Kind]
	out := url.URL{Scheme: plain, Host: net.JoinHostPort(host, strconv.Itoa(brokerPort(p.Kind))), Path: u.Path}
	if p.Kind == "amqp" {
		user, pass := amqpUser(u)
		out.User = url.UserPassword(user, pass)
		if out.Path == "" {
			out.Path = "/"
		}
	}
	if u.Scheme == plain {
		out.RawQuery = u.RawQuery
	}
	return out.String()
}

// bridgeURL returns the profile's bridge URL (NewPlan checked that it parses).
func (p *Plan) bridgeURL() *url.URL {
	u, err := url.Parse(p.Bridge)
	if err != nil {
		return &url.URL{}
	}
	return u
}

// amqpUser returns the user and password of the Compose RabbitMQ: those of the profile's
// URL, except RabbitMQ's guest (which it lets in only on loopback) and no user, for which
// it is purista/purista.
func amqpUser(u *url.URL) (user, pass string) {
	if u.User == nil || u.User.Username() == "" || u.User.Username() == "guest" {
		return "purista", "purista"
	}
	pass, _ = u.User.Password()
	return u.User.Username(), pass
}

// brokerPort is the client port of each broker kind.
func brokerPort(kind string) int {
	return map[string]int{"nats": 4222, "amqp": 5672, "mqtt": 1883}[kind]
}
