package ca_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

func TestLitigantCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := openCA(t, bootstrap(t), s)
		key := ecKey(t)
		issued, err := c.IssueClient(context.Background(), csrFor(t, key, ""), litigant())
		if err != nil {
			t.Fatal(err)
		}
		leaf := issued.Leaf
		if leaf.Subject.CommonName != "Hélène Dupré-Lefèvre" {
			t.Errorf("CN = %q", leaf.Subject.CommonName)
		}
		if got := leaf.EmailAddresses; len(got) != 1 || got[0] != "Helene.Dupre+affaire@exemple.fr" {
			t.Errorf("email SAN = %v (local part kept, domain lower-cased)", got)
		}
		if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
			t.Errorf("EKU = %v, want clientAuth only", leaf.ExtKeyUsage)
		}
		if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("key usage = %v", leaf.KeyUsage)
		}
		if p, ok := ca.ParticipantOf(leaf); !ok || p.CaseRef != "RG 24/01234" || p.ParticipantID != "42" {
			t.Errorf("participant = %+v %v", p, ok)
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 180*24*time.Hour || d > 180*24*time.Hour+2*time.Minute {
			t.Errorf("validity %v, want 180 days", d)
		}
		if len(leaf.CRLDistributionPoints) != 1 || leaf.CRLDistributionPoints[0] != "https://retrait.example.fr/ca/crl" {
			t.Errorf("CRL DP = %v", leaf.CRLDistributionPoints)
		}
		if len(leaf.PolicyIdentifiers) != 1 || leaf.PolicyIdentifiers[0].String() != "1.2.250.1.999.1.1" {
			t.Errorf("policies = %v", leaf.PolicyIdentifiers)
		}
		if leaf.SerialNumber.Sign() <= 0 || len(leaf.SerialNumber.Bytes()) > 20 {
			t.Errorf("serial %v is not positive and at most 20 bytes", leaf.SerialNumber)
		}
		if !strings.EqualFold(string(leaf.AuthorityKeyId), string(c.Intermediate().SubjectKeyId)) || len(leaf.SubjectKeyId) == 0 {
			t.Error("AKI/SKI missing or wrong")
		}
		roots := x509.NewCertPool()
		roots.AddCert(c.Root())
		inter := x509.NewCertPool()
		inter.AddCert(c.Intermediate())
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("chain does not verify for client auth: %v", err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
			t.Error("a litigant certificate must not be usable as a server certificate")
		}
		// The record exists with the certificate.
		rec, err := s.GetCertificate(context.Background(), leaf.SerialNumber.String())
		if err != nil || rec.Profile != "litigant" || string(rec.DER) != string(leaf.Raw) {
			t.Fatalf("record: %+v %v", rec, err)
		}
	})
}

func TestIssuancePolicyRefusals(t *testing.T) {
	c, s := newCA(t, "sqlite")
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		csr  *x509.CertificateRequest
		req  func(r *ca.ClientRequest)
		want string
	}{
		{"weak RSA key", csrFor(t, rsaKey, ""), nil, "2048"},
		{"CSR for another address", csrFor(t, ecKey(t), "", "pirate@exemple.fr"), nil, ""},
		{"CSR with another name", csrFor(t, ecKey(t), "Someone Else"), nil, ""},
		{"validity over the maximum", csrFor(t, ecKey(t), ""), func(r *ca.ClientRequest) { r.Validity = 400 * 24 * time.Hour }, "maximum"},
		{"not an email", csrFor(t, ecKey(t), ""), func(r *ca.ClientRequest) { r.Email = "jean dupont" }, "email"},
		{"no name", csrFor(t, ecKey(t), ""), func(r *ca.ClientRequest) { r.Name = "  " }, "name"},
		{"no case", csrFor(t, ecKey(t), ""), func(r *ca.ClientRequest) { r.CaseRef = "" }, "case"},
		{"CSR claiming a key it was not signed with", forgedCSR(t), nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := litigant()
			if tc.req != nil {
				tc.req(&r)
			}
			_, err := c.IssueClient(ctx, tc.csr, r)
			var rej *ca.RejectedError
			if !errors.As(err, &rej) {
				t.Fatalf("err = %v, want a RejectedError", err)
			}
			if !strings.Contains(strings.ToLower(err.Error()), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	n, err := s.CountCertificates(ctx, time.Now())
	if err != nil || n.Issued != 0 {
		t.Errorf("refused requests left %d certificates (%v)", n.Issued, err)
	}
}

// forgedCSR is a request whose signature does not match the public key it
// asks a certificate for (someone else's key).
func forgedCSR(t *testing.T) *x509.CertificateRequest {
	t.Helper()
	csr := csrFor(t, ecKey(t), "")
	csr.PublicKey = ecKey(t).Public()
	return csr
}

func TestRevocationAndCRL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := openCA(t, bootstrap(t), s)
		issued, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
		if err != nil {
			t.Fatal(err)
		}
		serial := issued.Leaf.SerialNumber
		if revoked, err := c.IsRevoked(serial); err != nil || revoked {
			t.Fatalf("fresh certificate revoked=%v err=%v", revoked, err)
		}
		if err := c.Revoke(ctx, serial, ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		if err := c.Revoke(ctx, serial, ca.ReasonSuperseded); err != nil {
			t.Fatalf("revoking twice must succeed: %v", err)
		}
		if revoked, err := c.IsRevoked(serial); err != nil || !revoked {
			t.Fatalf("after Revoke: revoked=%v err=%v", revoked, err)
		}
		der, err := c.CRL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
			t.Errorf("CRL not signed by the intermediate: %v", err)
		}
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(serial) != 0 ||
			crl.RevokedCertificateEntries[0].ReasonCode != int(ca.ReasonKeyCompromise) {
			t.Errorf("CRL entries = %+v", crl.RevokedCertificateEntries)
		}
		if !crl.NextUpdate.After(time.Now().Add(23 * time.Hour)) {
			t.Errorf("nextUpdate %v too close", crl.NextUpdate)
		}
		if err := c.Revoke(ctx, new(big.Int).Add(issued.Leaf.SerialNumber, big.NewInt(1)), ca.ReasonUnspecified); !errors.Is(err, ca.ErrUnknownCertificate) {
			t.Errorf("revoking an unknown serial: %v", err)
		}
	})
}

func TestRevocationSeenByAnotherInstance(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, s, s2 *store.Store) {
		ctx := context.Background()
		dir := bootstrap(t)
		fast := func(o *ca.Options) { o.RevocationRefresh = 50 * time.Millisecond }
		a := openCA(t, dir, s, fast)
		// The second instance has its own connections to the same database.
		b := openCA(t, dir, s2, fast)
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go b.Run(runCtx)
		issued, err := a.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, issued.Leaf.SerialNumber, ca.ReasonAffiliationChanged); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second) // the stated bound is RevocationRefresh (2 s by default)
		for {
			if revoked, _ := b.IsRevoked(issued.Leaf.SerialNumber); revoked {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the other instance never saw the revocation")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestRevocationFailsClosedWhenStale(t *testing.T) {
	dir := bootstrap(t)
	s := storetest.Open(t, "sqlite")
	c := openCA(t, dir, s, func(o *ca.Options) { o.MaxStale = 50 * time.Millisecond })
	issued, err := c.IssueClient(context.Background(), csrFor(t, ecKey(t), ""), litigant())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond) // no Run loop: the cache ages
	if _, err := c.IsRevoked(issued.Leaf.SerialNumber); !errors.Is(err, ca.ErrRevocationUnavailable) {
		t.Fatalf("stale cache: err = %v, want ErrRevocationUnavailable", err)
	}
}

