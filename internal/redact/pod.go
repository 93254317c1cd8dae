package redact

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Pod returns a deep copy of pod with secrets replaced: env values whose names look secret,
// secret flag values in command and args (--password=x, --token x), annotations whose names
// look secret, and anything String finds in the remaining env values, args and annotations.
func (r *Redactor) Pod(pod *corev1.Pod) *corev1.Pod {
	if pod == nil {
		return nil
	}
	out := pod.DeepCopy()
	if r.s.disabled {
		return out
	}
	for k, v := range out.Annotations {
		if secretValue(k, v) {
			out.Annotations[k] = r.redact(KindAnnotation, v)
		} else {
			out.Annotations[k] = r.String(v)
		}
	}
	for i := range out.Spec.InitContainers {
		r.container(&out.Spec.InitContainers[i])
	}
	for i := range out.Spec.Containers {
		r.container(&out.Spec.Containers[i])
	}
	for i := range out.Spec.EphemeralContainers {
		c := &out.Spec.EphemeralContainers[i].EphemeralContainerCommon
		c.Env = r.env(c.Env)
		c.Command = r.Args(c.Command)
		c.Args = r.Args(c.Args)
	}
	return out
}

func (r *Redactor) container(c *corev1.Container) {
	c.Env = r.env(c.Env)
	c.Command = r.Args(c.Command)
	c.Args = r.Args(c.Args)
}

func (r *Redactor) env(env []corev1.EnvVar) []corev1.EnvVar {
	for i := range env {
		if secretValue(env[i].Name, env[i].Value) {
			env[i].Value = r.redact(KindEnv, env[i].Value)
		} else {
			env[i].Value = r.String(env[i].Value)
		}
	}
	return env
}

// Args returns a copy of a command line with secret flag values replaced: --name=value and
// "--name value" where the name looks secret; every other word goes through String (so
// "sh -c 'app --password=x'" is covered too).
func (r *Redactor) Args(args []string) []string {
	if len(args) == 0 || r.s.disabled {
		return args
	}
	out := make([]string, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out[i] = a
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			out[i] = r.String(a)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		if hasValue {
			if secretValue(name, value) {
				out[i] = name + "=" + r.redact(KindArg, value)
			} else {
				out[i] = name + "=" + r.String(value)
			}
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && secretValue(name, args[i+1]) {
			out[i+1] = r.redact(KindArg, args[i+1])
			i++
		}
	}
	return out
}
