// Package agent is the node side of spdoc: it renders static pods from a config file into the
// kubelet manifest directory (atomically, validated, never touching files it does not own), keeps
// the live state of every static pod on the node and serves it over an authenticated HTTP API.
package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/manifestdir"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Codec turns a config file into static pods and pods into manifest files. The agent uses
// StaticPodCodec (internal/staticpod); tests may plug in their own.
type Codec interface {
	// Load parses a config file (pods: list, Talos machine config, KubeStaticPodConfig docs).
	Load(path string, data []byte) ([]*staticpod.StaticPod, error)
	// Validate returns what the kubelet would reject (and warnings), like `spdoc validate`.
	Validate(p *staticpod.StaticPod) []staticpod.Issue
	// Render returns the manifest file content for p.
	Render(p *staticpod.StaticPod) ([]byte, error)
	// FileName is the manifest file name for p: <prefix><namespace>-<name>.yaml.
	FileName(prefix string, p *staticpod.StaticPod) string
}

// maxConfigSize caps the config file read; a config is a few KiB, anything huge is a mistake.
const maxConfigSize = 8 << 20

// ReconcilerOptions configure a Reconciler.
type ReconcilerOptions struct {
	ConfigPath  string
	ManifestDir string
	Prefix      string // file name prefix of the manifests this agent owns (spdoc-)
	NoValidate  bool   // write invalid pods anyway, like Talos
	Codec       Codec
	Logger      *slog.Logger
}

// Reconciler makes the manifest directory match the config file. It owns exactly the files whose
// name starts with Prefix; every other file is left alone.
type Reconciler struct {
	opts ReconcilerOptions
	log  *slog.Logger

	mu       sync.Mutex // serialises reconciles and guards the fields below
	pods     map[string]*api.StaticPod
	findings []diagnose.Finding
	last     time.Time
	// rendered caches the last render per pod ID, keyed by the pod's JSON, so an unchanged pod
	// of a big config is not rendered again.
	rendered map[string]renderCache
	// loaded is the last config that parsed, by content hash.
	loaded struct {
		sum  [32]byte
		pods []*staticpod.StaticPod
	}
	// onDisk remembers what this reconciler wrote (content hash and file identity), so an
	// unchanged manifest is recognised by a stat instead of reading it back.
	onDisk map[string]diskState
}

type renderCache struct {
	podJSON []byte
	out     []byte
	sum     [32]byte
}

type diskState struct {
	sum     [32]byte
	size    int64
	modTime time.Time
	ino     uint64
}

// NewReconciler checks the options and returns a Reconciler. Nothing is written until Reconcile.
func NewReconciler(opts ReconcilerOptions) (*Reconciler, error) {
	if opts.ConfigPath == "" {
		return nil, errors.New("reconciler: config path is empty")
	}
	if opts.ManifestDir == "" {
		return nil, errors.New("reconciler: manifest dir is empty")
	}
	if opts.Prefix == "" {
		return nil, errors.New("reconciler: an empty prefix would claim every file of the manifest dir; set one (spdoc-)")
	}
	if strings.ContainsRune(opts.Prefix, '/') || strings.HasPrefix(opts.Prefix, ".") {
		return nil, fmt.Errorf("reconciler: invalid prefix %q: no slashes, no leading dot", opts.Prefix)
	}
	if opts.Codec == nil {
		return nil, errors.New("reconciler: no codec")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{opts: opts, log: log, pods: map[string]*api.StaticPod{}, rendered: map[string]renderCache{}, onDisk: map[string]diskState{}}, nil
}

// Reconcile reads the config file and applies it.
func (r *Reconciler) Reconcile() *api.ApplyResult {
	data, err := readCapped(r.opts.ConfigPath, maxConfigSize)
	if err != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		res := &api.ApplyResult{Config: r.opts.ConfigPath, ParseError: err.Error()}
		f := diagnose.NewFinding(diagnose.KindSourceError, diagnose.About{File: r.opts.ConfigPath, Subject: "agent-config"})
		f.Severity = diagnose.SeverityError // nothing the agent owns can change until it reads its config
		f.Title = "agent config unreadable: manifests left as they are"
		f.Detail = err.Error()
		f.Hint = fmt.Sprintf("create %s (pods: [...]) or start the agent with --config pointing at it", r.opts.ConfigPath)
		f.Evidence = []diagnose.Evidence{{Source: "config:" + r.opts.ConfigPath, Line: err.Error(), Count: 1, TS: time.Now()}}
		r.findings = []diagnose.Finding{f}
		r.last = time.Now()
		r.log.Error("reading agent config", "config", r.opts.ConfigPath, "err", err)
		return res
	}
	return r.Apply(data)
}

