//go:build cgo && pkcs11

package ca

// PKCS#11 needs cgo; it is compiled in only with -tags pkcs11 so the
// default build stays pure Go.
import _ "go.step.sm/crypto/kms/pkcs11"

// PKCS11Supported says whether this binary can use PKCS#11 tokens.
const PKCS11Supported = true
