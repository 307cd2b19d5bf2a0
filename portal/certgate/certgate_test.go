package certgate_test

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"sceau.fr/sceau/portal/certgate"
)

// result is what Check returned.
type result struct {
	id *certgate.Identity
	r  *certgate.Refusal
}

func res(id *certgate.Identity, r *certgate.Refusal) result { return result{id, r} }

// wantRefusal asserts a refusal of the given kind and domain ("" = none).
func wantRefusal(t testing.TB, got result, kind certgate.RefusalKind, domain string) *certgate.Refusal {
	t.Helper()
	if got.id != nil {
		t.Fatalf("got identity (domain %q, CN %q), want refusal %s", got.id.Domain, got.id.CommonName, kind)
	}
	r := got.r
	if r == nil {
		t.Fatalf("got neither identity nor refusal, want refusal %s", kind)
	}
	if r.Kind != kind {
		t.Fatalf("refusal kind = %s (%s), want %s", r.Kind, r.Detail, kind)
	}
	if r.Domain != domain {
		t.Fatalf("refusal domain = %q, want %q (%s)", r.Domain, domain, r.Detail)
	}
	return r
}

// wantIdentity asserts an identity in the given domain.
func wantIdentity(t testing.TB, got result, domain string) *certgate.Identity {
	t.Helper()
	if got.r != nil {
		t.Fatalf("got refusal %s (domain %q): %s", got.r.Kind, got.r.Domain, got.r.Detail)
	}
	id := got.id
	if id == nil {
		t.Fatal("got neither identity nor refusal")
	}
	if id.Domain != domain {
		t.Fatalf("identity domain = %q, want %q", id.Domain, domain)
	}
	return id
}

func TestNewValidation(t *testing.T) {
	p := testPKI(t)
	root := []*x509.Certificate{p.justiceRoot.cert}
	cases := []struct {
		name    string
		domains []certgate.Domain
		opts    []certgate.Option
		want    string
	}{
		{"no domain", nil, nil, "no trust domain"},
		{"empty name", []certgate.Domain{{Name: " ", Roots: root}}, nil, "no name"},
		{"duplicate name", []certgate.Domain{{Name: "justice", Roots: root}, {Name: "justice", Roots: root}}, nil, "twice"},
		{"no root", []certgate.Domain{{Name: "bar"}}, nil, "no root"},
		{"nil root", []certgate.Domain{{Name: "bar", Roots: []*x509.Certificate{nil}}}, nil, "root 0"},
		{"unparsed root", []certgate.Domain{{Name: "bar", Roots: []*x509.Certificate{{}}}}, nil, "root 0"},
		{"nil intermediate", []certgate.Domain{{Name: "bar", Roots: root, Intermediates: []*x509.Certificate{nil}}}, nil, "intermediate 0"},
		{"bad policy OID", []certgate.Domain{{Name: "bar", Roots: root, PolicyOIDs: []string{"1.2.x"}}}, nil, "policy OID"},
		{"max chain 0", []certgate.Domain{{Name: "bar", Roots: root}}, []certgate.Option{certgate.WithMaxChain(0)}, "chain length"},
		{"max cert size 0", []certgate.Domain{{Name: "bar", Roots: root}}, []certgate.Option{certgate.WithMaxCertSize(0)}, "certificate size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := certgate.New(c.domains, c.opts...)
			if err == nil || g != nil {
				t.Fatalf("New = %v, %v; want an error", g, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		g, err := certgate.New(p.domains(), certgate.WithClock(nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := g.Domains(), []string{"justice", "bar", "expert", "internal"}; !slices.Equal(got, want) {
			t.Fatalf("Domains() = %v, want %v", got, want)
		}
	})
}

func TestNewCopiesConfiguration(t *testing.T) {
	p := testPKI(t)
	domains := p.domains()
	g := testGate(t, domains)
	domains[0].Roles[0] = "admin"
	domains[0].Roots[0] = p.barRoot.cert
	l := p.justiceInter.newLeaf(t, ecdsaP256)
	id := wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), "justice")
	if !slices.Equal(id.Roles, []string{"magistrate", "clerk"}) {
		t.Fatalf("roles = %v: New must copy the configuration", id.Roles)
	}
	id.Roles[0] = "admin"
	id2 := wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), "justice")
	if id2.Roles[0] != "magistrate" {
		t.Fatal("an Identity's Roles must be a copy")
	}
}

