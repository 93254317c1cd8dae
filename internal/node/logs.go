package node

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/podref"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// podRef is a pod resolved to its log dir, manifest and node name.
type podRef struct {
	node     string
	dir      *podlog.PodDir       // nil when the pod has no log dir
	manifest *staticpod.StaticPod // nil when no manifest defines it
	ns, name string               // kubelet namespace and pod name
}

// findPod resolves a pod given as manifest name, kubelet pod name (<name>-<node>), static pod ID
// (<ns>-<name>) or UID, in namespace ns (empty: any).
func (l *Local) findPod(r resolved, ns, pod string) (*podRef, error) {
	if pod == "" {
		return nil, errors.New("no pod named")
	}
	s := &Snapshot{Manifests: staticpod.ScanDir(r.ManifestDir)}
	dirs, dirErr := podlog.ScanPodDirs(r.PodLogsDir)
	s.PodLogs = dirs
	nodeName := detectNodeName(l.opts.NodeName, s, l.opts.Root == "").Name
	suffix := "-" + strings.ToLower(nodeName)

	ref := &podRef{node: nodeName}
	for _, p := range s.Manifests.Pods() {
		pns := p.Namespace
		if pns == "" {
			pns = "default"
		}
		if ns != "" && pns != ns {
			continue
		}
		if p.Name == pod || p.ID == pod || (nodeName != "" && p.KubeletName(nodeName) == pod) ||
			ns == "" && (pod == p.Source || pod == filepath.Base(p.Source) || p.UID != "" && pod == p.UID) {
			ref.manifest, ref.ns = p, pns
			if nodeName != "" {
				ref.name = p.KubeletName(nodeName)
			}
			break
		}
	}
	var matches []podlog.PodDir
	for _, d := range dirs {
		if ns != "" && d.Namespace != ns {
			continue
		}
		base := strings.TrimSuffix(d.Name, suffix)
		hit := d.Name == pod || d.UID == pod || (nodeName != "" && base != d.Name && (base == pod || staticpod.ID(d.Namespace, base) == pod))
		if ref.name != "" && d.Name == ref.name && d.Namespace == ref.ns {
			hit = true
		}
		if hit {
			matches = append(matches, d)
		}
	}
	if len(matches) > 0 {
		best := matches[0]
		for _, m := range matches[1:] {
			if m.Namespace != best.Namespace || m.Name != best.Name {
				return nil, fmt.Errorf("pod %q is ambiguous: %s/%s and %s/%s; name it as namespace/pod", pod, best.Namespace, best.Name, m.Namespace, m.Name)
			}
			if newestLog(m).After(newestLog(best)) {
				best = m // the same pod under a new UID (its manifest changed): the live one
			}
		}
		ref.dir, ref.ns, ref.name = &best, best.Namespace, best.Name
	}
	if ref.dir == nil && ref.manifest == nil {
		if dirErr != nil {
			return nil, fmt.Errorf("pod %q: %w (%v)", pod, ErrNotFound, dirErr)
		}
		return nil, fmt.Errorf("%w (no manifest in %s and no log dir in %s names it)", notFound(ns, pod, s, dirs, nodeName), r.ManifestDir, r.PodLogsDir)
	}
	return ref, nil
}

// notFound is the NotFound error for a pod reference, with the closest pods of the manifest dir
// and the pod log dirs as suggestions.
func notFound(ns, pod string, s *Snapshot, dirs []podlog.PodDir, nodeName string) error {
	var cands []podref.Pod
	for _, p := range s.Manifests.Pods() {
		pns := p.Namespace
		if pns == "" {
			pns = "default"
		}
		c := podref.Pod{Namespace: pns, Name: p.Name, ID: p.ID, UID: p.UID, File: p.Source}
		if nodeName != "" {
			c.KubeletName = p.KubeletName(nodeName)
		}
		cands = append(cands, c)
	}
	suffix := "-" + strings.ToLower(nodeName)
	for _, d := range dirs {
		base := strings.TrimSuffix(d.Name, suffix)
		cands = append(cands, podref.Pod{Namespace: d.Namespace, Name: base, ID: staticpod.ID(d.Namespace, base), KubeletName: d.Name, UID: d.UID})
	}
	raw := pod
	if ns != "" {
		raw = ns + "/" + pod
	}
	ref := podref.Ref{Raw: raw, Namespace: ns, Pod: pod}
	return &podref.NotFoundError{Ref: ref, Suggestions: podref.Suggest(ref, cands, 3)}
}

