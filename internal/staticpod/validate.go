package staticpod

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate reports what the kubelet rejects in a static pod (severity error, with the field paths
// and error types of the kubelet's `invalid pod: [spec.containers: Required value]`) and what
// static pods commonly get wrong (severity warning). The pod is taken as written: fields the
// kubelet defaults (restartPolicy, imagePullPolicy, protocol…) may be empty.
//
// It covers the checks of the kubelet's ValidatePodCreate that manifests realistically fail, plus
// the static-pod-only rejection of API object references (secrets, configmaps, service
// accounts…); it is not the full apiserver validation. Validation runs on the pod with the API
// defaults applied, as in the kubelet (checked against a real kubelet v1.34.4 by
// TestRootKubeletValidateMatchesKubelet).
//
// The node name is unknown here, so metadata.name is checked on its own; ValidateOnNode checks
// it as the kubelet does.
func Validate(pod *corev1.Pod) []Issue { return ValidateOnNode(pod, "") }

// ValidateOnNode is Validate for a known node: like the kubelet, it validates metadata.name
// with "-<lowercase node name>" appended (the static pod's name), so a name that only becomes
// too long or invalid on this node is caught, with the kubelet's exact message.
func ValidateOnNode(pod *corev1.Pod, nodeName string) []Issue {
	if pod == nil {
		return []Issue{{Type: field.ErrorTypeRequired.String(), Detail: "no pod", Severity: SeverityError}}
	}
	d := withDefaults(pod)
	meta := pod.ObjectMeta
	if nodeName != "" && meta.Name != "" {
		meta.Name = PodName(meta.Name, nodeName)
	}
	var errs field.ErrorList
	errs = append(errs, validateMeta(&meta)...)
	errs = append(errs, validateSpec(&d.Spec, field.NewPath("spec"))...)
	errs = append(errs, apiReferences(d)...)
	issues := make([]Issue, 0, len(errs))
	for _, e := range errs {
		issues = append(issues, issueFromFieldError(e))
	}
	return append(issues, warnings(pod)...)
}

// KubeletMessage is the error the kubelet logs for a pod with these issues ("" when it accepts
// it), in its order of checks: a missing name (`invalid pod: name is needed for the pod`), then
// validation (`invalid pod: [spec.containers: Required value, …]`), then the first API object
// reference (`static pods may not reference secrets`). Values are rendered like the kubelet's
// field errors when the issues come from Validate; for an invalid metadata.name the kubelet shows
// the name with the node appended, which only ValidateOnNode reproduces.
func KubeletMessage(issues []Issue) string {
	var parts []string
	var refs []Issue
	for _, i := range issues {
		if i.Severity != SeverityError {
			continue
		}
		if i.Field == "metadata.name" && i.Type == field.ErrorTypeRequired.String() {
			return "invalid pod: name is needed for the pod"
		}
		if i.Type == field.ErrorTypeForbidden.String() && strings.HasPrefix(i.Detail, apiRefPrefix) {
			refs = append(refs, i)
			continue
		}
		if i.kubelet != "" {
			parts = append(parts, i.kubelet)
		} else {
			parts = append(parts, i.String())
		}
	}
	if len(parts) > 0 {
		return "invalid pod: [" + strings.Join(parts, " ") + "]" // fmt %v of a field.ErrorList
	}
	if len(refs) > 0 {
		sort.SliceStable(refs, func(a, b int) bool { return apiRefRank(refs[a].Detail) < apiRefRank(refs[b].Detail) })
		return refs[0].Detail
	}
	return ""
}

func issueFromFieldError(e *field.Error) Issue {
	is := Issue{Field: e.Field, Type: e.Type.String(), Detail: e.Detail, Severity: SeverityError, kubelet: e.Error()}
	switch v := e.BadValue.(type) {
	case nil:
	case string:
		is.Value = v
	case *string:
		if v != nil {
			is.Value = *v
		}
	default:
		is.Value = fmt.Sprint(v)
	}
	return is
}

func validateMeta(m interface {
	GetName() string
	GetNamespace() string
	GetLabels() map[string]string
	GetAnnotations() map[string]string
}) field.ErrorList {
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	if m.GetName() == "" {
		// The kubelet checks this before validating: "invalid pod: name is needed for the pod".
		errs = append(errs, field.Required(meta.Child("name"), "name is needed for the pod"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(m.GetName()) {
			errs = append(errs, field.Invalid(meta.Child("name"), m.GetName(), msg))
		}
	}
	if ns := m.GetNamespace(); ns != "" {
		for _, msg := range validation.IsDNS1123Label(ns) {
			errs = append(errs, field.Invalid(meta.Child("namespace"), ns, msg))
		}
	}
	for _, k := range sortedKeys(m.GetLabels()) {
		p := meta.Child("labels")
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(m.GetLabels()[k]) {
			errs = append(errs, field.Invalid(p.Key(k), m.GetLabels()[k], msg))
		}
	}
	for _, k := range sortedKeys(m.GetAnnotations()) {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(meta.Child("annotations"), k, msg))
		}
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var (
	restartPolicies     = []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	pullPolicies        = []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}
	protocols           = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
	dnsPolicies         = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	terminationPolicies = []corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}
	hostPathTypes       = []corev1.HostPathType{corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev, corev1.HostPathDirectory, corev1.HostPathDirectoryOrCreate, corev1.HostPathFile, corev1.HostPathFileOrCreate, corev1.HostPathSocket}
	initRestartPolicies = []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}
	// volumeSourceOrder is the order in which the kubelet's validateVolumeSource looks at volume
	// types: with two set, the second in this order is the one reported.
	volumeSourceOrder = []string{"emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs",
		"iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte", "downwardAPI", "fc",
		"flexVolume", "configMap", "azureFile", "vsphereVolume", "photonPersistentDisk", "portworxVolume", "azureDisk",
		"storageos", "projected", "scaleIO", "csi", "ephemeral", "image"}
)

