package certgate_test

// Test PKI: every certificate is generated at test time. Nothing here is
// trusted by anything outside the tests.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/portal/certgate"
)

// base is "now" for the gates built with testGate (WithClock); certificates
// are dated relative to it. It is also close to the real time, so the TLS
// test can use the real clock.
var base = time.Now().Truncate(time.Second)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

type keyAlg int

const (
	ecdsaP256 keyAlg = iota
	rsa2048
)

func (a keyAlg) String() string {
	if a == rsa2048 {
		return "RSA2048"
	}
	return "ECDSAP256"
}

// RSA key generation is slow (more so under -race): leaves share a few keys.
var (
	rsaLeafKeysOnce sync.Once
	rsaLeafKeys     [2]*rsa.PrivateKey
	rsaLeafKeyNext  atomic.Uint32
)

func newKey(tb testing.TB, a keyAlg) crypto.Signer {
	tb.Helper()
	switch a {
	case rsa2048:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	default:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
}

func leafKey(tb testing.TB, a keyAlg) crypto.Signer {
	tb.Helper()
	if a != rsa2048 {
		return newKey(tb, a)
	}
	rsaLeafKeysOnce.Do(func() {
		for i := range rsaLeafKeys {
			rsaLeafKeys[i] = newKey(tb, rsa2048).(*rsa.PrivateKey)
		}
	})
	return rsaLeafKeys[rsaLeafKeyNext.Add(1)%uint32(len(rsaLeafKeys))]
}

var serials atomic.Int64

// issuer is a CA: its certificate and key.
type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// leaf is an end-entity certificate with its key.
type leaf struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// mod adjusts a template before signing.
type mod func(*x509.Certificate)

func validity(from, to time.Time) mod {
	return func(c *x509.Certificate) { c.NotBefore, c.NotAfter = from, to }
}

func withEKU(ekus ...x509.ExtKeyUsage) mod {
	return func(c *x509.Certificate) { c.ExtKeyUsage = ekus }
}

func withKU(ku x509.KeyUsage) mod {
	return func(c *x509.Certificate) { c.KeyUsage = ku }
}

func withSubject(n pkix.Name) mod {
	return func(c *x509.Certificate) { c.Subject = n }
}

func withPolicies(oids ...string) mod {
	return func(c *x509.Certificate) {
		for _, s := range oids {
			oid, err := x509.ParseOID(s)
			if err != nil {
				panic(err)
			}
			c.Policies = append(c.Policies, oid)
		}
	}
}

// copyIdentityOf makes a rogue certificate that carries the exact subject
// bytes and subject key identifier of a genuine one.
func copyIdentityOf(genuine *x509.Certificate) mod {
	return func(c *x509.Certificate) {
		c.RawSubject = genuine.RawSubject
		c.SubjectKeyId = genuine.SubjectKeyId
	}
}

func skid(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	sum := sha1.Sum(der)
	return sum[:]
}

func sign(tb testing.TB, tpl *x509.Certificate, parent *issuer, key crypto.Signer) *x509.Certificate {
	tb.Helper()
	parentCert, parentKey := tpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parentCert, key.Public(), parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func caTemplate(cn string, key crypto.Signer) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Sceau tests"}, Country: []string{"FR"}},
		NotBefore:             base.Add(-8 * year),
		NotAfter:              base.Add(10 * year),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          skid(key.Public()),
	}
}

func newRoot(tb testing.TB, cn string, a keyAlg, mods ...mod) *issuer {
	tb.Helper()
	key := newKey(tb, a)
	tpl := caTemplate(cn, key)
	for _, m := range mods {
		m(tpl)
	}
	return &issuer{cert: sign(tb, tpl, nil, key), key: key}
}

func (p *issuer) newCA(tb testing.TB, cn string, a keyAlg, mods ...mod) *issuer {
	tb.Helper()
	key := newKey(tb, a)
	tpl := caTemplate(cn, key)
	tpl.NotBefore, tpl.NotAfter = base.Add(-year/2), base.Add(5*year)
	for _, m := range mods {
		m(tpl)
	}
	return &issuer{cert: sign(tb, tpl, p, key), key: key}
}

