package kubeletlog

import (
	"context"
	"strings"
	"testing"
	"time"
)

// klogErr is a kubelet 1.34 klog line (config/file.go's manifest error).
const klogErr = `E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/web.yaml" err="invalid pod: [spec.containers: Required value]"`

// jsonErr is the same record in --logging-format=json.
const jsonErr = `{"ts":1732485304100.165,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`

func TestParseShapes(t *testing.T) {
	// A reference time years after the lines: a year taken from "now" would be wrong.
	later := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	utc := func(y int, mo time.Month, d, h, mi, s, us int) time.Time {
		return time.Date(y, mo, d, h, mi, s, us*1000, time.UTC)
	}
	nov24 := utc(2024, 11, 24, 21, 55, 4, 100165)
	tests := []struct {
		name  string
		line  string
		shape Shape
		host  string
		unit  string
		node  string
		pid   int
		ts    time.Time // zero: not checked
		year  bool      // the year comes from the line (else from the reference time)
		line0 int64
		dmg   string
	}{
		{name: "klog (journalctl -o cat, kubelet.log)", line: klogErr, shape: ShapeKlog, pid: 1234},
		{name: "json", line: jsonErr, shape: ShapeJSON, ts: time.UnixMilli(1732485304100).Add(165 * time.Microsecond), year: true},
		{name: "short", line: "Nov 24 21:55:04 node1 kubelet[1234]: " + klogErr, shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234},
		{name: "short space-padded day (rsyslog)", line: "Nov  4 21:55:04 node1 kubelet[1234]: E1104 21:55:04.100165 1234 file.go:187] \"x\"", shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234},
		{name: "short-precise", line: "Nov 24 21:55:04.100165 node1 kubelet[1234]: " + klogErr, shape: ShapeShortPrecise, host: "node1", unit: "kubelet", pid: 1234},
		{name: "short-precise German", line: "Mär 04 21:55:04.100165 knoten1 kubelet[1234]: E0304 21:55:04.100165 1234 file.go:187] \"Could not process manifest file\" path=\"/x\"", shape: ShapeShortPrecise, host: "knoten1", unit: "kubelet", pid: 1234},
		{name: "short French", line: "févr. 04 21:55:04 nœud kubelet[1234]: E0204 21:55:04.100165 1234 file.go:187] \"x\"", shape: ShapeShort, host: "nœud", unit: "kubelet", pid: 1234},
		{name: "short Spanish", line: "dic 24 21:55:04 nodo kubelet[1234]: E1224 21:55:04.100165 1234 file.go:187] \"x\"", shape: ShapeShort, host: "nodo", unit: "kubelet", pid: 1234},
		{name: "short Chinese", line: "11月 24 21:55:04 节点 kubelet[1234]: " + klogErr, shape: ShapeShort, host: "节点", unit: "kubelet", pid: 1234},
		{name: "short Japanese (space-padded month)", line: " 3月 04 21:55:04 node1 kubelet[1234]: E0304 21:55:04.100165 1234 file.go:187] \"x\"", shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234},
		{name: "short Russian", line: "ноя 24 21:55:04 node1 kubelet[1234]: " + klogErr, shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234},
		{name: "short-iso", line: "2024-11-24T21:55:04+0000 node1 kubelet[1234]: " + klogErr, shape: ShapeShortISO, host: "node1", unit: "kubelet", pid: 1234, ts: nov24, year: true},
		{name: "short-iso-precise with colon zone", line: "2024-11-24T22:55:04.100165+01:00 node1 kubelet[1234]: " + klogErr, shape: ShapeShortISO, host: "node1", unit: "kubelet", pid: 1234, ts: nov24, year: true},
		{name: "short-full", line: "Sun 2024-11-24 21:55:04 UTC node1 kubelet[1234]: " + klogErr, shape: ShapeShortFull, host: "node1", unit: "kubelet", pid: 1234, ts: nov24, year: true},
		{name: "short-full German day", line: "So 2024-11-24 21:55:04 UTC node1 kubelet[1234]: " + klogErr, shape: ShapeShortFull, host: "node1", unit: "kubelet", pid: 1234, ts: nov24, year: true},
		{name: "with-unit", line: "Sun 2024-11-24 21:55:04 UTC node1 kubelet.service[1234]: " + klogErr, shape: ShapeShortFull, host: "node1", unit: "kubelet.service", pid: 1234, ts: nov24, year: true},
		{name: "short-monotonic", line: "[ 1234.567890] node1 kubelet[1234]: " + klogErr, shape: ShapeShortMono, host: "node1", unit: "kubelet", pid: 1234},
		{name: "short-unix", line: "1732485304.100165 node1 kubelet[1234]: " + klogErr, shape: ShapeShortUnix, host: "node1", unit: "kubelet", pid: 1234, ts: nov24, year: true},
		{name: "rfc5424", line: "<30>1 2024-11-24T21:55:04.100165Z node1 kubelet 1234 - - " + klogErr, shape: ShapeRFC5424, host: "node1", unit: "kubelet", pid: 1234, ts: nov24, year: true},
		{name: "rfc5424 structured data", line: `<30>1 2024-11-24T21:55:04.100165Z node1 kubelet 1234 ID47 [exampleSDID@32473 iut="3"] ` + klogErr, shape: ShapeRFC5424, host: "node1", unit: "kubelet", pid: 1234, year: true},
		{name: "rfc3164 with PRI", line: "<30>Nov 24 21:55:04 node1 kubelet[1234]: " + klogErr, shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234},
		{name: "hyperkube tag", line: "Nov 24 21:55:04 coreos-1 hyperkube[987]: " + klogErr, shape: ShapeShort, host: "coreos-1", unit: "hyperkube", pid: 1234},
		{name: "kubelet-wrapper tag", line: "Nov 24 21:55:04 coreos-1 kubelet-wrapper[987]: " + klogErr, shape: ShapeShort, host: "coreos-1", unit: "kubelet-wrapper", pid: 1234},
		{name: "k3s tag", line: "Nov 24 21:55:04 pi k3s[555]: " + klogErr, shape: ShapeShort, host: "pi", unit: "k3s", pid: 1234},
		{name: "rke2 tag json", line: "Nov 24 21:55:04 rke rke2[555]: " + jsonErr, shape: ShapeShort, host: "rke", unit: "rke2", pid: 555},
		{name: "docker tag", line: "Nov 24 21:55:04 node1 dockerd[555]: time=\"2024-11-24T21:55:04Z\" level=info msg=" + klogErr, shape: ShapeShort, host: "node1", unit: "dockerd", pid: 1234, dmg: DamagePrefix},
		{name: "bare tag", line: "kubelet[1234]: " + klogErr, shape: ShapeTag, unit: "kubelet", pid: 1234},
		{name: "bare tag without pid", line: "kubelet: " + klogErr, shape: ShapeTag, unit: "kubelet", pid: 1234},
		{name: "talosctl json", line: "172.20.0.2: " + jsonErr, shape: ShapeTalos, node: "172.20.0.2"},
		{name: "talosctl klog", line: "172.20.0.3: " + klogErr, shape: ShapeTalos, node: "172.20.0.3", pid: 1234},
		{name: "talosctl ipv6", line: "fd00:10::2: " + jsonErr, shape: ShapeTalos, node: "fd00:10::2"},
		{name: "talosctl hostname", line: "talos-cp-1: " + jsonErr, shape: ShapeTalos, node: "talos-cp-1"},
		{name: "cri container log", line: "2024-11-24T21:55:04.100165123Z stderr F " + klogErr, shape: ShapeCRI, pid: 1234, year: true},
		{name: "grep -n", line: "4711:" + klogErr, shape: ShapeKlog, pid: 1234, line0: 4711},
		{name: "grep -n over syslog", line: "12:Nov 24 21:55:04 node1 kubelet[1234]: " + klogErr, shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234, line0: 12},
		{name: "grep context line", line: "13-Nov 24 21:55:04 node1 kubelet[1234]: " + klogErr, shape: ShapeShort, host: "node1", unit: "kubelet", pid: 1234, line0: 13},
		{name: "cat -n", line: "    42\t" + klogErr, shape: ShapeKlog, pid: 1234, line0: 42},
		{name: "editor gutter", line: "42 | " + klogErr, shape: ShapeKlog, pid: 1234, line0: 42},
		{name: "grep -r file name", line: "/var/log/kubelet.log:" + klogErr, shape: ShapeKlog, pid: 1234, dmg: DamagePrefix},
		{name: "head missing", line: `124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/web.yaml" err="invalid pod"`, shape: ShapeDamaged, pid: 1234, dmg: DamageHeadMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Parser{Ref: later, Location: time.UTC}
			r, ok := p.Parse([]byte(tt.line))
			if !ok {
				t.Fatalf("not recognised: %q", tt.line)
			}
			if r.Shape != tt.shape || r.Host != tt.host || r.Unit != tt.unit || r.Node != tt.node || r.PID != tt.pid || r.PastedLine != tt.line0 {
				t.Errorf("shape/host/unit/node/pid/line = %q/%q/%q/%q/%d/%d, want %q/%q/%q/%q/%d/%d",
					r.Shape, r.Host, r.Unit, r.Node, r.PID, r.PastedLine, tt.shape, tt.host, tt.unit, tt.node, tt.pid, tt.line0)
			}
			if r.Msg == "" || r.Msg[0] == '"' {
				t.Errorf("msg %q", r.Msg)
			}
			if r.Damage != tt.dmg {
				t.Errorf("damage %q, want %q", r.Damage, tt.dmg)
			}
			if !tt.ts.IsZero() && !r.TS.Equal(tt.ts) {
				t.Errorf("ts %v, want %v", r.TS, tt.ts)
			}
			if h, m, s := r.TS.Clock(); h != 21 || m != 55 || s != 4 {
				t.Errorf("time of day %v, want 21:55:04", r.TS)
			}
			if got := r.TS.Year(); tt.year && got != 2024 {
				t.Errorf("year %d, want 2024 from the line", got)
			}
			if !Interesting([]byte(tt.line)) {
				t.Errorf("the prefilter drops it")
			}
		})
	}
}

