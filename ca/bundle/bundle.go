// Package bundle writes a private key and its certificate chain as a
// PKCS#12 file a person can import into a browser or an operating system.
//
// No single PKCS#12 profile imports everywhere (see DESIGN.md §3):
// Compatible (3DES + SHA-1 MAC) is the one with no reported failure on
// Windows, macOS/iOS, Android, Firefox/NSS and OpenSSL 3; Modern
// (PBES2/AES-256, PBKDF2, SHA-256 MAC) is offered to systems known to read
// it. RC2 and empty passwords are never produced. The container's key
// derivation is weak whatever the profile: the password's entropy protects it.
package bundle

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// Profile is a PKCS#12 encryption profile.
type Profile string

const (
	// Compatible imports on every platform (3DES + SHA-1 MAC).
	Compatible Profile = "compatible"
	// Modern uses AES-256/PBKDF2/SHA-256 (not macOS 12–14, iOS, older Android).
	Modern Profile = "moderne"
)

// MinPasswordBits is the least entropy a bundle password may have.
const MinPasswordBits = 100

// Encode writes key, leaf and the chain (intermediates) under password.
func Encode(p Profile, key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, password string) ([]byte, error) {
	if password == "" {
		return nil, errors.New("bundle: refusing an empty password")
	}
	var enc *pkcs12.Encoder
	switch p {
	case Compatible:
		enc = pkcs12.LegacyDES
	case Modern:
		enc = pkcs12.Modern2023
	default:
		return nil, fmt.Errorf("bundle: unknown profile %q", p)
	}
	return enc.Encode(key, leaf, chain, password)
}

// Decode reads a bundle back (tests and checks).
func Decode(data []byte, password string) (key any, leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	return pkcs12.DecodeChain(data, password)
}

// passwordAlphabet avoids look-alike characters (0/O, 1/l/I) so a person
// can copy the password by hand: 31 symbols, about 4.95 bits each.
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewPassword returns a password of at least MinPasswordBits bits, in
// groups of four characters separated by dashes for reading aloud.
func NewPassword() (string, error) {
	const groups, per = 6, 4 // 24 characters × log2(31) ≈ 119 bits
	b := make([]byte, groups*per)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var sb strings.Builder
	n := byte(len(passwordAlphabet))
	limit := 256 - 256%int(n) // rejection sampling: no modulo bias
	for i := 0; i < len(b); i++ {
		for int(b[i]) >= limit {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", err
			}
			b[i] = one[0]
		}
		if i > 0 && i%per == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(passwordAlphabet[b[i]%n])
	}
	return sb.String(), nil
}