func TestOpenFailures(t *testing.T) {
	dir := bootstrap(t)
	s := storetest.Open(t, "sqlite")
	open := func(o ca.Options) error {
		o.Store = s
		c, err := ca.Open(context.Background(), o)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := open(ca.Options{Dir: dir, Password: []byte("wrong password!")}); !errors.Is(err, ca.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if err := open(ca.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "key_password") {
		t.Errorf("no password: %v", err)
	}
	if err := open(ca.Options{Dir: dir, Password: testPassword, DefaultValidity: 400 * 24 * time.Hour}); err == nil {
		t.Error("a default validity above the maximum must refuse to start")
	}
	// step-ca replaces a provisioner it cannot initialise (here: a maximum
	// validity below its 5-minute minimum) by a disabled one and carries
	// on; Sceau refuses to start instead.
	if err := open(ca.Options{Dir: dir, Password: testPassword, DefaultValidity: time.Minute, MaxValidity: time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "did not initialise") {
		t.Errorf("provisioner that did not initialise: %v", err)
	}
	// The root key may be offline: serving needs the intermediate only.
	if err := os.Rename(filepath.Join(dir, ca.RootKeyFile), filepath.Join(t.TempDir(), "root.key")); err != nil {
		t.Fatal(err)
	}
	if err := open(ca.Options{Dir: dir, Password: testPassword}); err != nil {
		t.Errorf("without the root key: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, ca.IntermediateKeyFile)); err != nil {
		t.Fatal(err)
	}
	if err := open(ca.Options{Dir: dir, Password: testPassword}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing intermediate key: %v", err)
	}
	if err := open(ca.Options{Dir: filepath.Join(t.TempDir(), "nothing"), Password: testPassword}); err == nil || !strings.Contains(err.Error(), "sceau init") {
		t.Errorf("no CA: %v", err)
	}
	// PKCS#11 in a binary built without it says how to get it.
	if !ca.PKCS11Supported {
		err := open(ca.Options{Dir: dir, Password: testPassword, PKCS11: &ca.PKCS11{URI: "pkcs11:token=x", Key: "pkcs11:id=01;object=k"}})
		if !errors.Is(err, ca.ErrNoPKCS11) {
			t.Errorf("PKCS#11 without support: %v", err)
		}
	}
}

func TestRotateIntermediate(t *testing.T) {
	dir := bootstrap(t)
	s := storetest.Open(t, "sqlite")
	ctx := context.Background()
	old := openCA(t, dir, s)
	before, err := old.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.RotateIntermediate(ctx, dir, filepath.Join(dir, ca.RootKeyFile), []byte("wrong"), testPassword, nil); !errors.Is(err, ca.ErrWrongPassword) {
		t.Fatalf("rotation with a wrong root password: %v", err)
	}
	inter, err := ca.RotateIntermediate(ctx, dir, filepath.Join(dir, ca.RootKeyFile), testPassword, testPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := openCA(t, dir, s)
	if !c.Intermediate().Equal(inter) || c.Intermediate().Equal(old.Intermediate()) {
		t.Fatal("the new intermediate is not in use")
	}
	if len(c.Intermediates()) != 2 {
		t.Errorf("the previous intermediate must stay known while its certificates live: %d", len(c.Intermediates()))
	}
	after, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
	if err != nil {
		t.Fatal(err)
	}
	if err := after.Leaf.CheckSignatureFrom(inter); err != nil {
		t.Error("new certificates are not signed by the new intermediate")
	}
	if err := before.Leaf.CheckSignatureFrom(c.Intermediates()[1]); err != nil {
		t.Error("old certificates do not chain to the archived intermediate")
	}
}

func TestServerCertificate(t *testing.T) {
	c, _ := newCA(t, "sqlite")
	sc, err := c.ServerCertificate(context.Background(), []string{"localhost", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := sc.Leaf()
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("EKU %v", leaf.ExtKeyUsage)
	}
	if _, err := c.IssueServer(context.Background(), csrFor(t, ecKey(t), "", "localhost"), []string{"bad name!"}); err == nil {
		t.Error("a bad host name must be refused")
	}
}

// Interop: openssl, which nobody here wrote, agrees with the chain, reads
// the CRL and shows the expected extensions.
func TestOpenSSLInterop(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is required under CI")
		}
		t.Skip("SKIPPING: openssl not installed")
	}
	c, _ := newCA(t, "sqlite")
	ctx := context.Background()
	client, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
	if err != nil {
		t.Fatal(err)
	}
	server, err := c.IssueServer(ctx, csrFor(t, ecKey(t), "", "localhost"), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	root := writePEM(t, "root.pem", c.Root())
	inter := writePEM(t, "inter.pem", c.Intermediate())
	for name, leaf := range map[string]*x509.Certificate{"litigant": client.Leaf, "server": server.Leaf} {
		leafFile := writePEM(t, name+".pem", leaf)
		if out, err := exec.Command("openssl", "verify", "-CAfile", root, "-untrusted", inter, leafFile).CombinedOutput(); err != nil {
			t.Errorf("openssl verify %s: %v\n%s", name, err, out)
		}
	}
	text, err := exec.Command("openssl", "x509", "-noout", "-text", "-nameopt", "utf8", "-in", writePEM(t, "l.pem", client.Leaf)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, want := range []string{"TLS Web Client Authentication", "Digital Signature", "email:Helene.Dupre+affaire@exemple.fr",
		"URI:https://retrait.example.fr/ca/crl", "X509v3 Authority Key Identifier", "X509v3 Subject Key Identifier",
		"CN=Hélène Dupré-Lefèvre", "OU=Affaire RG 24/01234", "Policy: 1.2.250.1.999.1.1"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	if err := c.Revoke(ctx, client.Leaf.SerialNumber, ca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	der, err := c.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(t.TempDir(), "crl.der")
	if err := os.WriteFile(crlFile, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "crl", "-inform", "DER", "-in", crlFile, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	hexSerial := strings.ToUpper(client.Leaf.SerialNumber.Text(16))
	if len(hexSerial)%2 == 1 {
		hexSerial = "0" + hexSerial
	}
	if !strings.Contains(string(out), "Serial Number: "+hexSerial) || !strings.Contains(string(out), "Key Compromise") {
		t.Errorf("openssl crl does not list %s:\n%s", hexSerial, out)
	}
	if out, err := exec.Command("openssl", "crl", "-inform", "DER", "-in", crlFile, "-noout", "-CAfile", concat(t, root, inter)).CombinedOutput(); err != nil || !strings.Contains(string(out), "verify OK") {
		t.Errorf("openssl crl signature: %v\n%s", err, out)
	}
	// The intermediate: path length 0; the root: a CA.
	text, _ = exec.Command("openssl", "x509", "-noout", "-text", "-in", inter).CombinedOutput()
	if !strings.Contains(string(text), "CA:TRUE, pathlen:0") {
		t.Errorf("intermediate basic constraints:\n%s", text)
	}
}

func concat(t *testing.T, files ...string) string {
	var b []byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, d...)
	}
	p := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