// newestLog is the modification time of the newest current instance log of a pod dir.
func newestLog(d podlog.PodDir) time.Time {
	var t time.Time
	for _, c := range d.Containers {
		if n, ok := podlog.Current(c); ok {
			if fi, err := safefs.Stat(c.InstancePath(n)); err == nil && fi.ModTime().After(t) {
				t = fi.ModTime()
			}
		}
	}
	return t
}

// container picks the container dir: the named one, the only one, or the manifest's first.
func (p *podRef) container(name string) (podlog.ContainerDir, error) {
	if p.dir == nil {
		return podlog.ContainerDir{}, fmt.Errorf("pod %s/%s has no container logs yet (no log dir): %w", p.ns, p.manifest.Name, ErrNotFound)
	}
	var names []string
	for _, c := range p.dir.Containers {
		names = append(names, c.Name)
	}
	if name == "" {
		switch {
		case len(p.dir.Containers) == 1:
			return p.dir.Containers[0], nil
		case p.manifest != nil && p.manifest.Pod != nil && len(p.manifest.Pod.Spec.Containers) > 0:
			name = p.manifest.Pod.Spec.Containers[0].Name
		case len(p.dir.Containers) == 0:
			return podlog.ContainerDir{}, fmt.Errorf("pod %s/%s has no container logs in %s: %w", p.ns, p.name, p.dir.Path, ErrNotFound)
		default:
			return podlog.ContainerDir{}, fmt.Errorf("pod %s/%s has containers %s: choose one with %s/%s:CONTAINER", p.ns, p.name, strings.Join(names, ", "), p.ns, p.name)
		}
	}
	for _, c := range p.dir.Containers {
		if c.Name == name {
			return c, nil
		}
	}
	return podlog.ContainerDir{}, fmt.Errorf("container %q of pod %s/%s: %w (containers with logs: %s)", name, p.ns, p.name, ErrNotFound, strings.Join(names, ", "))
}

// ContainerLog streams a container's log: the last req.Tail lines (< 0: all, 0: none) of the
// current instance (or the previous one), from req.Since ago, then with Follow every new line —
// across rotation and container restarts (a new <n+1>.log) — until ctx is done.
func (l *Local) ContainerLog(ctx context.Context, req LogRequest, fn func(podlog.Line) error) error {
	return withClass(l.containerLog(ctx, req, fn))
}

