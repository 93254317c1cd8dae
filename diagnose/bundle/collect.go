package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/redact"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// rawKind says how a collected file is redacted.
type rawKind int

const (
	rawManifest rawKind = iota // YAML/JSON: redact.Manifest (line numbers kept)
	rawLog                     // text lines: a redact.LineRedactor over the file
	rawCRILog                  // CRI log lines: a redact.LineRedactor over the messages
)

type rawFile struct {
	name string
	kind rawKind
	data []byte
}

// collector gathers everything unredacted first: the redaction key is derived from all of it.
type collector struct {
	ctx  context.Context // the caller's context bounded by Options.TotalTimeout
	c    node.Client
	opts Options

	snap    *node.Snapshot
	report  *diagnose.Report
	files   []rawFile
	dirs    []string
	links   []entry
	errs    []SourceError
	logUsed int64
}

func (col *collector) fail(source string, err error) {
	col.errs = append(col.errs, SourceError{Source: source, Error: err.Error()})
}

// source calls fn with the per-source timeout. fn runs in its own goroutine and hands its
// result back over a channel, so a source that ignores its context cannot hold the bundle past
// the timeout (its late result is dropped) and never shares memory with the collector.
func source[T any](col *collector, name string, fn func(ctx context.Context) (T, error)) (T, bool) {
	ctx, cancel := context.WithTimeout(col.ctx, col.opts.SourceTimeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			col.fail(name, r.err)
			return r.v, false
		}
		return r.v, true
	case <-ctx.Done():
		if col.ctx.Err() != nil {
			col.fail(name, fmt.Errorf("not read: the bundle's %s were up: %w", col.opts.TotalTimeout, ctx.Err()))
		} else {
			col.fail(name, fmt.Errorf("gave up after %s: %w", col.opts.SourceTimeout, ctx.Err()))
		}
		var zero T
		return zero, false
	}
}

func (col *collector) collect() error {
	snap := col.opts.Snapshot
	if snap == nil {
		got, ok := source(col, "snapshot", col.c.Snapshot)
		if !ok {
			return fmt.Errorf("reading the node (%s): %s", col.c.Describe(), col.errs[len(col.errs)-1].Error)
		}
		if got == nil {
			return fmt.Errorf("reading the node (%s): no snapshot", col.c.Describe())
		}
		snap = got
	}
	s := *snap
	if s.Paths.Root == "" || s.Taken.IsZero() {
		s.Taken = col.opts.Now() // a copy keeps its capture time (node.Local sets it)
	}
	col.snap = &s
	for _, e := range s.Errors {
		col.fail("snapshot/"+e.Source, errors.New(e.Error))
	}
	col.report = col.opts.Analyze(col.snap)

	col.manifests()
	col.configFiles()
	col.kernelLog()
	col.kubeletLog()
	col.containerLogs()
	return nil
}

// manifests copies the manifest directory as the kubelet sees it to etc/kubernetes/manifests.
func (col *collector) manifests() {
	scan := col.snap.Manifests
	if scan == nil || !scan.Exists {
		return
	}
	col.dirs = append(col.dirs, ManifestDir)
	files := append([]*staticpod.File(nil), scan.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		name := path.Join(ManifestDir, f.Name)
		switch {
		case f.Kind == staticpod.KindDir:
			// The kubelet does not recurse; an empty dir keeps the DirectoryIgnored finding.
			col.dirs = append(col.dirs, name)
		case f.Kind == staticpod.KindUnreadable:
			col.fail("manifest "+f.Path, errors.New(orDefault(f.Err, "unreadable")))
		case f.Link != "" && !insideDir(scan.Dir, f.Path):
			// It may be /etc/shadow: record where it points, never its bytes.
			col.fail("manifest "+f.Path, fmt.Errorf("a symlink to %q, outside the manifest dir: its target's path is recorded, its content is not copied", f.Link))
		default:
			col.file("manifest "+f.Path, f.Path, name, rawManifest)
		}
	}
}

