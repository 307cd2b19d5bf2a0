package demo_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/ca/demo"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	made, err := demo.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	pools := map[string]*x509.CertPool{}
	inters := map[string]*x509.CertPool{}
	for domain, file := range made.TrustFiles {
		pem, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		roots, in := x509.NewCertPool(), x509.NewCertPool()
		for i, c := range parsePEM(t, pem) {
			if !strings.Contains(c.Subject.CommonName, "(TEST)") {
				t.Errorf("%s: CA %q is not marked TEST", domain, c.Subject.CommonName)
			}
			if i == 0 {
				roots.AddCert(c)
			} else {
				in.AddCert(c)
			}
		}
		pools[domain], inters[domain] = roots, in
	}
	readme, _ := os.ReadFile(made.Readme)
	roles := map[string]int{}
	for _, id := range made.Identities {
		data, err := os.ReadFile(id.P12)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), id.Password) {
			t.Errorf("the README does not give the password of %s", id.File)
		}
		_, leaf, chain, err := bundle.Decode(data, id.Password)
		if err != nil || len(chain) != 1 {
			t.Fatalf("%s: %v", id.File, err)
		}
		for domain, roots := range pools {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters[domain], KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if (err == nil) != (domain == id.Domain) {
				t.Errorf("%s verifies in %s: %v", id.File, domain, err)
			}
		}
		if len(leaf.EmailAddresses) != 1 || leaf.EmailAddresses[0] != id.Email {
			t.Errorf("%s email %v", id.File, leaf.EmailAddresses)
		}
		roles[id.Role]++
	}
	if roles["magistrate"] != 1 || roles["clerk"] != 1 || roles["lawyer"] != 2 || roles["expert"] != 2 {
		t.Errorf("identities by role: %v", roles)
	}
}

func parsePEM(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}