func (l *Local) containerLog(ctx context.Context, req LogRequest, fn func(podlog.Line) error) error {
	release, err := l.confine()
	if err != nil {
		return err
	}
	defer release()
	r := l.resolve()
	p, err := l.findPod(r, req.Namespace, req.Pod)
	if err != nil {
		return err
	}
	cd, err := p.container(req.Container)
	if err != nil {
		return err
	}
	inst, ok := podlog.Current(cd)
	path := ""
	if req.ContainerID != "" {
		if path, err = l.instanceByID(ctx, r, p, cd, req.ContainerID); err != nil {
			return err
		}
	}
	if req.Previous {
		inst, ok = podlog.Previous(cd)
		if !ok {
			return fmt.Errorf("container %s of pod %s/%s has no previous instance: it has not restarted (%w)", cd.Name, p.ns, p.name, ErrNotFound)
		}
	} else if !ok && path == "" {
		return fmt.Errorf("container %s of pod %s/%s has no log file in %s: %w", cd.Name, p.ns, p.name, cd.Path, ErrNotFound)
	}
	var since time.Time
	if req.Since > 0 {
		since = l.logTime(ctx, r).Add(-req.Since)
	}
	emit := func(line podlog.Line) error {
		if !since.IsZero() && line.TS.Before(since) {
			return nil
		}
		return fn(line)
	}
	follow := req.Follow && !req.Previous
	if path == "" {
		path = cd.InstancePath(inst)
	} else if path != cd.InstancePath(inst) || !ok {
		follow = false // an instance that has ended (another one, or one of an older pod UID)
	}
	if req.Tail < 0 {
		if !follow {
			return podlog.Scan(ctx, path, since, fn)
		}
		return podlog.FollowWith(ctx, path, podlog.FollowOptions{Offset: 0, Next: nextInstance(cd, inst)}, emit)
	}
	lines, end, err := podlog.TailEnd(path, req.Tail)
	if err != nil {
		return err
	}
	for _, line := range lines {
		if err := emit(line); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	return podlog.FollowWith(ctx, path, podlog.FollowOptions{Offset: end, Next: nextInstance(cd, inst)}, emit)
}

// followJournal streams new kubelet journal entries (journalctl -f, none of the history) until
// ctx is done.
func followJournal(ctx context.Context, opts kubeletlog.ScanOptions, fn func(*kubeletlog.Record) error) error {
	bin, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("following the kubelet journal: journalctl not found: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "-u", "kubelet", "-o", "json", "--no-pager", "-f", "-n", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("following the kubelet journal: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("following the kubelet journal: starting journalctl: %w", err)
	}
	_, serr := kubeletlog.Scan(ctx, out, opts, fn)
	if cmd.Process != nil {
		_ = cmd.Process.Kill() // ours, by PID: fn failed or ctx ended
	}
	werr := cmd.Wait()
	if serr != nil {
		return serr
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("following the kubelet journal: journalctl ended: %v", werr)
}

// nextInstance tells FollowWith about the log of the next container instance once it appears.
func nextInstance(cd podlog.ContainerDir, cur int) func() string {
	return func() string {
		for _, n := range podlog.Instances(cd.Path) {
			if n > cur {
				cur = n
				return cd.InstancePath(n)
			}
		}
		return ""
	}
}

// instanceByID finds the log file of the instance of container cd whose runtime ID is id (or
// starts with it), in any log dir of the pod (an instance of an older pod UID too): from the
// kubelet's /var/log/containers links (they name the ID and point at the instance's file, and
// outlive a stopped runtime), else from the runtime's listing (pod UID and attempt). An ID that
// names no instance, or several, is an error that names it and the instances there are.
func (l *Local) instanceByID(ctx context.Context, r resolved, p *podRef, cd podlog.ContainerDir, id string) (string, error) {
	id = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(id)), "containerd://")
	if id == "" {
		return "", errors.New("empty container ID")
	}
	type hit struct {
		id   string
		file podlog.InstanceFile
	}
	var hits, all []hit
	seen := map[string]bool{}
	add := func(cid string, f podlog.InstanceFile) {
		if seen[cid] {
			return
		}
		seen[cid] = true
		all = append(all, hit{cid, f})
		if strings.HasPrefix(cid, id) {
			hits = append(hits, hit{cid, f})
		}
	}
	for cid, f := range podlog.LinkedInstances(r.ContainerLogsDir, p.ns, p.name, cd.Name) {
		add(cid, f)
	}
	if len(hits) == 0 && !l.opts.NoRuntime {
		if rt := l.runtime(ctx, r, func(string, error) {}); rt != nil {
			for _, c := range rt.Containers {
				if c.Name == cd.Name && c.PodNamespace == p.ns && c.PodName == p.name {
					add(c.ID, podlog.InstanceFile{PodDir: p.ns + "_" + p.name + "_" + c.PodUID, Container: c.Name, Instance: int(c.Attempt)})
				}
			}
		}
	}
	switch {
	case len(hits) > 1:
		var ids []string
		for _, h := range hits {
			ids = append(ids, shortID(h.id))
		}
		return "", fmt.Errorf("container ID %s of %s/%s:%s is %w: it starts %s; give more of it", id, p.ns, p.name, cd.Name, podref.ErrAmbiguous, strings.Join(ids, ", "))
	case len(hits) == 0:
		known := "the runtime and " + r.ContainerLogsDir + " name none"
		if len(all) > 0 {
			sort.Slice(all, func(i, j int) bool { return all[i].file.String() < all[j].file.String() })
			var ids []string
			for _, h := range all {
				ids = append(ids, fmt.Sprintf("%s (%s)", shortID(h.id), instanceName(h.file, cd)))
			}
			known = "its instances: " + strings.Join(ids, ", ")
		}
		return "", fmt.Errorf("container %s of pod %s/%s has no instance with ID %s (%s): %w", cd.Name, p.ns, p.name, id, known, ErrNotFound)
	}
	h := hits[0]
	path := filepath.Join(r.PodLogsDir, h.file.PodDir, h.file.Container, strconv.Itoa(h.file.Instance)+".log")
	if _, err := safefs.Stat(path); err != nil {
		return "", fmt.Errorf("container %s of pod %s/%s: instance %s (%s) has no log file left (%s): %w", cd.Name, p.ns, p.name, shortID(h.id), instanceName(h.file, cd), path, ErrNotFound)
	}
	return path, nil
}