// TestParseShapeMonths: every month of a few locales (glibc's abmon, as journalctl prints %b).
func TestParseShapeMonths(t *testing.T) {
	locales := map[string][12]string{
		"C":     {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		"de_DE": {"Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"},
		"fr_FR": {"janv.", "févr.", "mars", "avril", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
		"es_ES": {"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"},
		"zh_CN": {"1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"},
		"ja_JP": {" 1月", " 2月", " 3月", " 4月", " 5月", " 6月", " 7月", " 8月", " 9月", "10月", "11月", "12月"},
		"ru_RU": {"янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"},
		"pl_PL": {"sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"},
	}
	for loc, names := range locales {
		for i, name := range names {
			m := i + 1
			line := name + " 05 10:00:00.000001 node1 kubelet[1]: " + "E" + two(m) + "05 10:00:00.000001 1 f.go:1] \"x\""
			p := Parser{Ref: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), Location: time.UTC}
			r, ok := p.Parse([]byte(line))
			if !ok || r.Shape != ShapeShortPrecise || int(r.TS.Month()) != m {
				t.Errorf("%s %q: ok=%v shape=%q month=%v, want short-precise month %d", loc, name, ok, r.Shape, r.TS.Month(), m)
			}
		}
	}
}

func two(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func TestParseDamage(t *testing.T) {
	tests := []struct {
		name, line, msg, err, dmg string
	}{
		{"systemctl ellipsis", `E1124 21:55:04.100165 1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/web.yaml" err="invalid pod: [spec.contai…`,
			"Could not process manifest file", "invalid pod: [spec.contai", DamageTruncated},
		{"pager cut", `E1124 21:55:04.100165 1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/web.yaml" err="invalid po>`,
			"Could not process manifest file", "invalid po", DamageTruncated},
		{"cut in the message", `E1124 21:55:04.100165 1234 file.go:187] "Could not process manif`, "Could not process manif", "", DamageTruncated},
		{"json cut", `{"ts":1732485304100.165,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.con`,
			"Could not process manifest file", "invalid pod: [spec.con", DamageTruncated},
		{"klog ends in a block close", "I1124 21:55:04.100165 1234 f.go:1] \"m\" k=<\n\tv\n >", "m", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := ParseLineRef([]byte(tt.line), ref)
			if !ok {
				t.Fatalf("not recognised")
			}
			if r.Msg != tt.msg || r.Err != tt.err || r.Damage != tt.dmg {
				t.Errorf("msg %q err %q damage %q, want %q %q %q", r.Msg, r.Err, r.Damage, tt.msg, tt.err, tt.dmg)
			}
		})
	}
}

func scanString(t *testing.T, in string, opts ScanOptions) ([]*Record, Stats) {
	t.Helper()
	var recs []*Record
	st, err := Scan(context.Background(), strings.NewReader(in), opts, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, st
}

func TestScanGluedRecords(t *testing.T) {
	in := strings.Join([]string{
		klogErr + `I1124 21:55:05.000001    1234 kubelet.go:2000] "SyncLoop ADD" source="file" pods=["default/web-node1"]`,
		jsonErr + jsonErr,
	}, "\n")
	recs, st := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: ref})
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4: %+v", len(recs), recs)
	}
	if recs[0].Err != "invalid pod: [spec.containers: Required value]" || recs[1].Msg != "SyncLoop ADD" || recs[1].Line != 1 {
		t.Errorf("glued klog: %q / %q line %d", recs[0].Err, recs[1].Msg, recs[1].Line)
	}
	for _, r := range recs {
		if !strings.Contains(r.Damage, DamageGlued) {
			t.Errorf("record %q: damage %q, want glued", r.Msg, r.Damage)
		}
	}
	if st.Damaged != 4 {
		t.Errorf("stats.Damaged = %d, want 4", st.Damaged)
	}
}

