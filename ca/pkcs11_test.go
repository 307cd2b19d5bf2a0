//go:build cgo && pkcs11

package ca_test

// The intermediate key in a PKCS#11 token, against a real module: SoftHSM2.
// Each test makes its own throw-away token (its own SOFTHSM2_CONF and token
// folder under t.TempDir), so nothing touches /var/lib/softhsm.
//
//	CGO_ENABLED=1 go test -tags pkcs11 -count=1 ./ca/   (or make test-pkcs11)
//
// Without SoftHSM2 (apt-get install softhsm2) the tests are skipped loudly;
// under CI=true they fail instead.
//
// The tests never run in parallel: the PKCS#11 library is initialised once
// per process (crypto11 counts the contexts using it) and reads
// SOFTHSM2_CONF when the first context opens.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.step.sm/crypto/kms"
	"go.step.sm/crypto/kms/apiv1"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

const (
	softHSMModule = "/usr/lib/softhsm/libsofthsm2.so"
	// intermediateKey is the key object Bootstrap creates (the example of
	// configs/production.toml).
	intermediateKey = "pkcs11:id=01;object=sceau-intermediate"
)

// skipBanner prints the skip notice once, visible without -v.
var skipBanner sync.Once

// softHSM is a throw-away SoftHSM2 token.
type softHSM struct {
	label, pin string
	conf       string
}

// newSoftHSM initialises a fresh token in its own token folder and points
// SOFTHSM2_CONF at it for the rest of the test.
func newSoftHSM(t *testing.T) *softHSM {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if err == nil {
		_, err = os.Stat(softHSMModule)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("SoftHSM2 is required under CI (apt-get install -y softhsm2): %v", err)
		}
		msg := "SKIPPING the PKCS#11 tests: SoftHSM2 is not installed (softhsm2-util and " + softHSMModule + "); apt-get install -y softhsm2"
		skipBanner.Do(func() { fmt.Fprintf(os.Stderr, "%s\n%s\n%s\n", strings.Repeat("#", 80), msg, strings.Repeat("#", 80)) })
		t.Skip(msg)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// The module reads SOFTHSM2_CONF when it is initialised, i.e. when the
	// first PKCS#11 context of the process opens.
	t.Setenv("SOFTHSM2_CONF", conf)
	h := &softHSM{label: "sceau-test-" + randomHex(t, 4), pin: "pin-" + randomHex(t, 8), conf: conf}
	cmd := exec.Command(util, "--init-token", "--free", "--label", h.label, "--pin", h.pin, "--so-pin", "so-"+randomHex(t, 8))
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return h
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// uri opens the token with the PIN in the URI.
func (h *softHSM) uri() string {
	return "pkcs11:module-path=" + softHSMModule + ";token=" + h.label + "?pin-value=" + h.pin
}

func (h *softHSM) options(key string) *ca.PKCS11 { return &ca.PKCS11{URI: h.uri(), Key: key} }

// publicKeyOf reads a key's public half from the token, independently of
// package ca.
func (h *softHSM) publicKeyOf(t *testing.T, key string) (crypto.PublicKey, error) {
	t.Helper()
	km, err := kms.New(context.Background(), apiv1.Options{Type: apiv1.PKCS11, URI: h.uri()})
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	return km.GetPublicKey(&apiv1.GetPublicKeyRequest{Name: key})
}

// bootstrapPKCS11 creates a CA whose intermediate key is in the token.
func bootstrapPKCS11(t *testing.T, p11 *ca.PKCS11) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	err := ca.Bootstrap(context.Background(), ca.BootstrapOptions{Dir: dir, Organisation: "Cour d’appel de Rennes", Password: testPassword, PKCS11: p11})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func withPKCS11(p11 *ca.PKCS11) func(*ca.Options) {
	return func(o *ca.Options) { o.PKCS11 = p11 }
}

// openPKCS11 is ca.Open with the store and the token, closed by the caller.
func openPKCS11(t *testing.T, dir string, s *store.Store, p11 *ca.PKCS11) (*ca.CA, error) {
	t.Helper()
	return ca.Open(context.Background(), ca.Options{Dir: dir, Password: testPassword, Store: s, PKCS11: p11,
		CRLURL: "https://retrait.example.fr/ca/crl"})
}

// verifyChain checks a litigant certificate against root + intermediate.
func verifyChain(t *testing.T, leaf, root, inter *x509.Certificate) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	inters.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate does not verify against root + intermediate: %v", err)
	}
}

