package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"

	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// KubeletConfig is the part of a KubeletConfiguration file spdoc reads.
type KubeletConfig struct {
	StaticPodPath            string `json:"staticPodPath"`
	PodLogsDir               string `json:"podLogsDir"`
	ContainerRuntimeEndpoint string `json:"containerRuntimeEndpoint"`
	// The HTTP static pod source (Talos since 1.3). Header values are secrets.
	StaticPodURL       string              `json:"staticPodURL"`
	StaticPodURLHeader map[string][]string `json:"staticPodURLHeader"`
	HTTPCheckFrequency string              `json:"httpCheckFrequency"`
	// ReadOnlyPort, Port and TLSCertFile say how the kubelet's API is reached (control-plane checks).
	ReadOnlyPort int    `json:"readOnlyPort"`
	Port         int    `json:"port"`
	TLSCertFile  string `json:"tlsCertFile"`
	CertDir      string `json:"-"`
}

// ReadKubeletConfig reads the fields spdoc needs from a KubeletConfiguration file.
func ReadKubeletConfig(path string) (*KubeletConfig, error) {
	data, err := safefs.ReadFile(path, maxKubeletConfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubelet config: %w", err)
	}
	var c KubeletConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("kubelet config %q: %w", path, err)
	}
	return &c, nil
}

// kubeletProc is a running kubelet found in /proc.
type kubeletProc struct {
	KubeletState
	configFlag     string   // its --config
	args           []string // its command line after argv[0] (for --manifest-url)
	kubeconfigFlag string   // its --kubeconfig
	certDirFlag    string   // its --cert-dir
}

// findKubelet looks for a kubelet process in procDir (/proc): comm or argv[0] base name starting
// with "kubelet". Unreadable entries (processes that ended) are skipped. With several kubelets
// (test nodes side by side, each in its own mount namespace) it prefers the one whose --config is
// wantConfig, then one in spdoc's own mount namespace, then the first.
func findKubelet(procDir string, wantConfig ...string) *kubeletProc {
	k := &kubeletProc{KubeletState: KubeletState{Checked: true}}
	ents, err := os.ReadDir(procDir)
	if err != nil {
		k.Checked = false
		return k
	}
	self := os.Getpid()
	myNS, _ := os.Readlink(filepath.Join(procDir, "self", "ns", "mnt"))
	best, bestScore := (*kubeletProc)(nil), -1
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if !isKubeletBinary(args[0]) {
			continue
		}
		c := &kubeletProc{KubeletState: KubeletState{Checked: true, Running: true, PID: pid}}
		c.configFlag = flagValue(args[1:], "config")
		c.args = args[1:]
		c.kubeconfigFlag = flagValue(args[1:], "kubeconfig")
		c.certDirFlag = flagValue(args[1:], "cert-dir")
		score := 0
		if len(wantConfig) > 0 && wantConfig[0] != "" && c.configFlag == wantConfig[0] {
			score += 2
		}
		if ns, err := os.Readlink(filepath.Join(procDir, e.Name(), "ns", "mnt")); err == nil && myNS != "" && ns == myNS {
			score++
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	if best == nil {
		return k
	}
	return best
}

// isKubeletBinary accepts /usr/bin/kubelet, kubelet-v1.34.4 — not kubeletctl-like tools whose
// name merely starts with kubelet followed by letters.
func isKubeletBinary(argv0 string) bool {
	base := filepath.Base(argv0)
	rest, ok := strings.CutPrefix(base, "kubelet")
	return ok && (rest == "" || rest[0] == '-' || rest[0] == '.' || rest[0] == '_')
}

// flagValue finds --name=value or --name value (also with one dash) in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// defaultLiveLogs are the kubelet log files tried on a live node after journald.
var defaultLiveLogs = []string{"/var/log/kubelet.log", "/var/log/kubelet/kubelet.log"}

// scanKubeletLog reads the kubelet log source of r from d ago (0: the default of the source, see
// logSince) and calls fn for each record prefilter accepts. It returns the source it read
// ("journal", "stdin" or a path).
func (l *Local) scanKubeletLog(ctx context.Context, r resolved, d time.Duration, prefilter func([]byte) bool, fn func(*kubeletlog.Record) error) (string, kubeletlog.Stats, error) {
	return l.scanKubeletLogOpts(ctx, r, d, kubeletlog.ScanOptions{Prefilter: prefilter}, fn)
}

// scanKubeletLogOpts is scanKubeletLog with more scan options (Since and Source are set here).
func (l *Local) scanKubeletLogOpts(ctx context.Context, r resolved, d time.Duration, opts kubeletlog.ScanOptions, fn func(*kubeletlog.Record) error) (string, kubeletlog.Stats, error) {
	opts.Since = l.logSince(r.KubeletLog, d)
	journalSince := l.logSince(KubeletLogJournal, d)
	switch src := r.KubeletLog; src {
	case KubeletLogStdin:
		opts.Source = "stdin"
		st, err := kubeletlog.Scan(ctx, &ctxReader{ctx: ctx, r: l.opts.Stdin}, opts, fn)
		if err != nil {
			err = fmt.Errorf("reading the kubelet log from stdin: %w", err)
		}
		return "stdin", st, err
	case KubeletLogJournal:
		st, err := scanJournal(ctx, journalSince, opts, fn)
		return KubeletLogJournal, st, err
	case KubeletLogAuto:
		// journald first, then the usual files; fn sees records of the first source with lines.
		st, jerr := scanJournal(ctx, journalSince, opts, fn)
		if st.Lines > 0 {
			return KubeletLogJournal, st, jerr
		}
		tried := []string{"journal (" + errText(jerr, "no entries") + ")"}
		for _, p := range defaultLiveLogs {
			if _, err := os.Stat(p); err != nil {
				tried = append(tried, p+" (absent)")
				continue
			}
			st, err := kubeletlog.ScanHistory(ctx, p, opts, fn)
			return p, st, err
		}
		return "auto", kubeletlog.Stats{}, fmt.Errorf("no kubelet log found: tried %s; name one with --kubelet-log FILE|-|journal", strings.Join(tried, ", "))
	default:
		st, err := kubeletlog.ScanHistory(ctx, src, opts, fn)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("kubelet log %s does not exist: %w", src, err)
		}
		return src, st, err
	}
}

