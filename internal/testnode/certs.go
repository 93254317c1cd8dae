package testnode

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ReissueCertificate re-signs the node's certificate name (kubeadm's base name under the PKI dir:
// "apiserver", "etcd/server", "apiserver-kubelet-client", …) with the same key, subject, SANs and
// usages but the validity given, signed by the CA kubeadm signed it with (ca, etcd/ca or
// front-proxy-ca). It is how a test makes a certificate expired or expiring for real; `kubeadm
// certs renew <name>` (ControlPlane.Kubeadm) is the way back.
func (c *ControlPlane) ReissueCertificate(name string, notBefore, notAfter time.Time) error {
	pki := c.HostPath(c.Files.PKI)
	certPath := filepath.Join(pki, name+".crt")
	cert, err := readCertificate(certPath)
	if err != nil {
		return err
	}
	key, err := readPrivateKey(filepath.Join(pki, name+".key"))
	if err != nil {
		return err
	}
	caName := "ca"
	switch {
	case strings.HasPrefix(name, "etcd/"):
		caName = "etcd/ca"
	case strings.HasPrefix(name, "front-proxy-"):
		caName = "front-proxy-ca"
	}
	ca, err := readCertificate(filepath.Join(pki, caName+".crt"))
	if err != nil {
		return err
	}
	caKey, err := readPrivateKey(filepath.Join(pki, caName+".key"))
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := *cert
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca, key.(crypto.Signer).Public(), caKey)
	if err != nil {
		return fmt.Errorf("re-issuing %s: %w", certPath, err)
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no CERTIFICATE PEM block", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func readPrivateKey(path string) (crypto.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	return nil, errors.New(path + ": unsupported key block " + block.Type)
}