func (p *issuer) newLeaf(tb testing.TB, a keyAlg, mods ...mod) *leaf {
	tb.Helper()
	key := leafKey(tb, a)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)),
		Subject:      pkix.Name{CommonName: "Camille Martin"},
		NotBefore:    base.Add(-day),
		NotAfter:     base.Add(year),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection},
	}
	for _, m := range mods {
		m(tpl)
	}
	return &leaf{cert: sign(tb, tpl, p, key), key: key}
}

// pki is the shared test PKI: four domains, root → intermediate each.
type pki struct {
	justiceRoot, justiceInter   *issuer // ECDSA; clients send the intermediate
	barRoot, barInter           *issuer // RSA; clients send the intermediate
	expertRoot, expertInter     *issuer // ECDSA; intermediate configured, clients do not send it
	internalRoot, internalInter *issuer // ECDSA, RSA intermediate; intermediate configured
}

var sharedPKI = sync.OnceValue(func() *pki {
	tb := &panicTB{}
	p := &pki{}
	p.justiceRoot = newRoot(tb, "AC Racine Justice (TEST)", ecdsaP256)
	p.justiceInter = p.justiceRoot.newCA(tb, "AC Justice Personnes (TEST)", ecdsaP256)
	p.barRoot = newRoot(tb, "AC Racine Avocats (TEST)", rsa2048)
	p.barInter = p.barRoot.newCA(tb, "AC Avocats Personnes (TEST)", rsa2048)
	p.expertRoot = newRoot(tb, "AC Racine Experts (TEST)", ecdsaP256)
	p.expertInter = p.expertRoot.newCA(tb, "AC Experts Personnes (TEST)", ecdsaP256)
	p.internalRoot = newRoot(tb, "Sceau Root CA (TEST)", ecdsaP256)
	p.internalInter = p.internalRoot.newCA(tb, "Sceau Intermediate CA (TEST)", rsa2048)
	return p
})

func testPKI(tb testing.TB) *pki {
	tb.Helper()
	return sharedPKI()
}

// domains is the standard configuration, in this order.
func (p *pki) domains() []certgate.Domain {
	return []certgate.Domain{
		{Name: "justice", Label: "AC Justice (TEST)", Roots: []*x509.Certificate{p.justiceRoot.cert},
			Roles: []string{"magistrate", "clerk"}},
		{Name: "bar", Label: "AC Avocats (TEST)", Roots: []*x509.Certificate{p.barRoot.cert},
			Roles: []string{"lawyer"}},
		{Name: "expert", Label: "AC Experts (TEST)", Roots: []*x509.Certificate{p.expertRoot.cert},
			Intermediates: []*x509.Certificate{p.expertInter.cert}, Roles: []string{"expert"}},
		{Name: "internal", Roots: []*x509.Certificate{p.internalRoot.cert},
			Intermediates: []*x509.Certificate{p.internalInter.cert}, Roles: []string{"party_member", "sapiteur"}},
	}
}

func testGate(tb testing.TB, domains []certgate.Domain, opts ...certgate.Option) *certgate.Gate {
	tb.Helper()
	opts = append([]certgate.Option{certgate.WithClock(func() time.Time { return base })}, opts...)
	g, err := certgate.New(domains, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func chain(certs ...*x509.Certificate) []*x509.Certificate { return certs }

// panicTB lets the shared fixture use the same helpers outside a test.
type panicTB struct{ testing.TB }

func (*panicTB) Helper() {}
func (*panicTB) Fatal(args ...any) {
	panic(fmt.Sprint(args...))
}

// fakeChecker is a RevocationChecker that records its calls.
type fakeChecker struct {
	mu      sync.Mutex
	revoked map[string]bool // by leaf serial
	err     error
	calls   []checkerCall
}

type checkerCall struct{ leaf, issuer *x509.Certificate }

func (f *fakeChecker) IsRevoked(leaf, issuer *x509.Certificate) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, checkerCall{leaf, issuer})
	if f.err != nil {
		return false, f.err
	}
	return f.revoked[leaf.SerialNumber.String()], nil
}

func (f *fakeChecker) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// attr is a subject attribute that pkix.Name has no field for.
func attr(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

var (
	oidTitle                  = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidOrganizationalUnit     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidSurname                = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName              = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidEmailAddress           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// ia5 encodes an emailAddress attribute as real CAs do (IA5String).
func ia5(s string) asn1.RawValue {
	return asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(s)}
}