func TestScanContinuations(t *testing.T) {
	t.Run("journald indented continuation lines", func(t *testing.T) {
		in := "Nov 24 21:55:04 node1 kubelet[1234]: E1124 21:55:04.100165 1234 file.go:187] \"Could not process manifest file\" path=\"/etc/kubernetes/manifests/web.yaml\" err=<\n" +
			"                                       \tinvalid pod: [spec.containers: Required value,\n" +
			"                                       \tspec.volumes[0].hostPath.path: Required value]\n" +
			"                                        >\n" +
			"Nov 24 21:55:05 node1 kubelet[1234]: I1124 21:55:05.000000 1234 kubelet.go:1] \"SyncLoop ADD\" source=\"file\"\n"
		recs, st := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: ref})
		if len(recs) != 2 {
			t.Fatalf("%d records, want 2", len(recs))
		}
		want := "invalid pod: [spec.containers: Required value,\nspec.volumes[0].hostPath.path: Required value]"
		if recs[0].Err != want || recs[0].Damage != "" || recs[0].Line != 1 || recs[0].Shape != ShapeShort {
			t.Errorf("err %q damage %q line %d shape %q, want %q, no damage, line 1, short", recs[0].Err, recs[0].Damage, recs[0].Line, recs[0].Shape, want)
		}
		if st.Joined != 3 || recs[1].Line != 5 {
			t.Errorf("joined %d, second record line %d; want 3, 5", st.Joined, recs[1].Line)
		}
	})
	t.Run("hard wrap", func(t *testing.T) {
		in := klogErr[:90] + "\n" + klogErr[90:] + "\n" + klogErr + "\n"
		recs, _ := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: ref})
		if len(recs) != 2 {
			t.Fatalf("%d records, want 2", len(recs))
		}
		if recs[0].Err != "invalid pod: [spec.containers: Required value]" || recs[0].Path != "/etc/kubernetes/manifests/web.yaml" || !strings.Contains(recs[0].Damage, DamageJoined) {
			t.Errorf("wrapped record: path %q err %q damage %q", recs[0].Path, recs[0].Err, recs[0].Damage)
		}
	})
	t.Run("stack trace after a fatal line stays with it", func(t *testing.T) {
		in := "F1124 21:55:04.100165 1234 server.go:269] failed to run Kubelet: boom\ngoroutine 1 [running]:\n\tk8s.io/kubernetes/cmd/kubelet/app.Run(...)\n"
		recs, _ := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: ref})
		if len(recs) != 1 || recs[0].Msg != "Failed to run kubelet" {
			t.Fatalf("records %+v", recs)
		}
	})
}

