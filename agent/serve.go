package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/manifestdir"
	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// PodListServerOptions configure a PodListServer.
type PodListServerOptions struct {
	// Dir is where the reconciler writes the validated pods (the agent's store, not the kubelet's
	// manifest dir): the server publishes what is there.
	Dir    string
	Prefix string
	// URL is the address the kubelet reads (its staticPodURL), for messages and the check.
	URL string
	// NodeName returns the kubelet's node name: the kubelet validates <name>-<node>.
	NodeName func() string
	Logger   *slog.Logger
	Now      func() time.Time
}

// PodListServer serves the agent's static pods as one PodList for the kubelet's staticPodURL —
// what Talos does, with the safety Talos lacks: the kubelet rejects the whole list when one item
// is invalid (and then freezes every pod of it), so the server checks each candidate list with
// the kubelet's own verdict (staticpod.DecodeList, on this node's name) and never publishes one
// it would reject. An item that would block the list keeps its last published version (or is
// left out when it never had one) and becomes a finding; everything else is published.
type PodListServer struct {
	opts PodListServerOptions
	log  *slog.Logger

	mu        sync.RWMutex
	body      []byte                // the published list (JSON)
	served    map[string]corev1.Pod // last published version per pod ID
	findings  []diagnose.Finding
	published time.Time
	version   int
}

// NewPodListServer builds a server; Refresh publishes the first list.
func NewPodListServer(opts PodListServerOptions) *PodListServer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NodeName == nil {
		opts.NodeName = func() string { h, _ := os.Hostname(); return strings.ToLower(h) }
	}
	s := &PodListServer{opts: opts, log: opts.Logger, served: map[string]corev1.Pod{}}
	s.body, _ = encodeList(nil)
	return s
}

// Refresh reads the store and publishes the list, unless an item would make the kubelet reject
// it: that item keeps its last good version. It returns the pods published.
func (s *PodListServer) Refresh() int {
	now := s.opts.Now()
	names, err := manifestdir.List(s.opts.Dir, s.opts.Prefix)
	var findings []diagnose.Finding
	if err != nil {
		s.log.Error("reading the served pods' store", "dir", s.opts.Dir, "err", err)
		findings = append(findings, diagnose.Finding{Kind: diagnose.KindSourceError, Severity: diagnose.SeverityError,
			Title: "the agent cannot read its store of served pods: the last published list stays", Detail: err.Error(),
			Evidence: []diagnose.Evidence{{Source: "served:" + s.opts.Dir, TS: now, Line: err.Error(), Count: 1}}})
	}
	sort.Strings(names)
	type cand struct {
		id, file string
		pod      corev1.Pod
	}
	var cands []cand
	for _, name := range names {
		path := filepath.Join(s.opts.Dir, name)
		f := staticpod.ScanFile(path)
		if f == nil || f.Parse != nil || len(f.Pods) != 1 || f.Pods[0].Pod == nil {
			continue // the reconciler writes only decodable pods; anything else is not ours to serve
		}
		p := f.Pods[0]
		cands = append(cands, cand{id: p.ID, file: path, pod: *p.Pod})
	}
	node := s.opts.NodeName()
	s.mu.RLock()
	prev := s.served
	s.mu.RUnlock()
	// Check the candidate list with the kubelet's verdict; replace or drop what blocks it. Each
	// round fixes one item, so this ends within len(cands)+1 rounds.
	dropped := map[string]bool{}
	for rounds := len(cands) + 1; rounds > 0; rounds-- {
		pods := make([]corev1.Pod, 0, len(cands))
		for _, c := range cands {
			pods = append(pods, c.pod)
		}
		body, err := encodeList(pods)
		if err != nil {
			s.log.Error("encoding the served list", "err", err)
			break
		}
		res := staticpod.DecodeList(s.opts.URL, body, node)
		if res.KubeletError == "" {
			served := make(map[string]corev1.Pod, len(cands))
			for _, c := range cands {
				served[c.id] = c.pod
			}
			s.publish(body, served, findings, now)
			return len(cands)
		}
		if res.Blocking < 0 || res.Blocking >= len(cands) {
			// The list as a whole does not decode: never happens with pods we encoded; keep the last.
			s.log.Error("the served list would not decode; the last good list stays", "err", res.KubeletError)
			break
		}
		b := cands[res.Blocking]
		f := diagnose.Finding{
			Kind: diagnose.KindManifestInvalid, Severity: diagnose.SeverityError, Pod: b.id, File: b.file,
			Title:  fmt.Sprintf("pod %s would make the kubelet reject the whole served list: not served", b.id),
			Detail: fmt.Sprintf("the kubelet on node %q says %q; served as one list, this pod would freeze every other static pod of the node", node, res.KubeletError),
			Evidence: []diagnose.Evidence{{Source: "served:" + s.opts.URL, TS: now, Count: 1,
				Line: fmt.Sprintf("item %d (%s): %s", res.Blocking, b.id, res.KubeletError)}},
		}
		if old, ok := prev[b.id]; ok && !dropped[b.id] {
			cands[res.Blocking].pod = old
			dropped[b.id] = true
			f.Hint = fmt.Sprintf("fix pod %s in the agent config; its last good version stays served meanwhile", b.id)
		} else {
			cands = append(cands[:res.Blocking], cands[res.Blocking+1:]...)
			f.Hint = fmt.Sprintf("fix pod %s in the agent config; it is not served until the kubelet would accept it", b.id)
		}
		findings = append(findings, f)
		s.log.Warn("pod left out of the served list: the kubelet would reject the whole list", "pod", b.id, "err", res.KubeletError)
	}
	s.mu.Lock()
	s.findings = findings
	s.mu.Unlock()
	return -1
}

