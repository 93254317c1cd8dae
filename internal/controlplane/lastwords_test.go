package controlplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lines are the components' own output: messages from their sources (file noted) in the
// framing each component logs them with (klog text for the Kubernetes components, zap JSON for
// etcd, stderr for flag parsing).
func TestClassifyLastWords(t *testing.T) {
	tests := []struct {
		name, line       string
		kind, reason     string
		flag, addr, path string
	}{
		// component-base/cli/run.go prints cobra's error; pflag flag.go:985 builds it.
		{"pflag unknown flag", `Error: unknown flag: --insecure-port`, KindUnknownFlag, "unknown-flag", "insecure-port", "", ""},
		{"pflag unknown flag with value", `Error: unknown flag: --feature-gatez=Foo=true`, KindUnknownFlag, "unknown-flag", "feature-gatez", "", ""},
		{"pflag shorthand", `Error: unknown shorthand flag: 'x' in -x`, KindUnknownFlag, "unknown-flag", "x", "", ""},
		// etcd parses with Go's flag package (etcdmain/config.go:143).
		{"etcd unknown flag", `flag provided but not defined: -experimental-initial-corrupt-check`, KindUnknownFlag, "unknown-flag", "experimental-initial-corrupt-check", "", ""},
		{"etcd stray arg", `{"level":"fatal","ts":"2026-12-01T10:00:00.000Z","caller":"etcdmain/etcd.go:66","msg":"failed to verify flags","error":"\"true\" is not a valid flag"}`, KindUnknownFlag, "unknown-flag", "true", "", ""},

		// crypto/x509 verify.go through grpc (the API server dialing etcd).
		{"etcd cert expired seen by apiserver",
			`W1201 10:00:01.123456       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1:2379", }. Err: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-12-01T10:00:01Z is after 2026-11-30T00:00:00Z"`,
			KindCertificateExpired, "x509-expired", "", "127.0.0.1:2379", ""},
		{"unknown authority via client-go",
			`E1201 10:00:01.000000       1 leaderelection.go:436] "Error retrieving lease lock" err="Get \"https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=5s\": tls: failed to verify certificate: x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"kubernetes\")" lock="kube-system/kube-scheduler"`,
			KindCertificateInvalid, "x509-unknown-authority", "", "", ""},
		{"SAN mismatch", `W1201 10:00:01.000000       1 logging.go:55] [core] [Channel #1 SubChannel #3]grpc: addrConn.createTransport failed to connect to {Addr: "10.0.0.10:2379", ServerName: "10.0.0.10:2379", }. Err: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, ::1, not 10.0.0.10"`,
			KindCertificateInvalid, "x509-san", "", "10.0.0.10:2379", ""},
		{"no IP SANs", `x509: cannot validate certificate for 10.0.0.10 because it doesn't contain any IP SANs`, KindCertificateInvalid, "x509-san", "", "", ""},
		{"new Go SAN form", `tls: failed to verify certificate: x509: certificate is valid for 2 IP SANs, but none matched 10.0.0.10`, KindCertificateInvalid, "x509-san", "", "", ""},
		// crypto/tls tls.go: X509KeyPair.
		{"key mismatch", `E1201 10:00:00.000000       1 run.go:72] "command failed" err="unable to load server certificate: tls: private key does not match public key"`, KindCertificateInvalid, "tls-key-mismatch", "", "", ""},
		{"garbage cert", `Error: failed to load serving cert: tls: failed to find any PEM data in certificate input`, KindCertificateInvalid, "tls-no-pem", "", "", ""},
		{"etcd rejects client cert", `{"level":"warn","ts":"2026-12-01T10:00:00.000Z","caller":"embed/config_logging.go:170","msg":"rejected connection on client endpoint","remote-addr":"127.0.0.1:48122","server-name":"","error":"remote error: tls: bad certificate"}`, KindCertificateInvalid, "tls-peer-rejected", "", "127.0.0.1:48122", ""},

		// Files: os.Open errors as the components wrap them.
		{"missing CA (apiserver)", `E1201 10:00:00.000000       1 run.go:72] "command failed" err="unable to load client CA provider: open /etc/kubernetes/pki/ca.crt: no such file or directory"`, KindReferencedFileMissing, "file-missing", "", "", "/etc/kubernetes/pki/ca.crt"},
		{"missing etcd cert", `{"level":"fatal","ts":"2026-12-01T10:00:00.000Z","caller":"etcdmain/etcd.go:204","msg":"discovery failed","error":"open /etc/kubernetes/pki/etcd/server.crt: no such file or directory"}`, KindReferencedFileMissing, "file-missing", "", "", "/etc/kubernetes/pki/etcd/server.crt"},
		{"permission denied", `Error: open /etc/kubernetes/pki/sa.key: permission denied`, KindComponentError, "permission-denied", "", "", "/etc/kubernetes/pki/sa.key"},
		{"etcd data dir permission", `{"level":"fatal","msg":"failed to start etcd","error":"mkdir /var/lib/etcd/member: permission denied"}`, KindComponentError, "permission-denied", "", "", "/var/lib/etcd/member"},
		// client-go clientcmd/validation.go:33 (an empty kubeconfig).
		{"empty kubeconfig", `E1201 10:00:00.000000       1 run.go:72] "command failed" err="invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable"`, KindReferencedFileMissing, "kubeconfig-empty", "", "", ""},

		// net.Listen through apiserver/pkg/server/options/serving.go:251 and etcd embed.
		{"apiserver port in use", `E1201 10:00:00.000000       1 run.go:72] "command failed" err="failed to create listener: failed to listen on 0.0.0.0:6443: listen tcp 0.0.0.0:6443: bind: address already in use"`, KindPortInUse, "bind-in-use", "", "0.0.0.0:6443", ""},
		{"etcd client port in use", `{"level":"fatal","ts":"2026-12-01T10:00:00.000Z","caller":"etcdmain/etcd.go:198","msg":"listener failed","error":"listen tcp 127.0.0.1:2379: bind: address already in use"}`, KindPortInUse, "bind-in-use", "", "127.0.0.1:2379", ""},
		{"ipv6 in use", `listen tcp6 [::1]:10259: bind: address already in use`, KindPortInUse, "bind-in-use", "", "[::1]:10259", ""},
		{"address not on node", `{"level":"fatal","msg":"listener failed","error":"listen tcp 10.9.9.9:2380: bind: cannot assign requested address"}`, KindComponentError, "bind-cannot-assign", "", "10.9.9.9:2380", ""},

		// etcd data dir and space (etcd/api rpctypes, server/storage, etcdserver/bootstrap.go).
		{"no space", `{"level":"warn","msg":"failed to apply request","error":"etcdserver: mvcc: database space exceeded"}`, KindComponentError, "etcd-no-space", "", "", ""},
		{"no space seen by apiserver", `E1201 10:00:00.000000       1 status.go:71] "Unhandled Error" err="apiserver received an error that is not an metav1.Status: rpctypes.EtcdError{code:0x8, desc:\"etcdserver: mvcc: database space exceeded\"}: etcdserver: mvcc: database space exceeded"`, KindComponentError, "etcd-no-space", "", "", ""},
		{"db locked", `{"level":"warn","ts":"2026-12-01T10:00:10.000Z","caller":"backend/backend.go:210","msg":"db file is flocked by another process, or taking too long","path":"/var/lib/etcd/member/snap/db","took":"10.000123s"}`, KindComponentError, "etcd-db-locked", "", "", ""},
		{"already bootstrapped", `{"level":"fatal","msg":"discovery failed","error":"member 8e9e05c52164694d has already been bootstrapped"}`, KindComponentError, "etcd-data-dir", "", "", ""},
		{"data dir unreadable", `{"level":"fatal","msg":"failed to start etcd","error":"cannot access data directory: directory \"/var/lib/etcd\",\"drwxr-xr-x\" exist without desired file permission \"-rwx------\"."}`, KindComponentError, "etcd-data-dir", "", "", ""},
		{"wal crc", `{"level":"panic","msg":"failed to open WAL","error":"walpb: crc mismatch"}`, KindComponentError, "etcd-data-dir", "", "", ""},
		{"member removed", `{"level":"fatal","msg":"failed to start etcd","error":"the member has been permanently removed from the cluster"}`, KindComponentError, "etcd-member-removed", "", "", ""},

		// Dependencies.
		{"etcd refused (grpc)", `W1201 10:00:01.123456       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1:2379", }. Err: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:2379: connect: connection refused"`,
			KindDependencyUnreachable, "dial-refused", "", "127.0.0.1:2379", ""},
		{"apiserver gives up on etcd", `F1201 10:00:20.000000       1 instance.go:232] Error creating leases: error creating storage factory: context deadline exceeded`, KindDependencyUnreachable, "etcd-timeout", "", "", ""},
		{"scheduler refused", `E1201 10:00:01.000000       1 leaderelection.go:436] "Error retrieving lease lock" err="Get \"https://10.0.0.10:6443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=5s\": dial tcp 10.0.0.10:6443: connect: connection refused" lock="kube-system/kube-scheduler"`,
			KindDependencyUnreachable, "dial-refused", "", "10.0.0.10:6443", ""},
		{"timeout", `W1201 10:00:01.000000       1 reflector.go:569] failed to list *v1.Pod: Get "https://10.0.0.10:6443/api/v1/pods?limit=500": dial tcp 10.0.0.10:6443: i/o timeout`, KindDependencyUnreachable, "dial-timeout", "", "10.0.0.10:6443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := Classify(tt.line)
			if !ok {
				t.Fatalf("not classified: %s", tt.line)
			}
			if w.Kind != tt.kind || w.Reason != tt.reason || w.Flag != tt.flag || w.Address != tt.addr || w.Path != tt.path {
				t.Errorf("got %s/%s flag=%q addr=%q path=%q, want %s/%s flag=%q addr=%q path=%q",
					w.Kind, w.Reason, w.Flag, w.Address, w.Path, tt.kind, tt.reason, tt.flag, tt.addr, tt.path)
			}
		})
	}
}

