// Package demo makes test-only certificate families that look like the
// real ones (Justice, bar, court experts) and demo identities in them, so
// `sceau init --demo` gives a newcomer certificates to try the portal with.
// Every name says TEST; the CA keys are thrown away once the identities are
// made, so nothing more can ever be issued from them.
package demo

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sceau.fr/sceau/ca/bundle"
)

// Family is one test CA hierarchy standing for a real trust domain.
type Family struct {
	Domain, Label, RootName, IssuingName, Organisation string
	Roles                                              []string
}

// Families are the demo trust domains.
var Families = []Family{
	{Domain: "justice", Label: "AC Justice (TEST)", RootName: "AC Racine Justice (TEST)", IssuingName: "AC Justice Agents (TEST)",
		Organisation: "Ministère de la Justice (TEST)", Roles: []string{"magistrate", "clerk"}},
	{Domain: "bar", Label: "AC Avocats (TEST)", RootName: "AC Racine Avocats (TEST)", IssuingName: "AC Avocats RPVA (TEST)",
		Organisation: "Conseil national des barreaux (TEST)", Roles: []string{"lawyer"}},
	{Domain: "expert", Label: "AC Experts (TEST)", RootName: "AC Racine Experts (TEST)", IssuingName: "AC Experts judiciaires (TEST)",
		Organisation: "Conseil national des compagnies d’experts de justice (TEST)", Roles: []string{"expert"}},
}

// Person is a demo identity.
type Person struct {
	File, Domain, Role, GivenName, Surname, Email, Title, Unit, SerialNumber string
}

// People are the demo identities: a magistrate, a clerk, two lawyers, two experts.
var People = []Person{
	{File: "magistrat-claire-martin", Domain: "justice", Role: "magistrate", GivenName: "Claire", Surname: "Martin",
		Email: "claire.martin@justice.test", Title: "Juge chargée du contrôle des expertises", Unit: "Tribunal judiciaire de Rennes", SerialNumber: "MAG-0001"},
	{File: "greffier-julien-bernard", Domain: "justice", Role: "clerk", GivenName: "Julien", Surname: "Bernard",
		Email: "julien.bernard@justice.test", Title: "Greffier", Unit: "Tribunal judiciaire de Rennes", SerialNumber: "GRF-0002"},
	{File: "avocate-sophie-lefevre", Domain: "bar", Role: "lawyer", GivenName: "Sophie", Surname: "Lefèvre",
		Email: "sophie.lefevre@avocats.test", Title: "Avocate", Unit: "Barreau de Rennes", SerialNumber: "CNBF-123456"},
	{File: "avocat-marc-nguyen", Domain: "bar", Role: "lawyer", GivenName: "Marc", Surname: "Nguyen",
		Email: "marc.nguyen@avocats.test", Title: "Avocat", Unit: "Barreau de Nantes", SerialNumber: "CNBF-654321"},
	{File: "expert-pierre-durand", Domain: "expert", Role: "expert", GivenName: "Pierre", Surname: "Durand",
		Email: "pierre.durand@experts.test", Title: "Expert en bâtiment", Unit: "Cour d’appel de Rennes", SerialNumber: "EXP-0042"},
	{File: "experte-anne-moreau", Domain: "expert", Role: "expert", GivenName: "Anne", Surname: "Moreau",
		Email: "anne.moreau@experts.test", Title: "Experte en médecine légale", Unit: "Cour d’appel d’Angers", SerialNumber: "EXP-0043"},
}

// Made is what Create wrote.
type Made struct {
	// TrustFiles maps a domain to its PEM bundle (root + issuing CA).
	TrustFiles map[string]string
	// Identities are the PKCS#12 files with their passwords.
	Identities []Identity
	Readme     string
}

// Identity is one written PKCS#12 file.
type Identity struct {
	Person
	P12, Password string
	// Leaf is the identity's certificate (also in the PKCS#12).
	Leaf *x509.Certificate
}