// insideDir reports whether path, all symlinks followed, lies under dir.
func insideDir(dir, path string) bool {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	rel, err := filepath.Rel(dir, resolved)
	return err == nil && filepath.IsLocal(rel)
}

// configFiles copies the agent config and the kubelet config when they exist.
func (col *collector) configFiles() {
	agentCfg := col.opts.AgentConfig
	if root := col.snap.Paths.Root; root != "" {
		agentCfg = filepath.Join(root, agentCfg)
	}
	if _, err := safefs.Stat(agentCfg); err == nil {
		col.file("agent-config "+agentCfg, agentCfg, AgentConfigPath, rawManifest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		col.fail("agent-config "+agentCfg, err)
	}
	if kc := col.snap.Paths.KubeletConfig; kc != "" {
		col.file("kubelet-config "+kc, kc, KubeletConfig, rawManifest)
	}
}

// kernelLog copies the kernel log the snapshot read (--kernel-log, a copy's var/log/dmesg) as
// var/log/dmesg, where --root and --bundle-in read it back.
func (col *collector) kernelLog() {
	if k := col.snap.Kernel; k != nil && k.Source != "" && k.Error == "" {
		col.file("kernel-log "+k.Source, k.Source, KernelLogPath, rawLog)
	}
}

// file reads src (capped, with the source timeout) into the bundle as name.
func (col *collector) file(what, src, name string, kind rawKind) {
	max := col.opts.FileMaxBytes
	root := col.snap.Paths.Root
	data, ok := source(col, what, func(context.Context) ([]byte, error) {
		if root != "" {
			// A copied node's files are read inside it, however its symlinks point.
			release, err := safefs.Confine(root)
			if err != nil {
				return nil, err
			}
			defer release()
		}
		f, err := safefs.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, max+1))
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", src, err)
		}
		if int64(len(data)) > max {
			return nil, fmt.Errorf("%q is larger than %d bytes: left out", src, max)
		}
		return data, nil
	})
	if ok {
		col.files = append(col.files, rawFile{name: name, kind: kind, data: data})
	}
}

// kubeletLog writes the kubelet log window plus every record the diagnosis used, time-ordered,
// as var/log/kubelet.log. Used records are always kept; window lines fill the remaining budget,
// newest first.
func (col *collector) kubeletLog() {
	var used []kubeletlog.Record
	if kl := col.snap.KubeletLog; kl != nil {
		used = kl.Records
	}
	budget := col.opts.KubeletLogMaxBytes
	seen := make(map[string]bool, len(used))
	for _, r := range used {
		seen[recKey(r)] = true
		budget -= int64(len(r.Raw)) + 1
	}
	window, ok := source(col, "kubelet-log", func(ctx context.Context) (*ringBytes, error) {
		ring := &ringBytes{max: max(budget, 0)}
		err := col.c.KubeletLog(ctx, node.KubeletLogRequest{Since: col.opts.Since, Tail: -1}, func(r kubeletlog.Record) error {
			if !seen[recKey(r)] {
				ring.add(r)
			}
			return nil
		})
		return ring, err
	})
	if !ok || window == nil {
		window = &ringBytes{}
	}
	if window.dropped > 0 {
		col.fail("kubelet-log", fmt.Errorf("window cut to %d bytes: %d older lines left out", col.opts.KubeletLogMaxBytes, window.dropped))
	}
	all := append(append([]kubeletlog.Record(nil), used...), window.list()...)
	if len(all) == 0 {
		return
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.TS.Equal(b.TS) {
			return a.TS.Before(b.TS)
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Offset < b.Offset
	})
	var buf bytes.Buffer
	for _, r := range all {
		buf.WriteString(strings.TrimRight(r.Raw, "\r\n"))
		buf.WriteByte('\n')
	}
	col.files = append(col.files, rawFile{name: KubeletLogPath, kind: rawLog, data: buf.Bytes()})
}