func TestClassifyLeavesHealthyLinesAlone(t *testing.T) {
	for _, line := range []string{
		`I1201 10:00:00.000000       1 secure_serving.go:211] Serving securely on [::]:6443`,
		`{"level":"info","ts":"2026-12-01T10:00:00.000Z","caller":"embed/serve.go:275","msg":"serving client traffic securely","traffic":"grpc+http","address":"127.0.0.1:2379"}`,
		`I1201 10:00:00.000000       1 leaderelection.go:271] successfully acquired lease kube-system/kube-scheduler`,
		`Flag --insecure-port has been deprecated, This flag has no effect now and will be removed in v1.24.`,
		``,
		`{"not":"closed"`,
	} {
		if w, ok := Classify(line); ok {
			t.Errorf("classified a healthy line as %s/%s: %s", w.Kind, w.Reason, line)
		}
	}
}

func TestLastWordsPrefersTheRootCause(t *testing.T) {
	lines := []string{
		`I1201 10:00:00.000000       1 options.go:249] external host was not specified, using 10.0.0.10`,
		`W1201 10:00:01.123456       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1:2379", }. Err: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-12-01T10:00:01Z is after 2026-11-30T00:00:00Z"`,
		`W1201 10:00:02.123456       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1:2379", }. Err: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:2379: connect: connection refused"`,
		`F1201 10:00:20.000000       1 instance.go:232] Error creating leases: error creating storage factory: context deadline exceeded`,
	}
	best, all, ok := LastWords(lines)
	if !ok || best.Kind != KindCertificateExpired || best.Address != "127.0.0.1:2379" {
		t.Fatalf("best = %+v", best)
	}
	if len(all) != 3 {
		t.Errorf("distinct = %d, want 3: %+v", len(all), all)
	}
	if best.Port() != 2379 {
		t.Errorf("port = %d", best.Port())
	}
}

