// Package certtest makes X.509 certificates and RSA keys for tests of the
// drivers' TLS (Modbus/TCP Security) and OPC UA security: a CA, leaf
// certificates it signs, and self-signed application certificates, written
// as PEM files into a test's temporary directory. It is a test double and
// must not be imported by production code.
package certtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Pair is a certificate with its private key, in memory and as PEM files.
type Pair struct {
	Cert     *x509.Certificate
	Key      *rsa.PrivateKey
	CertFile string // PEM
	KeyFile  string // PEM, PKCS#1
}

// Thumbprint is the certificate's SHA-1 digest in hex, the OPC UA
// thumbprint.
func (p *Pair) Thumbprint() string {
	sum := sha1.Sum(p.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Spec says what a certificate is for.
type Spec struct {
	// Name is the common name and the base of the file names.
	Name string
	// URI is the subjectAltName URI (an OPC UA application URI), if any.
	URI string
	// Hosts are DNS names and IP addresses in the subjectAltName.
	Hosts []string
}

// NewCA makes a self-signed CA in dir.
func NewCA(t testing.TB, dir, name string) *Pair {
	t.Helper()
	tmpl := template(t, Spec{Name: name})
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	return create(t, dir, name, tmpl, nil)
}

// Issue makes a leaf certificate for spec signed by ca, usable by a TLS
// server and client alike.
func (ca *Pair) Issue(t testing.TB, dir string, spec Spec) *Pair {
	t.Helper()
	return create(t, dir, spec.Name, leaf(t, spec), ca)
}

// SelfSigned makes a self-signed leaf certificate for spec, as OPC UA
// application instance certificates usually are.
func SelfSigned(t testing.TB, dir string, spec Spec) *Pair {
	t.Helper()
	tmpl := leaf(t, spec)
	// A self-signed application certificate signs itself: OPC UA stacks
	// (node-opcua among them) expect keyCertSign on it.
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	tmpl.BasicConstraintsValid = true
	return create(t, dir, spec.Name, tmpl, nil)
}

func leaf(t testing.TB, spec Spec) *x509.Certificate {
	tmpl := template(t, spec)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageContentCommitment
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if spec.URI != "" {
		u, err := url.Parse(spec.URI)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	for _, h := range spec.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

func template(t testing.TB, spec Spec) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.Name, Organization: []string{"pretreat tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
}

func create(t testing.TB, dir, name string, tmpl *x509.Certificate, ca *Pair) *Pair {
	t.Helper()
	// 2048 bits: the smallest key every OPC UA policy used here accepts.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pair{Cert: cert, Key: key, CertFile: filepath.Join(dir, name+".pem"), KeyFile: filepath.Join(dir, name+".key")}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.CertFile, "CERTIFICATE", der)
	write(p.KeyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	return p
}
