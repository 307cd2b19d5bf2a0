package bundle_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/ca/bundle"
)

func chain(t *testing.T, leafKey crypto.Signer) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "AC Test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTpl, caTpl, caKey.Public(), caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Hélène Dupré-Lefèvre"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return leaf, []*x509.Certificate{caCert}
}

func TestPassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		p, err := bundle.NewPassword()
		if err != nil {
			t.Fatal(err)
		}
		groups := strings.Split(p, "-")
		if len(groups) != 6 || seen[p] {
			t.Fatalf("password %q: want 6 groups, never repeated", p)
		}
		seen[p] = true
		for _, g := range groups {
			if len(g) != 4 || strings.ContainsAny(g, "0O1lIio") {
				t.Fatalf("group %q: want 4 unambiguous characters", g)
			}
		}
	}
	if bits := 24 * math.Log2(31); bits < bundle.MinPasswordBits {
		t.Fatalf("entropy %.0f bits < %d", bits, bundle.MinPasswordBits)
	}
}

// Each profile is read by OpenSSL 3 without -legacy and imported by NSS's
// pk12util, for ECDSA and RSA keys; RC2 and empty passwords never appear.
func TestProfilesInterop(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, p := range []bundle.Profile{bundle.Compatible, bundle.Modern} {
		for name, key := range map[string]crypto.Signer{"ecdsa": ecKey, "rsa": rsaKey} {
			t.Run(string(p)+"/"+name, func(t *testing.T) {
				leaf, ch := chain(t, key)
				pw, _ := bundle.NewPassword()
				data, err := bundle.Encode(p, key, leaf, ch, pw)
				if err != nil {
					t.Fatal(err)
				}
				if _, gotLeaf, gotChain, err := bundle.Decode(data, pw); err != nil || !gotLeaf.Equal(leaf) || len(gotChain) != 1 {
					t.Fatalf("round trip: %v", err)
				}
				file := filepath.Join(t.TempDir(), "c.p12")
				if err := os.WriteFile(file, data, 0o600); err != nil {
					t.Fatal(err)
				}
				requireTool(t, "openssl")
				out, err := exec.Command("openssl", "pkcs12", "-info", "-in", file, "-passin", "pass:"+pw, "-noout").CombinedOutput()
				if err != nil {
					t.Fatalf("openssl pkcs12 -info: %v\n%s", err, out)
				}
				if strings.Contains(string(out), "RC2") {
					t.Errorf("RC2 in the bundle:\n%s", out)
				}
				wantAlg := map[bundle.Profile]string{bundle.Compatible: "pbeWithSHA1And3-KeyTripleDES-CBC", bundle.Modern: "AES-256-CBC"}[p]
				if !strings.Contains(string(out), wantAlg) {
					t.Errorf("openssl does not report %s:\n%s", wantAlg, out)
				}
				requireTool(t, "pk12util")
				db := t.TempDir()
				if out, err := exec.Command("certutil", "-N", "-d", "sql:"+db, "--empty-password").CombinedOutput(); err != nil {
					t.Fatalf("certutil -N: %v\n%s", err, out)
				}
				if out, err := exec.Command("pk12util", "-i", file, "-d", "sql:"+db, "-W", pw).CombinedOutput(); err != nil {
					t.Fatalf("pk12util import: %v\n%s", err, out)
				}
				out, _ = exec.Command("certutil", "-L", "-d", "sql:"+db).CombinedOutput()
				if !strings.Contains(string(out), "u,u,u") {
					t.Errorf("NSS has no user certificate with its key:\n%s", out)
				}
			})
		}
	}
	if _, err := bundle.Encode(bundle.Compatible, ecKey, nil, nil, ""); err == nil {
		t.Error("an empty password must be refused")
	}
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI", name)
		}
		t.Skipf("SKIPPING: %s not installed", name)
	}
}
