package ca

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"go.step.sm/crypto/kms"
	"go.step.sm/crypto/kms/apiv1"
)

// PKCS11 places the intermediate key in a token (an HSM, or SoftHSM2 for
// tests) through go.step.sm/crypto/kms. The key never leaves the token.
type PKCS11 struct {
	// URI opens the token, e.g.
	// pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=sceau?pin-source=/etc/sceau/pin
	URI string
	// Key names the key object, e.g. pkcs11:id=01;object=sceau-intermediate
	Key string
}

// ErrNoPKCS11 says the binary was built without PKCS#11 support.
var ErrNoPKCS11 = errors.New("this sceau binary was built without PKCS#11 support: build it with `-tags pkcs11` (needs cgo), e.g. `make build-pkcs11`")

func (p *PKCS11) open(ctx context.Context) (kms.KeyManager, error) {
	if !PKCS11Supported {
		return nil, ErrNoPKCS11
	}
	km, err := kms.New(ctx, apiv1.Options{Type: apiv1.PKCS11, URI: p.URI})
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 token %s: %w", redactPIN(p.URI), err)
	}
	return km, nil
}

// signer returns the token-held intermediate key.
func (p *PKCS11) signer(ctx context.Context) (crypto.Signer, func() error, error) {
	km, err := p.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := km.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: p.Key})
	if err != nil {
		km.Close()
		return nil, nil, fmt.Errorf("PKCS#11 key %s in %s: %w", p.Key, redactPIN(p.URI), err)
	}
	return s, km.Close, nil
}

// createKey makes a new non-extractable ECDSA P-256 key inside the token.
func (p *PKCS11) createKey(ctx context.Context) (crypto.Signer, func() error, error) {
	km, err := p.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := km.CreateKey(&apiv1.CreateKeyRequest{Name: p.Key, SignatureAlgorithm: apiv1.ECDSAWithSHA256}); err != nil {
		km.Close()
		return nil, nil, fmt.Errorf("creating PKCS#11 key %s: %w", p.Key, err)
	}
	s, err := km.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: p.Key})
	if err != nil {
		km.Close()
		return nil, nil, err
	}
	return s, km.Close, nil
}

// redactPIN hides a pin-value in a PKCS#11 URI before it reaches a message.
func redactPIN(uri string) string {
	i := strings.Index(uri, "pin-value=")
	if i < 0 {
		return uri
	}
	end := strings.IndexAny(uri[i:], "&;")
	if end < 0 {
		return uri[:i] + "pin-value=REDACTED"
	}
	return uri[:i] + "pin-value=REDACTED" + uri[i+end:]
}