// Check parses and validates config data without touching the disk. It returns a result with
// ParseError or Invalid set when the config would not apply cleanly.
func (r *Reconciler) Check(data []byte) *api.ApplyResult {
	res := &api.ApplyResult{Config: r.opts.ConfigPath}
	pods, err := r.opts.Codec.Load(r.opts.ConfigPath, data)
	if err != nil {
		res.ParseError = err.Error()
		return res
	}
	seen := map[string]bool{}
	for _, p := range pods {
		issues := r.issues(p, seen)
		if !r.opts.NoValidate && hasError(issues) {
			res.Invalid = append(res.Invalid, api.InvalidPod{ID: podID(p), Line: podLine(p), Issues: issues})
		}
	}
	return res
}

// Apply makes the manifest dir match config data (the content of ConfigPath).
func (r *Reconciler) Apply(data []byte) *api.ApplyResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applyLocked(data)
}

// ReplaceConfig checks data and, when it would apply cleanly, writes it to ConfigPath atomically
// and applies it, all under the reconcile lock so a concurrent file-watch reconcile cannot run
// in between (it then finds nothing to do). A rejected config changes nothing and returns the
// result with the reasons; err is only set when the config file could not be written.
func (r *Reconciler) ReplaceConfig(data []byte) (*api.ApplyResult, error) {
	if res := r.Check(data); !res.OK() {
		return res, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	dir, base := filepath.Split(r.opts.ConfigPath)
	if dir == "" {
		dir = "."
	}
	if _, err := manifestdir.Write(dir, base, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing agent config: %w", err)
	}
	return r.applyLocked(data), nil
}

func (r *Reconciler) applyLocked(data []byte) *api.ApplyResult {
	now := time.Now()
	r.last = now
	cfg := r.opts.ConfigPath
	res := &api.ApplyResult{Config: cfg}

	// Editors and config management often touch a file several times per change: the same
	// bytes are not parsed again (the loaded pods are never modified, so they can be reused).
	sum := sha256.Sum256(data)
	pods := r.loaded.pods
	var err error
	if r.loaded.sum != sum || r.loaded.pods == nil {
		pods, err = r.opts.Codec.Load(cfg, data)
		if err == nil {
			r.loaded.sum, r.loaded.pods = sum, pods
		}
	}
	if err != nil {
		res.ParseError = err.Error()
		line := errLine(err)
		f := diagnose.NewFinding(diagnose.KindManifestUnparseable, diagnose.About{File: cfg})
		f.Title = "agent config does not parse: manifests left as they are"
		f.Detail = err.Error()
		f.Hint = fmt.Sprintf("fix %s; the agent applies it as soon as it is saved", cfg)
		f.Evidence = []diagnose.Evidence{{Source: configSource(cfg, line), Line: err.Error(), Count: 1, TS: now}}
		r.findings = []diagnose.Finding{f}
		r.log.Error("agent config does not parse, nothing changed", "config", cfg, "err", err)
		return res
	}

	var findings []diagnose.Finding
	wanted := map[string]bool{} // manifest file names that must stay
	seen := map[string]bool{}   // pod IDs
	next := map[string]*api.StaticPod{}
	for _, p := range pods {
		id := podID(p)
		name := r.opts.Codec.FileName(r.opts.Prefix, p)
		issues := r.issues(p, seen)
		valid := !hasError(issues)
		sp := &api.StaticPod{
			ID: id, Namespace: namespaceOf(p), Name: p.Name, Source: cfg, Line: podLine(p),
			Manifest: filepath.Join(r.opts.ManifestDir, name), Valid: valid, Issues: issues, UpdatedAt: now,
		}
		if prev := r.pods[id]; prev != nil && prev.Manifest == sp.Manifest {
			// Carry what is on disk: an invalid pod keeps the hash of its last good file.
			sp.Hash, sp.Version = prev.Hash, prev.Version
		}
		if next[id] != nil { // duplicate ID: the first one wins, this one is only reported
			findings = append(findings, invalidFinding(cfg, sp, now))
			res.Invalid = append(res.Invalid, api.InvalidPod{ID: id, Line: sp.Line, Issues: issues})
			continue
		}
		if !strings.HasPrefix(name, r.opts.Prefix) || strings.ContainsRune(name, '/') {
			res.Errors = append(res.Errors, fmt.Sprintf("pod %s: manifest name %q does not start with prefix %q", id, name, r.opts.Prefix))
			continue
		}
		wanted[name] = true
		next[id] = sp
		if !valid && !r.opts.NoValidate {
			findings = append(findings, invalidFinding(cfg, sp, now))
			res.Invalid = append(res.Invalid, api.InvalidPod{ID: id, Line: sp.Line, Issues: issues})
			sp.Written = false
			r.bump(sp, r.pods[id])
			r.log.Warn("invalid static pod not written, last good manifest kept", "pod", id, "config", cfg, "line", sp.Line, "issues", issueStrings(issues))
			continue
		}
		out, sum, err := r.render(id, p)
		if err != nil {
			sp.WriteError = fmt.Sprintf("rendering pod %s: %v", id, err)
			res.Errors = append(res.Errors, sp.WriteError)
			findings = append(findings, writeFinding(cfg, sp, now))
			r.bump(sp, r.pods[id])
			continue
		}
		changed, err := r.write(name, out, sum)
		if err != nil {
			sp.WriteError = err.Error()
			res.Errors = append(res.Errors, err.Error())
			findings = append(findings, writeFinding(cfg, sp, now))
			r.bump(sp, r.pods[id])
			r.log.Error("writing static pod manifest failed, previous file kept", "pod", id, "manifest", sp.Manifest, "err", err)
			continue
		}
		sp.Hash = hex.EncodeToString(sum[:])
		sp.Written = true
		if changed {
			res.Written = append(res.Written, sp.Manifest)
			r.log.Info("static pod manifest written", "pod", id, "manifest", sp.Manifest)
		} else {
			res.Unchanged = append(res.Unchanged, sp.Manifest)
		}
		r.bump(sp, r.pods[id])
	}

	existing, err := manifestdir.List(r.opts.ManifestDir, r.opts.Prefix)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	for _, name := range existing {
		if wanted[name] {
			continue
		}
		delete(r.onDisk, name)
		if err := manifestdir.Remove(r.opts.ManifestDir, name); err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		res.Removed = append(res.Removed, filepath.Join(r.opts.ManifestDir, name))
		r.log.Info("static pod manifest removed: pod no longer in config", "manifest", filepath.Join(r.opts.ManifestDir, name))
	}
	for id := range r.rendered {
		if next[id] == nil {
			delete(r.rendered, id)
		}
	}
	for name := range r.onDisk {
		if !wanted[name] {
			delete(r.onDisk, name)
		}
	}
	r.pods = next
	r.findings = findings
	return res
}

// render returns the manifest of p, from the cache when the pod did not change.
func (r *Reconciler) render(id string, p *staticpod.StaticPod) ([]byte, [32]byte, error) {
	j, jerr := json.Marshal(p.Pod)
	if jerr == nil {
		if c, ok := r.rendered[id]; ok && bytes.Equal(c.podJSON, j) {
			return c.out, c.sum, nil
		}
	}
	out, err := r.opts.Codec.Render(p)
	if err != nil {
		return nil, [32]byte{}, err
	}
	sum := sha256.Sum256(out)
	if jerr == nil {
		r.rendered[id] = renderCache{podJSON: j, out: out, sum: sum}
	}
	return out, sum, nil
}

// write writes the manifest unless the file is still exactly what this reconciler wrote last
// (same content hash, same size, mtime and inode); anything else goes through manifestdir.Write,
// which compares the content itself.
func (r *Reconciler) write(name string, out []byte, sum [32]byte) (bool, error) {
	path := filepath.Join(r.opts.ManifestDir, name)
	if d, ok := r.onDisk[name]; ok && d.sum == sum {
		if st, err := os.Stat(path); err == nil && st.Size() == d.size && st.ModTime().Equal(d.modTime) && inode(st) == d.ino && st.Mode().Perm() == manifestdir.DefaultMode {
			return false, nil
		}
	}
	delete(r.onDisk, name)
	changed, err := manifestdir.Write(r.opts.ManifestDir, name, out, manifestdir.DefaultMode)
	if err != nil {
		return changed, err
	}
	if st, err := os.Stat(path); err == nil {
		r.onDisk[name] = diskState{sum: sum, size: st.Size(), modTime: st.ModTime(), ino: inode(st)}
	}
	return changed, nil
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// bump sets sp.Version: unchanged resources keep theirs, changed ones get prev+1.
func (r *Reconciler) bump(sp, prev *api.StaticPod) {
	if prev == nil {
		sp.Version = 1
		return
	}
	if sameResource(sp, prev) {
		sp.Version = prev.Version
		sp.UpdatedAt = prev.UpdatedAt
		return
	}
	sp.Version = prev.Version + 1
}

func sameResource(a, b *api.StaticPod) bool {
	return a.Hash == b.Hash && a.Valid == b.Valid && a.Written == b.Written && a.WriteError == b.WriteError &&
		a.Manifest == b.Manifest && a.Line == b.Line && strings.Join(issueStrings(a.Issues), "\n") == strings.Join(issueStrings(b.Issues), "\n")
}

// issues returns the decode issues of p plus the validator's (unless --no-validate), and a
// duplicate-ID error when the config already had a pod with this ID.
func (r *Reconciler) issues(p *staticpod.StaticPod, seen map[string]bool) []staticpod.Issue {
	issues := append([]staticpod.Issue(nil), p.Issues...)
	if !r.opts.NoValidate {
		have := map[string]bool{}
		for _, i := range issues {
			have[i.String()] = true
		}
		for _, i := range r.opts.Codec.Validate(p) {
			if !have[i.String()] {
				issues = append(issues, i)
				have[i.String()] = true
			}
		}
	}
	id := podID(p)
	if seen[id] {
		issues = append(issues, staticpod.Issue{Field: "metadata.name", Type: "Duplicate value", Value: id,
			Detail: "another pod of the config has the same namespace and name", Severity: staticpod.SeverityError, Line: podLine(p)})
	}
	seen[id] = true
	return issues
}

// Pods returns the static pod resources of the last reconcile, sorted by ID.
func (r *Reconciler) Pods() []api.StaticPod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]api.StaticPod, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Findings returns the findings of the last reconcile (config problems, invalid pods, write errors).
func (r *Reconciler) Findings() []diagnose.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]diagnose.Finding(nil), r.findings...)
}

