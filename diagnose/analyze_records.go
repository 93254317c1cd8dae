// Kubelet records phase: each record is classified (rules.go) and attributed to a pod, file or the node.

package diagnose

import (
	"strconv"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// record classifies one kubelet record and attributes it.
func (a *analyzer) record(r *kubeletlog.Record) {
	c, ok := a.opts.Memo.classify(r)
	if !ok {
		if code, err := strconv.ParseInt(r.Fields["exitCode"], 10, 32); err == nil && isDied(r) {
			for _, e := range a.ix.podsFor(r) {
				c := int32(code)
				a.pod(e).lastExit = &c
			}
		}
		if (isStarted(r) || isDied(r)) && r.TS.After(a.lastActivity) {
			a.lastActivity = r.TS
		}
		if mirrorSynced(r) {
			for _, e := range a.ix.podsFor(r) {
				if pod := a.pod(e); r.TS.After(pod.mirrorSynced) {
					pod.mirrorSynced = r.TS
				}
			}
		}
		if isStarted(r) {
			for _, e := range a.ix.podsFor(r) {
				if pod := a.pod(e); r.TS.After(pod.lastStarted) {
					pod.lastStarted = r.TS
				}
			}
		}
		return
	}
	switch c.scope {
	case scopeNode:
		a.node.get(c.kind, "").add(r)
		return
	case scopeFile:
		path, f := a.ix.fileFor(r)
		if path == "" {
			a.node.get(c.kind, "").add(r)
			return
		}
		if c.kind == KindManifestInvalid && f != nil && len(f.Pods) > 0 {
			for _, p := range f.Pods {
				b := a.pods[p.ID].fs.get(KindManifestInvalid, "")
				b.f.File = f.Path
				b.add(r)
			}
			return
		}
		if c.kind == KindManifestUnparseable && f != nil && f.Parse == nil && f.Kind == staticpod.KindManifest {
			c.kind = KindTransientParseError
		}
		a.file(path).fs.get(c.kind, "").add(r)
		return
	}
	pods := a.ix.podsFor(r)
	if c.kind == KindNetworkNotReady {
		// Node-level; the records that name a pod are pinned on that pod only.
		nb := a.node.get(KindNetworkNotReady, "")
		if len(pods) == 0 {
			nb.add(r)
		}
	}
	if c.kind == KindRuntimeUnreachable {
		a.node.get(c.kind, "").add(r)
		return
	}
	for _, e := range pods {
		pod := a.pod(e)
		container := c.container
		if !containerKind(c.kind) {
			container = "" // sandbox, network, volumes, removal: about the whole pod
		} else if container == "" {
			container = specContainer(e, r.Image)
		}
		pod.fs.get(c.kind, container).add(r)
	}
}

// specContainer names the container a record without a container name is about: the one whose
// image it names, or the only container of the pod.
func specContainer(e *podEntry, image string) string {
	if len(e.pods) == 0 || e.pods[0].Pod == nil {
		return ""
	}
	spec := e.pods[0].Pod.Spec
	if image != "" {
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			if c.Image == image {
				return c.Name
			}
		}
	}
	if len(spec.Containers) == 1 && len(spec.InitContainers) == 0 {
		return spec.Containers[0].Name
	}
	return ""
}
