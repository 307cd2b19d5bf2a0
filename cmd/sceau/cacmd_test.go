package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sceau.fr/sceau/ca"
)

// TestCACommands: status, revoke, crl and rotate-intermediate on the CA that
// init created, checked with openssl where it matters.
func TestCACommands(t *testing.T) {
	dir, cfgPath := initData(t)
	setListeners(t)
	// A first serve issues the listeners' certificate.
	r := startServe(t, cfgPath)
	r.waitStatus("admin", "/readyz", 200)
	code, rootPEM, err := r.get("counter", "/ca/roots.pem")
	if err != nil || code != 200 || !strings.Contains(rootPEM, "BEGIN CERTIFICATE") {
		t.Fatalf("/ca/roots.pem: %d %v", code, err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	out, _, err := execute(t, "ca", "status", "--config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sceau Root CA", "Sceau Issuing CA", filepath.Join(dir, "ca", "intermediate.key"),
		"1 issued, 1 valid, 0 revoked", "move it offline"} {
		if !strings.Contains(out, want) {
			t.Errorf("ca status lacks %q:\n%s", want, out)
		}
	}

	serverCert, err := ca.LoadServerCertificate(filepath.Join(dir, "ca"), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	serial := serverCert.Leaf.SerialNumber
	hexSerial := strings.ToUpper(serial.Text(16))
	if len(hexSerial)%2 == 1 {
		hexSerial = "0" + hexSerial
	}
	var colons []string
	for i := 0; i < len(hexSerial); i += 2 {
		colons = append(colons, hexSerial[i:i+2])
	}
	// openssl prints serials as hex with colons: accept that form.
	out, _, err = execute(t, "ca", "revoke", strings.Join(colons, ":"), "--reason", "superseded", "--config", cfgPath)
	if err != nil || !strings.Contains(out, "revoked "+serial.String()) {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	if _, _, err := execute(t, "ca", "revoke", serial.String(), "--reason", "superseded", "--config", cfgPath); err != nil {
		t.Errorf("revoking twice must succeed: %v", err)
	}
	if _, _, err := execute(t, "ca", "revoke", "123456789", "--config", cfgPath); err == nil || !strings.Contains(err.Error(), "no certificate with this serial") {
		t.Errorf("unknown serial: %v", err)
	}
	if _, _, err := execute(t, "ca", "revoke", "12", "--reason", "bored", "--config", cfgPath); err == nil || !strings.Contains(err.Error(), "keyCompromise") {
		t.Errorf("bad reason: %v", err)
	}

	crl, _, err := execute(t, "ca", "crl", "--config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(t.TempDir(), "sceau.crl")
	if err := os.WriteFile(crlFile, []byte(crl), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		text, err := exec.Command("openssl", "crl", "-inform", "DER", "-in", crlFile, "-noout", "-text").CombinedOutput()
		if err != nil || !strings.Contains(string(text), "Serial Number: "+hexSerial) || !strings.Contains(string(text), "Superseded") {
			t.Errorf("openssl crl: %v\n%s", err, text)
		}
	}

	out, _, err = execute(t, "ca", "rotate-intermediate", "--config", cfgPath)
	if err != nil || !strings.Contains(out, "restart every Sceau instance") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	out, _, err = execute(t, "ca", "status", "--config", cfgPath)
	if err != nil || !strings.Contains(out, "Previous:") {
		t.Errorf("status after rotation: %v\n%s", err, out)
	}
	// With the root key moved offline, rotation needs it back.
	offline := filepath.Join(t.TempDir(), "root.key")
	if err := os.Rename(filepath.Join(dir, "ca", "root.key"), offline); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execute(t, "ca", "rotate-intermediate", "--config", cfgPath); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("rotation without the root key: %v", err)
	}
	if _, _, err := execute(t, "ca", "rotate-intermediate", "--root-key", offline, "--config", cfgPath); err != nil {
		t.Errorf("rotation with the offline root key: %v", err)
	}
	out, _, err = execute(t, "ca", "status", "--config", cfgPath)
	if err != nil || !strings.Contains(out, "offline") {
		t.Errorf("status with the root key offline: %v\n%s", err, out)
	}
}
