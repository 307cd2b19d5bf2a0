// Package certgate decides who is at the other end of a portal connection from
// the certificate chain the client presented in the TLS handshake.
//
// The portal listener asks for a client certificate without verifying it
// (tls.RequestClientCert), so that a bad certificate gets a friendly page
// instead of a browser TLS error. This package is the verification: a pure,
// fail-closed policy in the spirit of ghostunnel's auth package. It takes the
// presented chain (leaf first, as in tls.ConnectionState.PeerCertificates)
// and returns either an [Identity] or a typed [Refusal], never both, never
// neither. It has no network access, no database and no net/http; revocation
// status comes from a [RevocationChecker] that the caller plugs in.
//
// Trust is organised in domains (justice, bar, expert, internal, …). A chain
// is verified against each domain's own roots separately, so a certificate
// never gets the roles of a domain whose CA did not issue it.
//
// A Gate is immutable after [New] and safe for concurrent use.
package certgate

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RevocationChecker says whether a leaf issued by issuer is revoked. An error
// means the status is unknown: the gate refuses (fail closed) with
// RefusalRevocationUnavailable.
type RevocationChecker interface {
	IsRevoked(leaf, issuer *x509.Certificate) (bool, error)
}

// Domain is one trust domain: the CAs it accepts and the roles its
// certificates may hold.
type Domain struct {
	Name          string              // "justice", "bar", "expert", "internal", …
	Label         string              // human name for refusal pages, e.g. "Autorité de certification de la Justice"; defaults to the roots' CNs
	Roots         []*x509.Certificate // trust anchors of this domain only
	Intermediates []*x509.Certificate // configured ones; intermediates sent by the client are used too
	PolicyOIDs    []string            // if non-empty, the leaf must carry at least one of them (certificatePolicies); dotted strings
	Roles         []string            // e.g. magistrate, clerk
	Revocation    RevocationChecker   // nil = no revocation source configured for this domain (allowed)
}

// Defaults for the options.
const (
	// DefaultMaxChain is the longest presented chain (leaf included) that is
	// looked at; longer ones are refused as malformed.
	DefaultMaxChain = 8
	// DefaultMaxCertSize bounds the DER size of each presented certificate.
	// A person's certificate is 1–3 KiB; a 1 MB subject is an attack or a
	// bug, and would otherwise flow into pages, logs and the database.
	DefaultMaxCertSize = 16 << 10
)

// Option configures a Gate.
type Option func(*Gate)

// WithClock sets the source of the current time (tests, replays). nil means
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(g *Gate) { g.now = now }
}

// WithMaxChain sets the longest presented chain, leaf included (default 8).
// Longer chains are refused as malformed before any verification work.
func WithMaxChain(n int) Option {
	return func(g *Gate) { g.maxChain = n }
}

// WithMaxCertSize sets the largest DER size accepted for each presented
// certificate (default 16 KiB). Larger ones are refused as malformed.
func WithMaxCertSize(n int) Option {
	return func(g *Gate) { g.maxCertSize = n }
}

// Gate is the compiled access policy. Build it with New.
type Gate struct {
	domains     []domain
	now         func() time.Time
	maxChain    int
	maxCertSize int
	accepted    []string
}

// domain is a Domain compiled once: pools are built in New and only read
// afterwards (x509.CertPool is safe for concurrent readers).
type domain struct {
	name       string
	label      string
	roles      []string
	roots      *x509.CertPool
	inter      *x509.CertPool // nil when no intermediate is configured
	names      map[string]struct{}
	policies   []x509.OID
	revocation RevocationChecker
}