func oneOf[T ~string](v T, allowed []T) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// withDefaults applies the API defaults the kubelet applies before validating (SetDefaults_Pod and
// friends) where they change what validation says: empty policies, ports, requests from limits,
// probe thresholds, a volume without a source becoming an emptyDir.
func withDefaults(pod *corev1.Pod) *corev1.Pod {
	d := pod.DeepCopy()
	spec := &d.Spec
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	for i := range spec.Volumes {
		if len(volumeSources(&spec.Volumes[i].VolumeSource)) == 0 {
			spec.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}
	}
	eachContainer(spec, field.NewPath("spec"), func(c *corev1.Container, _ *field.Path) {
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = corev1.PullIfNotPresent
			if imageTag(c.Image) == "latest" {
				c.ImagePullPolicy = corev1.PullAlways
			}
		}
		if c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
		for j := range c.Ports {
			if c.Ports[j].Protocol == "" {
				c.Ports[j].Protocol = corev1.ProtocolTCP
			}
			if spec.HostNetwork && c.Ports[j].HostPort == 0 {
				c.Ports[j].HostPort = c.Ports[j].ContainerPort
			}
		}
		if c.Resources.Limits != nil {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			for k, v := range c.Resources.Limits {
				if _, ok := c.Resources.Requests[k]; !ok {
					c.Resources.Requests[k] = v.DeepCopy()
				}
			}
		}
		for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if pr == nil {
				continue
			}
			if pr.TimeoutSeconds == 0 {
				pr.TimeoutSeconds = 1
			}
			if pr.PeriodSeconds == 0 {
				pr.PeriodSeconds = 10
			}
			if pr.SuccessThreshold == 0 {
				pr.SuccessThreshold = 1
			}
			if pr.FailureThreshold == 0 {
				pr.FailureThreshold = 3
			}
		}
	})
	return d
}

