package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.step.sm/crypto/jose"
	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"
)

// Lifetimes of the CA certificates.
const (
	RootValidity         = 20 * 365 * 24 * time.Hour
	IntermediateValidity = 5 * 365 * 24 * time.Hour
	// ExpiryWarning is how long before the intermediate expires Sceau
	// starts warning (logs and `sceau ca status`).
	ExpiryWarning = 90 * 24 * time.Hour
)

// BootstrapOptions describe a new CA.
type BootstrapOptions struct {
	Dir          string
	Organisation string
	Password     []byte
	// PKCS11, when set, creates the intermediate key inside the token.
	PKCS11 *PKCS11
}

// Bootstrap creates the root, the intermediate and the provisioner key in
// Dir. It refuses to overwrite an existing CA.
func Bootstrap(ctx context.Context, o BootstrapOptions) error {
	if len(o.Password) < 8 {
		return errors.New("CA key password must have at least 8 characters")
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return err
	}
	if exists(filepath.Join(o.Dir, IntermediateCertFile)) {
		return fmt.Errorf("a CA already exists in %s", o.Dir)
	}
	rootKey, err := keyutil.GenerateSigner("EC", "P-384", 0)
	if err != nil {
		return err
	}
	now := time.Now()
	rootTpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Sceau Root CA — " + o.Organisation, Organization: []string{o.Organisation}, Country: []string{"FR"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	root, err := x509util.CreateCertificate(rootTpl, rootTpl, rootKey.Public(), rootKey)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(o.Dir, RootKeyFile), rootKey, o.Password); err != nil {
		return err
	}
	if err := writeCert(filepath.Join(o.Dir, RootCertFile), root); err != nil {
		return err
	}
	if _, err := NewIntermediate(ctx, o.Dir, o.Organisation, root, rootKey, o.Password, o.PKCS11); err != nil {
		return err
	}
	jwk, err := jose.GenerateJWK("EC", "P-256", "ES256", "sig", "", 0)
	if err != nil {
		return err
	}
	return writeProvisionerKey(filepath.Join(o.Dir, ProvisionerKeyFile), jwk, o.Password)
}

// NewIntermediate makes a new issuing key (in a file or in the token) and
// its certificate signed by the root, and writes them as the current
// intermediate; a previous intermediate is moved to archive/.
func NewIntermediate(ctx context.Context, dir, org string, root *x509.Certificate, rootKey crypto.Signer, password []byte, p11 *PKCS11) (*x509.Certificate, error) {
	var key crypto.Signer
	if p11 != nil {
		s, closer, err := p11.createKey(ctx)
		if err != nil {
			return nil, err
		}
		defer closer()
		key = s
	} else {
		s, err := keyutil.GenerateSigner("EC", "P-256", 0)
		if err != nil {
			return nil, err
		}
		key = s
	}
	now := time.Now()
	tpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Sceau Issuing CA — " + org, Organization: []string{org}, Country: []string{"FR"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              minTime(now.Add(IntermediateValidity), root.NotAfter),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	inter, err := x509util.CreateCertificate(tpl, root, key.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	if err := archiveIntermediate(dir); err != nil {
		return nil, err
	}
	if p11 == nil {
		if err := writeKey(filepath.Join(dir, IntermediateKeyFile), key, password); err != nil {
			return nil, err
		}
	}
	return inter, writeCert(filepath.Join(dir, IntermediateCertFile), inter)
}

// archiveIntermediate keeps the previous intermediate: certificates it
// issued stay valid until they expire, so relying parties still need it.
func archiveIntermediate(dir string) error {
	cur := filepath.Join(dir, IntermediateCertFile)
	if !exists(cur) {
		return nil
	}
	arch := filepath.Join(dir, archiveDir)
	if err := os.MkdirAll(arch, 0o750); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(cur, filepath.Join(arch, "intermediate-"+stamp+".crt")); err != nil {
		return err
	}
	if key := filepath.Join(dir, IntermediateKeyFile); exists(key) {
		return os.Rename(key, filepath.Join(arch, "intermediate-"+stamp+".key"))
	}
	return nil
}

// RotateIntermediate signs a new intermediate with the root key, which the
// operator brings back from offline storage for the occasion.
func RotateIntermediate(ctx context.Context, dir, rootKeyPath string, rootPassword, password []byte, p11 *PKCS11) (*x509.Certificate, error) {
	root, err := readCert(filepath.Join(dir, RootCertFile))
	if err != nil {
		return nil, err
	}
	rootKey, err := readKey(rootKeyPath, rootPassword)
	if err != nil {
		return nil, err
	}
	if !keyMatches(root, rootKey) {
		return nil, fmt.Errorf("%s is not the key of the root certificate %q", rootKeyPath, root.Subject.CommonName)
	}
	org := ""
	if len(root.Subject.Organization) > 0 {
		org = root.Subject.Organization[0]
	}
	return NewIntermediate(ctx, dir, org, root, rootKey, password, p11)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
