// Package podurl is the kubelet's HTTP static pod source (staticPodURL, --manifest-url) as spdoc
// sees it: where the kubelet reads it from, a fetch that behaves like the kubelet's
// (pkg/kubelet/config/http.go of v1.34: 10 s timeout, 10 MiB cap, only 200 OK, a single Pod or a
// PodList), the kubelet's verdict on the body (one invalid item rejects the whole list), and the
// kubelet's log vocabulary for this source.
//
// Talos (since 1.3) serves every static pod of a node this way from 127.0.0.1, so one bad pod
// in its machine config freezes all of them; spdoc's agent can serve the same list safely
// (agent --serve-url).
package podurl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// The kubelet's URL source constants (pkg/kubelet/config/http.go and common.go, v1.34).
const (
	// Timeout is the kubelet's http.Client timeout for the URL source.
	Timeout = 10 * time.Second
	// MaxBody is maxConfigLength: a body of this size or more is an error ("the read limit is reached").
	MaxBody = staticpod.MaxManifestSize
	// DefaultCheckFrequency is httpCheckFrequency's default: the kubelet polls the URL this often.
	DefaultCheckFrequency = 20 * time.Second
	// FailureLogsAtV0 is how many consecutive failures the kubelet logs at default verbosity
	// (the fourth says "Dropping verbosity of this message to V(4)", later ones are V(4)).
	FailureLogsAtV0 = 3
)

// Sentinel errors of a fetch, wrapped with the URL.
var (
	ErrStatus    = errors.New("unexpected HTTP status")
	ErrEmpty     = errors.New("zero-length data received")
	ErrTooLarge  = staticpod.ErrTooLarge
	ErrNoURL     = errors.New("no staticPodURL configured")
	ErrBadHeader = errors.New("malformed pair, expect string:string")
)

// Source is where the kubelet reads static pods over HTTP. Header values are secrets (tokens):
// they are sent, never printed; use Redacted for anything a user sees.
type Source struct {
	URL    string      `json:"-"`
	Header http.Header `json:"-"`
	// From says where the URL was configured: "kubelet-config <path>" or "flag --manifest-url".
	From string `json:"from,omitempty"`
	// CheckFrequency is the kubelet's httpCheckFrequency (0: the default, 20 s).
	CheckFrequency time.Duration `json:"checkFrequency,omitempty"`
}

// Redacted is the URL without userinfo password and query values, and the header names only.
func (s Source) Redacted() (string, []string) {
	return RedactURL(s.URL), HeaderNames(s.Header)
}

// RedactURL drops a password in the userinfo and every query value ("token=…").
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL]"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// HeaderNames are the canonical header names, sorted; values are never returned.
func HeaderNames(h http.Header) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseHeaderFlag parses one --manifest-url-header value the way the kubelet's
// ColonSeparatedMultimapStringString does ("a:hello,b:again"; repeated keys add values) into h.
func ParseHeaderFlag(h http.Header, value string) error {
	for _, pair := range strings.Split(value, ",") {
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, ":")
		if !ok {
			return fmt.Errorf("--manifest-url-header %q: %w", redactPair(pair), ErrBadHeader)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return nil
}

func redactPair(p string) string {
	if len(p) > 3 {
		return p[:3] + "…"
	}
	return "…"
}

// FromConfig builds the source from KubeletConfiguration fields (staticPodURL,
// staticPodURLHeader, httpCheckFrequency). ok is false when no URL is configured.
func FromConfig(staticPodURL string, header map[string][]string, checkFrequency time.Duration, from string) (Source, bool) {
	if staticPodURL == "" {
		return Source{}, false
	}
	s := Source{URL: staticPodURL, Header: http.Header{}, From: from, CheckFrequency: checkFrequency}
	for k, vs := range header {
		for _, v := range vs {
			s.Header.Add(k, v)
		}
	}
	return s, true
}

// ApplyFlags overrides the source with the kubelet's command-line flags (flags win over the
// config file, as in the kubelet): --manifest-url and every --manifest-url-header.
func ApplyFlags(s Source, args []string) (Source, error) {
	var hdr http.Header
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		name, val, hasVal := strings.Cut(a, "=")
		if name != "manifest-url" && name != "manifest-url-header" {
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				continue
			}
			i++
			val = args[i]
		}
		switch name {
		case "manifest-url":
			s.URL, s.From = val, "flag --manifest-url"
		case "manifest-url-header":
			if hdr == nil {
				hdr = http.Header{}
			}
			if err := ParseHeaderFlag(hdr, val); err != nil {
				return s, err
			}
		}
	}
	if hdr != nil {
		s.Header = hdr
	}
	return s, nil
}

