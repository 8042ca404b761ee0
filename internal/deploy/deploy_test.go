package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/purista-go/purista/internal/deploy"
	"github.com/purista-go/purista/internal/project"
)

// manifest is a project with the services User and Email and one profile per model.
func manifest() *project.Manifest {
	return &project.Manifest{Name: "signup", Module: "example.com/signup", Main: "./cmd/signup",
		Services: []project.Service{{Name: "User", Version: "1", Path: "services/user/v1"}, {Name: "Email", Version: "1", Path: "services/email/v1"}},
		Profiles: map[string]project.Profile{
			"monolith":      {Bridge: "memory"},
			"microservices": {Bridge: "nats://127.0.0.1:4222", Split: true},
			"api":           {Bridge: "nats://127.0.0.1:4222", Split: true, HTTP: "127.0.0.1:8080"},
			"serverless":    {Bridge: "memory", HTTP: "0.0.0.0:9000"},
			"rabbit":        {Bridge: "amqps://guest:guest@mq.internal:5671/shop", Split: true},
			"edge":          {Bridge: "mqtt://127.0.0.1:1883?sessionExpiry=60"},
			"anyport":       {Bridge: "nats://127.0.0.1:4222", HTTP: "127.0.0.1:0"},
			"local":         {Bridge: "memory", HTTP: "localhost:8080"},
		}}
}