func recKey(r kubeletlog.Record) string {
	return r.Source + "\x00" + strconv.FormatInt(r.Offset, 10) + "\x00" + r.Raw
}

// ringBytes keeps the newest records within max bytes of raw text.
type ringBytes struct {
	max     int64
	size    int64
	recs    []kubeletlog.Record
	dropped int
}

func (r *ringBytes) add(rec kubeletlog.Record) {
	r.recs = append(r.recs, rec)
	r.size += int64(len(rec.Raw)) + 1
	drop := 0
	for r.size > r.max && drop < len(r.recs) {
		r.size -= int64(len(r.recs[drop].Raw)) + 1
		drop++
	}
	if drop > 0 {
		r.dropped += drop
		r.recs = append(r.recs[:0], r.recs[drop:]...)
	}
}

func (r *ringBytes) list() []kubeletlog.Record { return r.recs }

// containerLogs writes the current and previous log tail of every static pod container in CRI
// format, plus the /var/log/containers links that map container IDs to them.
func (col *collector) containerLogs() {
	s := col.snap
	if s.Node.Name == "" {
		return
	}
	suffix := "-" + strings.ToLower(s.Node.Name)
	dirs := append([]podlog.PodDir(nil), s.PodLogs...)
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].Path < dirs[j].Path })
	current := map[string]string{} // ns/pod/container → bundle path of the current log
	for _, pd := range dirs {
		if !strings.HasSuffix(pd.Name, suffix) {
			continue
		}
		dirName := path.Join(PodLogsDir, filepath.Base(pd.Path))
		col.dirs = append(col.dirs, dirName)
		for _, cd := range pd.Containers {
			if cur, ok := podlog.Current(cd); ok {
				name := path.Join(dirName, cd.Name, strconv.Itoa(cur)+".log")
				col.containerLog(pd, cd.Name, false, name)
				current[pd.Namespace+"/"+pd.Name+"/"+cd.Name] = name
			}
			if prev, ok := podlog.Previous(cd); ok {
				col.containerLog(pd, cd.Name, true, path.Join(dirName, cd.Name, strconv.Itoa(prev)+".log"))
			}
		}
	}
	ids := make([]string, 0, len(s.ContainerIDs))
	for id := range s.ContainerIDs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ref := s.ContainerIDs[id]
		parts := strings.SplitN(ref, "/", 3)
		if len(parts) != 3 || !strings.HasSuffix(parts[1], suffix) {
			continue
		}
		target, ok := current[ref]
		if !ok {
			continue
		}
		name := path.Join(ContainerLogsDir, parts[1]+"_"+parts[0]+"_"+parts[2]+"-"+id+".log")
		rel := "../" + strings.TrimPrefix(target, "var/log/")
		col.links = append(col.links, entry{name: name, typ: typeSymlink, link: rel})
	}
}