// New compiles the domains. It checks that names are non-empty and unique,
// that each domain has at least one root, that no certificate is nil or
// unparsed, and that policy OIDs are valid dotted strings. Configuration
// order matters: when a chain verifies in several domains, the first wins.
func New(domains []Domain, opts ...Option) (*Gate, error) {
	g := &Gate{maxChain: DefaultMaxChain, maxCertSize: DefaultMaxCertSize}
	for _, o := range opts {
		if o != nil {
			o(g)
		}
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.maxChain < 1 {
		return nil, fmt.Errorf("certgate: maximum chain length %d: must be at least 1", g.maxChain)
	}
	if g.maxCertSize < 1 {
		return nil, fmt.Errorf("certgate: maximum certificate size %d: must be positive", g.maxCertSize)
	}
	if len(domains) == 0 {
		return nil, errors.New("certgate: no trust domain configured")
	}
	seen := make(map[string]bool, len(domains))
	g.domains = make([]domain, 0, len(domains))
	g.accepted = make([]string, 0, len(domains))
	for i, d := range domains {
		if strings.TrimSpace(d.Name) == "" {
			return nil, fmt.Errorf("certgate: domain %d has no name", i)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("certgate: domain %q configured twice", d.Name)
		}
		seen[d.Name] = true
		if len(d.Roots) == 0 {
			return nil, fmt.Errorf("certgate: domain %q has no root certificate", d.Name)
		}
		c := domain{
			name:       d.Name,
			roles:      slices.Clone(d.Roles),
			roots:      x509.NewCertPool(),
			names:      make(map[string]struct{}, len(d.Roots)+len(d.Intermediates)),
			revocation: d.Revocation,
		}
		rootCNs := make([]string, 0, len(d.Roots))
		for j, r := range d.Roots {
			if r == nil || len(r.Raw) == 0 {
				return nil, fmt.Errorf("certgate: domain %q: root %d is missing or not parsed", d.Name, j)
			}
			c.roots.AddCert(r)
			c.names[string(r.RawSubject)] = struct{}{}
			if cn := r.Subject.CommonName; cn != "" && !slices.Contains(rootCNs, cn) {
				rootCNs = append(rootCNs, cn)
			}
		}
		for j, r := range d.Intermediates {
			if r == nil || len(r.Raw) == 0 {
				return nil, fmt.Errorf("certgate: domain %q: intermediate %d is missing or not parsed", d.Name, j)
			}
			if c.inter == nil {
				c.inter = x509.NewCertPool()
			}
			c.inter.AddCert(r)
			c.names[string(r.RawSubject)] = struct{}{}
		}
		for _, s := range d.PolicyOIDs {
			oid, err := x509.ParseOID(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("certgate: domain %q: policy OID %q: %w", d.Name, s, err)
			}
			c.policies = append(c.policies, oid)
		}
		c.label = strings.TrimSpace(d.Label)
		if c.label == "" {
			c.label = strings.Join(rootCNs, ", ")
		}
		if c.label == "" {
			c.label = d.Name
		}
		g.domains = append(g.domains, c)
		g.accepted = append(g.accepted, c.label)
	}
	return g, nil
}

// AcceptedAuthorities lists, in configuration order, one human-readable name
// per domain (its Label, else its roots' common names), for the "autorité non
// reconnue: les certificats acceptés sont …" page. The slice is a copy.
func (g *Gate) AcceptedAuthorities() []string {
	return slices.Clone(g.accepted)
}

// Domains lists the configured domain names in configuration order.
func (g *Gate) Domains() []string {
	out := make([]string, len(g.domains))
	for i := range g.domains {
		out[i] = g.domains[i].name
	}
	return out
}

var (
	clientAuthUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	anyUsage        = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	oidKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 15}
)