// want is what a rendering must contain.
type want struct {
	names        []string          // Deployment names = image names
	images       []string          // images, in order
	compose      []string          // Compose service names of the workloads, in order
	services     []string          // PURISTA_SERVICES per workload ("" for none)
	broker       string            // Compose broker service ("" for memory)
	bridge       string            // PURISTA_BRIDGE in Compose
	brokerRef    string            // "secret/NAME:KEY" or "configmap/NAME:KEY" ("" for memory)
	httpPort     int32             // container HTTP port (0: none)
	ports        []string          // Compose published ports of the workloads: host_ip:published:target
	shutdown     string            // PURISTA_SHUTDOWN_TIMEOUT
	grace        int64             // terminationGracePeriodSeconds
	namespace    string            // metadata.namespace
	replicas     int32             // spec.replicas
	memLimit     string            // limits.memory ("" for none)
	env          map[string]string // further variables every workload has
	brokerEnv    map[string]string // environment of the Compose broker
	brokerImage  string            // image of the Compose broker
	brokerHealth string            // a word of the broker's health check command
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts deploy.Options
		want want
	}{
		{name: "monolith", opts: deploy.Options{Profile: "monolith"}, want: want{
			names: []string{"signup"}, images: []string{"signup:latest"}, compose: []string{"signup"}, services: []string{""},
			bridge: "memory", shutdown: "15s", grace: 25, replicas: 1}},
		{name: "microservices split by the profile", opts: deploy.Options{Profile: "microservices", Tag: "ghcr.io/acme/signup:v1"}, want: want{
			names: []string{"signup-user", "signup-email"}, images: []string{"ghcr.io/acme/signup-user:v1", "ghcr.io/acme/signup-email:v1"},
			compose: []string{"user", "email"}, services: []string{"User", "Email"}, broker: "nats", bridge: "nats://nats:4222",
			brokerRef: "secret/signup-broker:PURISTA_BRIDGE", shutdown: "15s", grace: 25, replicas: 1,
			brokerImage: deploy.ImageNATS, brokerHealth: "http://127.0.0.1:8222/healthz"}},
		{name: "microservices as one image", opts: deploy.Options{Profile: "microservices", Services: []string{"user", "Email"}}, want: want{
			names: []string{"signup"}, images: []string{"signup:latest"}, compose: []string{"signup"}, services: []string{"User,Email"},
			broker: "nats", bridge: "nats://nats:4222", brokerRef: "secret/signup-broker:PURISTA_BRIDGE", shutdown: "15s", grace: 25, replicas: 1,
			brokerImage: deploy.ImageNATS, brokerHealth: "wget"}},
		{name: "split with HTTP, configmap, namespace, replicas", opts: deploy.Options{Profile: "api", BrokerFrom: "configmap/brokers", BrokerKey: "nats-url",
			Namespace: "shop", Replicas: 3, ShutdownTimeout: 30 * time.Second, MemoryLimit: "256Mi", BrokerImage: "purista-test/nats:local",
			Env: []string{"PURISTA_LOG_FORMAT=json", "PURISTA_HTTP_API_KEYS=sha256:ab$c alice", "PURISTA_SHUTDOWN_TIMEOUT=31s"}}, want: want{
			names: []string{"signup-user", "signup-email"}, images: []string{"signup-user:latest", "signup-email:latest"},
			compose: []string{"user", "email"}, services: []string{"User", "Email"}, broker: "nats", bridge: "nats://nats:4222",
			brokerRef: "configmap/brokers:nats-url", httpPort: 8080, ports: []string{"127.0.0.1:8080:8080", "127.0.0.1:8081:8080"},
			shutdown: "31s", grace: 40, namespace: "shop", replicas: 3, memLimit: "256Mi",
			env:         map[string]string{"PURISTA_LOG_FORMAT": "json", "PURISTA_HTTP_API_KEYS": "sha256:ab$c alice"},
			brokerImage: "purista-test/nats:local", brokerHealth: "wget"}},
		{name: "serverless on all interfaces", opts: deploy.Options{Profile: "serverless"}, want: want{
			names: []string{"signup"}, images: []string{"signup:latest"}, compose: []string{"signup"}, services: []string{""},
			bridge: "memory", httpPort: 9000, ports: []string{":9000:9000"}, shutdown: "15s", grace: 25, replicas: 1}},
		{name: "amqp over TLS becomes a local RabbitMQ", opts: deploy.Options{Profile: "rabbit"}, want: want{
			names: []string{"signup-user", "signup-email"}, images: []string{"signup-user:latest", "signup-email:latest"},
			compose: []string{"user", "email"}, services: []string{"User", "Email"}, broker: "rabbitmq",
			bridge: "amqp://purista:purista@rabbitmq:5672/shop", brokerRef: "secret/signup-broker:PURISTA_BRIDGE", shutdown: "15s", grace: 25, replicas: 1,
			brokerEnv:   map[string]string{"RABBITMQ_DEFAULT_USER": "purista", "RABBITMQ_DEFAULT_PASS": "purista"},
			brokerImage: deploy.ImageRabbitMQ, brokerHealth: "check_port_connectivity"}},
		{name: "mqtt keeps its query", opts: deploy.Options{Profile: "edge", ShutdownTimeout: 1500 * time.Millisecond}, want: want{
			names: []string{"signup"}, images: []string{"signup:latest"}, compose: []string{"signup"}, services: []string{""}, broker: "mosquitto",
			bridge: "mqtt://mosquitto:1883?sessionExpiry=60", brokerRef: "secret/signup-broker:PURISTA_BRIDGE", shutdown: "1.5s", grace: 12, replicas: 1,
			brokerImage: deploy.ImageMosquitto, brokerHealth: "$SYS/broker/uptime"}},
		{name: "port 0 lets Docker pick the host port", opts: deploy.Options{Profile: "anyport"}, want: want{
			names: []string{"signup"}, images: []string{"signup:latest"}, compose: []string{"signup"}, services: []string{""}, broker: "nats",
			bridge: "nats://nats:4222", brokerRef: "secret/signup-broker:PURISTA_BRIDGE", httpPort: 8080, ports: []string{"127.0.0.1::8080"},
			shutdown: "15s", grace: 25, replicas: 1, brokerImage: deploy.ImageNATS, brokerHealth: "wget"}},
		{name: "localhost is published on 127.0.0.1", opts: deploy.Options{Profile: "local"}, want: want{
			names: []string{"signup"}, images: []string{"signup:latest"}, compose: []string{"signup"}, services: []string{""},
			bridge: "memory", httpPort: 8080, ports: []string{"127.0.0.1:8080:8080"}, shutdown: "15s", grace: 25, replicas: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := deploy.NewPlan(manifest(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			files, err := deploy.Kubernetes(p)
			if err != nil {
				t.Fatal(err)
			}
			checkKubernetes(t, files, tt.want)
			data, err := deploy.Compose(p)
			if err != nil {
				t.Fatal(err)
			}
			checkCompose(t, data, tt.want)
		})
	}
}

// decodeKubernetes splits a file into its documents and decodes each strictly (an
// unknown or misspelt field is an error) into its typed object.
func decodeKubernetes(t *testing.T, data []byte) (deps []appsv1.Deployment, svcs []corev1.Service) {
	t.Helper()
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("decode type: %v\n%s", err, doc)
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict(doc, &d); err != nil {
				t.Fatalf("strict decode of a Deployment: %v\n%s", err, doc)
			}
			deps = append(deps, d)
		case "v1 Service":
			var s corev1.Service
			if err := yaml.UnmarshalStrict(doc, &s); err != nil {
				t.Fatalf("strict decode of a Service: %v\n%s", err, doc)
			}
			svcs = append(svcs, s)
		default:
			t.Fatalf("unexpected object %q:\n%s", tm.APIVersion+" "+tm.Kind, doc)
		}
	}
	return deps, svcs
}