// Last is when the reconciler last ran.
func (r *Reconciler) Last() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func invalidFinding(cfg string, sp *api.StaticPod, now time.Time) diagnose.Finding {
	f := diagnose.NewFinding(diagnose.KindManifestInvalid, diagnose.About{Pod: sp.ID, File: cfg})
	f.Title = fmt.Sprintf("pod %s in the agent config is invalid: not written", sp.ID)
	f.Detail = strings.Join(issueStrings(errorsOnly(sp.Issues)), "; ")
	f.Hint = fmt.Sprintf("fix the pod in %s (the last good manifest %s stays in place meanwhile)", cfg, sp.Manifest)
	for _, i := range errorsOnly(sp.Issues) {
		line := i.Line
		if line == 0 {
			line = sp.Line
		}
		f.Evidence = append(f.Evidence, diagnose.Evidence{Source: configSource(cfg, line), TS: now, Line: i.String(), Count: 1})
	}
	return f
}

func writeFinding(cfg string, sp *api.StaticPod, now time.Time) diagnose.Finding {
	f := diagnose.NewFinding(diagnose.KindSourceError, diagnose.About{Pod: sp.ID, File: sp.Manifest, Subject: "manifest-write"})
	f.Severity = diagnose.SeverityError // the node runs an older version than the config says
	f.Title = fmt.Sprintf("manifest for pod %s could not be written: previous file kept", sp.ID)
	f.Detail = sp.WriteError
	f.Hint = "check free space and permissions of the manifest directory; the agent retries on the next change or SIGHUP"
	f.Evidence = []diagnose.Evidence{{Source: configSource(cfg, sp.Line), TS: now, Line: sp.WriteError, Count: 1}}
	return f
}