// Check verifies the presented chain (leaf first, the rest in any order,
// as sent by the client) and returns exactly one of an Identity or a
// Refusal.
//
// Order of the checks, first failure wins:
//
//  1. no certificate → no_certificate; more than the maximum chain length, a
//     nil or oversized certificate, or an inverted validity window → malformed;
//  2. the domain: the chain must verify up to one domain's own roots, using
//     that domain's configured intermediates plus the ones the client sent.
//     The search runs at the current time clamped into the leaf's validity
//     window, so that an expired but genuine certificate is still recognised
//     (and refused as expired with its domain and dates, not as an unknown
//     CA). Nothing verifies → unknown_ca;
//  3. time, at the real current time: the leaf → expired / not_yet_valid with
//     the leaf's dates; a CA certificate of the chain → expired /
//     not_yet_valid with that CA's dates and Refusal.Authority set (see
//     below);
//  4. usage: the chain must allow clientAuth with Go's x509 semantics (EKU
//     clientAuth or anyExtendedKeyUsage or no EKU, on every certificate of the
//     chain), the leaf's KeyUsage, when present, must include
//     digitalSignature, and the leaf must not be a CA → wrong_usage;
//  5. policy OIDs, when the domain has some → policy_missing (also when the
//     CA hierarchy's own policy constraints reject the chain);
//  6. revocation, when the domain has a checker: revoked → revoked, error →
//     revocation_unavailable.
//
// Expired CA certificates: when the chain only verifies at a time inside the
// leaf's validity window other than now (tried: the leaf's notBefore, i.e.
// its issuance, then the middle of its window), the domain is known (every
// signature up to its root checked out) and the failure is a CA certificate
// out of its validity now. That is reported as expired (or not_yet_valid)
// with the domain, the CA certificate's dates and its CN in
// Refusal.Authority, rather than as unknown_ca: the authority is recognised,
// and the remedy (a new certificate from that authority) is the same as for
// an expired leaf. Pages should use Authority to say that it is the
// authority's certificate, not the user's, that expired.
//
// When the chain verifies in several domains (the same root configured
// twice, e.g. two domains told apart by their policy OIDs), the first domain
// in configuration order whose roots verify the chain now and whose usage
// and policy checks the leaf passes wins; failing that, the first domain
// that recognised the chain decides the refusal. Revocation is asked of the
// winning domain only, and its answer is final.
func (g *Gate) Check(presented []*x509.Certificate) (*Identity, *Refusal) {
	if len(presented) == 0 {
		return nil, &Refusal{Kind: RefusalNoCertificate, Detail: "no client certificate presented"}
	}
	leaf := presented[0]
	if len(presented) > g.maxChain {
		return nil, g.refuse(RefusalMalformed, nil, leaf,
			fmt.Sprintf("chain of %d certificates, more than the limit of %d", len(presented), g.maxChain))
	}
	for i, c := range presented {
		if c == nil || len(c.Raw) == 0 {
			return nil, g.refuse(RefusalMalformed, nil, leaf, fmt.Sprintf("certificate %d of the chain is missing or not parsed", i))
		}
		if len(c.Raw) > g.maxCertSize {
			return nil, g.refuse(RefusalMalformed, nil, leaf,
				fmt.Sprintf("certificate %d of the chain is %d bytes, more than the limit of %d", i, len(c.Raw), g.maxCertSize))
		}
	}
	if leaf.NotAfter.Before(leaf.NotBefore) {
		return nil, g.refuse(RefusalMalformed, nil, leaf, "validity window of the leaf is inverted")
	}

	// Only domains holding a CA whose subject is the issuer name of a
	// presented certificate (or the leaf's own subject, for a leaf that is
	// itself a root) can verify the chain: Go's path building matches
	// parents by name. This skips useless signature checks.
	var candBuf [8]int
	cands := candBuf[:0]
	for i := range g.domains {
		if g.domains[i].mayVerify(presented) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return nil, g.refuse(RefusalUnknownCA, nil, leaf, "no configured authority has the issuer name of the chain")
	}
	s := search{g: g, presented: presented, cands: cands}

	now := g.now()
	t1 := now
	if t1.Before(leaf.NotBefore) {
		t1 = leaf.NotBefore
	} else if t1.After(leaf.NotAfter) {
		t1 = leaf.NotAfter
	}
	leafValidNow := t1.Equal(now)

	// Pass 1, at now clamped into the leaf's window, asking for clientAuth:
	// on the success path this single Verify settles domain, time and EKU.
	// The first domain that verifies the chain and whose leaf checks
	// (usage, policy) pass wins; else the first one that recognised the
	// chain decides the refusal.
	recognised, recognisedKind, recognisedWhy := -1, RefusalKind(0), ""
	for k := range cands {
		d := &g.domains[cands[k]]
		chains, err := leaf.Verify(s.opts(k, t1, clientAuthUsage))
		var kind RefusalKind
		var why string
		if err == nil {
			if kind, why = leafChecks(d, leaf); kind == 0 {
				if !leafValidNow {
					return nil, g.timeRefusal(d, leaf, leaf, now)
				}
				return g.admit(d, leaf, chains[0])
			}
		} else {
			var ok bool
			if kind, ok = recognisedFailure(err); !ok {
				s.note(k, err)
				continue
			}
			why = err.Error()
		}
		if recognised < 0 {
			recognised, recognisedKind, recognisedWhy = k, kind, why
		}
	}
	if recognised >= 0 {
		d := &g.domains[cands[recognised]]
		if !leafValidNow {
			return nil, g.timeRefusal(d, leaf, leaf, now)
		}
		return nil, g.refuse(recognisedKind, d, leaf, recognisedWhy)
	}

	// Pass 2: the chain does not verify at t1. Try other instants of the
	// leaf's window, with any usage, to tell a recognised chain whose CA
	// certificate is out of validity from an unknown CA.
	mid := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	for _, t := range [2]time.Time{leaf.NotBefore, mid} {
		if t.Equal(t1) {
			continue
		}
		var found *domain
		var foundChains [][]*x509.Certificate
		for k := range cands {
			chains, err := leaf.Verify(s.opts(k, t, anyUsage))
			if err != nil {
				continue
			}
			d := &g.domains[cands[k]]
			if found == nil {
				found, foundChains = d, chains
			}
			if kind, _ := leafChecks(d, leaf); kind == 0 {
				found, foundChains = d, chains
				break
			}
		}
		if found == nil {
			continue
		}
		if !leafValidNow {
			return nil, g.timeRefusal(found, leaf, leaf, now)
		}
		for _, chain := range foundChains {
			for _, c := range chain[1:] {
				if now.Before(c.NotBefore) || now.After(c.NotAfter) {
					return nil, g.timeRefusal(found, leaf, c, now)
				}
			}
		}
		// Verifies at t but not now, with every CA certificate valid
		// now: not a validity problem we can name. Fail closed.
		return nil, g.refuse(RefusalUnknownCA, nil, leaf,
			fmt.Sprintf("chain verifies for domain %q at %s but not now: %s", found.name, t.Format(time.RFC3339), s.detail()))
	}
	return nil, g.refuse(RefusalUnknownCA, nil, leaf, s.detail())
}