// validName checks metadata with the API server's own rules for names and labels.
func validName(t *testing.T, what string, m metav1.ObjectMeta) {
	t.Helper()
	if errs := validation.IsDNS1123Label(m.Name); len(errs) > 0 {
		t.Errorf("%s name %q: %v", what, m.Name, errs)
	}
	if m.Namespace != "" {
		if errs := validation.IsDNS1123Label(m.Namespace); len(errs) > 0 {
			t.Errorf("%s namespace %q: %v", what, m.Namespace, errs)
		}
	}
	if errs := metavalidation.ValidateLabels(m.Labels, field.NewPath("metadata", "labels")); len(errs) > 0 {
		t.Errorf("%s labels: %v", what, errs.ToAggregate())
	}
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := out[e.Name]; dup {
			panic("duplicate variable " + e.Name)
		}
		out[e.Name] = e
	}
	return out
}

func checkKubernetes(t *testing.T, files []deploy.File, w want) {
	t.Helper()
	if len(files) != len(w.names) {
		t.Fatalf("%d files, want %d (one per image)", len(files), len(w.names))
	}
	for i, f := range files {
		if f.Name != w.names[i]+".yaml" {
			t.Errorf("file %q, want %s.yaml", f.Name, w.names[i])
		}
		deps, svcs := decodeKubernetes(t, f.Data)
		if len(deps) != 1 {
			t.Fatalf("%s: %d Deployments, want 1", f.Name, len(deps))
		}
		d := deps[0]
		validName(t, "Deployment", d.ObjectMeta)
		if d.Name != w.names[i] || d.Namespace != w.namespace {
			t.Errorf("Deployment %s/%s, want %s/%s", d.Namespace, d.Name, w.namespace, w.names[i])
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != w.replicas {
			t.Errorf("replicas %v, want %d", d.Spec.Replicas, w.replicas)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("selector %v (%v) does not select the pod labels %v", d.Spec.Selector, err, d.Spec.Template.Labels)
		}
		pod := d.Spec.Template.Spec
		if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != w.grace {
			t.Errorf("terminationGracePeriodSeconds %v, want %d", pod.TerminationGracePeriodSeconds, w.grace)
		}
		shutdown, err := time.ParseDuration(w.shutdown)
		if err != nil || time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second <= shutdown {
			t.Errorf("grace %ds is not above the shutdown timeout %s", *pod.TerminationGracePeriodSeconds, w.shutdown)
		}
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
			t.Errorf("pod securityContext %+v: want runAsNonRoot and user 65532", psc)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%d containers, want 1", len(pod.Containers))
		}
		c := pod.Containers[0]
		if c.Image != w.images[i] {
			t.Errorf("image %q, want %q", c.Image, w.images[i])
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container securityContext %+v: want a read-only root file system, no escalation, no capabilities", sc)
		}
		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		for _, pr := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
			if pr.probe == nil || pr.probe.HTTPGet == nil || pr.probe.HTTPGet.Path != pr.path || ports[pr.probe.HTTPGet.Port.String()] != deploy.HealthPort {
				t.Errorf("%s probe %+v: want GET %s on the health port %d (ports %v)", pr.name, pr.probe, pr.path, deploy.HealthPort, ports)
			}
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("requests %v: want cpu and memory", c.Resources.Requests)
		}
		if got := c.Resources.Limits.Memory().String(); (w.memLimit == "" && !c.Resources.Limits.Memory().IsZero()) || (w.memLimit != "" && got != w.memLimit) {
			t.Errorf("memory limit %s, want %q", got, w.memLimit)
		}
		env := envOf(c)
		wantEnv := map[string]string{"PURISTA_HEALTH_ADDR": "0.0.0.0:8081", "PURISTA_SHUTDOWN_TIMEOUT": w.shutdown}
		if w.services[i] != "" {
			wantEnv["PURISTA_SERVICES"] = w.services[i]
		}
		if w.httpPort != 0 {
			wantEnv["PURISTA_HTTP_ADDR"] = "0.0.0.0:" + itoa(w.httpPort)
		}
		for k, v := range w.env {
			wantEnv[k] = v
		}
		if _, ok := env["PURISTA_SERVICES"]; ok && w.services[i] == "" {
			t.Errorf("PURISTA_SERVICES set for an image with every service")
		}
		for k, v := range wantEnv {
			if env[k].Value != v {
				t.Errorf("env %s = %q, want %q", k, env[k].Value, v)
			}
		}
		bridge := env["PURISTA_BRIDGE"]
		switch {
		case w.brokerRef == "":
			if bridge.Value != "memory" || bridge.ValueFrom != nil {
				t.Errorf("PURISTA_BRIDGE %+v, want memory", bridge)
			}
		case strings.HasPrefix(w.brokerRef, "secret/"):
			ref := bridge.ValueFrom
			if ref == nil || ref.SecretKeyRef == nil || "secret/"+ref.SecretKeyRef.Name+":"+ref.SecretKeyRef.Key != w.brokerRef {
				t.Errorf("PURISTA_BRIDGE from %+v, want %s", ref, w.brokerRef)
			}
		default:
			ref := bridge.ValueFrom
			if ref == nil || ref.ConfigMapKeyRef == nil || "configmap/"+ref.ConfigMapKeyRef.Name+":"+ref.ConfigMapKeyRef.Key != w.brokerRef {
				t.Errorf("PURISTA_BRIDGE from %+v, want %s", ref, w.brokerRef)
			}
		}
		if w.httpPort == 0 {
			if len(svcs) != 0 || ports["http"] != 0 {
				t.Errorf("%d Services and HTTP port %d without HTTP in the profile", len(svcs), ports["http"])
			}
			continue
		}
		if len(svcs) != 1 || ports["http"] != w.httpPort {
			t.Fatalf("%d Services, container HTTP port %d: want 1 Service and port %d", len(svcs), ports["http"], w.httpPort)
		}
		s := svcs[0]
		validName(t, "Service", s.ObjectMeta)
		if s.Name != d.Name || s.Namespace != w.namespace || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Service %s/%s selector %v: want %s/%s selecting the pods %v", s.Namespace, s.Name, s.Spec.Selector, w.namespace, d.Name, d.Spec.Template.Labels)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != w.httpPort || s.Spec.Ports[0].TargetPort.String() != "http" {
			t.Errorf("Service ports %+v, want %d → the container's http port", s.Spec.Ports, w.httpPort)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// loadCompose loads data with compose-go, which validates it against the Compose
// specification's schema, interpolates it and resolves its defaults.
func loadCompose(t *testing.T, data []byte) *composetypes.Project {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, deploy.ComposeFile)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), composetypes.ConfigDetails{WorkingDir: dir,
		ConfigFiles: []composetypes.ConfigFile{{Filename: path, Content: data}}, Environment: composetypes.Mapping{}},
		func(o *loader.Options) { o.SetProjectName("signup", true) })
	if err != nil {
		t.Fatalf("compose-go refuses the file: %v\n%s", err, data)
	}
	return p
}