func TestPKCS11IssueRevokeCRL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h := newSoftHSM(t)
		p11 := h.options(intermediateKey)
		dir := bootstrapPKCS11(t, p11)

		// The key is in the token, not on disk.
		if _, err := os.Stat(filepath.Join(dir, ca.IntermediateKeyFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written although the key is in the token (stat: %v)", ca.IntermediateKeyFile, err)
		}
		for _, f := range []string{ca.RootCertFile, ca.RootKeyFile, ca.IntermediateCertFile, ca.ProvisionerKeyFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("bootstrap did not write %s: %v", f, err)
			}
		}
		pub, err := h.publicKeyOf(t, intermediateKey)
		if err != nil {
			t.Fatalf("the intermediate key is not in the token: %v", err)
		}

		c := openCA(t, dir, s, withPKCS11(p11))
		if !samePublicKey(c.Intermediate(), pub) {
			t.Fatal("intermediate.crt does not certify the token's key")
		}
		if got := c.KeyLocation(); !strings.Contains(got, "PKCS#11") || !strings.Contains(got, "sceau-intermediate") {
			t.Errorf("KeyLocation = %q", got)
		}
		issued, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
		if err != nil {
			t.Fatal(err)
		}
		leaf := issued.Leaf
		verifyChain(t, leaf, c.Root(), c.Intermediate())
		if err := leaf.CheckSignatureFrom(c.Intermediate()); err != nil {
			t.Errorf("not signed by the token's key: %v", err)
		}

		// Revocation, and a CRL signed by the token's key.
		if err := c.Revoke(ctx, leaf.SerialNumber, ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		if revoked, err := c.IsRevoked(leaf.SerialNumber); err != nil || !revoked {
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
			t.Errorf("CRL not signed by the token-held intermediate key: %v", err)
		}
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 ||
			crl.RevokedCertificateEntries[0].ReasonCode != int(ca.ReasonKeyCompromise) {
			t.Errorf("CRL entries = %+v", crl.RevokedCertificateEntries)
		}

		// The server certificate is signed by the token too.
		sc, err := c.ServerCertificate(ctx, []string{"localhost"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.Leaf().CheckSignatureFrom(c.Intermediate()); err != nil {
			t.Errorf("server certificate: %v", err)
		}

		// Bootstrapping another CA into the same key refuses: the key exists.
		err = ca.Bootstrap(ctx, ca.BootstrapOptions{Dir: filepath.Join(t.TempDir(), "ca2"), Organisation: "x", Password: testPassword, PKCS11: p11})
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("bootstrap into an existing key: %v", err)
		}
		checkNoPIN(t, err, h.pin)
	})
}

// A PIN read from a file (pin-source), as in production.
func TestPKCS11PinSource(t *testing.T) {
	h := newSoftHSM(t)
	pinFile := filepath.Join(t.TempDir(), "hsm-pin")
	if err := os.WriteFile(pinFile, []byte(h.pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p11 := &ca.PKCS11{URI: "pkcs11:module-path=" + softHSMModule + ";token=" + h.label + "?pin-source=" + pinFile, Key: intermediateKey}
	dir := bootstrapPKCS11(t, p11)
	s := storetest.Open(t, "sqlite")
	t.Run("issue", func(t *testing.T) {
		c := openCA(t, dir, s, withPKCS11(p11))
		issued, err := c.IssueClient(context.Background(), csrFor(t, ecKey(t), ""), litigant())
		if err != nil {
			t.Fatal(err)
		}
		verifyChain(t, issued.Leaf, c.Root(), c.Intermediate())
	})
	t.Run("missing pin file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no-such-pin")
		c, err := openPKCS11(t, dir, s, &ca.PKCS11{URI: strings.Replace(p11.URI, pinFile, missing, 1), Key: intermediateKey})
		if err == nil {
			c.Close()
			t.Fatal("a missing PIN file must refuse to open")
		}
		t.Logf("missing PIN file: %v", err)
		if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), h.label) {
			t.Errorf("the error must name the PIN file and the token: %v", err)
		}
		checkNoPIN(t, err, h.pin)
	})
	t.Run("wrong pin in file", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "wrong-pin")
		if err := os.WriteFile(wrong, []byte("not-the-pin\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := openPKCS11(t, dir, s, &ca.PKCS11{URI: strings.Replace(p11.URI, pinFile, wrong, 1), Key: intermediateKey})
		if err == nil {
			c.Close()
			t.Fatal("a wrong PIN must refuse to open")
		}
		t.Logf("wrong PIN from a file: %v", err)
		if !strings.Contains(err.Error(), h.label) || !strings.Contains(err.Error(), "wrong PIN") {
			t.Errorf("the error must name the token and say the PIN is wrong: %v", err)
		}
		checkNoPIN(t, err, h.pin, "not-the-pin")
	})
}

// Failures say what is wrong, name the token and never show the PIN.
func TestPKCS11OpenFailures(t *testing.T) {
	h := newSoftHSM(t)
	p11 := h.options(intermediateKey)
	dir := bootstrapPKCS11(t, p11)
	s := storetest.Open(t, "sqlite")
	uri := func(module, label, pin string) string {
		return "pkcs11:module-path=" + module + ";token=" + label + "?pin-value=" + pin
	}
	const wrongPIN = "wrong-pin-5150"
	missingModule := filepath.Join(t.TempDir(), "libnothing.so")
	notAModule := filepath.Join(t.TempDir(), "libgarbage.so")
	if err := os.WriteFile(notAModule, []byte("not a shared object"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		p11  ca.PKCS11
		want []string // substrings of the error (besides the token label)
	}{
		{"wrong PIN", ca.PKCS11{URI: uri(softHSMModule, h.label, wrongPIN), Key: intermediateKey}, []string{"CKR_PIN_INCORRECT", "wrong PIN"}},
		{"absent token", ca.PKCS11{URI: uri(softHSMModule, "no-such-token", h.pin), Key: intermediateKey}, []string{"no such token"}},
		{"missing module", ca.PKCS11{URI: uri(missingModule, h.label, h.pin), Key: intermediateKey}, []string{missingModule, "no such file"}},
		{"unloadable module", ca.PKCS11{URI: uri(notAModule, h.label, h.pin), Key: intermediateKey}, []string{notAModule, "module-path"}},
		// go.step.sm/crypto quotes a URI it cannot parse as given, PIN included.
		{"malformed URI", ca.PKCS11{URI: "pkcs11:module-path=" + softHSMModule + ";token=" + h.label + ";bad=%zz?pin-value=" + h.pin, Key: intermediateKey}, []string{"parsing"}},
		{"key absent from the token", ca.PKCS11{URI: h.uri(), Key: "pkcs11:id=99;object=sceau-nothing"}, []string{"sceau-nothing", "not found"}},
		{"another key of the token", ca.PKCS11{URI: h.uri(), Key: "pkcs11:id=02;object=sceau-other"}, []string{"does not match"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "another key of the token" {
				// A key that exists but is not the one intermediate.crt certifies.
				km, err := kms.New(context.Background(), apiv1.Options{Type: apiv1.PKCS11, URI: h.uri()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = km.CreateKey(&apiv1.CreateKeyRequest{Name: tc.p11.Key, SignatureAlgorithm: apiv1.ECDSAWithSHA256})
				km.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			var (
				c   *ca.CA
				err error
			)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("ca.Open panicked: %v", r)
					}
				}()
				c, err = openPKCS11(t, dir, s, &tc.p11)
			}()
			if err == nil {
				c.Close()
				t.Fatal("ca.Open succeeded")
			}
			t.Logf("%s: %v", tc.name, err)
			msg := err.Error()
			label := h.label
			switch tc.name {
			case "absent token":
				label = "no-such-token"
			case "another key of the token":
				label = tc.p11.Key // the check is in ca.Open, after the token opened
			}
			if !strings.Contains(msg, label) {
				t.Errorf("the error does not name the token %q: %v", label, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q: %v", w, err)
				}
			}
			checkNoPIN(t, err, h.pin, wrongPIN)
		})
	}
	// Nothing above locked the token or broke the library: the right
	// options still work.
	t.Run("still opens", func(t *testing.T) {
		c := openCA(t, dir, s, withPKCS11(p11))
		if _, err := c.IssueClient(context.Background(), csrFor(t, ecKey(t), ""), litigant()); err != nil {
			t.Fatal(err)
		}
	})
}

// Rotation makes a new key in the token under a new id/object; the old key
// stays (the archived intermediate's certificates remain valid), and the
// configuration then names the new key.
func TestPKCS11RotateIntermediate(t *testing.T) {
	ctx := context.Background()
	h := newSoftHSM(t)
	oldP11 := h.options(intermediateKey)
	dir := bootstrapPKCS11(t, oldP11)
	s := storetest.Open(t, "sqlite")
	rootKey := filepath.Join(dir, ca.RootKeyFile)

	var before *x509.Certificate
	var oldInter *x509.Certificate
	t.Run("before", func(t *testing.T) {
		c := openCA(t, dir, s, withPKCS11(oldP11))
		issued, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
		if err != nil {
			t.Fatal(err)
		}
		before, oldInter = issued.Leaf, c.Intermediate()

		// Rotating into the key in use clashes: refused before anything
		// changes on disk, with a hint.
		_, err = ca.RotateIntermediate(ctx, dir, rootKey, testPassword, testPassword, oldP11)
		if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "new") {
			t.Fatalf("rotation into the current key: %v", err)
		}
		t.Logf("rotation into the current key: %v", err)
		checkNoPIN(t, err, h.pin)
		if _, err := os.Stat(filepath.Join(dir, "archive")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused rotation archived the intermediate (stat: %v)", err)
		}
		// The running CA is unaffected.
		if _, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant()); err != nil {
			t.Errorf("issuing after a refused rotation: %v", err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	newKey := "pkcs11:id=02;object=sceau-intermediate-2"
	newP11 := h.options(newKey)
	inter, err := ca.RotateIntermediate(ctx, dir, rootKey, testPassword, testPassword, newP11)
	if err != nil {
		t.Fatal(err)
	}
	if inter.Equal(oldInter) {
		t.Fatal("rotation returned the old intermediate")
	}
	// Both keys are in the token; no key file anywhere.
	for key, crt := range map[string]*x509.Certificate{intermediateKey: oldInter, newKey: inter} {
		pub, err := h.publicKeyOf(t, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if !samePublicKey(crt, pub) {
			t.Errorf("%s is not the key of its intermediate", key)
		}
	}
	keys, _ := filepath.Glob(filepath.Join(dir, "*", "*.key"))
	if _, err := os.Stat(filepath.Join(dir, ca.IntermediateKeyFile)); err == nil || len(keys) != 0 {
		t.Errorf("intermediate key files written: %v", keys)
	}

	// The old key no longer matches intermediate.crt.
	if c, err := openPKCS11(t, dir, s, oldP11); err == nil {
		c.Close()
		t.Error("opening with the previous key must fail after rotation")
	} else if !strings.Contains(err.Error(), "does not match") {
		t.Errorf("opening with the previous key: %v", err)
	}

	c := openCA(t, dir, s, withPKCS11(newP11))
	if !c.Intermediate().Equal(inter) || len(c.Intermediates()) != 2 {
		t.Fatalf("new intermediate in use: %v, %d intermediates", c.Intermediate().Equal(inter), len(c.Intermediates()))
	}
	after, err := c.IssueClient(ctx, csrFor(t, ecKey(t), ""), litigant())
	if err != nil {
		t.Fatal(err)
	}
	verifyChain(t, after.Leaf, c.Root(), inter)
	if err := after.Leaf.CheckSignatureFrom(inter); err != nil {
		t.Error("new certificates are not signed by the new key")
	}
	if err := before.CheckSignatureFrom(c.Intermediates()[1]); err != nil {
		t.Error("old certificates do not chain to the archived intermediate")
	}
	der, err := c.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(inter); err != nil {
		t.Errorf("CRL after rotation: %v", err)
	}
	if time.Until(crl.NextUpdate) < time.Hour {
		t.Errorf("CRL nextUpdate %v", crl.NextUpdate)
	}
}

func samePublicKey(crt *x509.Certificate, pub crypto.PublicKey) bool {
	k, ok := crt.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}

// checkNoPIN fails if an error message shows a PIN.
func checkNoPIN(t *testing.T, err error, pins ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, p := range pins {
		if strings.Contains(err.Error(), p) {
			t.Errorf("the error shows a PIN: %v", err)
		}
	}
}
