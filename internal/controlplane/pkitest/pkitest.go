// Package pkitest writes a kubeadm-shaped PKI (CAs, serving and client certificates, keys,
// service-account keys and kubeconfigs with embedded certificates) under a directory, for tests
// of the control-plane checks. Any certificate can be altered before it is signed.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options shape the PKI.
type Options struct {
	// Now is the issuing time (default time.Now()); leaves are valid a year, CAs ten.
	Now time.Time
	// Advertise is the API server's and etcd's address (default 10.0.0.10).
	Advertise string
	// NodeName (default node1).
	NodeName string
	// Server is the kubeconfigs' server URL (default https://<Advertise>:6443).
	Server string
	// Alter changes a certificate template before signing, by its kubeadm name (apiserver,
	// etcd-server, etcd-peer, apiserver-etcd-client, front-proxy-client, controller-manager.conf,
	// scheduler.conf, admin.conf, kubelet.conf, ca, etcd-ca, front-proxy-ca…).
	Alter map[string]func(*x509.Certificate)
}

// PKI is what was written.
type PKI struct {
	Root string // the node root the files are under (Root/etc/kubernetes/pki/…)
	Opts Options
	keys map[string]crypto.Signer
	cas  map[string]*x509.Certificate
}

// Write writes the PKI under root/etc/kubernetes.
func Write(root string, o Options) (*PKI, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Advertise == "" {
		o.Advertise = "10.0.0.10"
	}
	if o.NodeName == "" {
		o.NodeName = "node1"
	}
	if o.Server == "" {
		o.Server = "https://" + o.Advertise + ":6443"
	}
	p := &PKI{Root: root, Opts: o, keys: map[string]crypto.Signer{}, cas: map[string]*x509.Certificate{}}
	pki := "etc/kubernetes/pki"
	steps := []func() error{
		func() error { return p.ca("ca", "kubernetes", pki+"/ca") },
		func() error { return p.ca("etcd-ca", "etcd-ca", pki+"/etcd/ca") },
		func() error { return p.ca("front-proxy-ca", "front-proxy-ca", pki+"/front-proxy-ca") },
		func() error {
			return p.leaf("apiserver", "ca", pki+"/apiserver", pkix.Name{CommonName: "kube-apiserver"}, true,
				[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", o.NodeName},
				[]string{"10.96.0.1", o.Advertise})
		},
		func() error {
			return p.leaf("apiserver-kubelet-client", "ca", pki+"/apiserver-kubelet-client", pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"kubeadm:cluster-admins"}}, false, nil, nil)
		},
		func() error {
			return p.leaf("apiserver-etcd-client", "etcd-ca", pki+"/apiserver-etcd-client", pkix.Name{CommonName: "kube-apiserver-etcd-client"}, false, nil, nil)
		},
		func() error {
			return p.leaf("front-proxy-client", "front-proxy-ca", pki+"/front-proxy-client", pkix.Name{CommonName: "front-proxy-client"}, false, nil, nil)
		},
		func() error {
			return p.leaf("etcd-server", "etcd-ca", pki+"/etcd/server", pkix.Name{CommonName: o.NodeName}, true, []string{"localhost", o.NodeName}, []string{o.Advertise, "127.0.0.1", "::1"})
		},
		func() error {
			return p.leaf("etcd-peer", "etcd-ca", pki+"/etcd/peer", pkix.Name{CommonName: o.NodeName}, true, []string{"localhost", o.NodeName}, []string{o.Advertise, "127.0.0.1", "::1"})
		},
		func() error {
			return p.leaf("etcd-healthcheck-client", "etcd-ca", pki+"/etcd/healthcheck-client", pkix.Name{CommonName: "kube-etcd-healthcheck-client"}, false, nil, nil)
		},
		func() error { return p.saKeys(pki) },
		func() error {
			return p.kubeconfig("controller-manager.conf", "system:kube-controller-manager", nil)
		},
		func() error { return p.kubeconfig("scheduler.conf", "system:kube-scheduler", nil) },
		func() error {
			return p.kubeconfig("admin.conf", "kubernetes-admin", []string{"kubeadm:cluster-admins"})
		},
		func() error { return p.kubeconfig("kubelet.conf", "system:node:"+o.NodeName, []string{"system:nodes"}) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *PKI) path(rel string) string { return filepath.Join(p.Root, filepath.FromSlash(rel)) }

func newKey() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

var serial int64 = 1000

func (p *PKI) sign(name string, tmpl *x509.Certificate, key crypto.Signer, parent string) ([]byte, error) {
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	if f := p.Opts.Alter[name]; f != nil {
		f(tmpl)
	}
	pc, pk := tmpl, key
	if parent != "" {
		pc, pk = p.cas[parent], p.keys[parent]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pc, key.Public(), pk)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", name, err)
	}
	return der, nil
}

func (p *PKI) ca(name, cn, rel string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: p.Opts.Now.Add(-time.Hour), NotAfter: p.Opts.Now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := p.sign(name, tmpl, key, "")
	if err != nil {
		return err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	p.cas[name], p.keys[name] = c, key
	return p.writePair(rel, der, key)
}

func (p *PKI) leaf(name, ca, rel string, subj pkix.Name, serving bool, dns, ips []string) error {
	der, key, err := p.leafDER(name, ca, subj, serving, dns, ips)
	if err != nil {
		return err
	}
	return p.writePair(rel, der, key)
}

func (p *PKI) leafDER(name, ca string, subj pkix.Name, serving bool, dns, ips []string) ([]byte, crypto.Signer, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		Subject: subj, NotBefore: p.Opts.Now.Add(-time.Hour), NotAfter: p.Opts.Now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, DNSNames: dns,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if serving {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := p.sign(name, tmpl, key, ca)
	return der, key, err
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func (p *PKI) writePair(rel string, der []byte, key crypto.Signer) error {
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	if err := p.WriteFile(rel+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return err
	}
	return p.WriteFile(rel+".key", kp)
}

// WriteFile writes data at a node path relative to Root (parents created), mode 0600.
func (p *PKI) WriteFile(rel string, data []byte) error {
	full := p.path(rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o600)
}

func (p *PKI) saKeys(pki string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := p.WriteFile(pki+"/sa.key", kp); err != nil {
		return err
	}
	return p.WriteFile(pki+"/sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

func (p *PKI) kubeconfig(name, cn string, orgs []string) error {
	der, key, err := p.leafDER(name, "ca", pkix.Name{CommonName: cn, Organization: orgs}, false, nil, nil)
	if err != nil {
		return err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	user := cn
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{
		Server:                   p.Opts.Server,
		CertificateAuthorityData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cas["ca"].Raw}),
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		ClientKeyData:         kp,
	}
	cfg.Contexts[user+"@kubernetes"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: user}
	cfg.CurrentContext = user + "@kubernetes"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return p.WriteFile("etc/kubernetes/"+name, data)
}

// CA returns a CA certificate by name (ca, etcd-ca, front-proxy-ca).
func (p *PKI) CA(name string) *x509.Certificate { return p.cas[name] }

// Key returns a CA key by name.
func (p *PKI) Key(name string) crypto.Signer { return p.keys[name] }