// validateSpec follows ValidatePodSpec's order: volumes, containers, init containers, host
// network ports, restart and DNS policy, DNS config, the rest.
func validateSpec(spec *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	vols, verrs := validateVolumes(spec.Volumes, p.Child("volumes"))
	errs = append(errs, verrs...)
	errs = append(errs, validateContainers(spec.Containers, vols, p.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, vols, p.Child("initContainers"))...)
	if spec.HostNetwork {
		for i, c := range spec.Containers {
			for j, port := range c.Ports {
				if port.HostPort != 0 && port.HostPort != port.ContainerPort {
					errs = append(errs, field.Invalid(p.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	if !oneOf(spec.RestartPolicy, restartPolicies) {
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), spec.RestartPolicy, restartPolicies))
	}
	if !oneOf(spec.DNSPolicy, dnsPolicies) {
		errs = append(errs, field.NotSupported(p.Child("dnsPolicy"), spec.DNSPolicy, dnsPolicies))
	}
	if spec.DNSPolicy == corev1.DNSNone {
		switch {
		case spec.DNSConfig == nil:
			errs = append(errs, field.Required(p.Child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"))
		case len(spec.DNSConfig.Nameservers) == 0:
			errs = append(errs, field.Required(p.Child("dnsConfig").Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None"))
		}
	}
	if spec.ActiveDeadlineSeconds != nil && *spec.ActiveDeadlineSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), *spec.ActiveDeadlineSeconds, "must be between 1 and 2147483647, inclusive"))
	}
	if spec.Hostname != "" {
		for _, msg := range validation.IsDNS1123Label(spec.Hostname) {
			errs = append(errs, field.Invalid(p.Child("hostname"), spec.Hostname, msg))
		}
	}
	return errs
}

// validateContainers mirrors the kubelet's validateContainers: per container the common checks,
// duplicate names (among regular containers), lifecycle and probes; then host port conflicts.
func validateContainers(containers []corev1.Container, vols map[string]bool, p *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range containers {
		c := &containers[i]
		cp := p.Index(i)
		errs = append(errs, validateContainerCommon(c, cp, vols)...)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names[c.Name] = true
		errs = append(errs, validateLifecycle(c.Lifecycle, cp.Child("lifecycle"))...)
		errs = append(errs, validateProbe(c.LivenessProbe, cp.Child("livenessProbe"), true)...)
		errs = append(errs, validateProbe(c.ReadinessProbe, cp.Child("readinessProbe"), false)...)
		errs = append(errs, validateProbe(c.StartupProbe, cp.Child("startupProbe"), true)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(cp.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	return append(errs, hostPortConflicts(containers, p)...)
}

// validateInitContainers mirrors validateInitContainers: names must also differ from the regular
// containers' (the duplicate is reported on the init container); probes and lifecycle only for
// restartable (sidecar) init containers.
func validateInitContainers(containers, regular []corev1.Container, vols map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.Name] = true
	}
	for i := range containers {
		c := &containers[i]
		cp := p.Index(i)
		errs = append(errs, validateContainerCommon(c, cp, vols)...)
		sidecar := false
		if c.RestartPolicy != nil {
			if !oneOf(*c.RestartPolicy, initRestartPolicies) {
				errs = append(errs, field.NotSupported(cp.Child("restartPolicy"), *c.RestartPolicy, initRestartPolicies))
			}
			sidecar = *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names[c.Name] = true
		errs = append(errs, hostPortConflicts([]corev1.Container{*c}, p)...)
		if sidecar {
			errs = append(errs, validateLifecycle(c.Lifecycle, cp.Child("lifecycle"))...)
			errs = append(errs, validateProbe(c.LivenessProbe, cp.Child("livenessProbe"), true)...)
			errs = append(errs, validateProbe(c.ReadinessProbe, cp.Child("readinessProbe"), false)...)
			errs = append(errs, validateProbe(c.StartupProbe, cp.Child("startupProbe"), true)...)
			continue
		}
		const notSidecar = "may not be set for init containers without restartPolicy=Always"
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(cp.Child("lifecycle"), notSidecar))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(cp.Child("livenessProbe"), notSidecar))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(cp.Child("readinessProbe"), notSidecar))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(cp.Child("startupProbe"), notSidecar))
		}
	}
	return errs
}