func TestValidIdentityFields(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	subject := pkix.Name{
		CommonName:   "Hélène Dupré-Lefèvre",
		Organization: []string{"Ministère de la Justice"},
		SerialNumber: "MJ-000042",
		Country:      []string{"FR"},
		ExtraNames: []pkix.AttributeTypeAndValue{
			// One RDN per OU, as CAs write them (pkix.Name would put both
			// in one multi-valued RDN, whose DER SET order is sorted).
			attr(oidOrganizationalUnit, "Tribunal judiciaire de Paris"),
			attr(oidOrganizationalUnit, "Service civil"),
			attr(oidGivenName, "Hélène"),
			attr(oidSurname, "Dupré-Lefèvre"),
			attr(oidTitle, "Magistrat"),
			attr(oidTitle, "Juge des contentieux de la protection"),
			attr(oidOrganizationIdentifier, "NTRFR-110046018"),
			attr(oidEmailAddress, ia5("subject@justice.test")),
		},
	}
	for _, alg := range []keyAlg{ecdsaP256, rsa2048} {
		t.Run(alg.String(), func(t *testing.T) {
			l := p.justiceInter.newLeaf(t, alg, withSubject(subject), func(c *x509.Certificate) {
				c.EmailAddresses = []string{"helene.dupre-lefevre@justice.test", "other@justice.test"}
			})
			id := wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), "justice")
			sum := sha256.Sum256(l.cert.Raw)
			checks := []struct {
				field     string
				got, want any
			}{
				{"Roles", id.Roles, []string{"magistrate", "clerk"}},
				{"CommonName", id.CommonName, "Hélène Dupré-Lefèvre"},
				{"GivenName", id.GivenName, "Hélène"},
				{"Surname", id.Surname, "Dupré-Lefèvre"},
				{"Email (SAN first)", id.Email, "helene.dupre-lefevre@justice.test"},
				{"Titles", id.Titles, []string{"Magistrat", "Juge des contentieux de la protection"}},
				{"OrganizationalUnits", id.OrganizationalUnits, []string{"Tribunal judiciaire de Paris", "Service civil"}},
				{"Organizations", id.Organizations, []string{"Ministère de la Justice"}},
				{"SerialNumber", id.SerialNumber, "MJ-000042"},
				{"OrganizationIdentifier", id.OrganizationIdentifier, "NTRFR-110046018"},
				{"Issuer", id.Issuer, p.justiceInter.cert.Subject.String()},
				{"IssuerCommonName", id.IssuerCommonName, "AC Justice Personnes (TEST)"},
				{"Serial", id.Serial.String(), l.cert.SerialNumber.String()},
				{"Fingerprint", id.Fingerprint, hex.EncodeToString(sum[:])},
				{"NotBefore", id.NotBefore, l.cert.NotBefore},
				{"NotAfter", id.NotAfter, l.cert.NotAfter},
				{"Leaf", id.Leaf, l.cert},
				{"Chain length", len(id.Chain), 3},
			}
			for _, c := range checks {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
				}
			}
			if !utf8.ValidString(id.CommonName) || strings.ToLower(id.Fingerprint) != id.Fingerprint || len(id.Fingerprint) != 64 {
				t.Errorf("bad CN or fingerprint: %q %q", id.CommonName, id.Fingerprint)
			}
			if !id.Chain[0].Equal(l.cert) || !id.Chain[1].Equal(p.justiceInter.cert) || !id.Chain[2].Equal(p.justiceRoot.cert) {
				t.Error("Chain must be leaf, intermediate, root")
			}
			if !id.HasRole("clerk") || id.HasRole("lawyer") {
				t.Error("HasRole")
			}
		})
	}
}

func TestEmailFromSubjectAttribute(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	l := p.barInter.newLeaf(t, ecdsaP256, withSubject(pkix.Name{
		CommonName: "Maître Éloïse Ñúñez",
		ExtraNames: []pkix.AttributeTypeAndValue{attr(oidEmailAddress, ia5("eloise.nunez@avocats.test"))},
	}))
	id := wantIdentity(t, res(g.Check(chain(l.cert, p.barInter.cert))), "bar")
	if id.Email != "eloise.nunez@avocats.test" {
		t.Fatalf("Email = %q", id.Email)
	}
	if id.CommonName != "Maître Éloïse Ñúñez" || id.GivenName != "" || id.Titles != nil {
		t.Fatalf("unexpected fields: %+v", id)
	}

	bare := p.barInter.newLeaf(t, ecdsaP256)
	id = wantIdentity(t, res(g.Check(chain(bare.cert, p.barInter.cert))), "bar")
	if id.Email != "" || id.SerialNumber != "" || id.OrganizationIdentifier != "" {
		t.Fatalf("empty subject attributes must stay empty: %+v", id)
	}
}

func TestValidAcrossDomainsAndKeys(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	cases := []struct {
		name   string
		inter  *issuer
		send   bool // send the intermediate
		domain string
		roles  []string
	}{
		{"justice ECDSA, intermediate sent", p.justiceInter, true, "justice", []string{"magistrate", "clerk"}},
		{"bar RSA, intermediate sent", p.barInter, true, "bar", []string{"lawyer"}},
		{"expert, intermediate configured not sent", p.expertInter, false, "expert", []string{"expert"}},
		{"expert, intermediate configured and sent", p.expertInter, true, "expert", []string{"expert"}},
		{"internal RSA intermediate configured", p.internalInter, false, "internal", []string{"party_member", "sapiteur"}},
	}
	for _, c := range cases {
		for _, alg := range []keyAlg{ecdsaP256, rsa2048} {
			t.Run(c.name+"/"+alg.String(), func(t *testing.T) {
				l := c.inter.newLeaf(t, alg)
				presented := chain(l.cert)
				if c.send {
					presented = append(presented, c.inter.cert)
				}
				id := wantIdentity(t, res(g.Check(presented)), c.domain)
				if !slices.Equal(id.Roles, c.roles) {
					t.Fatalf("roles = %v, want %v", id.Roles, c.roles)
				}
			})
		}
	}
}

func TestChainVariantsAccepted(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	l := p.justiceInter.newLeaf(t, ecdsaP256)
	other := p.barInter.newLeaf(t, ecdsaP256)
	for name, presented := range map[string][]*x509.Certificate{
		"root sent too":           chain(l.cert, p.justiceInter.cert, p.justiceRoot.cert),
		"root before":             chain(l.cert, p.justiceRoot.cert, p.justiceInter.cert),
		"intermediate sent twice": chain(l.cert, p.justiceInter.cert, p.justiceInter.cert),
		"junk from other domains": chain(l.cert, p.barInter.cert, other.cert, p.barRoot.cert, p.justiceInter.cert),
	} {
		t.Run(name, func(t *testing.T) {
			wantIdentity(t, res(g.Check(presented)), "justice")
		})
	}
}