func (col *collector) containerLog(pd podlog.PodDir, container string, previous bool, name string) {
	src := "container-log " + pd.Namespace + "/" + pd.Name + "/" + container
	if previous {
		src += " (previous)"
	}
	if col.logUsed >= col.opts.ContainerLogsTotalBytes {
		col.fail(src, fmt.Errorf("left out: container logs already take %d bytes", col.opts.ContainerLogsTotalBytes))
		return
	}
	type tail struct {
		lines []string
		size  int64
	}
	t, ok := source(col, src, func(ctx context.Context) (tail, error) {
		var t tail
		err := col.c.ContainerLog(ctx, node.LogRequest{
			Namespace: pd.Namespace, Pod: pd.UID, Container: container, Previous: previous, Tail: col.opts.LogTail,
		}, func(l podlog.Line) error {
			s := criLine(l)
			t.lines = append(t.lines, s)
			t.size += int64(len(s)) + 1
			return nil
		})
		return t, err
	})
	if !ok {
		return
	}
	lines, size := t.lines, t.size
	// Keep the end within the per-file cap.
	drop := 0
	for size > col.opts.ContainerLogMaxBytes && drop < len(lines) {
		size -= int64(len(lines[drop])) + 1
		drop++
	}
	if drop > 0 {
		col.fail(src, fmt.Errorf("cut to its last %d bytes: %d lines left out", col.opts.ContainerLogMaxBytes, drop))
	}
	var buf bytes.Buffer
	for _, l := range lines[drop:] {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	col.logUsed += int64(buf.Len())
	col.files = append(col.files, rawFile{name: name, kind: rawCRILog, data: buf.Bytes()})
}

// criLine writes a joined log line back in the kubelet's CRI format.
func criLine(l podlog.Line) string {
	stream := l.Stream
	if stream == "" {
		stream = "stdout"
	}
	msg := strings.ReplaceAll(l.Msg, "\n", " ")
	return l.TS.UTC().Format(time.RFC3339Nano) + " " + stream + " F " + msg
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// deriveKey hashes everything collected: the same data gives the same tokens, and a token
// cannot be checked against a guessed secret without all of the data.
func (col *collector) deriveKey() []byte {
	h := sha256.New()
	h.Write([]byte("spdoc-bundle-redact-v1"))
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, f := range col.files {
		put([]byte(f.name))
		put(f.data)
	}
	for _, v := range []any{col.snap.Runtime, col.snap.LogTails, col.report} {
		b, _ := json.Marshal(v)
		put(b)
	}
	return h.Sum(nil)
}

// finish redacts everything and returns the sorted bundle entries.
func (col *collector) finish() ([]entry, *redact.Redactor) {
	ropts := col.opts.Redact
	if len(ropts.Key) == 0 && !ropts.Disabled {
		ropts.Key = col.deriveKey()
	}
	red := redact.New(ropts)
	var entries []entry
	add := func(name string, data []byte) { entries = append(entries, entry{name: name, data: data}) }
	addJSON := func(name string, v any) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			col.fail(name, err)
			return
		}
		add(name, buf.Bytes())
	}

	sort.Slice(col.files, func(i, j int) bool { return col.files[i].name < col.files[j].name })
	for _, f := range col.files {
		r := red.In(f.name)
		switch f.kind {
		case rawManifest:
			add(f.name, r.Manifest(f.data))
		case rawLog:
			add(f.name, redactLines(r, f.data, 0))
		case rawCRILog:
			add(f.name, redactLines(r, f.data, 3))
		}
	}
	for _, d := range col.dirs {
		entries = append(entries, entry{name: d, typ: typeDir})
	}
	entries = append(entries, col.links...)

	// The report, redacted once, in all three formats.
	col.report.Redact(red.In("report").String)
	for _, format := range []struct{ name, format string }{{"report.txt", "text"}, {"report.md", "markdown"}, {"report.json", "json"}} {
		var buf bytes.Buffer
		if err := diagnose.Render(&buf, col.report, format.format, diagnose.RenderOptions{}); err != nil {
			col.fail(format.name, err)
			continue
		}
		add(format.name, buf.Bytes())
	}

	if rt := col.snap.Runtime; rt != nil {
		cp := copyJSON(rt)
		red.In(RuntimePath).Value(cp)
		addJSON(RuntimePath, cp)
	}
	if st := col.snap.StaticPodURL; st != nil {
		// The kubelet's URL source as fetched (header values were never kept): --root reads it
		// back, since a copy cannot fetch the node's 127.0.0.1.
		cp := copyJSON(st)
		red.In(StaticPodURLPath).Value(cp)
		addJSON(StaticPodURLPath, cp)
	}
	if cp := col.snap.ControlPlane; cp != nil {
		// Certificate metadata, port owners, mirror pods and the kubelet's pod status, so that
		// --bundle-in reproduces the control-plane findings (keys are never in it).
		c := copyJSON(cp)
		red.In(ControlPlanePath).Value(c)
		addJSON(ControlPlanePath, c)
	}
	info := nodeInfo{Taken: col.snap.Taken, Node: col.snap.Node, Paths: col.snap.Paths, Describe: col.c.Describe()}
	if kl := col.snap.KubeletLog; kl != nil {
		info.KubeletLog = &kubeletLogInfo{Source: kl.Source, Error: kl.Error, Stats: kl.Stats, Records: len(kl.Records), Truncated: kl.Truncated}
	}
	red.In(NodePath).Value(&info)
	addJSON(NodePath, info)
	addJSON(VersionsPath, col.versions())

	errs := append([]SourceError{}, col.errs...) // [] rather than null when all went well
	red.In(ErrorsPath).Value(&errs)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Source < errs[j].Source })
	col.errs = errs
	addJSON(ErrorsPath, errs)

	addJSON(RedactionsPath, redactionsFile{
		Enabled:  !red.Disabled(),
		Patterns: len(col.opts.Redact.Extra),
		Counts:   red.Counts(),
	})

	// manifest.json lists every file (itself excepted) with size and sha256.
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var list []manifestEntry
	for _, e := range entries {
		if e.typ != typeFile {
			continue
		}
		sum := sha256.Sum256(e.data)
		list = append(list, manifestEntry{Path: e.name, Size: int64(len(e.data)), SHA256: hex.EncodeToString(sum[:])})
	}
	addJSON(ManifestPath, manifestFile{Format: 1, Taken: col.snap.Taken, Files: list})
	return addDirs(entries), red
}

