package diagnose

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// podEntry is everything the correlation learned about one static pod (by ID <ns>-<name>).
type podEntry struct {
	id, ns, name string
	kubeletName  string
	manifest     string
	pods         []*staticpod.StaticPod // one per defining file (more than one: DuplicatePod)
	orphan       bool                   // known only from the log/runtime: its manifest is gone
	uids         map[string]bool
	sandboxes    []cri.Sandbox
	containers   []cri.Container
	tails        []node.ContainerLogTail
	records      []kubeletlog.Record // attributed records, in log order
}

// index attributes records, runtime objects and log tails to static pods and manifest files.
type index struct {
	nodeName string
	dirs     []string // manifest dirs: ours and the kubelet's "Adding static pod path"
	pods     map[string]*podEntry
	order    []string                   // pod IDs in manifest order, orphans last
	byKName  map[string]*podEntry       // "<ns>/<kubelet name>"
	byUID    map[string]*podEntry       // pod UID (config hash)
	byCID    map[string]*podEntry       // container ID
	byName   map[string]*podEntry       // kubelet name in any namespace (nil: ambiguous), built on first use
	files    map[string]*staticpod.File // by path
	byBase   map[string]*staticpod.File // by base name
	fileList []*staticpod.File
}

var (
	// "ns/name" inside klog pods=[…] lists.
	reNSName = regexp.MustCompile(`([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)`)
	// {"name":…,"namespace":…} objects inside JSON "pods":[…] lists.
	rePodObj = regexp.MustCompile(`"name":"([^"]+)","namespace":"([^"]*)"|"namespace":"([^"]*)","name":"([^"]+)"`)
)

// podRefs returns the namespace/name pairs of a pods=[…] value in either log format.
func podRefs(v string) (out [][2]string) {
	if v == "" {
		return nil
	}
	if strings.Contains(v, `"name"`) {
		for _, m := range rePodObj.FindAllStringSubmatch(v, -1) {
			if m[1] != "" {
				out = append(out, [2]string{m[2], m[1]})
			} else {
				out = append(out, [2]string{m[3], m[4]})
			}
		}
		return out
	}
	for _, m := range reNSName.FindAllStringSubmatch(v, -1) {
		out = append(out, [2]string{m[1], m[3]})
	}
	return out
}

func newIndex(s *node.Snapshot, opts Options) *index {
	ix := &index{
		pods:    map[string]*podEntry{},
		byKName: map[string]*podEntry{},
		byUID:   map[string]*podEntry{},
		byCID:   map[string]*podEntry{},
		files:   map[string]*staticpod.File{},
		byBase:  map[string]*staticpod.File{},
	}
	if s.Manifests != nil || s.StaticPodURL != nil {
		if s.Manifests != nil && s.Manifests.Dir != "" {
			ix.dirs = append(ix.dirs, filepath.Clean(s.Manifests.Dir))
		}
		for _, f := range s.SourceFiles() {
			if f == nil {
				continue
			}
			ix.fileList = append(ix.fileList, f)
			ix.files[f.Path] = f
			if _, dup := ix.byBase[f.Name]; !dup {
				ix.byBase[f.Name] = f
			}
			if f.Kind != staticpod.KindManifest && f.Kind != "" {
				continue // dotfiles and directories: the kubelet runs nothing from them
			}
			for _, p := range f.Pods {
				if p == nil {
					continue
				}
				e := ix.pods[p.ID]
				if e == nil {
					e = &podEntry{id: p.ID, ns: nsOrDefault(p.Namespace), name: p.Name, manifest: f.Path, uids: map[string]bool{}}
					ix.pods[p.ID] = e
					ix.order = append(ix.order, p.ID)
				}
				e.pods = append(e.pods, p)
				if p.UID != "" {
					e.uids[p.UID] = true
				}
			}
		}
	}
	var records []kubeletlog.Record
	if s.KubeletLog != nil {
		records = s.KubeletLog.Records
	}
	for _, r := range records {
		if r.Msg == "Adding static pod path" && r.Path != "" {
			ix.dirs = append(ix.dirs, filepath.Clean(r.Path))
		}
	}
	ix.nodeName = opts.NodeName
	if ix.nodeName == "" {
		ix.nodeName = s.Node.Name
	}
	if ix.nodeName == "" {
		ix.nodeName = ix.detectNodeName(s, records)
	}
	for _, id := range ix.order {
		e := ix.pods[id]
		if ix.nodeName != "" {
			e.kubeletName = staticpod.PodName(e.name, ix.nodeName)
			ix.byKName[e.ns+"/"+e.kubeletName] = e
		}
	}
	// Learn UIDs from every source that names a pod and its UID together.
	if s.Runtime != nil {
		for _, sb := range s.Runtime.Sandboxes {
			if e := ix.learn(sb.Namespace, sb.Name, sb.UID, isFileSource(sb.Annotations)); e != nil {
				e.sandboxes = append(e.sandboxes, sb)
			}
		}
		for _, c := range s.Runtime.Containers {
			e := ix.learn(c.PodNamespace, c.PodName, c.PodUID, false)
			if e == nil && c.PodUID != "" {
				e = ix.byUID[c.PodUID]
			}
			if e != nil {
				e.containers = append(e.containers, c)
				if c.ID != "" {
					ix.byCID[c.ID] = e
				}
			}
		}
	}
	for _, d := range s.PodLogs {
		ix.learn(d.Namespace, d.Name, d.UID, false)
	}
	for _, r := range records {
		if r.PodUID != "" && r.PodName != "" {
			ix.learn(r.PodNamespace, r.PodName, r.PodUID, false)
		}
		text := r.Msg + " " + r.Err
		for _, m := range nameNSUIDs(text) {
			ix.learn(m.ns, m.name, m.uid, false)
		}
		for _, m := range podUIDTexts(text) {
			// pod "<kubelet name>" (UID: "…") carries no namespace: accept a unique name match.
			if e := ix.byNameAnyNS(m.name); e != nil {
				ix.learn(e.ns, m.name, m.uid, false)
			}
		}
	}
	for cid, ref := range s.ContainerIDs {
		parts := strings.SplitN(ref, "/", 3)
		if len(parts) >= 2 {
			if e := ix.byKName[parts[0]+"/"+parts[1]]; e != nil {
				ix.byCID[cid] = e
			}
		}
	}
	for _, t := range s.LogTails {
		e := ix.byUID[t.UID]
		if e == nil {
			ns, name, _ := strings.Cut(t.Pod, "/")
			e = ix.byKName[ns+"/"+name]
		}
		if e != nil {
			e.tails = append(e.tails, t)
		}
	}
	return ix
}

