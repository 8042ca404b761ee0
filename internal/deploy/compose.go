package deploy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ComposeFile is the name of the Compose file Write makes.
const ComposeFile = "compose.yaml"

// composeFile is the part of the Compose specification that Compose renders. It
// uses only what `docker compose` (v2) and Debian's `docker-compose` (1.29) both read:
// no top-level name (give it with -p), short port syntax.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image           string                      `yaml:"image"`
	Command         []string                    `yaml:"command,omitempty"`
	Environment     map[string]string           `yaml:"environment,omitempty"`
	Healthcheck     *composeHealthcheck         `yaml:"healthcheck,omitempty"`
	DependsOn       map[string]composeDependsOn `yaml:"depends_on,omitempty"`
	Ports           []string                    `yaml:"ports,omitempty"`
	User            string                      `yaml:"user,omitempty"`
	ReadOnly        bool                        `yaml:"read_only,omitempty"`
	CapDrop         []string                    `yaml:"cap_drop,omitempty"`
	SecurityOpt     []string                    `yaml:"security_opt,omitempty"`
	StopGracePeriod string                      `yaml:"stop_grace_period,omitempty"`
	Restart         string                      `yaml:"restart,omitempty"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

type composeDependsOn struct {
	Condition string `yaml:"condition"`
}

// composeBroker returns the Compose service name and definition of the profile's broker.
// Its health check uses what the official image (and an image built like it) contains.
func (p *Plan) composeBroker() (string, composeService) {
	hc := func(test ...string) *composeHealthcheck {
		return &composeHealthcheck{Test: append([]string{"CMD"}, test...), Interval: "2s", Timeout: "5s", Retries: 30, StartPeriod: "2s"}
	}
	switch p.Kind {
	case "nats":
		return "nats", composeService{Image: p.BrokerImage, Command: []string{"-js", "-m", "8222"},
			Healthcheck: hc("wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8222/healthz")}
	case "amqp":
		u, pass := amqpUser(p.bridgeURL())
		return "rabbitmq", composeService{Image: p.BrokerImage,
			Environment: map[string]string{"RABBITMQ_DEFAULT_USER": escape(u), "RABBITMQ_DEFAULT_PASS": escape(pass)},
			Healthcheck: hc("rabbitmq-diagnostics", "-q", "check_port_connectivity")}
	default: // mqtt
		return "mosquitto", composeService{Image: p.BrokerImage, Command: []string{"mosquitto", "-c", "/mosquitto-no-auth.conf"},
			Healthcheck: hc("mosquitto_sub", "-h", "127.0.0.1", "-t", "$$SYS/broker/uptime", "-C", "1", "-W", "5")}
	}
}

// Compose renders the Compose file: one service per workload (non-root, read-only root
// file system, no capabilities, the HTTP port published as the profile says) and, for a
// broker profile, the broker service with a health check that the workloads wait for.
func Compose(p *Plan) ([]byte, error) {
	f := composeFile{Services: map[string]composeService{}}
	bridge := "memory"
	var broker string
	if p.Kind != "memory" {
		var svc composeService
		broker, svc = p.composeBroker()
		if p.hasWorkload(broker) {
			broker += "-broker"
		}
		f.Services[broker] = svc
		bridge = p.composeBridge(broker)
	}
	for i, w := range p.Workloads {
		if _, clash := f.Services[w.ComposeName]; clash {
			return nil, fmt.Errorf("%w: two Compose services would be called %q: rename a service or choose other --services", ErrUsage, w.ComposeName)
		}
		env := map[string]string{"PURISTA_BRIDGE": escape(bridge)}
		for _, e := range p.env(w) {
			env[e.Name] = escape(e.Value)
		}
		svc := composeService{Image: w.Image, Environment: env, User: "65532:65532", ReadOnly: true,
			CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges:true"},
			StopGracePeriod: p.Grace.String(), Restart: "on-failure"}
		if broker != "" {
			svc.DependsOn = map[string]composeDependsOn{broker: {Condition: "service_healthy"}}
		}
		if p.HTTPPort != 0 {
			svc.Ports = []string{p.publish(i)}
		}
		f.Services[w.ComposeName] = svc
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Compose file of profile %q of %s, made by `purista deploy manifests`.\n", p.Profile, p.Project)
	fmt.Fprintf(&buf, "# Run: docker compose -p %s up -d   (or docker-compose -p %s up -d)\n", dnsName(p.Project), dnsName(p.Project))
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode %s: %w", ComposeFile, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", ComposeFile, err)
	}
	return buf.Bytes(), nil
}

// publish returns the short port syntax that publishes the HTTP port of the i-th
// workload: [HOST:][HOSTPORT+i]:PORT; an empty host port lets Docker pick one.
func (p *Plan) publish(i int) string {
	host := ""
	if p.HTTPHostPort != 0 {
		host = strconv.Itoa(p.HTTPHostPort + i)
	}
	target := strconv.Itoa(p.HTTPPort)
	switch {
	case p.HTTPHost != "":
		ip := p.HTTPHost
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		return ip + ":" + host + ":" + target
	case host != "":
		return host + ":" + target
	}
	return target
}

func (p *Plan) hasWorkload(name string) bool {
	for _, w := range p.Workloads {
		if w.ComposeName == name {
			return true
		}
	}
	return false
}

// escape doubles every '$' so that Compose does not interpolate it.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }
