// Package pki is the control plane's own certificate authority. Agents on
// other machines dial the control plane over TLS: the server makes a CA on
// first start, signs the certificate its agent listener serves with it, and
// hands agents the CA's certificate, which they pin (it is their only root),
// so node credentials never cross a network in clear text and no public CA
// is involved.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	caFile     = "ca.pem"     // the CA's certificate and key (0600)
	serverFile = "server.pem" // the agent listener's certificate and key (0600)
	caLife     = 20 * 365 * 24 * time.Hour
	serverLife = 2 * 365 * 24 * time.Hour
	// renewBefore reissues a server certificate this close to its expiry.
	renewBefore = 30 * 24 * time.Hour
)

// Authority is a CA kept in a directory.
type Authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// CertPEM is the CA certificate agents pin.
	CertPEM []byte
	dir     string
}

// LoadOrCreate returns the CA kept in dir, creating it (and dir, 0700) on
// first use. Files are written whole or not at all.
func LoadOrCreate(dir string) (*Authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, caFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = newCA()
		if err == nil {
			b, err = writeOnce(path, b)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("certificate authority %s: %w", path, err)
	}
	cert, key, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("certificate authority %s: %w; remove the directory to make a new one (agents already running will then be refused)", path, err)
	}
	return &Authority{cert: cert, key: key, dir: dir,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})}, nil
}

// Fingerprint is the SHA-256 of the CA certificate, for humans to compare.
func (a *Authority) Fingerprint() string {
	sum := sha256.Sum256(a.cert.Raw)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// ServerCertificate returns a certificate for the given host names and IP
// addresses, signed by the CA: the one kept in the directory when it covers
// them and is not about to expire, else a new one (kept for next time).
func (a *Authority) ServerCertificate(hosts []string) (tls.Certificate, error) {
	path := filepath.Join(a.dir, serverFile)
	if b, err := os.ReadFile(path); err == nil {
		if cert, key, err := decode(b); err == nil && covers(cert, hosts) &&
			time.Until(cert.NotAfter) > renewBefore && cert.CheckSignatureFrom(a.cert) == nil {
			return tls.Certificate{Certificate: [][]byte{cert.Raw, a.cert.Raw}, PrivateKey: key, Leaf: cert}, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "hearth control plane"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(serverLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	b, err := encode(der, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writeReplace(path, b); err != nil {
		return tls.Certificate{}, err
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// ClientConfig is the TLS configuration of an agent: the CA in caPEM is its
// only root, so only a server holding a certificate from that CA is
// trusted.
func ClientConfig(caPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificate in the control plane's CA file")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if h != "" && !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

func newCA() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "hearth CA " + host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caLife),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return encode(der, key)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}

func encode(der []byte, key *ecdsa.PrivateKey) ([]byte, error) {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...), nil
}

func decode(b []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	var cert *x509.Certificate
	var key *ecdsa.PrivateKey
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		var err error
		switch blk.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(blk.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if cert == nil || key == nil {
		return nil, nil, errors.New("want a certificate and an EC private key in PEM")
	}
	return cert, key, nil
}

// writeOnce writes b to path (0600) unless it exists, atomically; it
// returns what path holds afterwards (another starter's value if it won).
func writeOnce(path string, b []byte) ([]byte, error) {
	tmp, err := writeTemp(path, b)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path)
		}
		return nil, err
	}
	return b, nil
}

// writeReplace atomically replaces path with b (0600).
func writeReplace(path string, b []byte) error {
	tmp, err := writeTemp(path, b)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func writeTemp(path string, b []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b) // CreateTemp makes it 0600
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