// validateVolumes returns the names of the valid volumes and the errors of the others, like the
// kubelet's ValidateVolumes (a volumeMount naming an invalid volume is then "Not found").
func validateVolumes(volumes []corev1.Volume, p *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range volumes {
		v := &volumes[i]
		vp := p.Index(i)
		el := validateVolumeSource(&v.VolumeSource, vp)
		if v.Name == "" {
			el = append(el, field.Required(vp.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				el = append(el, field.Invalid(vp.Child("name"), v.Name, msg))
			}
		}
		if names[v.Name] {
			el = append(el, field.Duplicate(vp.Child("name"), v.Name))
		}
		if len(el) == 0 {
			names[v.Name] = true
		}
		errs = append(errs, el...)
	}
	return names, errs
}

// volumeSources lists the set source fields of a VolumeSource by their JSON names, in
// declaration order.
func volumeSources(src *corev1.VolumeSource) []string {
	var out []string
	v := reflect.ValueOf(src).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if v.Field(i).Kind() == reflect.Pointer && !v.Field(i).IsNil() {
			out = append(out, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
		}
	}
	return out
}

func validateVolumeSource(src *corev1.VolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := map[string]bool{}
	for _, name := range volumeSources(src) {
		set[name] = true
	}
	n := 0
	for _, name := range volumeSourceOrder {
		if !set[name] {
			continue
		}
		if n++; n > 1 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 volume type"))
			continue
		}
		switch name {
		case "emptyDir":
			if sl := src.EmptyDir.SizeLimit; sl != nil && sl.Sign() < 0 {
				errs = append(errs, field.Forbidden(p.Child("emptyDir").Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
			}
		case "hostPath":
			hp, hpp := src.HostPath, p.Child("hostPath")
			switch {
			case hp.Path == "":
				errs = append(errs, field.Required(hpp.Child("path"), ""))
			default:
				if hasDotDot(hp.Path) {
					errs = append(errs, field.Invalid(hpp.Child("path"), hp.Path, "must not contain '..'"))
				}
				if hp.Type != nil && !oneOf(*hp.Type, hostPathTypes) {
					errs = append(errs, field.NotSupported(hpp.Child("type"), *hp.Type, hostPathTypes))
				}
			}
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	}
	return errs
}

func hasDotDot(path string) bool {
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return true
		}
	}
	return false
}

// validateContainerCommon follows the kubelet's validateContainerCommon order: name, image,
// termination message policy, ports, env, volume mounts, pull policy, resources.
func validateContainerCommon(c *corev1.Container, p *field.Path, vols map[string]bool) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
		}
	}
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	if !oneOf(c.TerminationMessagePolicy, terminationPolicies) {
		errs = append(errs, field.NotSupported(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy, terminationPolicies))
	}
	errs = append(errs, validatePorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateMounts(c.VolumeMounts, p.Child("volumeMounts"), vols)...)
	if !oneOf(c.ImagePullPolicy, pullPolicies) {
		errs = append(errs, field.NotSupported(p.Child("imagePullPolicy"), c.ImagePullPolicy, pullPolicies))
	}
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	return errs
}

func validateLifecycle(l *corev1.Lifecycle, p *field.Path) field.ErrorList {
	if l == nil {
		return nil
	}
	var errs field.ErrorList
	if l.PostStart != nil {
		errs = append(errs, validateHandler(l.PostStart, p.Child("postStart"))...)
	}
	if l.PreStop != nil {
		errs = append(errs, validateHandler(l.PreStop, p.Child("preStop"))...)
	}
	return errs
}

func validatePorts(ports []corev1.ContainerPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		pp := p.Index(i)
		if port.Name != "" {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
				}
			} else if names[port.Name] {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			} else {
				names[port.Name] = true
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(pp.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(pp.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(pp.Child("hostPort"), port.HostPort, msg))
			}
		}
		if !oneOf(port.Protocol, protocols) {
			errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol, protocols))
		}
	}
	return errs
}