// instanceName says which instance f is: "instance N", and of which pod UID when it is not the
// one of cd's log dir (the pod before its manifest changed).
func instanceName(f podlog.InstanceFile, cd podlog.ContainerDir) string {
	if f.PodDir == filepath.Base(filepath.Dir(cd.Path)) {
		return fmt.Sprintf("instance %d", f.Instance)
	}
	uid := f.PodDir[strings.LastIndexByte(f.PodDir, '_')+1:]
	return fmt.Sprintf("instance %d of pod UID %s", f.Instance, shortID(uid))
}

// shortID is a container ID the way crictl and spdoc containers print it (13 characters).
func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

// KubeletLog calls fn for kubelet log records — all of them, or with req.Pod only those about that
// pod (see MatchesPod) — from req.Since ago (default: journald 1h, files whole), the last req.Tail
// (< 0 or 0 with no Follow: all), then with Follow new ones (files only) until ctx is done.
func (l *Local) KubeletLog(ctx context.Context, req KubeletLogRequest, fn func(kubeletlog.Record) error) error {
	return withClass(l.kubeletLogRecords(ctx, req, fn))
}

func (l *Local) kubeletLogRecords(ctx context.Context, req KubeletLogRequest, fn func(kubeletlog.Record) error) error {
	release, err := l.confine()
	if err != nil {
		return err
	}
	defer release()
	r := l.resolve()
	match := func(*kubeletlog.Record) bool { return true }
	var prefilter func([]byte) bool
	if req.Pod != "" {
		p, err := l.findPod(r, req.Namespace, req.Pod)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		ns, name, uid, path := req.Namespace, req.Pod, "", ""
		if p != nil {
			ns, name = p.ns, p.name
			if p.dir != nil {
				uid = p.dir.UID
			}
			if p.manifest != nil {
				path = p.manifest.Source
				if uid == "" {
					uid = p.manifest.UID
				}
			}
		}
		var needles [][]byte
		for _, s := range []string{name, uid, path} {
			if s != "" {
				needles = append(needles, []byte(s))
			}
		}
		prefilter = bytesHasAny(needles)
		match = func(rec *kubeletlog.Record) bool { return MatchesPod(rec, ns, name, uid, path) }
	}
	tail := req.Tail
	if tail == 0 && !req.Follow {
		tail = -1
	}
	var ring *keepRecords
	if tail > 0 {
		ring = &keepRecords{max: tail}
	}
	src, _, err := l.scanKubeletLog(ctx, r, req.Since, prefilter, func(rec *kubeletlog.Record) error {
		switch {
		case !match(rec):
		case ring != nil:
			ring.add(rec)
		case tail < 0:
			return fn(*rec)
		}
		return nil
	})
	if err != nil && !(errors.Is(err, kubeletlog.ErrNoJournalEntries)) {
		if req.Follow && ctx.Err() != nil {
			return nil // a follow ends with its context, even while it still reads the history
		}
		return err
	}
	if ring != nil {
		for _, rec := range ring.list() {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	if !req.Follow {
		return nil
	}
	follow := func(rec *kubeletlog.Record) error {
		if !match(rec) {
			return nil
		}
		return fn(*rec)
	}
	switch src {
	case "stdin":
		return nil // stdin was read to its end
	case "auto":
		return fmt.Errorf("no kubelet log to follow: name one with --kubelet-log FILE|journal")
	case KubeletLogJournal:
		err = followJournal(ctx, kubeletlog.ScanOptions{Prefilter: prefilter, Source: KubeletLogJournal}, follow)
	default:
		err = kubeletlog.Follow(ctx, src, kubeletlog.ScanOptions{Prefilter: prefilter}, follow)
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil
	}
	return err
}
