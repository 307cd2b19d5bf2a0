//go:build !(cgo && pkcs11)

package ca

const pkcs11Supported = false