func isFileSource(ann map[string]string) bool { return ann["kubernetes.io/config.source"] == "file" }

func nsOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// learn records that the pod ns/kubeletName has uid, and returns its entry. A static pod of the
// runtime whose manifest is gone (orphan) gets an entry when orphanOK is set.
func (ix *index) learn(ns, kname, uid string, orphanOK bool) *podEntry {
	if kname == "" {
		return nil
	}
	ns = nsOrDefault(ns)
	e := ix.byKName[ns+"/"+kname]
	if e == nil && uid != "" {
		e = ix.byUID[uid]
	}
	if e == nil && orphanOK && ix.nodeName != "" {
		suffix := "-" + strings.ToLower(ix.nodeName)
		if name, ok := strings.CutSuffix(kname, suffix); ok && name != "" {
			e = ix.orphan(ns, name)
		}
	}
	if e == nil {
		return nil
	}
	if uid != "" {
		e.uids[uid] = true
		if _, taken := ix.byUID[uid]; !taken {
			ix.byUID[uid] = e
		}
	}
	return e
}

// byNameAnyNS finds the pod with kubelet name kname in any namespace, if exactly one has it.
func (ix *index) byNameAnyNS(kname string) *podEntry {
	if ix.byName == nil {
		ix.byName = map[string]*podEntry{}
		for k, e := range ix.byKName {
			_, name, _ := strings.Cut(k, "/")
			if prev, seen := ix.byName[name]; seen && prev != e {
				ix.byName[name] = nil // ambiguous
				continue
			}
			ix.byName[name] = e
		}
	}
	return ix.byName[kname]
}

// orphan returns (creating it) the entry for a static pod that has no manifest any more.
func (ix *index) orphan(ns, name string) *podEntry {
	id := staticpod.ID(ns, name)
	if e := ix.pods[id]; e != nil {
		return e
	}
	e := &podEntry{id: id, ns: ns, name: name, orphan: true, uids: map[string]bool{}}
	if ix.nodeName != "" {
		e.kubeletName = staticpod.PodName(name, ix.nodeName)
		ix.byKName[ns+"/"+e.kubeletName] = e
		ix.byName = nil
	}
	ix.pods[id] = e
	ix.order = append(ix.order, id)
	return e
}