func TestEKUAndKeyUsage(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	serverOnlyInter := p.justiceRoot.newCA(t, "AC Justice Serveurs (TEST)", ecdsaP256,
		withEKU(x509.ExtKeyUsageServerAuth))
	cases := []struct {
		name  string
		inter *issuer
		alg   keyAlg
		mods  []mod
		ok    bool
	}{
		{"clientAuth", p.justiceInter, ecdsaP256, []mod{withEKU(x509.ExtKeyUsageClientAuth)}, true},
		{"clientAuth and serverAuth", p.justiceInter, ecdsaP256, []mod{withEKU(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)}, true},
		{"anyExtendedKeyUsage", p.justiceInter, ecdsaP256, []mod{withEKU(x509.ExtKeyUsageAny)}, true},
		{"no EKU extension", p.justiceInter, ecdsaP256, []mod{withEKU()}, true},
		{"no KeyUsage extension", p.justiceInter, ecdsaP256, []mod{withKU(0)}, true},
		{"digitalSignature and nonRepudiation", p.justiceInter, rsa2048, []mod{withKU(x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment)}, true},
		{"serverAuth only", p.justiceInter, ecdsaP256, []mod{withEKU(x509.ExtKeyUsageServerAuth)}, false},
		{"emailProtection only", p.justiceInter, ecdsaP256, []mod{withEKU(x509.ExtKeyUsageEmailProtection)}, false},
		{"KeyUsage keyEncipherment only (RSA)", p.justiceInter, rsa2048, []mod{withKU(x509.KeyUsageKeyEncipherment)}, false},
		{"KeyUsage keyAgreement only (ECDSA)", p.justiceInter, ecdsaP256, []mod{withKU(x509.KeyUsageKeyAgreement)}, false},
		{"nonRepudiation only (signature certificate)", p.justiceInter, rsa2048, []mod{withKU(x509.KeyUsageContentCommitment)}, false},
		{"intermediate restricted to serverAuth", serverOnlyInter, ecdsaP256, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.inter.newLeaf(t, c.alg, c.mods...)
			id, r := g.Check(chain(l.cert, c.inter.cert))
			if c.ok {
				wantIdentity(t, res(id, r), "justice")
				return
			}
			r = wantRefusal(t, res(id, r), certgate.RefusalWrongUsage, "justice")
			if r.Subject != "Camille Martin" || r.DomainLabel != "AC Justice (TEST)" {
				t.Fatalf("refusal lacks subject or label: %+v", r)
			}
		})
	}
	t.Run("CA certificate presented as leaf", func(t *testing.T) {
		wantRefusal(t, res(g.Check(chain(p.justiceInter.cert))), certgate.RefusalWrongUsage, "justice")
		wantRefusal(t, res(g.Check(chain(p.justiceRoot.cert))), certgate.RefusalWrongUsage, "justice")
	})
}

func TestValidityOfLeaf(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	for _, alg := range []keyAlg{ecdsaP256, rsa2048} {
		t.Run("expired/"+alg.String(), func(t *testing.T) {
			from, to := base.Add(-2*year), base.Add(-3*day)
			l := p.barInter.newLeaf(t, alg, validity(from, to))
			r := wantRefusal(t, res(g.Check(chain(l.cert, p.barInter.cert))), certgate.RefusalExpired, "bar")
			if !r.NotBefore.Equal(from) || !r.NotAfter.Equal(to) {
				t.Fatalf("dates = %s..%s, want %s..%s", r.NotBefore, r.NotAfter, from, to)
			}
			if r.Authority != "" || r.DomainLabel != "AC Avocats (TEST)" || r.Subject != "Camille Martin" {
				t.Fatalf("refusal = %+v", r)
			}
			if r.Serial.Cmp(l.cert.SerialNumber) != 0 || !strings.Contains(r.Issuer, "AC Avocats Personnes") {
				t.Fatalf("serial/issuer for logs: %v %q", r.Serial, r.Issuer)
			}
		})
		t.Run("not yet valid/"+alg.String(), func(t *testing.T) {
			from, to := base.Add(2*day), base.Add(year)
			l := p.expertInter.newLeaf(t, alg, validity(from, to))
			r := wantRefusal(t, res(g.Check(chain(l.cert))), certgate.RefusalNotYetValid, "expert")
			if !r.NotBefore.Equal(from) || !r.NotAfter.Equal(to) {
				t.Fatalf("dates = %s..%s", r.NotBefore, r.NotAfter)
			}
		})
	}
	t.Run("boundaries are inclusive", func(t *testing.T) {
		l := p.justiceInter.newLeaf(t, ecdsaP256, validity(base, base.Add(day)))
		wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), "justice")
		l = p.justiceInter.newLeaf(t, ecdsaP256, validity(base.Add(-day), base))
		wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), "justice")
		justAfter := testGate(t, p.domains(), certgate.WithClock(func() time.Time { return base.Add(time.Second) }))
		wantRefusal(t, res(justAfter.Check(chain(l.cert, p.justiceInter.cert))), certgate.RefusalExpired, "justice")
	})
	t.Run("clock", func(t *testing.T) {
		l := p.justiceInter.newLeaf(t, ecdsaP256, validity(base.Add(-day), base.Add(day)))
		later := testGate(t, p.domains(), certgate.WithClock(func() time.Time { return base.Add(2 * day) }))
		wantRefusal(t, res(later.Check(chain(l.cert, p.justiceInter.cert))), certgate.RefusalExpired, "justice")
	})
	t.Run("expired with wrong usage reports expired first", func(t *testing.T) {
		l := p.justiceInter.newLeaf(t, ecdsaP256, validity(base.Add(-year), base.Add(-day)), withEKU(x509.ExtKeyUsageServerAuth))
		wantRefusal(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), certgate.RefusalExpired, "justice")
	})
}