// hostPortConflicts mirrors AccumulateUniqueHostPorts (on the defaulted pod: protocol TCP, with
// hostNetwork hostPort = containerPort).
func hostPortConflicts(containers []corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci := range containers {
		for pi, port := range containers[ci].Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(p.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

func validateEnv(env []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		ep := p.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(ep.Child("name"), ""))
		} else {
			// RelaxedEnvironmentVariableValidation is GA (locked on) in v1.34.
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(ep.Child("name"), ev.Name, msg))
			}
		}
		if ev.ValueFrom == nil {
			continue
		}
		vp := ep.Child("valueFrom")
		n := 0
		for _, set := range []bool{ev.ValueFrom.FieldRef != nil, ev.ValueFrom.ResourceFieldRef != nil, ev.ValueFrom.ConfigMapKeyRef != nil, ev.ValueFrom.SecretKeyRef != nil, ev.ValueFrom.FileKeyRef != nil} {
			if set {
				n++
			}
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(vp, "", "may not have more than one field specified at a time"))
		}
		if ev.Value != "" && n > 0 {
			errs = append(errs, field.Invalid(vp, "", "may not be specified when `value` is not empty"))
		}
		if fr := ev.ValueFrom.FieldRef; fr != nil && fr.FieldPath == "" {
			errs = append(errs, field.Required(vp.Child("fieldRef").Child("fieldPath"), ""))
		}
		if rr := ev.ValueFrom.ResourceFieldRef; rr != nil && rr.Resource == "" {
			errs = append(errs, field.Required(vp.Child("resourceFieldRef").Child("resource"), ""))
		}
	}
	return errs
}

// validateMounts mirrors ValidateVolumeMounts, including its subPath errors on the list path
// (`volumeMounts.subPath`, no index).
func validateMounts(mounts []corev1.VolumeMount, p *field.Path, vols map[string]bool) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	for i, m := range mounts {
		mp := p.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(mp.Child("name"), ""))
		}
		if !vols[m.Name] {
			errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(mp.Child("mountPath"), ""))
		}
		if paths[m.MountPath] {
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be unique"))
		}
		paths[m.MountPath] = true
		if m.SubPath != "" {
			if strings.HasPrefix(m.SubPath, "/") {
				errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "must be a relative path"))
			}
			if hasDotDot(m.SubPath) {
				errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "must not contain '..'"))
			}
		}
	}
	return errs
}

// standardResources are the names IsStandardResourceName accepts without a domain (quota and
// container resources); hugepages-<size> is accepted too.
var standardResources = map[string]bool{
	"cpu": true, "memory": true, "ephemeral-storage": true, "storage": true, "pods": true, "services": true,
	"replicationcontrollers": true, "resourcequotas": true, "secrets": true, "configmaps": true,
	"persistentvolumeclaims": true, "services.nodeports": true, "services.loadbalancers": true,
	"requests.cpu": true, "requests.memory": true, "requests.ephemeral-storage": true, "requests.storage": true,
	"limits.cpu": true, "limits.memory": true, "limits.ephemeral-storage": true,
}

func isHugePages(name string) bool { return strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) }

