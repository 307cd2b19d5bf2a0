package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// litigantTemplate is step-ca's X.509 template for litigants' certificates.
// Identity fields come from the signed token (.Token.*), never from the
// CSR: the CSR only proves possession of the key.
const litigantTemplate = `{
	"subject": {
		"commonName": {{ toJson .Token.name }},
		"organization": {{ toJson .Token.org }},
		"organizationalUnit": {{ toJson .Token.ou }},
		"serialNumber": {{ toJson .Token.pid }},
		"country": "FR"
	},
	"sans": {{ toJson .SANs }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["clientAuth"],
	"basicConstraints": {"isCA": false},
	"crlDistributionPoints": {{ toJson .Token.cdp }},
	"policyIdentifiers": {{ toJson .Token.policies }}
}`

// serverTemplate is the listeners' certificate in the embedded default.
const serverTemplate = `{
	"subject": {"commonName": {{ toJson .Token.cn }}, "organization": {{ toJson .Token.org }}},
	"sans": {{ toJson .SANs }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["serverAuth"],
	"basicConstraints": {"isCA": false},
	"crlDistributionPoints": {{ toJson .Token.cdp }}
}`

// ClientRequest describes a litigant (or outside technician) certificate.
type ClientRequest struct {
	Name          string // "Hélène Dupré-Lefèvre", in UTF-8
	Email         string
	Organisation  string // subject O; defaults to the CA's organisation
	CaseRef       string // e.g. "RG 24/01234 — TJ Rennes"
	ParticipantID string
	Validity      time.Duration // 0: the default (180 days)
}

// Issued is a signed certificate with its chain up to (not including) the root.
type Issued struct {
	Leaf  *x509.Certificate
	Chain []*x509.Certificate // leaf, intermediate
}

// Participant is the case and participant a litigant certificate is for.
// They are carried in the subject, readable by any tool: OU = "Affaire
// <case reference>" and serialNumber (2.5.4.5) = "P-<participant id>".
type Participant struct {
	CaseRef, ParticipantID string
}

const (
	casePrefix        = "Affaire "
	participantPrefix = "P-"
)

// ParticipantOf reads the case and participant from a certificate Sceau
// issued; ok is false when the subject does not carry them.
func ParticipantOf(cert *x509.Certificate) (p Participant, ok bool) {
	sub := cert.Subject
	if len(sub.OrganizationalUnit) != 1 || !strings.HasPrefix(sub.OrganizationalUnit[0], casePrefix) ||
		!strings.HasPrefix(sub.SerialNumber, participantPrefix) {
		return Participant{}, false
	}
	return Participant{CaseRef: strings.TrimPrefix(sub.OrganizationalUnit[0], casePrefix),
		ParticipantID: strings.TrimPrefix(sub.SerialNumber, participantPrefix)}, true
}

// NormaliseEmail lower-cases the domain of an address; the local part is
// kept as written (a "+tag" is part of it).
func NormaliseEmail(addr string) (string, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(addr) {
		return "", fmt.Errorf("%q is not an email address", addr)
	}
	at := strings.LastIndexByte(a.Address, '@')
	return a.Address[:at] + "@" + strings.ToLower(a.Address[at+1:]), nil
}

// IssueClient issues a client-authentication certificate for a litigant
// from a CSR whose key the caller generated (in memory). The CSR may carry
// no subject or the same email; names come from the request, not the CSR.
func (c *CA) IssueClient(ctx context.Context, csr *x509.CertificateRequest, r ClientRequest) (*Issued, error) {
	email, err := NormaliseEmail(r.Email)
	if err != nil {
		return nil, &RejectedError{Reason: err.Error()}
	}
	name := strings.Join(strings.Fields(r.Name), " ")
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 {
		return nil, &RejectedError{Reason: "the name must have 1 to 64 characters"}
	}
	if r.CaseRef == "" || r.ParticipantID == "" {
		return nil, &RejectedError{Reason: "a case reference and a participant id are required"}
	}
	if utf8.RuneCountInString(r.CaseRef) > 64-len(casePrefix) || len(r.ParticipantID) > 64-len(participantPrefix) {
		return nil, &RejectedError{Reason: "the case reference or participant id is too long (64 characters with its prefix)"}
	}
	validity := r.Validity
	if validity == 0 {
		validity = c.opts.DefaultValidity
	}
	if validity > c.opts.MaxValidity {
		return nil, &RejectedError{Reason: fmt.Sprintf("validity %s exceeds the maximum of %d days", validity, int(c.opts.MaxValidity.Hours()/24))}
	}
	org := r.Organisation
	if org == "" && len(c.root.Subject.Organization) > 0 {
		org = c.root.Subject.Organization[0]
	}
	policies := c.opts.PolicyOIDs
	if policies == nil {
		policies = []string{}
	}
	chain, err := c.sign(ctx, litigantProvisioner, email, []string{email}, csr, validity, map[string]any{
		"name": name, "org": org, "ou": casePrefix + r.CaseRef, "pid": participantPrefix + r.ParticipantID,
		"cdp": c.cdp(), "policies": policies,
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Leaf: chain[0], Chain: chain}, nil
}

// IssueServer issues a TLS server certificate for the given DNS names and
// IP addresses.
func (c *CA) IssueServer(ctx context.Context, csr *x509.CertificateRequest, names []string) (*Issued, error) {
	if len(names) == 0 {
		return nil, &RejectedError{Reason: "a server certificate needs at least one name"}
	}
	for _, n := range names {
		if net.ParseIP(n) == nil && !validDNSName(n) {
			return nil, &RejectedError{Reason: fmt.Sprintf("%q is neither a host name nor an IP address", n)}
		}
	}
	org := ""
	if len(c.root.Subject.Organization) > 0 {
		org = c.root.Subject.Organization[0]
	}
	chain, err := c.sign(ctx, serverProvisioner, names[0], names, csr, c.opts.ServerValidity, map[string]any{
		"cn": names[0], "org": org, "cdp": c.cdp(),
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Leaf: chain[0], Chain: chain}, nil
}

func (c *CA) cdp() []string {
	if c.opts.CRLURL == "" {
		return []string{}
	}
	return []string{c.opts.CRLURL}
}

func validDNSName(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

var errNoCRL = errors.New("no CRL has been generated yet")