func TestValidityOfCACertificates(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())

	t.Run("expired intermediate", func(t *testing.T) {
		inter := p.justiceRoot.newCA(t, "AC Justice 2019 (TEST)", ecdsaP256, validity(base.Add(-6*year), base.Add(-day)))
		l := inter.newLeaf(t, ecdsaP256, validity(base.Add(-year), base.Add(year)))
		r := wantRefusal(t, res(g.Check(chain(l.cert, inter.cert))), certgate.RefusalExpired, "justice")
		if r.Authority != "AC Justice 2019 (TEST)" {
			t.Fatalf("Authority = %q", r.Authority)
		}
		if !r.NotAfter.Equal(inter.cert.NotAfter) || !r.NotBefore.Equal(inter.cert.NotBefore) {
			t.Fatalf("dates = %s..%s, want the intermediate's", r.NotBefore, r.NotAfter)
		}
		if r.Subject != "Camille Martin" {
			t.Fatalf("Subject = %q", r.Subject)
		}
	})
	t.Run("expired intermediate configured, not sent", func(t *testing.T) {
		inter := p.expertRoot.newCA(t, "AC Experts 2019 (TEST)", ecdsaP256, validity(base.Add(-6*year), base.Add(-day)))
		domains := p.domains()
		domains[2].Intermediates = append(domains[2].Intermediates, inter.cert)
		g := testGate(t, domains)
		l := inter.newLeaf(t, rsa2048, validity(base.Add(-year), base.Add(year)))
		r := wantRefusal(t, res(g.Check(chain(l.cert))), certgate.RefusalExpired, "expert")
		if r.Authority != "AC Experts 2019 (TEST)" {
			t.Fatalf("Authority = %q", r.Authority)
		}
	})
	t.Run("expired leaf and intermediate: the leaf's dates", func(t *testing.T) {
		inter := p.justiceRoot.newCA(t, "AC Justice 2018 (TEST)", ecdsaP256, validity(base.Add(-6*year), base.Add(-year)))
		from, to := base.Add(-2*year), base.Add(-30*day)
		l := inter.newLeaf(t, ecdsaP256, validity(from, to))
		r := wantRefusal(t, res(g.Check(chain(l.cert, inter.cert))), certgate.RefusalExpired, "justice")
		if r.Authority != "" || !r.NotAfter.Equal(to) {
			t.Fatalf("refusal = %+v, want the leaf's dates", r)
		}
	})
	t.Run("intermediate not yet valid", func(t *testing.T) {
		inter := p.justiceRoot.newCA(t, "AC Justice 2030 (TEST)", ecdsaP256, validity(base.Add(time.Hour), base.Add(year)))
		l := inter.newLeaf(t, ecdsaP256, validity(base.Add(-time.Hour), base.Add(30*day)))
		r := wantRefusal(t, res(g.Check(chain(l.cert, inter.cert))), certgate.RefusalNotYetValid, "justice")
		if r.Authority != "AC Justice 2030 (TEST)" || !r.NotBefore.Equal(inter.cert.NotBefore) {
			t.Fatalf("refusal = %+v", r)
		}
	})
	t.Run("expired root", func(t *testing.T) {
		root := newRoot(t, "AC Racine Ancienne (TEST)", ecdsaP256, validity(base.Add(-10*year), base.Add(-day)))
		inter := root.newCA(t, "AC Ancienne Personnes (TEST)", ecdsaP256, validity(base.Add(-5*year), base.Add(5*year)))
		l := inter.newLeaf(t, ecdsaP256, validity(base.Add(-year), base.Add(year)))
		domains := append(p.domains(), certgate.Domain{Name: "old", Roots: []*x509.Certificate{root.cert}})
		g := testGate(t, domains)
		r := wantRefusal(t, res(g.Check(chain(l.cert, inter.cert))), certgate.RefusalExpired, "old")
		if r.Authority != "AC Racine Ancienne (TEST)" || r.DomainLabel != "AC Racine Ancienne (TEST)" {
			t.Fatalf("refusal = %+v", r)
		}
	})
}

func TestUnknownCA(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())

	// Rogue CAs that copy the exact subject and subject key identifier of
	// the Justice root and intermediate: only the signatures differ.
	rogueRoot := newRoot(t, "ignored", ecdsaP256, copyIdentityOf(p.justiceRoot.cert))
	rogueInter := rogueRoot.newCA(t, "ignored", ecdsaP256, copyIdentityOf(p.justiceInter.cert))
	if string(rogueInter.cert.RawIssuer) != string(p.justiceRoot.cert.RawSubject) ||
		string(rogueInter.cert.AuthorityKeyId) != string(p.justiceRoot.cert.SubjectKeyId) {
		t.Fatal("test setup: rogue intermediate does not copy the root's name and key id")
	}
	rogueLeaf := rogueInter.newLeaf(t, ecdsaP256, withSubject(pkix.Name{
		CommonName: "Faux Magistrat", ExtraNames: []pkix.AttributeTypeAndValue{attr(oidTitle, "Magistrat")}}))
	rootSigned := rogueRoot.newLeaf(t, rsa2048)

	configured := p.domains()
	configured[0].Intermediates = []*x509.Certificate{p.justiceInter.cert}
	withInter := testGate(t, configured)

	unrelated := newRoot(t, "Some Other CA", rsa2048)
	unrelatedLeaf := unrelated.newLeaf(t, ecdsaP256)
	selfSigned := newRoot(t, "Camille Martin", ecdsaP256, withEKU(x509.ExtKeyUsageClientAuth),
		func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = false, false })

	missingInter := p.justiceInter.newLeaf(t, ecdsaP256)
	otherInter := p.barInter.newLeaf(t, ecdsaP256)

	cases := []struct {
		name      string
		g         *certgate.Gate
		presented []*x509.Certificate
	}{
		{"rogue root and intermediate sent", g, chain(rogueLeaf.cert, rogueInter.cert, rogueRoot.cert)},
		{"rogue intermediate sent", g, chain(rogueLeaf.cert, rogueInter.cert)},
		{"rogue intermediate sent, genuine configured", withInter, chain(rogueLeaf.cert, rogueInter.cert)},
		{"rogue leaf alone, genuine intermediate configured", withInter, chain(rogueLeaf.cert)},
		{"rogue leaf with the genuine intermediate", g, chain(rogueLeaf.cert, p.justiceInter.cert, rogueInter.cert)},
		{"leaf signed by a rogue root", g, chain(rootSigned.cert, rogueRoot.cert)},
		{"intermediate neither sent nor configured", g, chain(missingInter.cert)},
		{"intermediate from another domain sent", g, chain(missingInter.cert, p.barInter.cert)},
		{"a bar leaf with the justice intermediate", g, chain(otherInter.cert, p.justiceInter.cert)},
		{"unrelated CA", g, chain(unrelatedLeaf.cert, unrelated.cert)},
		{"self-signed", g, chain(selfSigned.cert)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := wantRefusal(t, res(c.g.Check(c.presented)), certgate.RefusalUnknownCA, "")
			if r.DomainLabel != "" || r.Subject == "" || r.Detail == "" {
				t.Fatalf("refusal = %+v", r)
			}
		})
	}

	t.Run("accepted authorities", func(t *testing.T) {
		got := g.AcceptedAuthorities()
		want := []string{"AC Justice (TEST)", "AC Avocats (TEST)", "AC Experts (TEST)", "Sceau Root CA (TEST)"}
		if !slices.Equal(got, want) {
			t.Fatalf("AcceptedAuthorities() = %q, want %q", got, want)
		}
		got[0] = "changed"
		if g.AcceptedAuthorities()[0] != want[0] {
			t.Fatal("AcceptedAuthorities must return a copy")
		}
	})
}