// validateResourceName mirrors validateContainerResourceName.
func validateResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	s := string(name)
	for _, msg := range validation.IsQualifiedName(s) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(s, "/") {
		if !standardResources[s] && !isHugePages(s) {
			errs = append(errs, field.Invalid(p, name, "must be a standard resource type or fully qualified"))
		}
		if s != "cpu" && s != "memory" && s != "ephemeral-storage" && !isHugePages(s) {
			errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
		return errs
	}
	native := !strings.Contains(s, "/") || strings.Contains(strings.SplitN(s, "/", 2)[0], "kubernetes.io")
	if !native && (strings.HasPrefix(s, "requests.") || len(validation.IsQualifiedName("requests."+s)) > 0) {
		errs = append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// overcommitAllowed: only native resources (no domain, or *kubernetes.io/) other than hugepages
// may have requests below limits.
func overcommitAllowed(name corev1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(strings.SplitN(s, "/", 2)[0], "kubernetes.io")
	return native && !isHugePages(s)
}

// validateResources mirrors validateResourceRequirements on the defaulted pod (requests copied
// from limits). The kubelet walks the maps in random order; here they are sorted.
func validateResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := p.Child("limits"), p.Child("requests")
	for _, name := range sortedResourceNames(r.Limits) {
		q := r.Limits[name]
		errs = append(errs, validateResourceName(name, limPath.Key(string(name)))...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(limPath.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	for _, name := range sortedResourceNames(r.Requests) {
		q := r.Requests[name]
		errs = append(errs, validateResourceName(name, reqPath.Key(string(name)))...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(reqPath.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
		lim, ok := r.Limits[name]
		switch {
		case ok && q.Cmp(lim) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
		case ok && q.Cmp(lim) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(l))
	for n := range l {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// validateProbe mirrors validateProbe (+ validateLiveness/StartupProbe's successThreshold 1).
func validateProbe(pr *corev1.Probe, p *field.Path, successMustBeOne bool) field.ErrorList {
	if pr == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateProbeHandler(&pr.ProbeHandler, p)...)
	for _, f := range []struct {
		name string
		v    int32
	}{{"initialDelaySeconds", pr.InitialDelaySeconds}, {"timeoutSeconds", pr.TimeoutSeconds}, {"periodSeconds", pr.PeriodSeconds}, {"successThreshold", pr.SuccessThreshold}, {"failureThreshold", pr.FailureThreshold}} {
		if f.v < 0 {
			errs = append(errs, field.Invalid(p.Child(f.name), int64(f.v), "must be greater than or equal to 0"))
		}
	}
	if pr.TerminationGracePeriodSeconds != nil && *pr.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *pr.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	if successMustBeOne && pr.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	return errs
}

// handlerFields are the handler kinds of probes and lifecycle hooks, in the kubelet's order.
type handlerFields struct {
	exec    *corev1.ExecAction
	httpGet *corev1.HTTPGetAction
	tcp     *corev1.TCPSocketAction
	grpc    *corev1.GRPCAction
	sleep   *corev1.SleepAction
}

func validateProbeHandler(h *corev1.ProbeHandler, p *field.Path) field.ErrorList {
	return validateHandlerFields(handlerFields{h.Exec, h.HTTPGet, h.TCPSocket, h.GRPC, nil}, p)
}

func validateHandler(h *corev1.LifecycleHandler, p *field.Path) field.ErrorList {
	return validateHandlerFields(handlerFields{h.Exec, h.HTTPGet, h.TCPSocket, nil, h.Sleep}, p)
}

func validateHandlerFields(h handlerFields, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	check := func(set bool, name string, validate func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 handler type"))
			return
		}
		n++
		errs = append(errs, validate()...)
	}
	check(h.exec != nil, "exec", func() field.ErrorList {
		if len(h.exec.Command) == 0 {
			return field.ErrorList{field.Required(p.Child("exec").Child("command"), "")}
		}
		return nil
	})
	check(h.httpGet != nil, "httpGet", func() field.ErrorList {
		hp := p.Child("httpGet")
		var el field.ErrorList
		el = append(el, validatePortNumOrName(h.httpGet.Port, hp.Child("port"))...)
		if h.httpGet.Scheme != "" && h.httpGet.Scheme != corev1.URISchemeHTTP && h.httpGet.Scheme != corev1.URISchemeHTTPS {
			el = append(el, field.NotSupported(hp.Child("scheme"), h.httpGet.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
		}
		for i, hdr := range h.httpGet.HTTPHeaders {
			for _, msg := range validation.IsHTTPHeaderName(hdr.Name) {
				el = append(el, field.Invalid(hp.Child("httpHeaders").Index(i).Child("name"), hdr.Name, msg))
			}
		}
		return el
	})
	check(h.tcp != nil, "tcpSocket", func() field.ErrorList {
		return validatePortNumOrName(h.tcp.Port, p.Child("tcpSocket").Child("port"))
	})
	check(h.grpc != nil, "grpc", func() field.ErrorList {
		var el field.ErrorList
		for _, msg := range validation.IsValidPortNum(int(h.grpc.Port)) {
			el = append(el, field.Invalid(p.Child("grpc").Child("port"), h.grpc.Port, msg))
		}
		return el
	})
	check(h.sleep != nil, "sleep", func() field.ErrorList {
		if h.sleep.Seconds < 0 {
			return field.ErrorList{field.Invalid(p.Child("sleep").Child("seconds"), h.sleep.Seconds, "must be non-negative")}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.Int {
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(p, port.IntValue(), msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortName(port.StrVal) {
		errs = append(errs, field.Invalid(p, port.StrVal, msg))
	}
	return errs
}

// apiReferences mirrors the kubelet's PreventStaticPodAPIReferences check (beta, on by default in
// v1.34): a static pod may not reference API objects, because the kubelet may have no API server
// to fetch them from. The kubelet reports only the first one it finds; every offending field is
// listed here, each with the message the kubelet would give if it were the only one
// (KubeletMessage picks the one the kubelet reports).
func apiReferences(pod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	forbid := func(p *field.Path, what string) {
		errs = append(errs, field.Forbidden(p, apiRefPrefix+what))
	}
	if pod.Spec.ServiceAccountName != "" {
		forbid(spec.Child("serviceAccountName"), "serviceaccounts")
	} else if pod.Spec.DeprecatedServiceAccount != "" {
		forbid(spec.Child("serviceAccount"), "serviceaccounts")
	}
	for i := range pod.Spec.ImagePullSecrets {
		forbid(spec.Child("imagePullSecrets").Index(i), "secrets")
	}
	if len(pod.Spec.ResourceClaims) > 0 {
		forbid(spec.Child("resourceClaims"), "resourceclaims")
	}
	eachContainer(&pod.Spec, spec, func(c *corev1.Container, cp *field.Path) {
		for i, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				forbid(cp.Child("envFrom").Index(i).Child("secretRef"), "secrets")
			}
			if ef.ConfigMapRef != nil {
				forbid(cp.Child("envFrom").Index(i).Child("configMapRef"), "configmaps")
			}
		}
		for i, ev := range c.Env {
			if ev.ValueFrom == nil {
				continue
			}
			if ev.ValueFrom.SecretKeyRef != nil {
				forbid(cp.Child("env").Index(i).Child("valueFrom").Child("secretKeyRef"), "secrets")
			}
			if ev.ValueFrom.ConfigMapKeyRef != nil {
				forbid(cp.Child("env").Index(i).Child("valueFrom").Child("configMapKeyRef"), "configmaps")
			}
		}
	})
	// Volumes: the kubelet looks for secrets and configmaps anywhere first, so those volumes get
	// the plain message; the "(via …)" messages come from its later walk over the volumes.
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		vp := spec.Child("volumes").Index(i)
		switch {
		case v.ConfigMap != nil:
			forbid(vp.Child("configMap"), "configmaps")
		case v.Secret != nil:
			forbid(vp.Child("secret"), "secrets")
		case v.AzureFile != nil:
			forbid(vp.Child("azureFile"), "secrets")
		case v.CSI != nil:
			if v.CSI.NodePublishSecretRef != nil {
				forbid(vp.Child("csi").Child("nodePublishSecretRef"), "secrets")
			}
			forbid(vp.Child("csi"), "csidrivers (via CSI volumes)")
		case v.Glusterfs != nil:
			forbid(vp.Child("glusterfs"), "endpoints (via glusterFS volumes)")
		case v.PersistentVolumeClaim != nil:
			forbid(vp.Child("persistentVolumeClaim"), "persistentvolumeclaims")
		case v.Ephemeral != nil:
			forbid(vp.Child("ephemeral"), "persistentvolumeclaims (via ephemeral volumes)")
		case v.Projected != nil:
			for j, s := range v.Projected.Sources {
				sp := vp.Child("projected").Child("sources").Index(j)
				switch {
				case s.ConfigMap != nil:
					forbid(sp.Child("configMap"), "configmaps")
				case s.Secret != nil:
					forbid(sp.Child("secret"), "secrets")
				case s.ServiceAccountToken != nil:
					forbid(sp.Child("serviceAccountToken"), "serviceaccounts (via projected volumes)")
				case s.ClusterTrustBundle != nil:
					forbid(sp.Child("clusterTrustBundle"), "clustertrustbundles")
				case s.PodCertificate != nil:
					forbid(sp.Child("podCertificate"), "podcertificates")
				}
			}
		default:
			if name, ok := secretRefSource(&v.VolumeSource); ok {
				forbid(vp.Child(name).Child("secretRef"), "secrets")
			}
		}
	}
	return errs
}

const apiRefPrefix = "static pods may not reference "

// apiRefRank orders API reference messages the way the kubelet checks them: service account,
// then secrets anywhere, then configmaps anywhere, then resource claims, then the volume walk.
func apiRefRank(detail string) int {
	switch strings.TrimPrefix(detail, apiRefPrefix) {
	case "serviceaccounts":
		return 0
	case "secrets":
		return 1
	case "configmaps":
		return 2
	case "resourceclaims":
		return 3
	}
	return 4
}

// secretRefSource reports the volume source field (cephfs, rbd, iscsi…) that names a secret.
func secretRefSource(src *corev1.VolumeSource) (string, bool) {
	switch {
	case src.CephFS != nil && src.CephFS.SecretRef != nil:
		return "cephfs", true
	case src.RBD != nil && src.RBD.SecretRef != nil:
		return "rbd", true
	case src.ISCSI != nil && src.ISCSI.SecretRef != nil:
		return "iscsi", true
	case src.FlexVolume != nil && src.FlexVolume.SecretRef != nil:
		return "flexVolume", true
	case src.ScaleIO != nil && src.ScaleIO.SecretRef != nil:
		return "scaleIO", true
	case src.StorageOS != nil && src.StorageOS.SecretRef != nil:
		return "storageos", true
	case src.Cinder != nil && src.Cinder.SecretRef != nil:
		return "cinder", true
	}
	return "", false
}

func eachContainer(spec *corev1.PodSpec, p *field.Path, fn func(*corev1.Container, *field.Path)) {
	for i := range spec.InitContainers {
		fn(&spec.InitContainers[i], p.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		fn(&spec.Containers[i], p.Child("containers").Index(i))
	}
}

// warnings are accepted by the kubelet but commonly bite static pods.
func warnings(pod *corev1.Pod) []Issue {
	var out []Issue
	// The kubelet never evicts static pods (they count as critical), but it scores BestEffort
	// containers oom_score_adj 1000 unless the pod is system-node-critical, so the kernel's OOM
	// killer takes them first.
	nodeCritical := pod.Spec.PriorityClassName == "system-node-critical"
	eachContainer(&pod.Spec, field.NewPath("spec"), func(c *corev1.Container, cp *field.Path) {
		if len(c.Resources.Requests) == 0 && len(c.Resources.Limits) == 0 && !nodeCritical {
			out = append(out, Issue{
				Field:    cp.Child("resources").String(),
				Type:     TypeNotRecommended,
				Detail:   "no requests or limits: BestEffort, the OOM killer's first victim (oom_score_adj 1000)",
				Severity: SeverityWarning,
			})
		}
		if c.Image != "" && pullsAlways(c) {
			out = append(out, Issue{
				Field:    cp.Child("image").String(),
				Type:     TypeNotRecommended,
				Value:    c.Image,
				Detail:   "imagePullPolicy is Always (explicitly or because the tag is :latest or missing): the kubelet pulls on every container start, so the pod cannot restart while the registry is unreachable; pin a tag and use IfNotPresent",
				Severity: SeverityWarning,
			})
		}
	})
	return out
}

// pullsAlways applies the kubelet's defaulting: an empty pull policy is Always for :latest or
// untagged images.
func pullsAlways(c *corev1.Container) bool {
	switch c.ImagePullPolicy {
	case corev1.PullAlways:
		return true
	case "":
		return imageTag(c.Image) == "latest"
	}
	return false
}

// imageTag returns the tag of an image reference ("latest" when there is neither tag nor digest,
// "" when there is a digest).
func imageTag(image string) string {
	if strings.Contains(image, "@") {
		return ""
	}
	name := image
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return "latest"
}
