package ca

import (
	"context"
	"crypto/x509"
	"time"

	"sceau.fr/sceau/portal/model"
)

// Counter is the optional part of the store that counts certificates.
type Counter interface {
	CountCertificates(ctx context.Context, now time.Time) (model.CertificateCounts, error)
}

// CertInfo describes one CA certificate for status output.
type CertInfo struct {
	Subject   string
	NotAfter  time.Time
	ExpiresIn time.Duration
}

// Status is what `sceau ca status` prints.
type Status struct {
	Root, Intermediate CertInfo
	Archived           []CertInfo
	KeyLocation        string
	RootKeyOnline      bool
	Counts             model.CertificateCounts
	CRLNumber          int64
	CRLNextUpdate      time.Time
	// Warnings are problems to act on (an intermediate expiring soon).
	Warnings []string
}

func info(c *x509.Certificate, now time.Time) CertInfo {
	return CertInfo{Subject: c.Subject.String(), NotAfter: c.NotAfter, ExpiresIn: c.NotAfter.Sub(now)}
}

// Status reports the chain, where the key lives and what was issued.
func (c *CA) Status(ctx context.Context) (Status, error) {
	now := time.Now()
	st := Status{Root: info(c.root, now), Intermediate: info(c.intermediate, now), KeyLocation: c.keyLocation,
		RootKeyOnline: exists(c.opts.Dir + "/" + RootKeyFile)}
	for _, a := range c.intermediates[1:] {
		st.Archived = append(st.Archived, info(a, now))
	}
	st.Warnings = c.ExpiryWarnings(now)
	if counter, ok := c.opts.Store.(Counter); ok {
		n, err := counter.CountCertificates(ctx, now)
		if err != nil {
			return st, err
		}
		st.Counts = n
	}
	if crl, err := c.opts.Store.LatestCRL(ctx); err == nil {
		st.CRLNumber, st.CRLNextUpdate = crl.Number, crl.NextUpdate
	}
	return st, nil
}

// ExpiryWarnings lists CA certificates that expire within ExpiryWarning.
func (c *CA) ExpiryWarnings(now time.Time) []string {
	var w []string
	for _, crt := range []*x509.Certificate{c.intermediate, c.root} {
		if left := crt.NotAfter.Sub(now); left < ExpiryWarning {
			w = append(w, "CA certificate "+crt.Subject.CommonName+" expires on "+crt.NotAfter.UTC().Format("2006-01-02")+
				": run `sceau ca rotate-intermediate` with the root key")
		}
	}
	return w
}