func TestIntermediateConfiguredNotSent(t *testing.T) {
	p := testPKI(t)
	l := p.justiceInter.newLeaf(t, rsa2048)
	g := testGate(t, p.domains())
	wantRefusal(t, res(g.Check(chain(l.cert))), certgate.RefusalUnknownCA, "")

	domains := p.domains()
	domains[0].Intermediates = []*x509.Certificate{p.justiceInter.cert}
	g = testGate(t, domains)
	id := wantIdentity(t, res(g.Check(chain(l.cert))), "justice")
	if len(id.Chain) != 3 {
		t.Fatalf("chain length %d", len(id.Chain))
	}
}

// A certificate that the bar's CA vouches for gets bar roles only, whatever
// its subject claims and whatever it borrows from the Justice hierarchy.
func TestNoRolesFromAnotherDomain(t *testing.T) {
	p := testPKI(t)
	claims := withSubject(pkix.Name{
		CommonName:         "Jean Valjean",
		Organization:       []string{"Ministère de la Justice"},
		OrganizationalUnit: []string{"Tribunal judiciaire de Paris"},
		ExtraNames:         []pkix.AttributeTypeAndValue{attr(oidTitle, "Magistrat")},
	})
	l := p.barInter.newLeaf(t, rsa2048, claims)

	t.Run("bar leaf claiming to be a magistrate", func(t *testing.T) {
		g := testGate(t, p.domains())
		id := wantIdentity(t, res(g.Check(chain(l.cert, p.barInter.cert, p.justiceInter.cert, p.justiceRoot.cert))), "bar")
		if id.HasRole("magistrate") || !slices.Equal(id.Roles, []string{"lawyer"}) {
			t.Fatalf("roles = %v", id.Roles)
		}
	})
	t.Run("justice-only gate", func(t *testing.T) {
		g := testGate(t, p.domains()[:1])
		wantRefusal(t, res(g.Check(chain(l.cert, p.barInter.cert))), certgate.RefusalUnknownCA, "")
	})
	t.Run("bar intermediate named like the justice intermediate", func(t *testing.T) {
		// The bar root signs a CA that copies the Justice intermediate's
		// name and key id. Its leaves chain to the bar root: bar roles.
		impostor := p.barRoot.newCA(t, "ignored", ecdsaP256, copyIdentityOf(p.justiceInter.cert))
		il := impostor.newLeaf(t, ecdsaP256, claims)
		domains := p.domains()
		domains[0].Intermediates = []*x509.Certificate{p.justiceInter.cert}
		g := testGate(t, domains)
		id := wantIdentity(t, res(g.Check(chain(il.cert, impostor.cert))), "bar")
		if id.HasRole("magistrate") {
			t.Fatal("bar certificate got a justice role")
		}
		// Without its intermediate the leaf names the Justice
		// intermediate as issuer, but the signature does not match.
		wantRefusal(t, res(g.Check(chain(il.cert))), certgate.RefusalUnknownCA, "")
	})
}

