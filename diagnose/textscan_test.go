package diagnose

import (
	"reflect"
	"testing"
)

func TestTextScanners(t *testing.T) {
	const u = "2a1b3c4d5e6f708192a3b4c5d6e7f809"
	const uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	const cid = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	cases := []struct {
		name       string
		text       string
		mentions   []podMention
		uidText    []podMention
		uids, cids []string
	}{
		{"format.Pod", `back-off 10s restarting failed container=app pod=web-node1_default(` + u + `)`,
			[]podMention{{"web-node1", "default", u}}, nil, []string{u}, nil},
		{"escaped in err", `for \"kube-apiserver-node1_kube-system(` + uuid + `)\" with`,
			[]podMention{{"kube-apiserver-node1", "kube-system", uuid}}, nil, []string{uuid}, nil},
		{"volume manager", `{volumeName:kubernetes.io/host-path/` + u + `-data podName:` + u + ` nodeName:} pod "vol-node1" (UID: "` + u + `") : x`,
			nil, []podMention{{name: "vol-node1", uid: u}}, []string{u, u}, nil},
		{"escaped quotes", `pod \"vol-node1\" (UID: \"` + u + `\")`, nil, []podMention{{name: "vol-node1", uid: u}}, []string{u}, nil},
		{"container id", `containerID="containerd://` + cid + `"`, nil, nil, nil, []string{cid}},
		{"not an id: too short or inside a word", `(abc) x` + u + `y deadbeef`, nil, nil, nil, nil},
		{"empty", ``, nil, nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nameNSUIDs(tc.text); !reflect.DeepEqual(got, tc.mentions) {
				t.Errorf("nameNSUIDs = %v, want %v", got, tc.mentions)
			}
			if got := podUIDTexts(tc.text); !reflect.DeepEqual(got, tc.uidText) {
				t.Errorf("podUIDTexts = %v, want %v", got, tc.uidText)
			}
			uids, cids := hexRuns(tc.text)
			if !reflect.DeepEqual(uids, tc.uids) || !reflect.DeepEqual(cids, tc.cids) {
				t.Errorf("hexRuns = %v %v, want %v %v", uids, cids, tc.uids, tc.cids)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	same := [][2]string{
		{`back-off 10s restarting failed container=app`, `back-off 2m40s restarting failed container=app`},
		{`durationBeforeRetry 500ms pod ` + "2a1b3c4d5e6f708192a3b4c5d6e7f809", `durationBeforeRetry 1s pod ` + "ffffffffffffffffffffffffffffffff"},
	}
	for _, p := range same {
		if normalize(p[0]) != normalize(p[1]) {
			t.Errorf("normalize keeps apart %q and %q: %q vs %q", p[0], p[1], normalize(p[0]), normalize(p[1]))
		}
	}
	if normalize("container app failed") == normalize("container web failed") {
		t.Errorf("normalize merges lines that differ in words")
	}
}
