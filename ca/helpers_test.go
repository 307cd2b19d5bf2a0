package ca_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

var testPassword = []byte("correct horse battery staple")

// bootstrap creates a CA in a fresh folder (done once per test: a few ms).
func bootstrap(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	err := ca.Bootstrap(context.Background(), ca.BootstrapOptions{Dir: dir, Organisation: "Cour d’appel de Rennes", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func openCA(t testing.TB, dir string, s *store.Store, mod ...func(*ca.Options)) *ca.CA {
	t.Helper()
	o := ca.Options{Dir: dir, Password: testPassword, Store: s, CRLURL: "https://retrait.example.fr/ca/crl",
		PolicyOIDs: []string{"1.2.250.1.999.1.1"}}
	for _, m := range mod {
		m(&o)
	}
	c, err := ca.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newCA is bootstrap + a fresh store of the dialect + Open.
func newCA(t testing.TB, dialect string) (*ca.CA, *store.Store) {
	t.Helper()
	s := storetest.Open(t, dialect)
	return openCA(t, bootstrap(t), s), s
}

func csrFor(t testing.TB, key crypto.Signer, cn string, sans ...string) *x509.CertificateRequest {
	t.Helper()
	csr, err := x509util.CreateCertificateRequest(cn, sans, key)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func ecKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := keyutil.GenerateSigner("EC", "P-256", 0)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func litigant() ca.ClientRequest {
	return ca.ClientRequest{Name: "Hélène Dupré-Lefèvre", Email: "Helene.Dupre+affaire@Exemple.FR",
		CaseRef: "RG 24/01234", ParticipantID: "42", Validity: 180 * 24 * time.Hour}
}

// writePEM writes certificates to a file for openssl.
func writePEM(t testing.TB, name string, certs ...*x509.Certificate) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