func TestSameRootInTwoDomains(t *testing.T) {
	p := testPKI(t)
	first := certgate.Domain{Name: "first", Roots: []*x509.Certificate{p.justiceRoot.cert}, Roles: []string{"a"}}
	secnd := certgate.Domain{Name: "second", Label: "Second", Roots: []*x509.Certificate{p.justiceRoot.cert}, Roles: []string{"b"}}
	l := p.justiceInter.newLeaf(t, ecdsaP256)
	for range 3 {
		wantIdentity(t, res(testGate(t, []certgate.Domain{first, secnd}).Check(chain(l.cert, p.justiceInter.cert))), "first")
		wantIdentity(t, res(testGate(t, []certgate.Domain{secnd, first}).Check(chain(l.cert, p.justiceInter.cert))), "second")
	}

	t.Run("domains told apart by policy OIDs", func(t *testing.T) {
		magistrates := certgate.Domain{Name: "magistrates", Roots: []*x509.Certificate{p.justiceRoot.cert},
			PolicyOIDs: []string{oidPolicyMagistrate}, Roles: []string{"magistrate"}}
		clerks := certgate.Domain{Name: "clerks", Roots: []*x509.Certificate{p.justiceRoot.cert},
			PolicyOIDs: []string{oidPolicyClerk}, Roles: []string{"clerk"}}
		g := testGate(t, []certgate.Domain{magistrates, clerks})
		m := p.justiceInter.newLeaf(t, ecdsaP256, withPolicies(oidPolicyMagistrate))
		c := p.justiceInter.newLeaf(t, ecdsaP256, withPolicies(oidPolicyClerk))
		n := p.justiceInter.newLeaf(t, ecdsaP256, withPolicies(oidPolicyOther))
		wantIdentity(t, res(g.Check(chain(m.cert, p.justiceInter.cert))), "magistrates")
		wantIdentity(t, res(g.Check(chain(c.cert, p.justiceInter.cert))), "clerks")
		wantRefusal(t, res(g.Check(chain(n.cert, p.justiceInter.cert))), certgate.RefusalPolicyMissing, "magistrates")
		expired := p.justiceInter.newLeaf(t, ecdsaP256, withPolicies(oidPolicyClerk), validity(base.Add(-year), base.Add(-day)))
		wantRefusal(t, res(g.Check(chain(expired.cert, p.justiceInter.cert))), certgate.RefusalExpired, "clerks")
	})

	t.Run("a domain that accepts wins over an earlier one that refuses the usage", func(t *testing.T) {
		// The CA re-certified its intermediate key restricted to
		// serverAuth; "strict" configures that certificate, "lenient" the
		// original one. The client sends only its leaf.
		restricted := &x509.Certificate{
			SerialNumber: big.NewInt(serials.Add(1)), RawSubject: p.justiceInter.cert.RawSubject,
			SubjectKeyId: p.justiceInter.cert.SubjectKeyId, NotBefore: base.Add(-day), NotAfter: base.Add(year),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, restricted, p.justiceRoot.cert, p.justiceInter.key.Public(), p.justiceRoot.key)
		if err != nil {
			t.Fatal(err)
		}
		restricted, err = x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		strict := certgate.Domain{Name: "strict", Roots: []*x509.Certificate{p.justiceRoot.cert},
			Intermediates: []*x509.Certificate{restricted}}
		lenient := certgate.Domain{Name: "lenient", Roots: []*x509.Certificate{p.justiceRoot.cert},
			Intermediates: []*x509.Certificate{p.justiceInter.cert}}
		wantRefusal(t, res(testGate(t, []certgate.Domain{strict}).Check(chain(l.cert))), certgate.RefusalWrongUsage, "strict")
		wantIdentity(t, res(testGate(t, []certgate.Domain{strict, lenient}).Check(chain(l.cert))), "lenient")
	})
}

const (
	oidPolicyMagistrate = "1.2.250.1.999.1.1.1"
	oidPolicyClerk      = "1.2.250.1.999.1.1.2"
	oidPolicyOther      = "1.2.250.1.999.2.1"
)

func TestPolicyOIDs(t *testing.T) {
	p := testPKI(t)
	domains := p.domains()
	domains[0].PolicyOIDs = []string{oidPolicyMagistrate, " " + oidPolicyClerk + " "}
	checker := &fakeChecker{}
	domains[0].Revocation = checker
	g := testGate(t, domains)
	cases := []struct {
		name     string
		policies []string
		ok       bool
	}{
		{"first policy", []string{oidPolicyMagistrate}, true},
		{"second policy among others", []string{oidPolicyOther, oidPolicyClerk}, true},
		{"no policy", nil, false},
		{"other policy only", []string{oidPolicyOther}, false},
		{"anyPolicy is not enough", []string{"2.5.29.32.0"}, false},
		{"a prefix is not enough", []string{"1.2.250.1.999.1.1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := checker.callCount()
			l := p.justiceInter.newLeaf(t, ecdsaP256, withPolicies(c.policies...))
			id, r := g.Check(chain(l.cert, p.justiceInter.cert))
			if c.ok {
				wantIdentity(t, res(id, r), "justice")
				return
			}
			wantRefusal(t, res(id, r), certgate.RefusalPolicyMissing, "justice")
			if checker.callCount() != before {
				t.Fatal("revocation checked after a policy refusal")
			}
		})
	}
	t.Run("other domains need no policy", func(t *testing.T) {
		l := p.barInter.newLeaf(t, ecdsaP256)
		wantIdentity(t, res(g.Check(chain(l.cert, p.barInter.cert))), "bar")
	})
	t.Run("CA policy constraints", func(t *testing.T) {
		// An intermediate that requires an explicit policy (RFC 5280
		// policyConstraints, requireExplicitPolicy 0): Go's Verify rejects
		// leaves without a policy; the gate says policy_missing with the
		// domain, not unknown_ca.
		inter := p.justiceRoot.newCA(t, "AC Justice Politiques (TEST)", ecdsaP256,
			withPolicies("2.5.29.32.0"), func(c *x509.Certificate) {
				c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{
					Id: []int{2, 5, 29, 36}, Critical: true, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}})
			})
		g := testGate(t, p.domains())
		l := inter.newLeaf(t, ecdsaP256)
		wantRefusal(t, res(g.Check(chain(l.cert, inter.cert))), certgate.RefusalPolicyMissing, "justice")
		l = inter.newLeaf(t, ecdsaP256, withPolicies(oidPolicyOther))
		wantIdentity(t, res(g.Check(chain(l.cert, inter.cert))), "justice")
	})
}

