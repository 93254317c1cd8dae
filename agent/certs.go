package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/internal/api"
)

// CertOptions configure GenerateCerts.
type CertOptions struct {
	Dir      string
	Hosts    []string // DNS names and IPs of the agent's server certificate (localhost and 127.0.0.1 always)
	Validity time.Duration
	// Overwrite replaces existing files; otherwise an existing file is an error (never clobber a CA).
	Overwrite bool
}

// CertFiles are the files GenerateCerts writes into Dir.
var CertFiles = []string{"ca.crt", "ca.key", "server.crt", "server.key", "admin.crt", "admin.key", "reader.crt", "reader.key"}

// GenerateCerts creates a CA, a server certificate for the agent and two client certificates
// (organization spdoc:admin and spdoc:reader), all ECDSA P-256. Keys are written with mode 0600.
func GenerateCerts(opts CertOptions) error {
	if opts.Dir == "" {
		return errors.New("certs: no output directory")
	}
	if opts.Validity <= 0 {
		opts.Validity = 365 * 24 * time.Hour
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return fmt.Errorf("creating %q: %w", opts.Dir, err)
	}
	if !opts.Overwrite {
		for _, f := range CertFiles {
			if _, err := os.Lstat(filepath.Join(opts.Dir, f)); err == nil {
				return fmt.Errorf("%s already exists; refusing to overwrite (use --force)", filepath.Join(opts.Dir, f))
			}
		}
	}
	now := time.Now().Add(-5 * time.Minute)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "spdoc agent CA", Organization: []string{"spdoc"}},
		NotBefore:             now,
		NotAfter:              now.Add(opts.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("creating CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	if err := writePair(opts.Dir, "ca", caDER, caKey); err != nil {
		return err
	}

	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, opts.Hosts...)
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "spdoc-agent"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, h)
		}
	}
	leaves := []struct {
		name string
		tmpl *x509.Certificate
	}{
		{"server", server},
		{"admin", &x509.Certificate{Subject: pkix.Name{CommonName: "admin", Organization: []string{api.RoleAdmin}}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
		{"reader", &x509.Certificate{Subject: pkix.Name{CommonName: "reader", Organization: []string{api.RoleReader}}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
	}
	for _, l := range leaves {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		l.tmpl.SerialNumber = serial()
		l.tmpl.NotBefore, l.tmpl.NotAfter = now, now.Add(opts.Validity)
		l.tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, l.tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return fmt.Errorf("creating %s certificate: %w", l.name, err)
		}
		if err := writePair(opts.Dir, l.name, der, key); err != nil {
			return err
		}
	}
	return nil
}

// ClientCert creates one more client certificate signed by the CA in dir, with the given common
// name and role, written as <name>.crt/.key.
func ClientCert(dir, name, role string, validity time.Duration) error {
	if role != api.RoleAdmin && role != api.RoleReader {
		return fmt.Errorf("unknown role %q: want %s or %s", role, api.RoleAdmin, api.RoleReader)
	}
	return clientCert(dir, name, []string{role}, validity)
}

func clientCert(dir, name string, orgs []string, validity time.Duration) error {
	pair, err := loadCA(dir)
	if err != nil {
		return err
	}
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().Add(-5 * time.Minute)
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: name, Organization: orgs},
		NotBefore: now, NotAfter: now.Add(validity), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pair.cert, &key.PublicKey, pair.key)
	if err != nil {
		return fmt.Errorf("creating certificate %s: %w", name, err)
	}
	return writePair(dir, name, der, key)
}

type caPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func loadCA(dir string) (*caPair, error) {
	cb, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading CA: %w", err)
	}
	kb, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("reading CA key: %w", err)
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, fmt.Errorf("reading CA in %s: not PEM", dir)
	}
	cert, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dir, "ca.crt"), err)
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dir, "ca.key"), err)
	}
	return &caPair{cert: cert, key: key}, nil
}

func writePair(dir, name string, der []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the kernel RNG never fails on Linux
	}
	return n
}
