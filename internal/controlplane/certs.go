package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ExpiryWarning is how close to its expiry a certificate becomes a warning: 30 days, as
// `kubeadm certs check-expiration` and kubeadm's upgrade preflight warn.
const ExpiryWarning = 30 * 24 * time.Hour

// CertInfo is the public metadata of one certificate (never key material).
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	IsCA      bool      `json:"isCA,omitempty"`
	DNSNames  []string  `json:"dnsNames,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	// SHA256 is the fingerprint of the DER certificate.
	SHA256 string `json:"sha256"`
	// PublicKey is the SHA-256 of the certificate's public key (PKIX DER), to match keys.
	PublicKey string `json:"publicKey"`
	// From says where the certificate was found when not the file itself
	// ("client-certificate-data of user kubernetes-admin").
	From string `json:"from,omitempty"`

	cert *x509.Certificate
}

// SANs renders the subject alternative names.
func (c *CertInfo) SANs() string {
	return strings.Join(append(append([]string(nil), c.DNSNames...), c.IPs...), ", ")
}

// KeyInfo is what spdoc says about a private key file: its type and whether it matches the
// certificate it is paired with. The key itself never leaves the node.
type KeyInfo struct {
	Type      string `json:"type"` // RSA-2048, ECDSA-P256, Ed25519
	PublicKey string `json:"publicKey"`
	// Matches is set when the paired certificate was read: whether its public key is this key's.
	Matches *bool  `json:"matches,omitempty"`
	Pair    string `json:"pair,omitempty"` // the certificate flag or file it was compared with
}

// ErrNoPEM is returned for a file with no PEM block of the wanted type.
var ErrNoPEM = errors.New("no PEM data")

func newCertInfo(c *x509.Certificate, from string) CertInfo {
	fp := sha256.Sum256(c.Raw)
	ci := CertInfo{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), IsCA: c.IsCA,
		DNSNames: c.DNSNames, SHA256: hex.EncodeToString(fp[:]), From: from, cert: c,
	}
	for _, ip := range c.IPAddresses {
		ci.IPs = append(ci.IPs, ip.String())
	}
	if pk, err := x509.MarshalPKIXPublicKey(c.PublicKey); err == nil {
		h := sha256.Sum256(pk)
		ci.PublicKey = hex.EncodeToString(h[:])
	}
	return ci
}

// ParseCerts reads every CERTIFICATE block of PEM data. Other block types are skipped (a cert
// file may carry its key too); data with no certificate, or with one that does not parse, is an
// error naming the block.
func ParseCerts(data []byte, from string) ([]CertInfo, error) {
	var out []CertInfo
	rest := data
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return out, fmt.Errorf("PEM block %d: %w", n, err)
		}
		out = append(out, newCertInfo(c, from))
	}
	if len(out) == 0 {
		if n == 0 {
			return nil, fmt.Errorf("%w: not a PEM certificate", ErrNoPEM)
		}
		return nil, fmt.Errorf("%w: %d PEM block(s), none a CERTIFICATE", ErrNoPEM, n)
	}
	return out, nil
}

// ParseKey reads the first private key of PEM data (PKCS#1, PKCS#8 or SEC 1).
func ParseKey(data []byte) (*KeyInfo, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no private key block", ErrNoPEM)
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		var key any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: unsupported key type %T", b.Type, key)
		}
		return keyInfo(signer.Public())
	}
}

// ParsePublicKeys reads the verification keys of a service-account key file: PUBLIC KEY blocks,
// certificates and private keys (whose public half is used), as the API server does.
func ParsePublicKeys(data []byte) ([]string, error) {
	var out []string
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var pub any
		switch {
		case b.Type == "PUBLIC KEY":
			p, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return out, fmt.Errorf("PUBLIC KEY: %w", err)
			}
			pub = p
		case b.Type == "RSA PUBLIC KEY":
			p, err := x509.ParsePKCS1PublicKey(b.Bytes)
			if err != nil {
				return out, fmt.Errorf("RSA PUBLIC KEY: %w", err)
			}
			pub = p
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return out, fmt.Errorf("CERTIFICATE: %w", err)
			}
			pub = c.PublicKey
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			k, err := ParseKey(pem.EncodeToMemory(b))
			if err != nil {
				return out, err
			}
			out = append(out, k.PublicKey)
			continue
		default:
			continue
		}
		k, err := keyInfo(pub)
		if err != nil {
			return out, err
		}
		out = append(out, k.PublicKey)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no public key, certificate or private key", ErrNoPEM)
	}
	return out, nil
}

func keyInfo(pub any) (*KeyInfo, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(der)
	ki := &KeyInfo{PublicKey: hex.EncodeToString(h[:])}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		ki.Type = fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		ki.Type = "ECDSA-" + strings.ReplaceAll(k.Curve.Params().Name, "-", "")
	case ed25519.PublicKey:
		ki.Type = "Ed25519"
	default:
		ki.Type = fmt.Sprintf("%T", pub)
	}
	return ki, nil
}

// signedBy reports whether cert chains to one of cas, through the intermediates given (the rest
// of the leaf's own file). Expiry is not considered here: it has its own finding.
func signedBy(leaf CertInfo, intermediates []CertInfo, cas []CertInfo) bool {
	if leaf.cert == nil {
		return false
	}
	cur := leaf.cert
	for depth := 0; depth < 8; depth++ {
		for _, ca := range cas {
			if ca.cert != nil && cur.CheckSignatureFrom(ca.cert) == nil {
				return true
			}
			// A CA file that holds the leaf's own issuer by equality (self-signed leaf).
			if ca.cert != nil && ca.cert.Equal(cur) {
				return true
			}
		}
		next := (*x509.Certificate)(nil)
		for _, im := range intermediates {
			if im.cert != nil && !im.cert.Equal(cur) && cur.CheckSignatureFrom(im.cert) == nil {
				next = im.cert
				break
			}
		}
		if next == nil {
			return false
		}
		cur = next
	}
	return false
}

// covers reports whether the certificate is valid for host (DNS name or IP).
func (c *CertInfo) covers(host string) bool {
	if c.cert == nil {
		return false
	}
	return c.cert.VerifyHostname(host) == nil
}