func TestRevocation(t *testing.T) {
	p := testPKI(t)
	justiceChecker := &fakeChecker{revoked: map[string]bool{}}
	barChecker := &fakeChecker{}
	domains := p.domains()
	domains[0].Revocation = justiceChecker
	domains[1].Revocation = barChecker
	g := testGate(t, domains)

	good := p.justiceInter.newLeaf(t, ecdsaP256)
	revoked := p.justiceInter.newLeaf(t, rsa2048)
	justiceChecker.revoked[revoked.cert.SerialNumber.String()] = true

	t.Run("not revoked", func(t *testing.T) {
		wantIdentity(t, res(g.Check(chain(good.cert, p.justiceInter.cert))), "justice")
		c := justiceChecker.calls[len(justiceChecker.calls)-1]
		if !c.leaf.Equal(good.cert) || !c.issuer.Equal(p.justiceInter.cert) {
			t.Fatalf("checker called with leaf %q issuer %q; want the leaf and its intermediate",
				c.leaf.Subject.CommonName, c.issuer.Subject.CommonName)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		r := wantRefusal(t, res(g.Check(chain(revoked.cert, p.justiceInter.cert))), certgate.RefusalRevoked, "justice")
		if r.Subject != "Camille Martin" || !r.NotAfter.Equal(revoked.cert.NotAfter) {
			t.Fatalf("refusal = %+v", r)
		}
	})
	t.Run("configured intermediate is the issuer", func(t *testing.T) {
		checker := &fakeChecker{}
		domains := p.domains()
		domains[2].Revocation = checker
		l := p.expertInter.newLeaf(t, ecdsaP256)
		wantIdentity(t, res(testGate(t, domains).Check(chain(l.cert))), "expert")
		if len(checker.calls) != 1 || !checker.calls[0].issuer.Equal(p.expertInter.cert) {
			t.Fatalf("calls = %v", checker.calls)
		}
	})
	t.Run("checker error fails closed", func(t *testing.T) {
		failing := &fakeChecker{err: errors.New("CRL of AC Justice older than nextUpdate + grace")}
		domains := p.domains()
		domains[0].Revocation = failing
		r := wantRefusal(t, res(testGate(t, domains).Check(chain(good.cert, p.justiceInter.cert))),
			certgate.RefusalRevocationUnavailable, "justice")
		if !strings.Contains(r.Detail, "nextUpdate") {
			t.Fatalf("detail %q should carry the checker's error", r.Detail)
		}
	})
	t.Run("only the recognising domain's checker is asked", func(t *testing.T) {
		n := barChecker.callCount()
		wantIdentity(t, res(g.Check(chain(good.cert, p.justiceInter.cert))), "justice")
		if barChecker.callCount() != n {
			t.Fatal("the bar checker was asked about a justice certificate")
		}
	})
	t.Run("not asked for refused chains", func(t *testing.T) {
		n := justiceChecker.callCount()
		expired := p.justiceInter.newLeaf(t, ecdsaP256, validity(base.Add(-year), base.Add(-day)))
		wantRefusal(t, res(g.Check(chain(expired.cert, p.justiceInter.cert))), certgate.RefusalExpired, "justice")
		wrong := p.justiceInter.newLeaf(t, ecdsaP256, withEKU(x509.ExtKeyUsageServerAuth))
		wantRefusal(t, res(g.Check(chain(wrong.cert, p.justiceInter.cert))), certgate.RefusalWrongUsage, "justice")
		if justiceChecker.callCount() != n {
			t.Fatal("revocation checked for a chain refused earlier")
		}
	})
}

func TestMalformedAndEmpty(t *testing.T) {
	p := testPKI(t)
	g := testGate(t, p.domains())
	l := p.justiceInter.newLeaf(t, ecdsaP256)

	t.Run("empty", func(t *testing.T) {
		wantRefusal(t, res(g.Check(nil)), certgate.RefusalNoCertificate, "")
		r := wantRefusal(t, res(g.Check([]*x509.Certificate{})), certgate.RefusalNoCertificate, "")
		if r.Subject != "" || !r.NotAfter.IsZero() {
			t.Fatalf("refusal = %+v", r)
		}
	})
	t.Run("50 certificates", func(t *testing.T) {
		long := []*x509.Certificate{l.cert}
		for len(long) < 50 {
			long = append(long, p.justiceInter.cert)
		}
		r := wantRefusal(t, res(g.Check(long)), certgate.RefusalMalformed, "")
		if r.Subject != "Camille Martin" {
			t.Fatalf("Subject = %q", r.Subject)
		}
		// Refused before any verification: a handful of allocations
		// (the refusal and its strings), not the hundreds of a Verify.
		allocs := testing.AllocsPerRun(100, func() { g.Check(long) })
		if allocs > 5 {
			t.Fatalf("%v allocations to refuse a 50-certificate chain", allocs)
		}
		start := time.Now()
		for range 1000 {
			g.Check(long)
		}
		t.Logf("1000 refusals of a 50-certificate chain in %s", time.Since(start))
	})
	t.Run("max chain option", func(t *testing.T) {
		g2 := testGate(t, p.domains(), certgate.WithMaxChain(2))
		wantIdentity(t, res(g2.Check(chain(l.cert, p.justiceInter.cert))), "justice")
		wantRefusal(t, res(g2.Check(chain(l.cert, p.justiceInter.cert, p.justiceRoot.cert))), certgate.RefusalMalformed, "")
		wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert, p.justiceRoot.cert, p.justiceRoot.cert,
			p.justiceInter.cert, p.barRoot.cert, p.barInter.cert, p.expertRoot.cert))), "justice")
	})
	t.Run("nil or unparsed certificate", func(t *testing.T) {
		wantRefusal(t, res(g.Check(chain(nil))), certgate.RefusalMalformed, "")
		wantRefusal(t, res(g.Check(chain(l.cert, nil))), certgate.RefusalMalformed, "")
		wantRefusal(t, res(g.Check(chain(&x509.Certificate{}))), certgate.RefusalMalformed, "")
	})
	t.Run("1 MB subject", func(t *testing.T) {
		huge := strings.Repeat("é", 1<<19)
		hl := p.justiceInter.newLeaf(t, ecdsaP256, withSubject(pkix.Name{CommonName: huge}))
		r := wantRefusal(t, res(g.Check(chain(hl.cert, p.justiceInter.cert))), certgate.RefusalMalformed, "")
		if len(r.Subject) > 256 || !utf8.ValidString(r.Subject) || !strings.HasPrefix(r.Subject, "éé") {
			t.Fatalf("Subject not truncated cleanly: %d bytes", len(r.Subject))
		}
		if len(r.Detail) > 2048 || len(r.Issuer) > 512 {
			t.Fatal("refusal fields not bounded")
		}
		big := testGate(t, p.domains(), certgate.WithMaxCertSize(2<<20))
		wantIdentity(t, res(big.Check(chain(hl.cert, p.justiceInter.cert))), "justice")
	})
	t.Run("inverted validity", func(t *testing.T) {
		il := p.justiceInter.newLeaf(t, ecdsaP256, validity(base.Add(day), base.Add(-day)))
		wantRefusal(t, res(g.Check(chain(il.cert, p.justiceInter.cert))), certgate.RefusalMalformed, "")
	})
}

