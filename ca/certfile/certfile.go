// Package certfile serves a TLS certificate and key from PEM files and
// reloads them when they change, so an operator can replace a certificate
// (from a public CA, say) without restarting Sceau.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// Source reads CertFile and KeyFile, and reads them again when either
// file's modification time or size changes (checked at most every
// CheckEvery). A broken replacement keeps the previous certificate in use.
type Source struct {
	CertFile, KeyFile string
	CheckEvery        time.Duration
	// OnError is told about a replacement that could not be loaded.
	OnError func(error)

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string
	checkedAt time.Time
}

// Load reads the files once; it must succeed before serving.
func (s *Source) Load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reload()
}

func (s *Source) reload() error {
	stamp, err := s.fingerprint()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return fmt.Errorf("server certificate %s / %s: %w", s.CertFile, s.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return err
		}
	}
	s.cert, s.stamp = &cert, stamp
	return nil
}

func (s *Source) fingerprint() (string, error) {
	var stamp string
	for _, f := range []string{s.CertFile, s.KeyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("server certificate: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

// GetCertificate is the tls.Config callback.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	every := s.CheckEvery
	if every == 0 {
		every = 10 * time.Second
	}
	if s.cert == nil || time.Since(s.checkedAt) >= every {
		s.checkedAt = time.Now()
		if stamp, err := s.fingerprint(); s.cert == nil || (err == nil && stamp != s.stamp) {
			if err := s.reload(); err != nil {
				if s.OnError != nil {
					s.OnError(err)
				}
				if s.cert == nil {
					return nil, err
				}
			}
		}
	}
	return s.cert, nil
}

// Leaf returns the certificate in use.
func (s *Source) Leaf() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return nil
	}
	return s.cert.Leaf
}
