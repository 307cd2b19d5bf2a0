package certgate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"slices"
	"time"
)

// Identity is who a verified chain says the user is. Roles are the roles the
// domain MAY hold (e.g. magistrate or clerk): the certificate of the
// Justice does not say which one, the user confirms it at registration.
type Identity struct {
	Domain string   // name of the domain whose roots verified the chain
	Roles  []string // the domain's roles (a copy)

	CommonName string
	GivenName  string // givenName 2.5.4.42 (first value)
	Surname    string // surname 2.5.4.4 (first value)
	// Email is the first rfc822Name of the subjectAltName, else the subject
	// emailAddress attribute (1.2.840.113549.1.9.1), as written in the
	// certificate (not lower-cased).
	Email string

	Titles                 []string // title 2.5.4.12, every value
	OrganizationalUnits    []string // OU 2.5.4.11
	Organizations          []string // O 2.5.4.10
	SerialNumber           string   // subject serialNumber attribute 2.5.4.5 (not the certificate serial)
	OrganizationIdentifier string   // organizationIdentifier 2.5.4.97 (first value)

	Issuer           string   // issuer DN (RFC 2253 string)
	IssuerCommonName string   // issuer CN
	Serial           *big.Int // certificate serial number (with Issuer: the audit key)
	Fingerprint      string   // lowercase hex SHA-256 of the leaf DER
	NotBefore        time.Time
	NotAfter         time.Time

	Leaf  *x509.Certificate
	Chain []*x509.Certificate // the verified chain, leaf first, root last
}

var (
	oidTitle                  = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidSurname                = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName              = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidEmailAddress           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

func newIdentity(d *domain, leaf *x509.Certificate, chain []*x509.Certificate) *Identity {
	sum := sha256.Sum256(leaf.Raw)
	id := &Identity{
		Domain:              d.name,
		Roles:               slices.Clone(d.roles),
		CommonName:          leaf.Subject.CommonName,
		OrganizationalUnits: slices.Clone(leaf.Subject.OrganizationalUnit),
		Organizations:       slices.Clone(leaf.Subject.Organization),
		SerialNumber:        leaf.Subject.SerialNumber,
		Issuer:              leaf.Issuer.String(),
		IssuerCommonName:    leaf.Issuer.CommonName,
		Serial:              leaf.SerialNumber,
		Fingerprint:         hex.EncodeToString(sum[:]),
		NotBefore:           leaf.NotBefore,
		NotAfter:            leaf.NotAfter,
		Leaf:                leaf,
		Chain:               chain,
	}
	var subjectEmail string
	for _, atv := range leaf.Subject.Names {
		v, ok := atv.Value.(string)
		if !ok {
			continue
		}
		switch t := atv.Type; {
		case t.Equal(oidTitle):
			id.Titles = append(id.Titles, v)
		case t.Equal(oidGivenName):
			if id.GivenName == "" {
				id.GivenName = v
			}
		case t.Equal(oidSurname):
			if id.Surname == "" {
				id.Surname = v
			}
		case t.Equal(oidOrganizationIdentifier):
			if id.OrganizationIdentifier == "" {
				id.OrganizationIdentifier = v
			}
		case t.Equal(oidEmailAddress):
			if subjectEmail == "" {
				subjectEmail = v
			}
		}
	}
	if len(leaf.EmailAddresses) > 0 {
		id.Email = leaf.EmailAddresses[0]
	} else {
		id.Email = subjectEmail
	}
	return id
}

// HasRole reports whether the identity's domain may hold role.
func (id *Identity) HasRole(role string) bool {
	return slices.Contains(id.Roles, role)
}
