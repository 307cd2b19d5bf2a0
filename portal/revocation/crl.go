// Package revocation checks client certificates against CRLs published by
// the CAs of a trust domain (files or URLs, refreshed periodically). It
// fails closed: once a CRL is older than its nextUpdate plus a grace period,
// or has never been loaded, the status of the certificates it covers is
// unknown and the gate refuses them.
package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable wraps every "status unknown" answer.
var ErrUnavailable = errors.New("revocation status unavailable")

// maxCRLSize bounds what a CRL source may send.
const maxCRLSize = 32 << 20

// Source is one CRL: a local file or an http(s) URL.
type Source struct {
	File string
	URL  string
}

func (s Source) String() string {
	if s.File != "" {
		return s.File
	}
	return s.URL
}

// Options configure a CRL checker.
type Options struct {
	Domain  string // for log lines
	Sources []Source
	// Issuers are the CA certificates whose CRLs these are (the domain's
	// roots and intermediates): a CRL is used only if one of them signed it.
	Issuers []*x509.Certificate
	Refresh time.Duration // default 1 h
	Grace   time.Duration // how long past nextUpdate a CRL is still trusted (default 0)
	Client  *http.Client  // default: 30 s timeout
	Logger  *slog.Logger
	Now     func() time.Time
}

type loaded struct {
	crl    *x509.RevocationList
	issuer *x509.Certificate
	set    map[string]struct{}
}

// CRLChecker implements the gate's RevocationChecker from CRLs.
type CRLChecker struct {
	o Options

	mu   sync.RWMutex
	crls map[string]*loaded // by source
}

// NewCRLChecker loads every source once. A source that fails is logged, not
// fatal: certificates it covers are refused until it loads.
func NewCRLChecker(ctx context.Context, o Options) *CRLChecker {
	if o.Refresh == 0 {
		o.Refresh = time.Hour
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &CRLChecker{o: o, crls: map[string]*loaded{}}
	c.RefreshAll(ctx)
	return c
}

// Run refreshes the CRLs every Refresh until ctx ends.
func (c *CRLChecker) Run(ctx context.Context) {
	t := time.NewTicker(c.o.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.RefreshAll(ctx)
		}
	}
}

// RefreshAll reloads every source; a failure keeps the previous CRL (which
// still expires at its own nextUpdate + grace).
func (c *CRLChecker) RefreshAll(ctx context.Context) {
	for _, s := range c.o.Sources {
		l, err := c.load(ctx, s)
		if err != nil {
			c.o.Logger.Error("CRL could not be loaded: certificates it covers will be refused once the current one is stale",
				"domain", c.o.Domain, "source", s.String(), "err", err)
			continue
		}
		c.mu.Lock()
		c.crls[s.String()] = l
		c.mu.Unlock()
		if c.stale(l) {
			c.o.Logger.Error("CRL is past its nextUpdate plus grace: certificates it covers are refused",
				"domain", c.o.Domain, "source", s.String(), "next_update", l.crl.NextUpdate)
		}
	}
}

func (c *CRLChecker) load(ctx context.Context, s Source) (*loaded, error) {
	raw, err := c.fetch(ctx, s)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(raw); block != nil && block.Type == "X509 CRL" {
		raw = block.Bytes
	}
	crl, err := x509.ParseRevocationList(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed CRL: %w", err)
	}
	var issuer *x509.Certificate
	for _, cand := range c.o.Issuers {
		if bytes.Equal(cand.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(cand) == nil {
			issuer = cand
			break
		}
	}
	if issuer == nil {
		return nil, fmt.Errorf("CRL issued by %q is not signed by a CA of this domain", crl.Issuer.String())
	}
	set := make(map[string]struct{}, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		set[string(e.SerialNumber.Bytes())] = struct{}{}
	}
	return &loaded{crl: crl, issuer: issuer, set: set}, nil
}

func (c *CRLChecker) fetch(ctx context.Context, s Source) ([]byte, error) {
	if s.File != "" {
		f, err := os.Open(s.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readLimited(f)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return readLimited(resp.Body)
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxCRLSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCRLSize {
		return nil, errors.New("CRL larger than 32 MiB")
	}
	return b, nil
}

func (c *CRLChecker) stale(l *loaded) bool {
	return !l.crl.NextUpdate.IsZero() && c.o.Now().After(l.crl.NextUpdate.Add(c.o.Grace))
}

// IsRevoked looks the leaf up in the CRL of its issuer. No CRL for that
// issuer, or a stale one, is ErrUnavailable: the gate refuses.
func (c *CRLChecker) IsRevoked(leaf, issuer *x509.Certificate) (bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, l := range c.crls {
		if !bytes.Equal(l.issuer.Raw, issuer.Raw) && !(bytes.Equal(l.issuer.RawSubject, issuer.RawSubject) && bytes.Equal(l.issuer.SubjectKeyId, issuer.SubjectKeyId)) {
			continue
		}
		if c.stale(l) {
			return false, fmt.Errorf("%w: the CRL of %s expired on %s", ErrUnavailable, issuer.Subject.CommonName, l.crl.NextUpdate.UTC().Format(time.RFC3339))
		}
		_, revoked := l.set[string(leaf.SerialNumber.Bytes())]
		return revoked, nil
	}
	return false, fmt.Errorf("%w: no CRL loaded for %s", ErrUnavailable, issuer.Subject.CommonName)
}

// SourceFromString reads a configured source: an http(s) URL or a file path.
func SourceFromString(s string) Source {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return Source{URL: s}
	}
	return Source{File: s}
}
