// Package ca is Sceau's own certificate authority: an embedded step-ca
// (github.com/smallstep/certificates, in-process, no separate server) that
// issues litigants' client certificates and the listeners' server
// certificate. It is the only package that imports smallstep; the rest of
// Sceau uses the Go API below.
//
// Every issuance goes through step-ca's policy path: Sceau mints a short
// one-time token bound to the CSR with a provisioner key only it holds, then
// calls Authorize and SignWithContext, so step-ca's lifetime, SAN, key and
// replay checks all apply. Certificates, revocations, spent tokens and CRLs
// live in Sceau's own tables (see authdb.go).
package ca

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/authority/provisioner"
	"go.step.sm/crypto/jose"
)

// Provisioner names, one per issuance profile. Both use the same key,
// which never leaves Sceau.
const (
	litigantProvisioner = "sceau-litigant"
	serverProvisioner   = "sceau-server"
	// audienceHost only builds token audiences: step-ca never listens.
	audienceHost  = "sceau-ca.internal"
	tokenLifetime = 2 * time.Minute
)

func profileOfProvisioner(name string) string {
	switch name {
	case litigantProvisioner:
		return "litigant"
	case serverProvisioner:
		return "server"
	}
	return name
}

// Options configure an open CA.
type Options struct {
	Dir      string
	Password []byte
	// PKCS11, when set, holds the intermediate key (else Dir/intermediate.key).
	PKCS11 *PKCS11
	Store  Store
	// CRLURL is the distribution point written in every certificate and the
	// CRL's issuing distribution point, e.g. https://retrait.example.fr/ca/crl.
	CRLURL string
	// PolicyOIDs are written in litigant certificates (certificatePolicies).
	PolicyOIDs []string
	// DefaultValidity and MaxValidity bound litigant certificates
	// (defaults 180 and 365 days).
	DefaultValidity, MaxValidity time.Duration
	// ServerValidity is the lifetime of server certificates (default 90 days).
	ServerValidity time.Duration
	// RevocationRefresh is how often the revocation cache is compared with
	// the database (default 2 s): a revocation made by another instance is
	// seen within that delay.
	RevocationRefresh time.Duration
	// MaxStale: past this age without a successful refresh, IsRevoked fails
	// closed (default 1 min).
	MaxStale time.Duration
	// CRLValidity is the time between a CRL's thisUpdate and nextUpdate
	// (default 24 h); it is regenerated at two thirds of it and on every
	// revocation.
	CRLValidity time.Duration
	Logger      *slog.Logger
}

