package ca

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.step.sm/crypto/kms"
	"go.step.sm/crypto/kms/apiv1"
	"go.step.sm/crypto/kms/uri"
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
	// Checked here because the layers below turn these mistakes into
	// "could not open PKCS#11" or a bad login (CKR_ARGUMENTS_BAD).
	if u, err := uri.ParseWithScheme("pkcs11", p.URI); err == nil {
		if m := u.Get("module-path"); filepath.IsAbs(m) {
			if _, err := os.Stat(m); err != nil {
				return nil, p.errorf("PKCS#11 token %s: module %s: %w", redactPIN(p.URI), m, err)
			}
		}
		if f := u.Get("pin-source"); f != "" && u.Get("pin-value") == "" {
			b, err := u.Read("pin-source")
			if err != nil {
				return nil, p.errorf("PKCS#11 token %s: cannot read the PIN file: %w", redactPIN(p.URI), err)
			}
			if len(bytes.TrimSpace(b)) == 0 {
				return nil, p.errorf("PKCS#11 token %s: the PIN file %s is empty", redactPIN(p.URI), f)
			}
		}
	}
	km, err := kms.New(ctx, apiv1.Options{Type: apiv1.PKCS11, URI: p.URI})
	if err != nil {
		return nil, p.errorf("PKCS#11 token %s: %w%s", redactPIN(p.URI), err, hint(err))
	}
	return km, nil
}

// hint explains the PKCS#11 failures an operator meets most.
func hint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "CKR_PIN_INCORRECT"):
		return " (wrong PIN)"
	case strings.Contains(msg, "CKR_PIN_LOCKED"):
		return " (the PIN is locked: unlock it with the security officer PIN)"
	case strings.Contains(msg, "could not find PKCS#11 token"):
		return " (no such token in this module: check token=, serial= or slot-id=)"
	case strings.Contains(msg, "could not open PKCS#11"):
		return " (the module could not be loaded: check module-path)"
	}
	return ""
}

// errorf is fmt.Errorf with every pin-value removed from the whole message,
// including the parts written by go.step.sm/crypto, which quotes URIs as
// given (e.g. "error parsing pkcs11:…?pin-value=…").
func (p *PKCS11) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &redactedError{msg: redactPIN(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return errors.Unwrap(e.err) }

// signer returns the token-held intermediate key.
func (p *PKCS11) signer(ctx context.Context) (crypto.Signer, func() error, error) {
	km, err := p.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := km.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: p.Key})
	if err != nil {
		km.Close()
		return nil, nil, p.errorf("PKCS#11 key %s in %s: %w", p.Key, redactPIN(p.URI), err)
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
		var exists apiv1.AlreadyExistsError
		if errors.As(err, &exists) {
			// Bootstrap and rotation never reuse a key: the key in use signs
			// until the new intermediate is in place, and the previous one's
			// certificates stay valid.
			return nil, nil, p.errorf("creating PKCS#11 key %s in %s: %w; a new intermediate needs a new key: "+
				"give it another id and object (e.g. pkcs11:id=02;object=sceau-intermediate-2), then set ca.pkcs11_key to it",
				p.Key, redactPIN(p.URI), err)
		}
		return nil, nil, p.errorf("creating PKCS#11 key %s in %s: %w", p.Key, redactPIN(p.URI), err)
	}
	s, err := km.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: p.Key})
	if err != nil {
		km.Close()
		return nil, nil, p.errorf("PKCS#11 key %s in %s: %w", p.Key, redactPIN(p.URI), err)
	}
	return s, km.Close, nil
}

// redactPIN hides every pin-value of a PKCS#11 URI (or of a message
// quoting one) before it reaches a message.
func redactPIN(s string) string {
	const attr = "pin-value="
	var b strings.Builder
	for {
		i := strings.Index(s, attr)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(attr)] + "REDACTED")
		s = s[i+len(attr):]
		// A pin-value ends at the next attribute or, in a message, at the
		// ": " or quote that follows the URI.
		end := strings.IndexAny(s, "&;# \t\n\"'`")
		if j := strings.Index(s, ": "); j >= 0 && (end < 0 || j < end) {
			end = j
		}
		if end < 0 {
			return b.String()
		}
		s = s[end:]
	}
}
