package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/store"
)

// clientWith returns an HTTPS client presenting cert (nil: none) that
// trusts the data folder's root.
func clientWith(t *testing.T, root string, cert *tls.Certificate) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		// Present it whatever the server's CA hints say, as curl does.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func getBody(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func demoIdentity(t *testing.T, dir, file string) (*tls.Certificate, string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "demo", "LISEZ-MOI.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var pw string
	for _, line := range strings.Split(string(readme), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == file+".p12" {
			pw = f[2]
		}
	}
	p12 := filepath.Join(dir, "demo", "identities", file+".p12")
	data, err := os.ReadFile(p12)
	if err != nil {
		t.Fatal(err)
	}
	key, leaf, chain, err := bundle.Decode(data, pw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, pw
}

// TestPortalGate: on a demo data folder, each family's certificate is
// recognised, a litigant certificate from Sceau's CA too until it is
// revoked, and everyone else gets the French page that says why.
func TestPortalGate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := execute(t, "init", "--data", dir, "--demo"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sceau.toml")
	setListeners(t)
	r := startServe(t, cfgPath)
	r.waitStatus("admin", "/readyz", 200)
	root := filepath.Join(dir, "ca", "root.crt")
	portal := r.url("portal", "/")

	// A recognised professional without an account lands on the
	// registration form, pre-filled from the certificate.
	for _, who := range []struct{ file, want string }{
		{"expert-pierre-durand", "Pierre Durand"},
		{"magistrat-claire-martin", "Magistrat"},
		{"avocate-sophie-lefevre", "sophie.lefevre@avocats.test"},
	} {
		cert, _ := demoIdentity(t, dir, who.file)
		code, body := getBody(t, clientWith(t, root, cert), portal)
		if code != 200 || !strings.Contains(body, "Création de votre compte") || !strings.Contains(body, who.want) {
			t.Errorf("%s: %d\n%s", who.file, code, body)
		}
	}

	code, body := getBody(t, clientWith(t, root, nil), portal)
	if code != 403 || !strings.Contains(body, "Aucun certificat présenté") || !strings.Contains(body, "AC Justice (TEST)") ||
		!strings.Contains(body, "guichet de retrait") {
		t.Errorf("no certificate: %d\n%s", code, body)
	}
	// The counter never asks and never refuses for want of a certificate.
	if code, body := getBody(t, clientWith(t, root, nil), r.url("counter", "/")); code != 200 || !strings.Contains(body, "Guichet") {
		t.Errorf("counter without certificate: %d", code)
	}

	// A certificate from an authority nobody configured.
	rogueKey, _ := keyutil.GenerateSigner("EC", "P-256", 0)
	rogueTpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	rogueTpl.Subject.CommonName = "Faux Magistrat"
	rogue, err := x509util.CreateCertificate(rogueTpl, rogueTpl, rogueKey.Public(), rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	code, body = getBody(t, clientWith(t, root, &tls.Certificate{PrivateKey: rogueKey, Leaf: rogue, Certificate: [][]byte{rogue.Raw}}), portal)
	if code != 403 || !strings.Contains(body, "Autorité de certification non reconnue") || !strings.Contains(body, "AC Experts (TEST)") {
		t.Errorf("unknown CA: %d\n%s", code, body)
	}

	// A litigant certificate from Sceau's own CA, then revoked.
	// (Its account comes from the expert's order; without one it is told so.)
	litigant, serial := issueLitigant(t, dir, filepath.Join(dir, "sceau.db"))
	code, body = getBody(t, clientWith(t, root, litigant), portal)
	if code != 403 || !strings.Contains(body, "Compte inconnu") {
		t.Fatalf("litigant without account: %d\n%s", code, body)
	}
	if out, _, err := execute(t, "ca", "revoke", serial, "--reason", "keyCompromise", "--config", cfgPath); err != nil {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	r.waitFor("the revocation to reach the gate", func() (bool, string) {
		code, body := getBody(t, clientWith(t, root, litigant), portal)
		return code == 403 && strings.Contains(body, "Certificat révoqué"), body
	})

	// curl, which nobody here wrote, with the demo PKCS#12 as a browser would.
	if _, err := exec.LookPath("curl"); err == nil {
		_, pw := demoIdentity(t, dir, "greffier-julien-bernard")
		p12 := filepath.Join(dir, "demo", "identities", "greffier-julien-bernard.p12")
		out, err := exec.Command("curl", "-sS", "-L", "--cacert", root, "--cert", p12+":"+pw, "--cert-type", "P12", portal).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Julien Bernard") {
			t.Errorf("curl --cert: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("curl is required under CI")
	}
}

// issueLitigant issues a certificate from the data folder's CA, as the
// counter will, through a second connection to the running server's database.
func issueLitigant(t *testing.T, dir, dbPath string) (*tls.Certificate, string) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: store.SQLiteDSN(dbPath)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pw, err := os.ReadFile(filepath.Join(dir, "secrets", "ca-key-password"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Open(ctx, ca.Options{Dir: filepath.Join(dir, "ca"), Password: []byte(strings.TrimSpace(string(pw))), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key, _ := keyutil.GenerateSigner("EC", "P-256", 0)
	csr, _ := x509util.CreateCertificateRequest("", nil, key)
	issued, err := c.IssueClient(ctx, csr, ca.ClientRequest{Name: "Hélène Dupré-Lefèvre", Email: "helene@exemple.fr",
		CaseRef: "RG 24/01234", ParticipantID: "7"})
	if err != nil {
		t.Fatal(err)
	}
	cert := &tls.Certificate{PrivateKey: crypto.Signer(key), Leaf: issued.Leaf}
	for _, x := range issued.Chain {
		cert.Certificate = append(cert.Certificate, x.Raw)
	}
	return cert, issued.Leaf.SerialNumber.String()
}

func bigOne() *big.Int { return big.NewInt(1) }
