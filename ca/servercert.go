package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"
)

// ServerCertificate is the listeners' TLS certificate issued by Sceau's own
// CA (embedded default). It is renewed in the background once two thirds of
// its lifetime have passed, without a restart; the key lives in memory only.
type ServerCertificate struct {
	ca    *CA
	names []string

	mu      sync.RWMutex
	cert    *tls.Certificate
	renewAt time.Time
}

// Files caching the server certificate in the CA folder, so a restart
// reuses it and can serve TLS before the database is reachable.
const (
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

// ServerCertificate returns the listeners' certificate for names: the
// cached one while it is valid for those names and not due for renewal,
// else a newly issued one.
func (c *CA) ServerCertificate(ctx context.Context, names []string) (*ServerCertificate, error) {
	s := &ServerCertificate{ca: c, names: names}
	if cert, err := LoadServerCertificate(c.opts.Dir, names); err == nil {
		life := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore)
		if renewAt := cert.Leaf.NotBefore.Add(life * 2 / 3); time.Now().Before(renewAt) &&
			cert.Leaf.CheckSignatureFrom(c.intermediate) == nil {
			s.cert, s.renewAt = cert, renewAt
			return s, nil
		}
	}
	if err := s.renew(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadServerCertificate reads the cached server certificate of a CA
// folder; it fails unless the certificate is currently valid for every
// name. No database is needed.
func LoadServerCertificate(dir string, names []string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if now.Before(cert.Leaf.NotBefore) || now.After(cert.Leaf.NotAfter) {
		return nil, errors.New("cached server certificate expired")
	}
	for _, n := range names {
		if err := cert.Leaf.VerifyHostname(n); err != nil {
			return nil, err
		}
	}
	return &cert, nil
}

func (s *ServerCertificate) renew(ctx context.Context) error {
	key, err := keyutil.GenerateSigner("EC", "P-256", 0)
	if err != nil {
		return err
	}
	csr, err := x509util.CreateCertificateRequest("", s.names, key)
	if err != nil {
		return err
	}
	issued, err := s.ca.IssueServer(ctx, csr, s.names)
	if err != nil {
		return err
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: issued.Leaf}
	for _, c := range issued.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	if err := s.save(cert); err != nil {
		s.ca.opts.Logger.Warn("could not cache the server certificate", "err", err)
	}
	life := issued.Leaf.NotAfter.Sub(issued.Leaf.NotBefore)
	s.mu.Lock()
	s.cert, s.renewAt = cert, issued.Leaf.NotBefore.Add(life*2/3)
	s.mu.Unlock()
	return nil
}

// GetCertificate is the tls.Config callback.
func (s *ServerCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert, nil
}

// Leaf returns the certificate in use.
func (s *ServerCertificate) Leaf() *x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert.Leaf
}

// Run renews the certificate when due, retrying every minute on failure,
// until ctx ends.
func (s *ServerCertificate) Run(ctx context.Context) {
	for {
		s.mu.RLock()
		wait := time.Until(s.renewAt)
		s.mu.RUnlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		if err := s.renew(ctx); err != nil && ctx.Err() == nil {
			s.ca.opts.Logger.Error("server certificate renewal failed; retrying in a minute", "err", err)
			s.mu.Lock()
			s.renewAt = time.Now().Add(time.Minute)
			s.mu.Unlock()
		} else if err == nil {
			s.ca.opts.Logger.Info("server certificate renewed", "not_after", s.Leaf().NotAfter)
		}
	}
}

// save caches the certificate chain and its key (0600, like any TLS
// server key) in the CA folder.
func (s *ServerCertificate) save(cert *tls.Certificate) error {
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return err
	}
	var chain []byte
	for _, c := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	if err := writeFileAtomic(filepath.Join(s.ca.opts.Dir, ServerKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.ca.opts.Dir, ServerCertFile), chain, 0o644)
}