// detectNodeName finds the suffix the kubelet appended to manifest names: from sandboxes, pod log
// dirs and record pod names ("<name>-<node>"), the most frequent wins.
func (ix *index) detectNodeName(s *node.Snapshot, records []kubeletlog.Record) string {
	counts := map[string]int{}
	try := func(kname string) {
		for _, e := range ix.pods {
			if rest, ok := strings.CutPrefix(kname, e.name+"-"); ok && rest != "" {
				counts[rest]++
			}
		}
	}
	if s.Runtime != nil {
		for _, sb := range s.Runtime.Sandboxes {
			try(sb.Name)
		}
	}
	for _, d := range s.PodLogs {
		try(d.Name)
	}
	for _, r := range records {
		try(r.PodName)
	}
	best, n := "", 0
	for k, c := range counts {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return best
}

// fileFor finds the manifest file a record is about: its path key (exact, else by base name when
// the kubelet's dir differs from ours, as in --root mode), else a manifest path inside its text.
func (ix *index) fileFor(r *kubeletlog.Record) (path string, f *staticpod.File) {
	if r.Path != "" && !ix.isManifestDir(r.Path) {
		if f := ix.files[r.Path]; f != nil {
			return f.Path, f
		}
		if f := ix.byBase[filepath.Base(r.Path)]; f != nil {
			return f.Path, f
		}
		return r.Path, nil
	}
	text := r.Err + " " + r.Msg
	for _, f := range ix.fileList {
		if strings.Contains(text, f.Path) {
			return f.Path, f
		}
	}
	for _, d := range ix.dirs {
		i := strings.Index(text, d+"/")
		if i < 0 {
			continue
		}
		rest := text[i+len(d)+1:]
		end := strings.IndexAny(rest, ":\"' \\,")
		if end >= 0 {
			rest = rest[:end]
		}
		if rest == "" {
			continue
		}
		if f := ix.byBase[rest]; f != nil {
			return f.Path, f
		}
		return d + "/" + rest, nil
	}
	return "", nil
}

func (ix *index) isManifestDir(p string) bool {
	p = filepath.Clean(p)
	for _, d := range ix.dirs {
		if d == p {
			return true
		}
	}
	return false
}

// podsFor attributes a record to static pods: by pod object, UID, container ID, pod names and
// UIDs inside the text, and pods=[…] lists. Most records name one pod.
func (ix *index) podsFor(r *kubeletlog.Record) []*podEntry {
	var out []*podEntry
	seen := map[*podEntry]bool{}
	add := func(e *podEntry) {
		if e != nil && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	if r.PodName != "" {
		add(ix.byKName[nsOrDefault(r.PodNamespace)+"/"+r.PodName])
	}
	if r.PodUID != "" {
		add(ix.byUID[r.PodUID])
	}
	if r.ContainerID != "" {
		add(ix.byCID[r.ContainerID])
	}
	if len(out) > 0 {
		return out
	}
	text := r.Msg + " " + r.Err
	for _, m := range nameNSUIDs(text) {
		add(ix.byKName[m.ns+"/"+m.name])
		add(ix.byUID[m.uid])
	}
	// bare UIDs cover (UID: "…") and podName:<uid> too
	uids, cids := hexRuns(text)
	for _, uid := range uids {
		add(ix.byUID[uid])
	}
	for _, cid := range cids {
		add(ix.byCID[cid])
	}
	for _, k := range []string{"pods", "podName", "podID"} {
		v := r.Fields[k]
		if v == "" {
			continue
		}
		add(ix.byUID[v])
		for _, ref := range podRefs(v) {
			add(ix.byKName[nsOrDefault(ref[0])+"/"+ref[1]])
		}
		if k == "pods" {
			// Before 1.21 SyncLoop named its pods name_ns(uid) (format.Pods).
			for _, m := range nameNSUIDs(v) {
				add(ix.byKName[m.ns+"/"+m.name])
			}
		}
		if k == "podName" {
			add(ix.byKName[nsOrDefault(r.PodNamespace)+"/"+v])
		}
	}
	return out
}

// removedPods lists "ns/name" of static pods in a SyncLoop REMOVE record whose manifests are gone,
// creating orphan entries for them.
func (ix *index) removedOrphans(r *kubeletlog.Record) {
	if r.Fields["source"] != "file" && !strings.Contains(r.Raw, `source="file"`) && !strings.Contains(r.Raw, `"source":"file"`) {
		return
	}
	for _, ref := range podRefs(r.Fields["pods"]) {
		ix.learn(ref[0], ref[1], "", true)
	}
}

func (ix *index) sortedIDs() []string {
	ids := append([]string(nil), ix.order...)
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := ix.pods[ids[i]], ix.pods[ids[j]]
		if a.orphan != b.orphan {
			return !a.orphan
		}
		return ids[i] < ids[j]
	})
	return ids
}