func TestRefusalKinds(t *testing.T) {
	want := []string{"no_certificate", "expired", "not_yet_valid", "unknown_ca", "revoked", "wrong_usage",
		"policy_missing", "revocation_unavailable", "malformed"}
	var got []string
	for _, k := range certgate.RefusalKinds() {
		got = append(got, k.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("codes = %q, want %q", got, want)
	}
	if certgate.RefusalKind(0).String() != "invalid" || certgate.RefusalKind(99).String() != "invalid" {
		t.Fatal("out-of-range kinds must say invalid")
	}
	r := &certgate.Refusal{Kind: certgate.RefusalExpired, Domain: "bar", Subject: "Me X", Detail: "leaf expired"}
	if got := r.Error(); got != "certgate: expired (domain bar) for Me X: leaf expired" {
		t.Fatalf("Error() = %q", got)
	}
}

// Check is called concurrently by every request handler.
func TestConcurrentChecks(t *testing.T) {
	p := testPKI(t)
	domains := p.domains()
	domains[0].Revocation = &fakeChecker{}
	g := testGate(t, domains)
	good := p.justiceInter.newLeaf(t, ecdsaP256)
	lawyer := p.barInter.newLeaf(t, rsa2048)
	expired := p.expertInter.newLeaf(t, ecdsaP256, validity(base.Add(-year), base.Add(-day)))
	orphan := p.justiceInter.newLeaf(t, ecdsaP256)
	inputs := []struct {
		presented []*x509.Certificate
		want      string
	}{
		{chain(good.cert, p.justiceInter.cert), "justice"},
		{chain(lawyer.cert, p.barInter.cert), "bar"},
		{chain(expired.cert), "expired"},
		{chain(orphan.cert), "unknown_ca"},
		{nil, "no_certificate"},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16*len(inputs)*20)
	for w := range 16 {
		wg.Go(func() {
			for i := range 20 * len(inputs) {
				in := inputs[(i+w)%len(inputs)]
				id, r := g.Check(in.presented)
				var got string
				switch {
				case id != nil && r == nil:
					got = id.Domain
				case id == nil && r != nil:
					got = r.Kind.String()
				default:
					got = "both or neither"
				}
				if got != in.want {
					errs <- fmt.Sprintf("got %s, want %s", got, in.want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func BenchmarkCheck(b *testing.B) {
	p := testPKI(b)
	g, err := certgate.New(p.domains())
	if err != nil {
		b.Fatal(err)
	}
	ecdsaLeaf := p.justiceInter.newLeaf(b, ecdsaP256)
	rsaLeaf := p.barInter.newLeaf(b, rsa2048)
	orphan := p.justiceInter.newLeaf(b, ecdsaP256)
	long := make([]*x509.Certificate, 50)
	for i := range long {
		long[i] = ecdsaLeaf.cert
	}
	for _, bc := range []struct {
		name      string
		presented []*x509.Certificate
		ok        bool
	}{
		{"ECDSA", chain(ecdsaLeaf.cert, p.justiceInter.cert), true},
		{"ECDSA-configured-intermediate", chain(p.expertInter.newLeaf(b, ecdsaP256).cert), true},
		{"RSA", chain(rsaLeaf.cert, p.barInter.cert), true},
		{"unknown-CA", chain(orphan.cert), false},
		{"50-certificates", long, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				id, _ := g.Check(bc.presented)
				if (id != nil) != bc.ok {
					b.Fatal("unexpected result")
				}
			}
		})
	}
}

// BenchmarkX509VerifyBaseline is a bare x509 Verify of the same ECDSA chain
// as BenchmarkCheck/ECDSA: the difference is the gate's own cost.
func BenchmarkX509VerifyBaseline(b *testing.B) {
	p := testPKI(b)
	l := p.justiceInter.newLeaf(b, ecdsaP256)
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(p.justiceRoot.cert)
	inter.AddCert(p.justiceInter.cert)
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.cert.Verify(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// Recheck honours expiry and revocation that happen after admission,
// without verifying signatures again.
func TestRecheck(t *testing.T) {
	p := testPKI(t)
	checker := &fakeChecker{revoked: map[string]bool{}}
	domains := p.domains()
	domains[0].Revocation = checker
	clock := time.Now()
	g := testGate(t, domains, certgate.WithClock(func() time.Time { return clock }))
	l := p.justiceInter.newLeaf(t, ecdsaP256)
	id := wantIdentity(t, res(g.Check(chain(l.cert, p.justiceInter.cert))), "justice")
	if r := g.Recheck(id); r != nil {
		t.Fatalf("fresh identity refused: %v", r)
	}
	checker.revoked[l.cert.SerialNumber.String()] = true
	if r := g.Recheck(id); r == nil || r.Kind != certgate.RefusalRevoked {
		t.Fatalf("revoked after admission: %v", r)
	}
	delete(checker.revoked, l.cert.SerialNumber.String())
	clock = l.cert.NotAfter.Add(time.Second)
	if r := g.Recheck(id); r == nil || r.Kind != certgate.RefusalExpired {
		t.Fatalf("expired after admission: %v", r)
	}
}