// State is one fetch of the URL and the kubelet's verdict on it. It holds no header value.
type State struct {
	URL            string        `json:"url"`               // redacted
	Headers        []string      `json:"headers,omitempty"` // names only
	From           string        `json:"from,omitempty"`
	CheckFrequency time.Duration `json:"checkFrequency,omitempty"`
	Fetched        time.Time     `json:"fetched"`
	// Status is the HTTP status line ("200 OK"), empty when no response came.
	Status string `json:"status,omitempty"`
	// Error is a fetch that failed as the kubelet's would (connection refused, timeout, status,
	// size cap, empty body): the kubelet then keeps the pods it last accepted.
	Error string `json:"error,omitempty"`
	// Captured is set when the body came from a copy (a support bundle), not from the URL.
	Captured string `json:"captured,omitempty"`
	// List is the decoded body with the kubelet's verdict (nil when the fetch failed).
	List *staticpod.ListResult `json:"list,omitempty"`
	// NodeName is the node the list was validated for ("" : names as written).
	NodeName string `json:"nodeName,omitempty"`

	body []byte // the fetched body, kept to validate again for another node name
}

// Revalidate decodes the fetched body again for nodeName (the kubelet validates <name>-<node>),
// when it differs from the one the list was checked for. A captured state has no body: no-op.
func (s *State) Revalidate(nodeName string) {
	if s == nil || s.body == nil || nodeName == "" || nodeName == s.NodeName {
		return
	}
	s.List = staticpod.DecodeList(s.URL, s.body, nodeName)
	s.NodeName = nodeName
}

// Rejected is true when the kubelet rejects the whole body (an invalid item or an undecodable body).
func (s *State) Rejected() bool {
	return s != nil && s.List != nil && s.List.KubeletError != ""
}

// Pods are the items of the list ({} when the fetch failed).
func (s *State) Pods() []*staticpod.StaticPod {
	if s == nil || s.List == nil || s.List.File == nil {
		return nil
	}
	return s.List.File.Pods
}

// Options tune Fetch.
type Options struct {
	// Client is the HTTP client (default: one with the kubelet's 10 s timeout).
	Client *http.Client
	// NodeName validates item names as the kubelet does (<name>-<node>).
	NodeName string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Fetch reads the source once as the kubelet's URL source does and decodes the body with the
// kubelet's verdict. It never returns an error: a failed fetch is State.Error.
func Fetch(ctx context.Context, src Source, opts Options) *State {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	st := &State{From: src.From, CheckFrequency: src.CheckFrequency}
	st.URL, st.Headers = src.Redacted()
	st.Fetched = now()
	body, status, err := Get(ctx, src, opts.Client)
	st.Status = status
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.List = staticpod.DecodeList(st.URL, body, opts.NodeName)
	st.NodeName, st.body = opts.NodeName, body
	return st
}

// Get performs the kubelet's request: GET with the configured headers, at most MaxBody bytes
// read, then the status checked (the kubelet reads before it checks), an empty body refused.
// Errors name the redacted URL, never a header value.
func Get(ctx context.Context, src Source, client *http.Client) ([]byte, string, error) {
	if src.URL == "" {
		return nil, "", ErrNoURL
	}
	if client == nil {
		client = &http.Client{Timeout: Timeout}
	}
	red := RedactURL(src.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", red, errors.Unwrap(err))
	}
	for k, vs := range src.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, "", fmt.Errorf("Get %q: %w", red, ue.Err)
		}
		return nil, "", err
	}
	defer resp.Body.Close()
	lr := &io.LimitedReader{R: resp.Body, N: MaxBody}
	data, err := io.ReadAll(lr)
	if err != nil {
		return nil, resp.Status, fmt.Errorf("%s: reading body: %w", red, err)
	}
	if lr.N <= 0 {
		return nil, resp.Status, fmt.Errorf("%s: %w (the kubelet reads less than %d bytes)", red, ErrTooLarge, MaxBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.Status, fmt.Errorf("%s: %s: %w", red, resp.Status, ErrStatus)
	}
	if len(data) == 0 {
		return nil, resp.Status, fmt.Errorf("%w from %s", ErrEmpty, red)
	}
	return data, resp.Status, nil
}
