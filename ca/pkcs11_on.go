//go:build cgo && pkcs11

package ca

// PKCS#11 needs cgo; it is compiled in only with -tags pkcs11 so the
// default build stays pure Go.
import _ "go.step.sm/crypto/kms/pkcs11"

const pkcs11Supported = true