func configSource(cfg string, line int) string {
	if line > 0 {
		return fmt.Sprintf("config:%s:%d", cfg, line)
	}
	return "config:" + cfg
}

func errorsOnly(issues []staticpod.Issue) []staticpod.Issue {
	var out []staticpod.Issue
	for _, i := range issues {
		if i.Severity == staticpod.SeverityError {
			out = append(out, i)
		}
	}
	return out
}

func hasError(issues []staticpod.Issue) bool { return len(errorsOnly(issues)) > 0 }

func issueStrings(issues []staticpod.Issue) []string {
	out := make([]string, len(issues))
	for i, is := range issues {
		out[i] = is.String()
	}
	return out
}

func namespaceOf(p *staticpod.StaticPod) string {
	if p.Namespace == "" {
		return "default"
	}
	return p.Namespace
}

func podID(p *staticpod.StaticPod) string {
	if p.ID != "" {
		return p.ID
	}
	return staticpod.ID(p.Namespace, p.Name)
}

// podLine is the config line where the pod starts, else the line of its name issue, else 0.
func podLine(p *staticpod.StaticPod) int {
	if p.Line > 0 {
		return p.Line
	}
	for _, i := range p.Issues {
		if i.Field == "metadata.name" && i.Line > 0 {
			return i.Line
		}
	}
	return 0
}

func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading agent config %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading agent config %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("reading agent config %q: not a regular file (%v)", path, st.Mode().Type()&fs.ModeType)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("reading agent config %q: %d bytes, more than the %d byte limit", path, st.Size(), max)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading agent config %q: %w", path, err)
	}
	return data, nil
}