// redactLines runs one LineRedactor over every line of data (PEM blocks span lines), past the
// first skip space-separated fields of each line (3 for CRI logs: time, stream, P/F).
func redactLines(r *redact.Redactor, data []byte, skip int) []byte {
	if r.Disabled() {
		return data
	}
	lr := r.Lines()
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		prefix := 0
		for n := 0; n < skip; n++ {
			sp := strings.IndexByte(l[prefix:], ' ')
			if sp < 0 {
				prefix = 0
				break
			}
			prefix += sp + 1
		}
		lines[i] = l[:prefix] + lr.Line(l[prefix:])
	}
	return []byte(strings.Join(lines, "\n"))
}

func copyJSON[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return &out
}

type kubeletLogInfo struct {
	Source    string           `json:"source"`
	Error     string           `json:"error,omitempty"`
	Stats     kubeletlog.Stats `json:"stats"`
	Records   int              `json:"records"`
	Truncated bool             `json:"truncated,omitempty"`
}

type nodeInfo struct {
	Taken      time.Time       `json:"taken"`
	Node       node.NodeInfo   `json:"node"`
	Paths      node.Paths      `json:"paths"`
	Describe   string          `json:"client"`
	KubeletLog *kubeletLogInfo `json:"kubeletLog,omitempty"`
}

type versionsFile struct {
	Spdoc          string `json:"spdoc"`
	Go             string `json:"go"`
	Kubelet        string `json:"kubelet,omitempty"`
	Runtime        string `json:"runtime,omitempty"`
	RuntimeVersion string `json:"runtimeVersion,omitempty"`
	CRIAPIVersion  string `json:"criApiVersion,omitempty"`
}

func (col *collector) versions() versionsFile {
	v := versionsFile{Spdoc: col.opts.Version, Go: runtime.Version()}
	if k := col.snap.Kubelet; k != nil {
		v.Kubelet = k.Version
	}
	if rt := col.snap.Runtime; rt != nil && rt.Status != nil {
		v.Runtime, v.RuntimeVersion, v.CRIAPIVersion = rt.Status.RuntimeName, rt.Status.RuntimeVersion, rt.Status.APIVersion
	}
	return v
}

type redactionsFile struct {
	Enabled  bool               `json:"enabled"`
	Patterns int                `json:"extraPatterns"`
	Counts   []redact.Redaction `json:"counts"`
}

type manifestEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type manifestFile struct {
	Format int             `json:"format"`
	Taken  time.Time       `json:"taken"`
	Files  []manifestEntry `json:"files"`
}
