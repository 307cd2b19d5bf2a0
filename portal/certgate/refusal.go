package certgate

import (
	"crypto/x509"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"
)

// RefusalKind says why a chain was refused. Its String is a stable code for
// logs, metrics and template selection.
type RefusalKind int

// The refusal kinds. The zero value is not a valid kind.
const (
	RefusalNoCertificate         RefusalKind = iota + 1 // "no_certificate": nothing presented
	RefusalExpired                                      // "expired": the leaf, or a CA certificate of its chain (Refusal.Authority)
	RefusalNotYetValid                                  // "not_yet_valid": idem, before notBefore
	RefusalUnknownCA                                    // "unknown_ca": verifies in no domain
	RefusalRevoked                                      // "revoked"
	RefusalWrongUsage                                   // "wrong_usage": EKU/KeyUsage does not allow TLS client authentication, or a CA certificate
	RefusalPolicyMissing                                // "policy_missing": none of the domain's policy OIDs
	RefusalRevocationUnavailable                        // "revocation_unavailable": the checker could not say (fail closed)
	RefusalMalformed                                    // "malformed": too long a chain, oversized or missing certificate, inverted dates
)

var refusalCodes = [...]string{
	RefusalNoCertificate:         "no_certificate",
	RefusalExpired:               "expired",
	RefusalNotYetValid:           "not_yet_valid",
	RefusalUnknownCA:             "unknown_ca",
	RefusalRevoked:               "revoked",
	RefusalWrongUsage:            "wrong_usage",
	RefusalPolicyMissing:         "policy_missing",
	RefusalRevocationUnavailable: "revocation_unavailable",
	RefusalMalformed:             "malformed",
}

// String returns the stable code of the kind ("expired", "unknown_ca", …),
// or "invalid" for a value outside the list.
func (k RefusalKind) String() string {
	if k > 0 && int(k) < len(refusalCodes) {
		return refusalCodes[k]
	}
	return "invalid"
}

// RefusalKinds lists every kind, in declaration order (for metrics
// pre-registration and exhaustive template tests).
func RefusalKinds() []RefusalKind {
	out := make([]RefusalKind, 0, len(refusalCodes)-1)
	for k := RefusalNoCertificate; int(k) < len(refusalCodes); k++ {
		out = append(out, k)
	}
	return out
}

// Refusal is a typed "no" with what a refusal page needs. Only Detail may
// carry technical text, and it is for logs only: never show it to users.
type Refusal struct {
	Kind RefusalKind
	// Domain and DomainLabel name the domain that recognised the CA, when
	// known (expired, not yet valid, revoked, wrong usage, policy missing,
	// revocation unavailable); empty for unknown_ca, no_certificate and
	// malformed.
	Domain      string
	DomainLabel string
	Subject     string   // the leaf's CN when there is a leaf (at most 256 bytes)
	Issuer      string   // the leaf's issuer DN, for logs (at most 512 bytes; not for malformed)
	Serial      *big.Int // the leaf's serial number, for logs
	// NotBefore and NotAfter are the validity window of the certificate the
	// refusal is about: the leaf, or for expired / not_yet_valid with
	// Authority set, that CA certificate. Zero when there is no leaf.
	NotBefore, NotAfter time.Time
	// Authority is set for expired / not_yet_valid when the certificate out
	// of its validity is not the leaf but a CA certificate of the verified
	// chain (an intermediate or the root): its CN. Pages then say that the
	// authority's certificate expired on NotAfter, not the user's.
	Authority string
	Detail    string // for logs only (never shown to users)
}

// Error makes a Refusal usable as an error in logs: "certgate: expired: …".
func (r *Refusal) Error() string {
	var b strings.Builder
	b.WriteString("certgate: ")
	b.WriteString(r.Kind.String())
	if r.Domain != "" {
		b.WriteString(" (domain ")
		b.WriteString(r.Domain)
		b.WriteString(")")
	}
	if r.Subject != "" {
		b.WriteString(" for ")
		b.WriteString(r.Subject)
	}
	if r.Detail != "" {
		b.WriteString(": ")
		b.WriteString(r.Detail)
	}
	return b.String()
}

const (
	maxShown  = 256  // Subject, Authority
	maxIssuer = 512  // Issuer
	maxDetail = 2048 // Detail
)

// refuse builds a refusal; d and leaf may be nil.
func (g *Gate) refuse(kind RefusalKind, d *domain, leaf *x509.Certificate, detail string) *Refusal {
	r := &Refusal{Kind: kind, Detail: truncate(detail, maxDetail)}
	if d != nil {
		r.Domain, r.DomainLabel = d.name, d.label
	}
	if leaf != nil {
		r.Subject = truncate(leaf.Subject.CommonName, maxShown)
		r.Serial = leaf.SerialNumber
		r.NotBefore, r.NotAfter = leaf.NotBefore, leaf.NotAfter
		// Not for malformed chains: refused cheaply, before any parsing work.
		if kind != RefusalMalformed && len(leaf.Raw) <= g.maxCertSize {
			r.Issuer = truncate(leaf.Issuer.String(), maxIssuer)
		}
	}
	return r
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
