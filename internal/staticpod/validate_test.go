package staticpod

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// goodPod is a pod the kubelet accepts with no warnings.
func goodPod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "kube-system"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "web",
				Image: "busybox:1.36",
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				},
			}},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string // Issue.String() of the error-severity issues, in order
	}{
		{"valid", func(p *corev1.Pod) {}, nil},
		{"no containers (the seed case)", func(p *corev1.Pod) { p.Spec.Containers = nil },
			[]string{"spec.containers: Required value"}},
		{"no name", func(p *corev1.Pod) { p.Name = "" },
			[]string{"metadata.name: Required value: name is needed for the pod"}},
		{"bad name", func(p *corev1.Pod) { p.Name = "Web_1" },
			[]string{`metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"bad namespace", func(p *corev1.Pod) { p.Namespace = "kube.system" },
			[]string{`metadata.namespace: Invalid value: "kube.system": must not contain dots`}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			[]string{"spec.containers[0].image: Required value"}},
		{"no container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" },
			[]string{"spec.containers[0].name: Required value"}},
		{"duplicate container name across init", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "web", Image: "busybox:1", Resources: p.Spec.Containers[0].Resources}}
		}, []string{`spec.initContainers[0].name: Duplicate value: "web"`}},
		{"mount names no volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"mount of an invalid volume is not found", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "Data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "Data", MountPath: "/data"}}
		}, []string{`spec.volumes[0].name: Invalid value: "Data": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`spec.containers[0].volumeMounts[0].name: Not found: "Data"`}},
		{"duplicate volume, two sources", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "v", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}, EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			}
		}, []string{"spec.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type", `spec.volumes[1].name: Duplicate value: "v"`}},
		{"hostPath path and type", func(p *corev1.Pod) {
			bad := corev1.HostPathType("Dir")
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Type: &bad}}}}
		}, []string{"spec.volumes[0].hostPath.path: Required value"}},
		{"hostPath type", func(p *corev1.Pod) {
			bad := corev1.HostPathType("Dir")
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/../etc", Type: &bad}}}}
		}, []string{`spec.volumes[0].hostPath.path: Invalid value: "/srv/../etc": must not contain '..'`,
			`spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"`}},
		{"a volume without a source defaults to emptyDir", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "scratch"}}
		}, nil},
		{"ports", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 0}, {ContainerPort: 70000, HostPort: -1, Protocol: "HTTP"}}
		}, []string{"spec.containers[0].ports[0].containerPort: Required value",
			`spec.containers[0].ports[1].containerPort: Invalid value: "70000": must be between 1 and 65535, inclusive`,
			`spec.containers[0].ports[1].hostPort: Invalid value: "-1": must be between 1 and 65535, inclusive`,
			`spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`}},
		{"duplicate hostPort across containers, protocol defaulted", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "busybox:1", Resources: p.Spec.Containers[0].Resources,
				Ports: []corev1.ContainerPort{{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP}, {ContainerPort: 82, HostPort: 8080, Protocol: corev1.ProtocolUDP}}})
		}, []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`}},
		{"hostNetwork defaults hostPort to containerPort", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 80}, {ContainerPort: 81, HostPort: 82}}
		}, []string{`spec.containers[0].ports[1].hostPort: Duplicate value: "TCP//80"`,
			`spec.containers[0].ports[2].hostPort: Invalid value: "82": must match ` + "`containerPort`" + ` when ` + "`hostNetwork`" + ` is true`}},
		{"restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			[]string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{"imagePullPolicy", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Maybe" },
			[]string{`spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"`}},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}
		}, []string{`spec.containers[0].resources.requests: Invalid value: "100m": must be less than or equal to cpu limit of 50m`}},
		{"unknown resource, negative", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"cpus": resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("-1")}
		}, []string{ // requests default to the limits, so every limit error repeats for requests
			`spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource type or fully qualified`,
			`spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource for containers`,
			`spec.containers[0].resources.limits[memory]: Invalid value: "-1": must be greater than or equal to 0`,
			`spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard resource type or fully qualified`,
			`spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard resource for containers`,
			`spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`}},
		{"extended resource needs equal request and limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		}, []string{"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"}},
		{"probe without handler, with two", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{}
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}}
		}, []string{"spec.containers[0].livenessProbe: Required value: must specify a handler type",
			"spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{"probe port, liveness successThreshold", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 2, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(0)}}}
		}, []string{`spec.containers[0].livenessProbe.httpGet.port: Invalid value: "0": must be between 1 and 65535, inclusive`,
			`spec.containers[0].livenessProbe.successThreshold: Invalid value: "2": must be 1`}},
		{"env", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: ""}, {Name: "A=B"}, {Name: "X", ValueFrom: &corev1.EnvVarSource{}}}
		}, []string{"spec.containers[0].env[0].name: Required value",
			`spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
			"spec.containers[0].env[2].valueFrom: Invalid value: must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"}},
		{"static pods may not reference API objects", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "sa"
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "pw"}}}}
			p.Spec.Volumes = []corev1.Volume{
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{DownwardAPI: &corev1.DownwardAPIProjection{}}, {ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}},
			}
		}, []string{"spec.serviceAccountName: Forbidden: static pods may not reference serviceaccounts",
			"spec.containers[0].env[0].valueFrom.secretKeyRef: Forbidden: static pods may not reference secrets",
			"spec.volumes[0].configMap: Forbidden: static pods may not reference configmaps",
			"spec.volumes[1].projected.sources[1].serviceAccountToken: Forbidden: static pods may not reference serviceaccounts (via projected volumes)"}},
		{"dnsPolicy None without dnsConfig", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			[]string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
		{"dnsPolicy None without nameservers", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: []string{"x"}}
		}, []string{"spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goodPod()
			tt.mutate(p)
			got := pick(Validate(p), SeverityError, Issue.String)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestValidateWarnings(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string // fields of warnings
	}{
		{"none", func(p *corev1.Pod) {}, nil},
		{"no resources", func(p *corev1.Pod) { p.Spec.Containers[0].Resources = corev1.ResourceRequirements{} },
			[]string{"spec.containers[0].resources"}},
		{"no resources but system-node-critical (oom_score_adj -997)", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
			p.Spec.PriorityClassName = "system-node-critical"
		}, nil},
		{"latest defaults to Always", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "registry.local:5000/busybox" },
			[]string{"spec.containers[0].image"}},
		{"latest with IfNotPresent is fine", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "busybox:latest"
			p.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
		}, nil},
		{"explicit Always", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways },
			[]string{"spec.containers[0].image"}},
		{"digest is pinned", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "busybox@sha256:abcd" }, nil},
		{"hostNetwork missing is not noise", func(p *corev1.Pod) { p.Name = "kube-apiserver" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goodPod()
			tt.mutate(p)
			got := pick(Validate(p), SeverityWarning, func(i Issue) string { return i.Field })
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("warnings: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKubeletMessage(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   string
	}{
		{"valid", func(p *corev1.Pod) {}, ""},
		{"seed case", func(p *corev1.Pod) { p.Spec.Containers = nil }, "invalid pod: [spec.containers: Required value]"},
		{"name first, alone", func(p *corev1.Pod) { p.Name = ""; p.Spec.Containers[0].Image = "" }, "invalid pod: name is needed for the pod"},
		{"ints unquoted like field.Error", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
			p.Spec.Containers[0].Image = ""
		}, "invalid pod: [spec.containers[0].image: Required value spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive]"},
		{"validation before references", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "sa"
			p.Spec.RestartPolicy = "x"
		}, `invalid pod: [spec.restartPolicy: Unsupported value: "x": supported values: "Always", "OnFailure", "Never"]`},
		{"secrets anywhere before the volume walk", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			}
		}, "static pods may not reference secrets"},
		{"volume walk order", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "p", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}},
				{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}},
			}
		}, "static pods may not reference persistentvolumeclaims"},
		{"service account first", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "sa"
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
		}, "static pods may not reference serviceaccounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goodPod()
			tt.mutate(p)
			if got := KubeletMessage(Validate(p)); got != tt.want {
				t.Errorf("KubeletMessage =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

// pick renders the issues of one severity.
func pick(issues []Issue, sev Severity, render func(Issue) string) []string {
	var out []string
	for _, is := range issues {
		if is.Severity == sev {
			out = append(out, render(is))
		}
	}
	return out
}

func TestValidateOnNode(t *testing.T) {
	p := goodPod()
	p.Name = strings.Repeat("a", 250)
	if issues := pick(Validate(p), SeverityError, Issue.String); len(issues) != 0 {
		t.Fatalf("a 250-character name is valid on its own: %v", issues)
	}
	got := KubeletMessage(ValidateOnNode(p, "Node1"))
	want := `invalid pod: [metadata.name: Invalid value: "` + p.Name + `-node1": must be no more than 253 characters]`
	if got != want {
		t.Errorf("ValidateOnNode:\n got %q\nwant %q", got, want)
	}
}
