package ca

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.step.sm/crypto/jose"
	"go.step.sm/crypto/pemutil"
)

// Layout of the CA folder. The root key may be moved offline: Sceau serves
// with the intermediate key only (or with the intermediate key in an HSM).
const (
	RootCertFile         = "root.crt"
	RootKeyFile          = "root.key"
	IntermediateCertFile = "intermediate.crt"
	IntermediateKeyFile  = "intermediate.key"
	ProvisionerKeyFile   = "provisioner.jwe"
	archiveDir           = "archive"
)

// ErrWrongPassword says a key file could not be decrypted.
var ErrWrongPassword = errors.New("wrong CA key password (or damaged key file)")

func readCert(path string) (*x509.Certificate, error) {
	certs, err := pemutil.ReadCertificateBundle(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("CA certificate %s is missing: run `sceau init` or restore it", path)
		}
		return nil, fmt.Errorf("CA certificate %s: %w", path, err)
	}
	return certs[0], nil
}

// readKey decrypts a PEM private key written by writeKey.
func readKey(path string, password []byte) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("CA key %s is missing", path)
		}
		return nil, fmt.Errorf("CA key %s: %w", path, err)
	}
	if len(password) == 0 {
		return nil, fmt.Errorf("CA key %s is encrypted: set ca.key_password_file (or SCEAU_CA_KEY_PASSWORD)", path)
	}
	k, err := pemutil.ParseKey(b, pemutil.WithPassword(password))
	if err != nil {
		return nil, fmt.Errorf("CA key %s: %w", path, ErrWrongPassword)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("CA key %s is not a signing key", path)
	}
	return s, nil
}

// writeKey writes a private key as encrypted PKCS#8 (PBES2, AES-256),
// readable by openssl with the password; never in clear.
func writeKey(path string, key crypto.Signer, password []byte) error {
	if len(password) == 0 {
		return errors.New("refusing to write a CA key without a password")
	}
	block, err := pemutil.Serialize(key, pemutil.WithPKCS8(true), pemutil.WithPassword(password))
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pemEncode(block), 0o600)
}

func writeCert(path string, cert *x509.Certificate) error {
	block, err := pemutil.Serialize(cert)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pemEncode(block), 0o644)
}

func readProvisionerKey(path string, password []byte) (*jose.JSONWebKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA provisioner key %s: %w", path, err)
	}
	k, err := jose.ParseKey(b, jose.WithPassword(password))
	if err != nil {
		return nil, fmt.Errorf("CA provisioner key %s: %w", path, ErrWrongPassword)
	}
	return k, nil
}

func writeProvisionerKey(path string, jwk *jose.JSONWebKey, password []byte) error {
	jwe, err := jose.EncryptJWK(jwk, password)
	if err != nil {
		return err
	}
	s, err := jwe.CompactSerialize()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(s), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