// recognisedFailure tells the Verify errors that mean "a chain to this
// domain's roots was built, but refused for its usage or policies".
func recognisedFailure(err error) (RefusalKind, bool) {
	cie, ok := errors.AsType[x509.CertificateInvalidError](err)
	if !ok {
		return 0, false
	}
	switch cie.Reason {
	case x509.IncompatibleUsage:
		return RefusalWrongUsage, true
	case x509.NoValidChains:
		// Every candidate chain failed the RFC 5280 policy checks
		// (a CA's policy constraints), possibly some the usage checks too.
		return RefusalPolicyMissing, true
	}
	return 0, false
}

// leafChecks applies the checks on the leaf that follow a successful
// verification: usage (those Verify does not make) then the domain's
// policies. It returns 0 when they pass.
func leafChecks(d *domain, leaf *x509.Certificate) (RefusalKind, string) {
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return RefusalWrongUsage, "the presented certificate is a CA certificate"
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && hasExtension(leaf, oidKeyUsage) {
		return RefusalWrongUsage, fmt.Sprintf("key usage %#x lacks digitalSignature", int(leaf.KeyUsage))
	}
	if len(d.policies) > 0 && !hasAnyPolicy(leaf, d.policies) {
		return RefusalPolicyMissing, fmt.Sprintf("none of the policies required by domain %q in %v", d.name, leaf.Policies)
	}
	return 0, ""
}

