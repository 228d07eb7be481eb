package pki_test

import (
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearthcluster/hearth/pki"
)

// handshake serves cert on loopback and dials it with client.
func handshake(t *testing.T, cert tls.Certificate, client *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = io.ReadAll(c)
	return err
}

func TestAuthority(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca, err := pki.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.pem"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", f, st.Mode(), err)
		}
	}
	again, err := pki.LoadOrCreate(dir)
	if err != nil || again.Fingerprint() != ca.Fingerprint() {
		t.Fatalf("reload gave another CA (%v)", err)
	}
	cert, err := ca.ServerCertificate([]string{"127.0.0.1", "hearth.example"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := pki.ClientConfig(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, cert, client); err != nil {
		t.Fatalf("agent pinning its CA refused the server: %v", err)
	}
	// Kept: the same hosts give the same certificate.
	same, err := ca.ServerCertificate([]string{"127.0.0.1"})
	if err != nil || string(same.Certificate[0]) != string(cert.Certificate[0]) {
		t.Fatalf("server certificate was not kept (%v)", err)
	}
	// A host it does not cover makes a new one.
	other, err := ca.ServerCertificate([]string{"10.9.9.9"})
	if err != nil || string(other.Certificate[0]) == string(cert.Certificate[0]) {
		t.Fatalf("server certificate not reissued for a new address (%v)", err)
	}
	// Another CA's agent refuses this server: pinning means only our CA.
	stranger, err := pki.LoadOrCreate(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	strangerClient, _ := pki.ClientConfig(stranger.CertPEM)
	if err := handshake(t, cert, strangerClient); err == nil {
		t.Fatal("an agent pinning another CA accepted the server")
	}
	if _, err := pki.ClientConfig([]byte("garbage")); err == nil {
		t.Fatal("ClientConfig accepted a file with no certificate")
	}
	// A corrupt CA file is an error naming the file, never a silent new CA.
	bad := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(bad, 0o700)
	os.WriteFile(filepath.Join(bad, "ca.pem"), []byte("not pem"), 0o600)
	if _, err := pki.LoadOrCreate(bad); err == nil {
		t.Fatal("LoadOrCreate accepted a corrupt CA file")
	}
}