func (o *Options) defaults() {
	if o.DefaultValidity == 0 {
		o.DefaultValidity = 180 * 24 * time.Hour
	}
	if o.MaxValidity == 0 {
		o.MaxValidity = 365 * 24 * time.Hour
	}
	if o.ServerValidity == 0 {
		o.ServerValidity = 90 * 24 * time.Hour
	}
	if o.RevocationRefresh == 0 {
		o.RevocationRefresh = 2 * time.Second
	}
	if o.MaxStale == 0 {
		o.MaxStale = time.Minute
	}
	if o.CRLValidity == 0 {
		o.CRLValidity = 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// CA is an open certificate authority.
type CA struct {
	opts          Options
	auth          *authority.Authority
	jwk           *jose.JSONWebKey
	minter        *tokenMinter
	root          *x509.Certificate
	intermediate  *x509.Certificate
	intermediates []*x509.Certificate // current first, then archived ones still valid
	keyLocation   string
	db            *authDB
	closeKey      func() error
	revoked       *revocationCache
}

// Open loads the CA from Dir and starts the embedded authority. It fails
// when a key cannot be read or decrypted, the PKCS#11 token is absent or
// locked, or a provisioner did not initialise.
func Open(ctx context.Context, o Options) (*CA, error) {
	o.defaults()
	if o.Store == nil {
		return nil, errors.New("ca: a store is required")
	}
	if o.DefaultValidity > o.MaxValidity {
		return nil, fmt.Errorf("ca: default validity %s exceeds the maximum %s", o.DefaultValidity, o.MaxValidity)
	}
	c := &CA{opts: o, closeKey: func() error { return nil }}
	var err error
	if c.root, err = readCert(filepath.Join(o.Dir, RootCertFile)); err != nil {
		return nil, err
	}
	if c.intermediate, err = readCert(filepath.Join(o.Dir, IntermediateCertFile)); err != nil {
		return nil, err
	}
	c.intermediates = append([]*x509.Certificate{c.intermediate}, archivedIntermediates(o.Dir)...)
	if err := c.intermediate.CheckSignatureFrom(c.root); err != nil {
		return nil, fmt.Errorf("ca: %s is not signed by %s: %w", IntermediateCertFile, RootCertFile, err)
	}
	key, err := c.intermediateKey(ctx)
	if err != nil {
		return nil, err
	}
	if !keyMatches(c.intermediate, key) {
		c.closeKey()
		return nil, fmt.Errorf("ca: the intermediate key (%s) does not match %s", c.keyLocation, IntermediateCertFile)
	}
	if c.jwk, err = readProvisionerKey(filepath.Join(o.Dir, ProvisionerKeyFile), o.Password); err != nil {
		c.closeKey()
		return nil, err
	}
	if err := c.start(key); err != nil {
		c.closeKey()
		return nil, err
	}
	c.revoked = &revocationCache{store: o.Store, maxStale: o.MaxStale}
	if err := c.revoked.refresh(ctx, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("ca: loading revocations: %w", err)
	}
	return c, nil
}

func (c *CA) intermediateKey(ctx context.Context) (crypto.Signer, error) {
	if p := c.opts.PKCS11; p != nil {
		s, closer, err := p.signer(ctx)
		if err != nil {
			return nil, err
		}
		c.keyLocation, c.closeKey = "PKCS#11 "+p.Key, closer
		return s, nil
	}
	path := filepath.Join(c.opts.Dir, IntermediateKeyFile)
	c.keyLocation = path
	return readKey(path, c.opts.Password)
}

func (c *CA) start(key crypto.Signer) error {
	pub := c.jwk.Public()
	litigant := &provisioner.JWK{
		Type: "JWK", Name: litigantProvisioner, Key: &pub,
		Claims: &provisioner.Claims{
			MinTLSDur:                  &provisioner.Duration{Duration: 5 * time.Minute},
			MaxTLSDur:                  &provisioner.Duration{Duration: c.opts.MaxValidity},
			DefaultTLSDur:              &provisioner.Duration{Duration: c.opts.DefaultValidity},
			DisableRenewal:             ptr(true),
			DisableSmallstepExtensions: ptr(true),
		},
		Options: &provisioner.Options{X509: &provisioner.X509Options{Template: litigantTemplate}},
	}
	server := &provisioner.JWK{
		Type: "JWK", Name: serverProvisioner, Key: &pub,
		Claims: &provisioner.Claims{
			MinTLSDur:                  &provisioner.Duration{Duration: 5 * time.Minute},
			MaxTLSDur:                  &provisioner.Duration{Duration: c.opts.ServerValidity},
			DefaultTLSDur:              &provisioner.Duration{Duration: c.opts.ServerValidity},
			DisableRenewal:             ptr(true),
			DisableSmallstepExtensions: ptr(true),
		},
		Options: &provisioner.Options{X509: &provisioner.X509Options{Template: serverTemplate}},
	}
	cfg := &config.Config{
		DNSNames: []string{audienceHost},
		AuthorityConfig: &config.AuthConfig{
			Provisioners: provisioner.List{litigant, server},
			Backdate:     &provisioner.Duration{Duration: time.Minute},
		},
		CRL: &config.CRLConfig{
			Enabled:          true,
			GenerateOnRevoke: true,
			CacheDuration:    &provisioner.Duration{Duration: c.opts.CRLValidity},
			RenewPeriod:      &provisioner.Duration{Duration: c.opts.CRLValidity * 2 / 3},
			IDPurl:           c.opts.CRLURL,
		},
	}
	adb := &authDB{store: c.opts.Store, timeout: 10 * time.Second}
	c.db = adb
	a, err := authority.NewEmbedded(
		authority.WithConfig(cfg),
		authority.WithX509RootCerts(c.root),
		authority.WithX509Signer(c.intermediate, key),
		authority.WithDatabase(adb),
		authority.WithQuietInit(),
	)
	if err != nil {
		return fmt.Errorf("ca: starting the embedded authority: %w", err)
	}
	// step-ca replaces a provisioner that fails to initialise by a disabled
	// one and carries on; Sceau refuses to start instead.
	for _, name := range []string{litigantProvisioner, serverProvisioner} {
		p, err := a.LoadProvisionerByName(name)
		if err != nil {
			a.Shutdown()
			return fmt.Errorf("ca: provisioner %s is missing: %w", name, err)
		}
		if _, broken := p.(provisioner.Uninitialized); broken {
			a.Shutdown()
			return fmt.Errorf("ca: provisioner %s did not initialise (check the validity settings)", name)
		}
		if _, broken := p.(*provisioner.Uninitialized); broken {
			a.Shutdown()
			return fmt.Errorf("ca: provisioner %s did not initialise (check the validity settings)", name)
		}
	}
	minter, err := newTokenMinter(c.jwk)
	if err != nil {
		a.Shutdown()
		return err
	}
	c.auth, c.minter = a, minter
	return nil
}

// Close stops the authority and releases the key (and the PKCS#11 session).
func (c *CA) Close() error {
	var err error
	if c.auth != nil {
		err = c.auth.Shutdown()
	}
	return errors.Join(err, c.closeKey())
}

// Root is the trust anchor users install or relying parties configure.
func (c *CA) Root() *x509.Certificate { return c.root }

// Intermediate is the current issuing certificate.
func (c *CA) Intermediate() *x509.Certificate { return c.intermediate }

// Intermediates are the current issuing certificate and archived ones that
// are still valid (their certificates are still in use).
func (c *CA) Intermediates() []*x509.Certificate { return c.intermediates }

// KeyLocation says where the intermediate key lives.
func (c *CA) KeyLocation() string { return c.keyLocation }

// token mints a one-time token for the given provisioner and audience.
func (c *CA) token(prov, audiencePath, subject string, extra map[string]any) (string, error) {
	tok, _, err := c.tokenWithID(prov, audiencePath, subject, extra)
	return tok, err
}

func (c *CA) tokenWithID(prov, audiencePath, subject string, extra map[string]any) (string, string, error) {
	return c.minter.mint(prov, "https://"+audienceHost+audiencePath, subject, time.Now(), tokenLifetime, extra)
}

// sign runs step-ca's full policy path for one CSR.
func (c *CA) sign(ctx context.Context, prov, subject string, sans []string, csr *x509.CertificateRequest, validity time.Duration, extra map[string]any) ([]*x509.Certificate, error) {
	if csr == nil {
		return nil, errors.New("ca: no certificate request")
	}
	// The CSR's signature is checked once, by step-ca (signX509), on this
	// same path: a forged request gets a RejectedError and no certificate.
	sum := sha256.Sum256(csr.Raw)
	if extra == nil {
		extra = map[string]any{}
	}
	extra["sans"] = sans
	extra["cnf"] = map[string]string{"x5rt#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
	tok, jti, err := c.tokenWithID(prov, "/1.0/sign", subject, extra)
	if err != nil {
		return nil, err
	}
	return c.signWithToken(ctx, tok, jti, csr, validity)
}

// signWithToken authorises a minted token and signs the CSR with it. The
// token is spent in the database together with the certificate record.
func (c *CA) signWithToken(ctx context.Context, tok, jti string, csr *x509.CertificateRequest, validity time.Duration) ([]*x509.Certificate, error) {
	if c.db != nil { // nil only for a CA built on another store (benchmarks)
		done := c.db.expect(csr, jti, time.Now().Add(tokenLifetime+time.Minute))
		defer done()
	}
	ctx = provisioner.NewContextWithMethod(ctx, provisioner.SignMethod)
	signOpts, err := c.auth.Authorize(ctx, tok)
	if err != nil {
		return nil, rejected(err)
	}
	var so provisioner.SignOptions
	if validity > 0 {
		now := time.Now()
		so.NotBefore = provisioner.NewTimeDuration(now.Add(-time.Minute))
		so.NotAfter = provisioner.NewTimeDuration(now.Add(validity))
	}
	chain, err := c.auth.SignWithContext(ctx, csr, so, signOpts...)
	if err != nil {
		return nil, rejected(err)
	}
	return chain, nil
}

// RejectedError is an issuance refused by policy (weak key, SAN that does
// not match the order, validity over the maximum, …) or by a failure to
// record the certificate; nothing was issued.
type RejectedError struct {
	Reason string
	Err    error
}

func (e *RejectedError) Error() string { return "certificate not issued: " + e.Reason }
func (e *RejectedError) Unwrap() error { return e.Err }

func rejected(err error) error {
	msg := err.Error()
	// step-ca wraps the cause as "authority.Sign; …: cause": keep the cause.
	if i := strings.LastIndex(msg, "; "); i >= 0 {
		msg = msg[i+2:]
	}
	return &RejectedError{Reason: msg, Err: err}
}

func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

func archivedIntermediates(dir string) []*x509.Certificate {
	files, _ := filepath.Glob(filepath.Join(dir, archiveDir, "intermediate-*.crt"))
	sort.Sort(sort.Reverse(sort.StringSlice(files)))
	var out []*x509.Certificate
	for _, f := range files {
		if crt, err := readCert(f); err == nil && time.Now().Before(crt.NotAfter) {
			out = append(out, crt)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// SerialString is how step-ca and the store name a serial (decimal).
func SerialString(n *big.Int) string { return n.String() }

// ParseSerial reads a serial written in decimal or in hexadecimal (with or
// without colons, as openssl prints it, or with a 0x prefix).
func ParseSerial(s string) (*big.Int, error) {
	s = strings.TrimSpace(s)
	n := new(big.Int)
	hexDigits := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(s), "0x"), ":", "")
	if strings.HasPrefix(strings.ToLower(s), "0x") || strings.Contains(s, ":") || strings.ContainsAny(hexDigits, "abcdef") {
		if _, ok := n.SetString(hexDigits, 16); ok && n.Sign() > 0 {
			return n, nil
		}
		return nil, fmt.Errorf("%q is not a certificate serial number", s)
	}
	if _, ok := n.SetString(s, 10); ok && n.Sign() > 0 {
		return n, nil
	}
	return nil, fmt.Errorf("%q is not a certificate serial number", s)
}

func withSign(ctx context.Context) context.Context {
	return provisioner.NewContextWithMethod(ctx, provisioner.SignMethod)
}
