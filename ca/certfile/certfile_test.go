package certfile_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sceau.fr/sceau/ca/certfile"
)

func writePair(t *testing.T, dir, cn string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An operator replaces the certificate files: the new one is served
// without a restart; a broken replacement keeps the previous one and is
// reported.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	writePair(t, dir, "old.example.fr")
	var reported []error
	s := &certfile.Source{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		CheckEvery: time.Nanosecond, OnError: func(err error) { reported = append(reported, err) }}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	cn := func() string {
		c, err := s.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	if cn() != "old.example.fr" {
		t.Fatal("initial certificate not served")
	}
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	writePair(t, dir, "new.example.fr")
	if got := cn(); got != "new.example.fr" {
		t.Fatalf("after replacement: %s", got)
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), bytes.Repeat([]byte("x"), 10), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cn(); got != "new.example.fr" || len(reported) == 0 {
		t.Fatalf("broken replacement: serving %s, %d errors reported", got, len(reported))
	}
	missing := &certfile.Source{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: filepath.Join(dir, "nope.key")}
	if err := missing.Load(); err == nil {
		t.Error("missing files must fail to load")
	}
}