func TestScanJournalExport(t *testing.T) {
	in := "__CURSOR=s=1\n__REALTIME_TIMESTAMP=1732485304100165\n__MONOTONIC_TIMESTAMP=1\n_HOSTNAME=node1\nSYSLOG_IDENTIFIER=kubelet\n_PID=1234\nPRIORITY=6\n" +
		"MESSAGE=" + klogErr + "\n\n" +
		"__CURSOR=s=2\n__REALTIME_TIMESTAMP=1732485305000000\n_HOSTNAME=node1\nSYSLOG_IDENTIFIER=systemd\n_PID=1\nPRIORITY=4\n" +
		"MESSAGE=kubelet.service: Scheduled restart job, restart counter is at 3.\n\n"
	recs, st := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %+v", len(recs), recs)
	}
	if r := recs[0]; r.Shape != ShapeJournalExport || r.Host != "node1" || r.Unit != "kubelet" || r.TS.Year() != 2024 || r.Path != "/etc/kubernetes/manifests/web.yaml" {
		t.Errorf("export klog: shape %q host %q unit %q ts %v path %q", r.Shape, r.Host, r.Unit, r.TS, r.Path)
	}
	if r := recs[1]; r.Msg != "kubelet.service: Scheduled restart job" || r.Unit != "systemd" || r.Level != "W" {
		t.Errorf("export systemd: %+v", r)
	}
	if st.YearSource != YearFromJournal || st.Kubelet.RestartCounter != 3 {
		t.Errorf("year source %q restart counter %d", st.YearSource, st.Kubelet.RestartCounter)
	}
}