func TestLastWordsRealOutput(t *testing.T) {
	tests := []struct {
		file, kind, reason, flag, addr, path string
	}{
		{"kube-apiserver-etcd-refused.log", KindDependencyUnreachable, "dial-refused", "", "127.0.0.1:23791", ""},
		{"kube-apiserver-port-in-use.log", KindPortInUse, "bind-in-use", "", "127.0.0.1:16444", ""},
		{"kube-apiserver-unknown-flag.log", KindUnknownFlag, "unknown-flag", "insecure-port", "", ""},
		{"kube-apiserver-missing-ca.log", KindReferencedFileMissing, "file-missing", "", "", "/etc/kubernetes/pki/nope-ca.crt"},
		{"kube-apiserver-garbage-cert.log", KindCertificateInvalid, "tls-no-pem", "", "", ""},
		{"kube-apiserver-key-mismatch.log", KindCertificateInvalid, "tls-key-mismatch", "", "", ""},
		{"etcd-unknown-flag.log", KindUnknownFlag, "unknown-flag", "experimental-bogus", "", ""},
		{"etcd-data-dir-not-a-dir.log", KindComponentError, "etcd-data-dir", "", "", ""},
		{"etcd-port-in-use.log", KindPortInUse, "bind-in-use", "", "127.0.0.1:23851", ""},
		{"etcd-db-flocked.log", KindComponentError, "etcd-db-locked", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/lastwords", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			w, _, ok := LastWords(strings.Split(string(data), "\n"))
			if !ok || w.Kind != tt.kind || w.Reason != tt.reason || w.Flag != tt.flag || w.Address != tt.addr || w.Path != tt.path {
				t.Errorf("got %v %s/%s flag=%q addr=%q path=%q, want %s/%s flag=%q addr=%q path=%q",
					ok, w.Kind, w.Reason, w.Flag, w.Address, w.Path, tt.kind, tt.reason, tt.flag, tt.addr, tt.path)
			}
		})
	}
}
