//go:build !(cgo && pkcs11)

package ca

// PKCS11Supported says whether this binary can use PKCS#11 tokens.
const PKCS11Supported = false