func TestScanTalosMultiNode(t *testing.T) {
	in := strings.Join([]string{
		"172.20.0.2: " + `{"ts":1732485304100.165,"caller":"kubelet/kubelet.go:2000","msg":"Kubelet version","kubeletVersion":"v1.34.4"}`,
		"172.20.0.3: " + jsonErr,
		"172.20.0.2: " + `{"ts":1732485305100.165,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/b.yaml","err":"x"}`,
	}, "\n")
	recs, st := scanString(t, in, ScanOptions{Prefilter: Interesting})
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for i, want := range []string{"172.20.0.2", "172.20.0.3", "172.20.0.2"} {
		if recs[i].Node != want {
			t.Errorf("record %d node %q, want %q", i, recs[i].Node, want)
		}
	}
	if strings.Join(st.Nodes, ",") != "172.20.0.2,172.20.0.3" || st.Shape() != ShapeTalos || st.Kubelet.Version != "v1.34.4" {
		t.Errorf("nodes %v shape %q version %q", st.Nodes, st.Shape(), st.Kubelet.Version)
	}
}

func TestScanYearSource(t *testing.T) {
	later := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		opts     ScanOptions
		src      string
		year     int
	}{
		{"header with year", "2024-11-24T21:55:04+0000 node1 kubelet[1]: " + klogErr, ScanOptions{RefTime: later}, YearFromHeader, 2024},
		{"new year between header and klog", "2025-01-01T00:00:00.5+0000 node1 kubelet[1]: E1231 23:59:59.900000 1 f.go:1] \"x\" err=\"y\"", ScanOptions{RefTime: later}, YearFromHeader, 2024},
		{"reference time", klogErr, ScanOptions{RefTime: later}, YearFromGiven, 2026},
		{"content", `I1124 21:55:04.100165 1 kubelet.go:1] "Probe failed" probeType="Liveness" output="x" startedAt="2023-11-24 21:50:00 +0000 UTC"`, ScanOptions{}, YearFromContent, 2023},
		{"nothing better than now", klogErr, ScanOptions{}, YearFromNow, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Location = time.UTC
			recs, st := scanString(t, tt.in+"\n", tt.opts)
			if len(recs) != 1 || st.YearSource != tt.src {
				t.Fatalf("%d records, year source %q; want 1, %q", len(recs), st.YearSource, tt.src)
			}
			if tt.year != 0 && recs[0].TS.Year() != tt.year {
				t.Errorf("year %d, want %d", recs[0].TS.Year(), tt.year)
			}
		})
	}
}