func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}

func scanJournal(ctx context.Context, since time.Time, opts kubeletlog.ScanOptions, fn func(*kubeletlog.Record) error) (kubeletlog.Stats, error) {
	rc, err := kubeletlog.Journal(ctx, "kubelet", since)
	if err != nil {
		return kubeletlog.Stats{}, err
	}
	defer rc.Close()
	opts.Source = KubeletLogJournal
	opts.Since = since
	return kubeletlog.Scan(ctx, rc, opts, fn)
}

// logSince turns a Since duration into the time a log read starts at (counted back from the
// capture of a copy, logTime); journald gets a default window because its history is long.
func (l *Local) logSince(src string, d time.Duration) time.Time {
	if d > 0 {
		if l.opts.Root != "" {
			return l.logTime(context.Background(), l.resolve()).Add(-d)
		}
		return l.now().Add(-d)
	}
	if src == KubeletLogJournal {
		return l.now().Add(-DefaultJournalSince)
	}
	return time.Time{}
}

// kubeletLog reads the relevant kubelet records for a snapshot, bounded by MaxRecords.
func (l *Local) kubeletLog(ctx context.Context, r resolved) *KubeletLogState {
	keep := &keepRecords{max: l.opts.MaxRecords}
	// Each file's scan passes on only its newest MaxRecords records (Last): on an error-dense log
	// the others cost a count, not a record each. keep bounds them across rotated files.
	opts := kubeletlog.ScanOptions{Prefilter: kubeletlog.Interesting, Last: l.opts.MaxRecords}
	src, st, err := l.scanKubeletLogOpts(ctx, r, l.opts.Since, opts, func(rec *kubeletlog.Record) error {
		keep.add(rec)
		return nil
	})
	records := keep.list()
	ks := &KubeletLogState{Source: src, Stats: st, Records: records, Truncated: keep.truncated || st.Relevant > int64(len(records))}
	if err != nil && !(errors.Is(err, kubeletlog.ErrNoJournalEntries) && st.Lines > 0) {
		ks.Error = err.Error()
	}
	return ks
}

// MatchesPod reports whether a kubelet record is about the static pod with the given namespace,
// kubelet pod name (<name>-<node>), UID and manifest path (empty values are not matched). It is a
// plain matcher for `spdoc logs --kubelet --pod`; diagnose owns the full attribution.
func MatchesPod(rec *kubeletlog.Record, ns, kubeletName, uid, manifestPath string) bool {
	if kubeletName != "" && rec.PodName == kubeletName && (ns == "" || rec.PodNamespace == "" || rec.PodNamespace == ns) {
		return true
	}
	if uid != "" && rec.PodUID == uid {
		return true
	}
	if manifestPath != "" && rec.Path == manifestPath {
		return true
	}
	text := []string{rec.Err, rec.Msg}
	for _, v := range rec.Fields {
		text = append(text, v)
	}
	for _, t := range text {
		if t == "" {
			continue
		}
		if uid != "" && strings.Contains(t, uid) {
			return true
		}
		if kubeletName != "" && ns != "" && strings.Contains(t, kubeletName+"_"+ns+"(") {
			return true // name_ns(uid)
		}
		if manifestPath != "" && strings.Contains(t, manifestPath) {
			return true
		}
	}
	return false
}

// bytesHasAny is a cheap prefilter: the raw line mentions one of the needles.
func bytesHasAny(needles [][]byte) func([]byte) bool {
	return func(line []byte) bool {
		for _, n := range needles {
			if bytes.Contains(line, n) {
				return true
			}
		}
		return false
	}
}

// ctxReader makes a blocking reader (stdin fed by a command that hangs) give up when ctx ends:
// each Read runs on its own goroutine, abandoned on cancellation (the process is ending).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte // reused between completed reads; an abandoned read keeps writing into its own
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	type result struct {
		n   int
		err error
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	done := make(chan result, 1)
	go func() {
		n, err := c.r.Read(buf)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return copy(p, buf[:r.n]), r.err
	case <-c.ctx.Done():
		c.buf = nil // the abandoned read owns it now
		return 0, c.ctx.Err()
	}
}