// admit makes the last check, revocation, and builds the identity. The
// domain is chosen: its revocation answer is final.
func (g *Gate) admit(d *domain, leaf *x509.Certificate, chain []*x509.Certificate) (*Identity, *Refusal) {
	if d.revocation != nil {
		issuer := leaf
		if len(chain) > 1 {
			issuer = chain[1]
		}
		revoked, err := d.revocation.IsRevoked(leaf, issuer)
		if err != nil {
			return nil, g.refuse(RefusalRevocationUnavailable, d, leaf, "revocation status unknown: "+err.Error())
		}
		if revoked {
			return nil, g.refuse(RefusalRevoked, d, leaf, "revoked by "+issuer.Subject.CommonName)
		}
	}
	return newIdentity(d, leaf, chain), nil
}

// timeRefusal reports c (the leaf or a CA certificate of its chain) as out of
// its validity window at now.
func (g *Gate) timeRefusal(d *domain, leaf, c *x509.Certificate, now time.Time) *Refusal {
	kind, what := RefusalExpired, "expired"
	if now.Before(c.NotBefore) {
		kind, what = RefusalNotYetValid, "not yet valid"
	}
	r := g.refuse(kind, d, leaf, "")
	r.NotBefore, r.NotAfter = c.NotBefore, c.NotAfter
	who := "leaf"
	if c != leaf {
		r.Authority = truncate(c.Subject.CommonName, maxShown)
		who = fmt.Sprintf("CA certificate %q", r.Authority)
	}
	r.Detail = truncate(fmt.Sprintf("%s %s at %s (valid %s to %s)", who, what, now.Format(time.RFC3339),
		c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339)), maxDetail)
	return r
}

func (d *domain) mayVerify(presented []*x509.Certificate) bool {
	if _, ok := d.names[string(presented[0].RawSubject)]; ok {
		return true
	}
	for _, c := range presented {
		if _, ok := d.names[string(c.RawIssuer)]; ok {
			return true
		}
	}
	return false
}

// search holds the per-Check state of the domain search: the intermediate
// pools (built at most once per candidate domain) and the errors met.
type search struct {
	g         *Gate
	presented []*x509.Certificate
	cands     []int
	sent      *x509.CertPool   // the certificates sent after the leaf
	pools     []*x509.CertPool // per candidate: configured + sent
	errs      []string
}

func (s *search) opts(k int, t time.Time, usages []x509.ExtKeyUsage) x509.VerifyOptions {
	return x509.VerifyOptions{
		Roots:         s.g.domains[s.cands[k]].roots,
		Intermediates: s.intermediates(k),
		CurrentTime:   t,
		KeyUsages:     usages,
	}
}

func (s *search) intermediates(k int) *x509.CertPool {
	d := &s.g.domains[s.cands[k]]
	if len(s.presented) == 1 {
		return d.inter
	}
	if s.sent == nil {
		s.sent = x509.NewCertPool()
		for _, c := range s.presented[1:] {
			s.sent.AddCert(c)
		}
	}
	if d.inter == nil {
		return s.sent
	}
	if s.pools == nil {
		s.pools = make([]*x509.CertPool, len(s.cands))
	}
	if s.pools[k] == nil {
		p := d.inter.Clone()
		for _, c := range s.presented[1:] {
			p.AddCert(c)
		}
		s.pools[k] = p
	}
	return s.pools[k]
}

func (s *search) note(k int, err error) {
	s.errs = append(s.errs, s.g.domains[s.cands[k]].name+": "+err.Error())
}

func (s *search) detail() string {
	return strings.Join(s.errs, "; ")
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(oid) {
			return true
		}
	}
	return false
}

func hasAnyPolicy(c *x509.Certificate, want []x509.OID) bool {
	for _, p := range c.Policies {
		for _, w := range want {
			if p.Equal(w) {
				return true
			}
		}
	}
	return false
}