func TestScanKubeletFacts(t *testing.T) {
	in := strings.Join([]string{
		`I1124 21:55:01.000000 1 server.go:416] Version: v1.20.15`,
		`F1124 21:55:01.500000 1 server.go:269] failed to run Kubelet: running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [Filename Type Size Used Priority /swap.img file 2097148 0 -2]`,
		`Nov 24 21:55:01 node1 systemd[1]: kubelet.service: Main process exited, code=exited, status=255/EXCEPTION`,
		`Nov 24 21:55:01 node1 systemd[1]: kubelet.service: Failed with result 'exit-code'.`,
		`Nov 24 21:55:11 node1 systemd[1]: kubelet.service: Scheduled restart job, restart counter is at 12.`,
		`I1124 21:55:11.000000 1 server.go:416] Version: v1.20.15`,
	}, "\n")
	_, st := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: ref, Location: time.UTC})
	k := st.Kubelet
	if k.Version != "v1.20.15" || k.Starts != 2 || k.Exits != 1 || k.RestartCounter != 12 || len(k.Fatal) != 2 {
		t.Fatalf("facts %+v", k)
	}
	if k.Fatal[0].Msg != "Failed to run kubelet" || !strings.HasPrefix(k.Fatal[0].Fields["err"]+k.Fatal[0].Err, "running with swap on") {
		t.Errorf("fatal %+v", k.Fatal[0])
	}
}

func TestScanHostileShapes(t *testing.T) {
	huge := "Nov 24 21:55:04 node1 kubelet[1]: E1124 21:55:04.100165 1 f.go:1] \"x\" err=\"" + strings.Repeat("y", 5<<20) + "\""
	bigJoin := "E1124 21:55:04.100165 1 f.go:1] \"x\" err=<\n" + strings.Repeat("\tcontinuation line of a block\n", 100000) + " >"
	in := strings.Join([]string{
		huge,
		"Nov 24 21:55:04 n\xffode kubelet[1]: " + klogErr,
		"\x00\x01\x02\xff\xfe binary",
		"172.20.0.2: \xff\xfe{\"ts\":1}",
		bigJoin,
		klogErr,
	}, "\n")
	recs, st := scanString(t, in, ScanOptions{Prefilter: Interesting, RefTime: ref})
	if st.Skipped < 1 || st.Lines < 6 {
		t.Errorf("stats %+v", st)
	}
	var hosts []string
	for _, r := range recs {
		if len(r.Raw) > MaxRaw {
			t.Errorf("Raw %d bytes", len(r.Raw))
		}
		hosts = append(hosts, r.Host)
	}
	if len(recs) < 3 || recs[0].Host != "n\uFFFDode" {
		t.Fatalf("%d records, hosts %q", len(recs), hosts)
	}
	if last := recs[len(recs)-1]; last.Path != "/etc/kubernetes/manifests/web.yaml" {
		t.Errorf("the record after a long block: %+v", last)
	}
}