func (s *PodListServer) publish(body []byte, served map[string]corev1.Pod, findings []diagnose.Finding, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.findings = findings
	if bytes.Equal(body, s.body) {
		s.served = served
		return
	}
	s.body, s.served, s.published = body, served, now
	s.version++
	s.log.Info("static pod list published", "url", s.opts.URL, "pods", len(served), "version", s.version)
}

func metavTypeMeta(kind string) metav1.TypeMeta { return metav1.TypeMeta{APIVersion: "v1", Kind: kind} }

// encodeList is the PodList the kubelet reads: JSON, items in ID order.
func encodeList(pods []corev1.Pod) ([]byte, error) {
	l := corev1.PodList{TypeMeta: metavTypeMeta("PodList"), Items: pods}
	for i := range l.Items {
		l.Items[i].TypeMeta = metavTypeMeta("Pod")
		l.Items[i].Status = corev1.PodStatus{}
	}
	if l.Items == nil {
		l.Items = []corev1.Pod{}
	}
	return json.Marshal(&l)
}

// Findings are the items left out of (or held back in) the published list.
func (s *PodListServer) Findings() []diagnose.Finding {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]diagnose.Finding(nil), s.findings...)
}

// Body is the published list.
func (s *PodListServer) Body() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.body
}

// ServeHTTP answers the kubelet: GET (or HEAD) of any path returns the published PodList.
func (s *PodListServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.RLock()
	body, ver, at := s.body, s.version, s.published
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Spdoc-List-Version", fmt.Sprint(ver))
	if !at.IsZero() {
		w.Header().Set("Last-Modified", at.UTC().Format(http.TimeFormat))
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// ListenPodList listens on a loopback TCP address for the kubelet (host:port, or http://host:port).
// Anything but a loopback address is refused: the list is the node's static pods, unauthenticated.
func ListenPodList(addr string) (net.Listener, string, error) {
	addr = strings.TrimPrefix(addr, "http://")
	addr = strings.TrimSuffix(addr, "/")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--serve-url %q: want 127.0.0.1:PORT: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, "", fmt.Errorf("--serve-url %q: only a loopback address (127.0.0.1 or [::1]) is served: the list is unauthenticated", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--serve-url: %w", err)
	}
	return ln, "http://" + ln.Addr().String() + "/", nil
}

// ServePodList serves s on ln until it is closed.
func ServePodList(ln net.Listener, s *PodListServer) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: podurl.Timeout}
	err := srv.Serve(ln)
	if err == http.ErrServerClosed || isClosed(err) {
		return nil
	}
	return err
}

func isClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "use of closed network connection")
}
