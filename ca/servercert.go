package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

// ServerCertificate issues the first certificate for names.
func (c *CA) ServerCertificate(ctx context.Context, names []string) (*ServerCertificate, error) {
	s := &ServerCertificate{ca: c, names: names}
	if err := s.renew(ctx); err != nil {
		return nil, err
	}
	return s, nil
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
