package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"

	"go.step.sm/crypto/pemutil"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/proxycert"
	"sceau.fr/sceau/portal/revocation"
)

// internalRevocation asks Sceau's CA, once it is open; until then the
// status is unknown and the gate refuses (fail closed).
type internalRevocation struct{ pki *pkiHolder }

func (r internalRevocation) IsRevoked(leaf, _ *x509.Certificate) (bool, error) {
	c, err := r.pki.get()
	if err != nil {
		return false, err
	}
	return c.IsRevoked(leaf.SerialNumber)
}

// buildGate makes the certificate gate: every configured trust domain
// (with its CRLs) plus Sceau's own CA as the "internal" domain. CA
// certificates are read from files, so the gate exists before the database.
func buildGate(ctx context.Context, cfg *config.Config, pki *pkiHolder, log *slog.Logger, wg *sync.WaitGroup) (*certgate.Gate, error) {
	var domains []certgate.Domain
	for _, d := range cfg.Trust.Domains {
		var certs []*x509.Certificate
		for _, f := range d.CAFiles {
			bundle, err := pemutil.ReadCertificateBundle(f)
			if err != nil {
				return nil, fmt.Errorf("trust domain %s: %s: %w", d.Name, f, err)
			}
			certs = append(certs, bundle...)
		}
		roots, inters := splitRoots(certs)
		if len(roots) == 0 {
			return nil, fmt.Errorf("trust domain %s: no self-signed root among %v", d.Name, d.CAFiles)
		}
		dom := certgate.Domain{Name: d.Name, Label: d.Label, Roots: roots, Intermediates: inters,
			PolicyOIDs: d.PolicyOIDs, Roles: d.Roles}
		if len(d.CRLs) > 0 {
			var sources []revocation.Source
			for _, s := range d.CRLs {
				sources = append(sources, revocation.SourceFromString(s))
			}
			checker := revocation.NewCRLChecker(ctx, revocation.Options{Domain: d.Name, Sources: sources,
				Issuers: certs, Refresh: d.CRLRefresh.Duration, Grace: d.CRLGrace.Duration, Logger: log})
			wg.Add(1)
			go func() { defer wg.Done(); checker.Run(ctx) }()
			dom.Revocation = checker
		}
		domains = append(domains, dom)
	}
	root, err := pemutil.ReadCertificate(filepath.Join(cfg.CA.Dir, ca.RootCertFile))
	if err != nil {
		return nil, fmt.Errorf("Sceau's CA: %w", err)
	}
	inters, err := pemutil.ReadCertificateBundle(filepath.Join(cfg.CA.Dir, ca.IntermediateCertFile))
	if err != nil {
		return nil, fmt.Errorf("Sceau's CA: %w", err)
	}
	archived, _ := filepath.Glob(filepath.Join(cfg.CA.Dir, "archive", "intermediate-*.crt"))
	for _, f := range archived {
		if c, err := pemutil.ReadCertificate(f); err == nil {
			inters = append(inters, c)
		}
	}
	domains = append(domains, certgate.Domain{Name: "internal", Label: "AC Sceau (" + cfg.Organisation + ")",
		Roots: []*x509.Certificate{root}, Intermediates: inters, Roles: []string{"party_member", "sapiteur"},
		Revocation: internalRevocation{pki}})
	return certgate.New(domains)
}

func splitRoots(certs []*x509.Certificate) (roots, inters []*x509.Certificate) {
	for _, c := range certs {
		if c.IsCA && c.CheckSignatureFrom(c) == nil && string(c.RawIssuer) == string(c.RawSubject) {
			roots = append(roots, c)
		} else {
			inters = append(inters, c)
		}
	}
	return roots, inters
}

// proxyExtractor builds the reverse-proxy certificate reader, if configured.
func proxyExtractor(cfg *config.Config) (*proxycert.Extractor, error) {
	px := cfg.Server.Proxy
	if px.Format == "" {
		return nil, nil
	}
	var prefixes []netip.Prefix
	for _, a := range px.TrustedProxies {
		if p, err := netip.ParsePrefix(a); err == nil {
			prefixes = append(prefixes, p)
		} else if addr, err := netip.ParseAddr(a); err == nil {
			prefixes = append(prefixes, netip.PrefixFrom(addr, addr.BitLen()))
		}
	}
	return proxycert.New(proxycert.Config{Format: proxycert.Format(px.Format), Header: px.Header, TrustedProxies: prefixes})
}
