package bundle

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podurl"
)

// urlClient is a node whose kubelet reads its static pods from a URL (fetched for real here).
type urlClient struct {
	node.Client
	src podurl.Source
}

func (c urlClient) Snapshot(ctx context.Context) (*node.Snapshot, error) {
	s, err := c.Client.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	s.StaticPodURL = podurl.Fetch(ctx, c.src, podurl.Options{NodeName: nodeName})
	return s, nil
}

// TestStaticPodURLRoundTrip: a bundle keeps the URL source as fetched (the list, the kubelet's
// verdict), without the header value or the pods' secrets, and --root reads it back.
func TestStaticPodURLRoundTrip(t *testing.T) {
	const secret = "s3cr3t-db-password-value"
	body := `{"apiVersion":"v1","kind":"PodList","items":[` +
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"x:1","env":[{"name":"DB_PASSWORD","value":"` + secret + `"}]}]}},` +
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","namespace":"kube-system"},"spec":{}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
	defer srv.Close()
	root := layNode(t)
	client := urlClient{Client: localClient(root), src: podurl.Source{URL: srv.URL + "/pods", Header: http.Header{"X-Token": {"header-secret-value"}}}}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Write(context.Background(), out, client, testOptions(root)); err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, out)
	data, ok := files[StaticPodURLPath]
	if !ok {
		t.Fatalf("no %s in the bundle", StaticPodURLPath)
	}
	for name, b := range files {
		for _, s := range []string{secret, "header-secret-value"} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret (%s)", name, s)
			}
		}
	}
	if !strings.Contains(string(data), "X-Token") {
		t.Errorf("the header name is lost: %s", data)
	}
	back, _ := readBack(t, out)
	st := back.StaticPodURL
	if st == nil || st.Captured != StaticPodURLPath || !st.Rejected() || st.List.BlockingPod() == nil || st.List.BlockingPod().ID != "kube-system-bad" {
		t.Fatalf("read back: %+v", st)
	}
	if len(back.StaticPods()) < 2 {
		t.Errorf("URL pods not among the static pods: %d", len(back.StaticPods()))
	}
}
