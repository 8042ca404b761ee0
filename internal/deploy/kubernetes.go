package deploy

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// KubernetesDir is the folder, inside Write's folder, of the Kubernetes manifests.
const KubernetesDir = "k8s"

// File is one rendered file.
type File struct {
	// Name is the file name (no folder), e.g. "signup-user.yaml".
	Name string
	// Data is its content.
	Data []byte
}

// Object is one Kubernetes object of a workload: its Deployment, and its Service when
// the profile serves HTTP.
type Object struct {
	// Deployment runs the workload's image.
	Deployment *appsv1.Deployment
	// Service exposes its HTTP port (nil without HTTP).
	Service *corev1.Service
}

// Labels of every object; the selector uses the name and part-of labels.
const (
	LabelName    = "app.kubernetes.io/name"
	LabelPartOf  = "app.kubernetes.io/part-of"
	LabelVersion = "app.kubernetes.io/version"
	LabelProfile = "purista.dev/profile"
)

// KubernetesObjects returns the typed objects of every workload, in workload order.
func KubernetesObjects(p *Plan) []Object {
	out := make([]Object, 0, len(p.Workloads))
	for _, w := range p.Workloads {
		o := Object{Deployment: p.deployment(w)}
		if p.HTTPPort != 0 {
			o.Service = p.service(w)
		}
		out = append(out, o)
	}
	return out
}

// Kubernetes renders one YAML file per workload, named <name>.yaml: its Deployment and,
// when the profile serves HTTP, its Service, separated by "---".
func Kubernetes(p *Plan) ([]File, error) {
	var files []File
	for i, o := range KubernetesObjects(p) {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# Kubernetes manifests of %s, profile %q of %s, made by `purista deploy manifests`.\n",
			p.Workloads[i].Image, p.Profile, p.Project)
		if p.Kind != "memory" {
			fmt.Fprintf(&buf, "# PURISTA_BRIDGE comes from %s %s, key %s: kubectl create %s %s --from-literal=%s=%s\n",
				p.BrokerKind, p.BrokerName, p.BrokerKey, createWhat(p.BrokerKind), p.BrokerName, p.BrokerKey, exampleURL(p.Kind))
		}
		objs := []any{o.Deployment}
		if o.Service != nil {
			objs = append(objs, o.Service)
		}
		for j, obj := range objs {
			data, err := yaml.Marshal(obj)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", o.Deployment.Name, err)
			}
			if j > 0 {
				buf.WriteString("---\n")
			}
			buf.Write(data)
		}
		files = append(files, File{Name: o.Deployment.Name + ".yaml", Data: buf.Bytes()})
	}
	return files, nil
}

// exampleURL returns a broker URL of kind for the hint in the file's header.
func exampleURL(kind string) string {
	return map[string]string{"nats": "nats://nats:4222", "amqp": "amqp://user:pass@rabbitmq:5672/", "mqtt": "mqtt://mosquitto:1883"}[kind]
}

func createWhat(kind string) string {
	if kind == "configmap" {
		return "configmap"
	}
	return "secret generic"
}

func (p *Plan) meta(w Workload) metav1.ObjectMeta {
	labels := p.selector(w)
	if _, tag, ok := strings.Cut(w.Image[strings.LastIndex(w.Image, "/")+1:], ":"); ok {
		labels[LabelVersion] = tag
	}
	labels[LabelProfile] = p.Profile
	return metav1.ObjectMeta{Name: w.Name, Namespace: p.Namespace, Labels: labels}
}

func (p *Plan) selector(w Workload) map[string]string {
	return map[string]string{LabelName: w.Name, LabelPartOf: dnsName(p.Project)}
}

func (p *Plan) deployment(w Workload) *appsv1.Deployment {
	nonRoot, readOnly, noEscalation, noToken := true, true, false, false
	uid := int64(65532)
	grace := int64(math.Ceil(p.Grace.Seconds()))
	replicas := p.Replicas
	ports := []corev1.ContainerPort{{Name: "health", ContainerPort: HealthPort, Protocol: corev1.ProtocolTCP}}
	if p.HTTPPort != 0 {
		ports = append(ports, corev1.ContainerPort{Name: "http", ContainerPort: int32(p.HTTPPort), Protocol: corev1.ProtocolTCP})
	}
	probe := func(path string, period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("health")}},
			PeriodSeconds: period, TimeoutSeconds: 2, FailureThreshold: 3}
	}
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: p.CPU, corev1.ResourceMemory: p.Memory}}
	if !p.MemoryLimit.IsZero() {
		res.Limits = corev1.ResourceList{corev1.ResourceMemory: p.MemoryLimit}
	}
	meta := p.meta(w)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: p.selector(w)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					AutomountServiceAccountToken:  &noToken,
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid, RunAsGroup: &uid,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name:            "app",
						Image:           w.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Ports:           ports,
						Env:             p.kubeEnv(w),
						Resources:       res,
						ReadinessProbe:  probe("/readyz", 5),
						LivenessProbe:   probe("/healthz", 10),
						SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: &readOnly, AllowPrivilegeEscalation: &noEscalation,
							RunAsNonRoot: &nonRoot, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		},
	}
}

// kubeEnv is the container environment: PURISTA_BRIDGE from the broker Secret or
// ConfigMap (or memory), then env.
func (p *Plan) kubeEnv(w Workload) []corev1.EnvVar {
	bridge := corev1.EnvVar{Name: "PURISTA_BRIDGE", Value: "memory"}
	switch p.BrokerKind {
	case "secret":
		bridge = corev1.EnvVar{Name: "PURISTA_BRIDGE", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: p.BrokerName}, Key: p.BrokerKey}}}
	case "configmap":
		bridge = corev1.EnvVar{Name: "PURISTA_BRIDGE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: p.BrokerName}, Key: p.BrokerKey}}}
	}
	out := []corev1.EnvVar{bridge}
	for _, e := range p.env(w) {
		out = append(out, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	return out
}

func (p *Plan) service(w Workload) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: p.meta(w),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: p.selector(w),
			Ports: []corev1.ServicePort{{Name: "http", Port: int32(p.HTTPPort), TargetPort: intstr.FromString("http"),
				Protocol: corev1.ProtocolTCP}},
		},
	}
}