// Create writes dir/trust/<domain>.pem and dir/identities/<name>.p12 plus
// dir/LISEZ-MOI.txt with the passwords (demo only).
func Create(dir string) (*Made, error) {
	made := &Made{TrustFiles: map[string]string{}}
	for _, d := range []string{"trust", "identities"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, err
		}
	}
	type issuer struct {
		cert *x509.Certificate
		key  crypto.Signer
		root *x509.Certificate
	}
	issuers := map[string]issuer{}
	for _, f := range Families {
		root, rootKey, err := newCA(f.RootName, f.Organisation, nil, nil, 20)
		if err != nil {
			return nil, err
		}
		inter, interKey, err := newCA(f.IssuingName, f.Organisation, root, rootKey, 10)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "trust", f.Domain+".pem")
		if err := os.WriteFile(path, append(pemCert(root), pemCert(inter)...), 0o644); err != nil {
			return nil, err
		}
		made.TrustFiles[f.Domain] = path
		issuers[f.Domain] = issuer{inter, interKey, root}
	}
	for _, p := range People {
		is := issuers[p.Domain]
		key, leaf, err := newLeaf(p, is.cert, is.key)
		if err != nil {
			return nil, err
		}
		pw, err := bundle.NewPassword()
		if err != nil {
			return nil, err
		}
		data, err := bundle.Encode(bundle.Compatible, key, leaf, []*x509.Certificate{is.cert}, pw)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "identities", p.File+".p12")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
		made.Identities = append(made.Identities, Identity{Person: p, P12: path, Password: pw, Leaf: leaf})
	}
	made.Readme = filepath.Join(dir, "LISEZ-MOI.txt")
	return made, os.WriteFile(made.Readme, []byte(readme(made)), 0o600)
}

var (
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidTitle = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidGiven = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurn  = asn1.ObjectIdentifier{2, 5, 4, 4}
)

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newCA(cn, org string, parent *x509.Certificate, parentKey crypto.Signer, years int) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: cn, Organization: []string{org}, Country: []string{"FR"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(years, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	signer := crypto.Signer(key)
	if parent == nil {
		parent, tpl.MaxPathLen = tpl, 1
	} else {
		signer, tpl.MaxPathLenZero = parentKey, true
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newLeaf(p Person, issuer *x509.Certificate, issuerKey crypto.Signer) (crypto.Signer, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	subject := pkix.Name{CommonName: p.GivenName + " " + p.Surname, Organization: issuer.Subject.Organization,
		OrganizationalUnit: []string{p.Unit}, SerialNumber: p.SerialNumber, Country: []string{"FR"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidGiven, Value: p.GivenName}, {Type: oidSurn, Value: p.Surname},
			{Type: oidTitle, Value: p.Title}, {Type: oidEmail, Value: p.Email}}}
	tpl := &x509.Certificate{SerialNumber: sn, Subject: subject, EmailAddresses: []string{p.Email},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(3, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, issuer, key.Public(), issuerKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func readme(m *Made) string {
	var b strings.Builder
	b.WriteString(`CERTIFICATS DE DÉMONSTRATION — NE JAMAIS UTILISER EN PRODUCTION

Ces certificats ont été émis par des autorités de TEST créées pour cette
démonstration (leurs clés ont été détruites). Importez l'un des fichiers .p12
dans votre navigateur pour vous connecter au portail sous cette identité :

  Chrome/Edge : Paramètres > Confidentialité et sécurité > Sécurité >
                Gérer les certificats > Vos certificats > Importer
  Firefox     : Paramètres > Vie privée et sécurité > Certificats >
                Afficher les certificats > Vos certificats > Importer
  Linux/NSS   : pk12util -d sql:$HOME/.pki/nssdb -i FICHIER.p12

Identités (fichier, rôle, mot de passe du fichier) :

`)
	for _, id := range m.Identities {
		fmt.Fprintf(&b, "  %-45s %-11s %s\n", filepath.Base(id.P12), id.Role, id.Password)
		fmt.Fprintf(&b, "      %s %s <%s>, %s, %s\n", id.GivenName, id.Surname, id.Email, id.Title, id.Unit)
	}
	b.WriteString("\nAutorités de test (à déclarer comme domaines de confiance) :\n\n")
	for _, f := range Families {
		fmt.Fprintf(&b, "  %-8s %s\n", f.Domain, m.TrustFiles[f.Domain])
	}
	return b.String()
}
