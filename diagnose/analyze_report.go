// Report phase: builders become sorted findings with texts (the catalogue) and collapsed evidence.

package diagnose

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/podview"
)

// report assembles the Report: texts, evidence, ordering, summary.
func (a *analyzer) report() *Report {
	s := a.s
	r := &Report{Taken: s.Taken, Pods: []PodReport{}, Files: []FileReport{}}
	r.Node = NodeReport{Name: a.ix.nodeName, ManifestDir: a.dir, Findings: []Finding{}}
	if r.Node.ManifestDir == "" && s.StaticPodURL != nil {
		r.Node.ManifestDir = s.StaticPodURL.URL // the kubelet's only static pod source
	}
	switch {
	case s.Runtime == nil:
		r.Node.Runtime = "not consulted"
	case !s.Runtime.Reachable:
		r.Node.Runtime = "unreachable"
	case s.Runtime.Status != nil:
		r.Node.Runtime = strings.TrimSpace(s.Runtime.Status.RuntimeName + " " + s.Runtime.Status.RuntimeVersion)
	default:
		r.Node.Runtime = "reachable"
	}
	if s.KubeletLog != nil {
		r.Node.KubeletLog = s.KubeletLog.Source
	}
	if r.Node.KubeletLog == "" {
		r.Node.KubeletLog = s.Paths.KubeletLog
	}
	if s.ControlPlane != nil {
		r.Node.KubeletAPI = kubeletAPIText(s.ControlPlane.Kubelet)
	}
	r.Node.Log = a.logReport()
	tc := textCtx{dir: a.dir, node: a.ix.nodeName, url: s.StaticPodURL}
	if s.Runtime != nil {
		tc.endpoint = s.Runtime.Endpoint
	}
	r.Node.Findings = a.finish(&a.node, tc)
	for _, id := range a.ix.sortedIDs() {
		pod := a.pods[id]
		e := pod.e
		pr := pod.rep
		pr.ID, pr.Namespace, pr.Name, pr.KubeletName, pr.Manifest = e.id, e.ns, e.name, e.kubeletName, e.manifest
		pr.UID = a.currentUID(pod)
		for _, vc := range pod.view.Containers {
			c := vc.Current
			cr := ContainerReport{Name: c.Name, ID: c.ID, Image: c.Image, State: c.State.Short(),
				Ready: vc.Running(), RestartCount: c.RestartCount, Reason: c.Reason, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt}
			if c.State == cri.ContainerExited {
				code := c.ExitCode
				cr.ExitCode = &code
			}
			pr.Restarts += c.RestartCount
			pr.Containers = append(pr.Containers, cr)
		}
		applyKubeletStatus(&pr)
		a.statusSource(pod, &pr)
		if len(pod.view.Containers) == 0 {
			// No runtime: the pod log files number instances by restart count.
			for _, t := range e.tails {
				pr.Restarts += t.Instance
			}
		}
		ptc := tc
		ptc.pod, ptc.file, ptc.orphan = &pr, e.manifest, e.orphan
		ptc.spec = e.pods
		pr.Findings = a.finish(&pod.fs, ptc)
		for i := range pr.Findings {
			pr.Findings[i].Pod = id
		}
		r.Pods = append(r.Pods, pr)
	}
	paths := append([]string(nil), a.fileO...)
	sort.Strings(paths)
	for _, p := range paths {
		file := a.files[p]
		fr := FileReport{Path: p}
		if file.file != nil {
			for _, sp := range file.file.Pods {
				if sp != nil {
					fr.Pods = append(fr.Pods, sp.ID)
				}
			}
		}
		ftc := tc
		ftc.file = p
		ftc.fileObj = file.file
		fr.Findings = a.finish(&file.fs, ftc)
		for i := range fr.Findings {
			fr.Findings[i].File = p
		}
		r.Files = append(r.Files, fr)
	}
	r.Summary = summarize(r)
	return r
}

func (a *analyzer) currentUID(pod *podState) string {
	if pod.view.Sandbox != nil {
		return pod.view.Sandbox.UID
	}
	for _, p := range pod.e.pods {
		if p.UID != "" {
			return p.UID
		}
	}
	var uids []string
	for u := range pod.e.uids {
		uids = append(uids, u)
	}
	if len(uids) == 1 {
		return uids[0]
	}
	// Several UIDs (the manifest changed): the pod log dirs and records can't tell which is current.
	return ""
}

// finish turns builders into sorted findings with texts and collapsed evidence.
func (a *analyzer) finish(fs *findingSet, tc textCtx) []Finding {
	out := make([]Finding, 0, len(fs.list))
	for _, b := range fs.list {
		f := b.f
		ev, omitted := collapse(b.recs, a.opts.MaxEvidence, a.opts.Memo)
		f.Evidence = make([]Evidence, 0, len(b.pre)+len(ev)+len(b.post))
		f.Evidence = append(f.Evidence, b.pre...)
		f.Evidence = append(f.Evidence, ev...)
		f.Evidence = append(f.Evidence, b.post...)
		f.EvidenceOmitted = omitted
		describe(&f, b, tc)
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

func summarize(r *Report) Summary {
	var s Summary
	count := func(fs []Finding) (bad bool) {
		for _, f := range fs {
			if f.History {
				continue
			}
			switch f.Severity {
			case SeverityError:
				s.Errors++
				bad = true
			case SeverityWarning:
				s.Warnings++
				bad = true
			}
		}
		return bad
	}
	count(r.Node.Findings)
	for _, f := range r.Files {
		count(f.Findings)
	}
	for _, p := range r.Pods {
		s.Pods++
		if !count(p.Findings) && p.State == podview.Running {
			s.Healthy++
		}
	}
	return s
}

func baseName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}