func checkCompose(t *testing.T, data []byte, w want) {
	t.Helper()
	p := loadCompose(t, data)
	wantN := len(w.compose)
	if w.broker != "" {
		wantN++
	}
	if len(p.Services) != wantN {
		t.Errorf("services %v, want %v plus the broker %q", slices.Sorted(maps.Keys(p.Services)), w.compose, w.broker)
	}
	if w.broker != "" {
		b, ok := p.Services[w.broker]
		if !ok || b.HealthCheck == nil || !slices.Contains(b.HealthCheck.Test, w.brokerHealth) || b.Image != w.brokerImage {
			t.Errorf("broker %q: %+v: want image %s and a health check with %q", w.broker, b, w.brokerImage, w.brokerHealth)
		}
		for k, v := range w.brokerEnv {
			if got := b.Environment[k]; got == nil || *got != v {
				t.Errorf("broker env %s = %v, want %q", k, got, v)
			}
		}
	}
	for i, name := range w.compose {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no Compose service %q", name)
			continue
		}
		if s.Image != w.images[i] || s.User != "65532:65532" || !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: image %q user %q read_only %v cap_drop %v", name, s.Image, s.User, s.ReadOnly, s.CapDrop)
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) != time.Duration(w.grace)*time.Second {
			t.Errorf("%s: stop_grace_period %v, want %ds", name, s.StopGracePeriod, w.grace)
		}
		wantEnv := map[string]string{"PURISTA_BRIDGE": w.bridge, "PURISTA_HEALTH_ADDR": "0.0.0.0:8081", "PURISTA_SHUTDOWN_TIMEOUT": w.shutdown}
		if w.services[i] != "" {
			wantEnv["PURISTA_SERVICES"] = w.services[i]
		}
		if w.httpPort != 0 {
			wantEnv["PURISTA_HTTP_ADDR"] = "0.0.0.0:" + itoa(w.httpPort)
		}
		for k, v := range w.env {
			wantEnv[k] = v // after interpolation: "$" as written
		}
		for k, v := range wantEnv {
			if got := s.Environment[k]; got == nil || *got != v {
				t.Errorf("%s: env %s = %v, want %q", name, k, deref(got), v)
			}
		}
		if w.broker != "" {
			if dep, ok := s.DependsOn[w.broker]; !ok || dep.Condition != composetypes.ServiceConditionHealthy {
				t.Errorf("%s: depends_on %+v, want %s healthy", name, s.DependsOn, w.broker)
			}
		} else if len(s.DependsOn) != 0 {
			t.Errorf("%s: depends_on %+v without a broker", name, s.DependsOn)
		}
		var ports []string
		for _, pc := range s.Ports {
			ports = append(ports, pc.HostIP+":"+pc.Published+":"+itoa(int32(pc.Target)))
		}
		var wantPorts []string
		if w.ports != nil {
			wantPorts = []string{w.ports[i]}
		}
		if !slices.Equal(ports, wantPorts) {
			t.Errorf("%s: ports %v, want %v", name, ports, wantPorts)
		}
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func TestNewPlanErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts deploy.Options
		want string
	}{
		{name: "no profile", opts: deploy.Options{}, want: "--profile is required: name a profile of purista.yaml (anyport, api, edge, local"},
		{name: "unknown profile", opts: deploy.Options{Profile: "prod"}, want: `--profile "prod" is not a profile`},
		{name: "memory split", opts: deploy.Options{Profile: "monolith", Services: []string{"each"}}, want: "must run in one process"},
		{name: "unknown service", opts: deploy.Options{Profile: "microservices", Services: []string{"Ghost"}}, want: `unknown service "Ghost"`},
		{name: "bad tag", opts: deploy.Options{Profile: "monolith", Tag: "Shop:v1"}, want: "--tag"},
		{name: "bad broker-from", opts: deploy.Options{Profile: "microservices", BrokerFrom: "vault/x"}, want: `--broker-from "vault/x" is not secret/NAME or configmap/NAME`},
		{name: "bad broker-key", opts: deploy.Options{Profile: "microservices", BrokerKey: "a b"}, want: `--broker-key "a b"`},
		{name: "bad cpu", opts: deploy.Options{Profile: "monolith", CPU: "lots"}, want: `--cpu "lots" is not a Kubernetes quantity`},
		{name: "limit below request", opts: deploy.Options{Profile: "monolith", Memory: "128Mi", MemoryLimit: "64Mi"}, want: "below the request"},
		{name: "bad env", opts: deploy.Options{Profile: "monolith", Env: []string{"NOEQUALS"}}, want: `--env "NOEQUALS" is not NAME=VALUE`},
		{name: "bridge in env", opts: deploy.Options{Profile: "monolith", Env: []string{"PURISTA_BRIDGE=nats://x:4222"}}, want: "the broker comes from the profile"},
		{name: "bad namespace", opts: deploy.Options{Profile: "monolith", Namespace: "Shop"}, want: `--namespace "Shop"`},
		{name: "negative replicas", opts: deploy.Options{Profile: "monolith", Replicas: -1}, want: "--replicas -1"},
		{name: "negative shutdown", opts: deploy.Options{Profile: "monolith", ShutdownTimeout: -time.Second}, want: "--shutdown-timeout -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deploy.NewPlan(manifest(), tt.opts)
			if !errors.Is(err, deploy.ErrUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrUsage containing %q", err, tt.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	p, err := deploy.NewPlan(manifest(), deploy.Options{Profile: "api"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	other := filepath.Join(dir, "keep.txt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run replaces the files
		paths, err := deploy.Write(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{filepath.Join(dir, "compose.yaml"), filepath.Join(dir, "k8s", "signup-user.yaml"), filepath.Join(dir, "k8s", "signup-email.yaml")}
		if !slices.Equal(paths, want) {
			t.Fatalf("wrote %v, want %v", paths, want)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "k8s"))
	if err != nil || len(entries) != 2 {
		t.Fatalf("k8s holds %v (%v), want the two manifests and no temporary file", entries, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	loadCompose(t, data)
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Write removed another file: %v", err)
	}
}
