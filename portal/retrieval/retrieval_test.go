package retrieval_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"regexp"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/retrieval"
)

func TestCodeIsStablePerFormAndReadable(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a, b := retrieval.Code(key, "nonce-1"), retrieval.Code(key, "nonce-1")
	if a != b {
		t.Fatalf("the same form gave two codes: %s %s", a, b)
	}
	if retrieval.Code(key, "nonce-2") == a || retrieval.Code([]byte("another key......"), "nonce-1") == a {
		t.Fatalf("codes do not depend on the nonce and the key")
	}
	if !regexp.MustCompile(`^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$`).MatchString(a) {
		t.Fatalf("code %q is not 4+4 characters of the unambiguous alphabet", a)
	}
	o := &model.CertificateOrder{CodeSalt: "s"}
	o.CodeHash = retrieval.HashCode(o.CodeSalt, a)
	for _, typed := range []string{a, " " + a + " ", a[:4] + a[5:], toLower(a), a[:2] + " " + a[2:]} {
		if !retrieval.CodeMatches(o, typed) {
			t.Errorf("%q typed for %q is refused", typed, a)
		}
	}
	for _, typed := range []string{"", a[:8], a + "X", "AAAA-AAAA"} {
		if retrieval.CodeMatches(o, typed) {
			t.Errorf("%q accepted for %q", typed, a)
		}
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestTokens(t *testing.T) {
	tok, hash, err := retrieval.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 43 || hash != retrieval.HashToken(tok) || hash == tok {
		t.Fatalf("token %q (hash %q): want ≥ 256 bits, stored hashed", tok, hash)
	}
}

// fakeCA signs with a throw-away CA and records revocations.
type fakeCA struct {
	mu      sync.Mutex
	key     *ecdsa.PrivateKey
	cert    *x509.Certificate
	fail    error
	revoked []*big.Int
}

func newFakeCA(t *testing.T) *fakeCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &fakeCA{key: key, cert: c}
}

func (f *fakeCA) IssueLitigant(_ context.Context, csr *x509.CertificateRequest, r retrieval.Request) ([]*x509.Certificate, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: r.Name}, EmailAddresses: []string{r.Email},
		NotBefore: time.Now(), NotAfter: time.Now().Add(r.Validity), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, f.cert, csr.PublicKey, f.key)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(der)
	return []*x509.Certificate{leaf, f.cert}, nil
}

func (f *fakeCA) Revoke(_ context.Context, serial *big.Int, _ int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, serial)
	return nil
}

// fakeStore keeps one order's claim in memory.
type fakeStore struct {
	mu           sync.Mutex
	claim        string
	released     int
	completeFail error
	completed    []model.Collection
}

func (s *fakeStore) ClaimCollection(_ context.Context, _ int64, claim string, _, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claim != "" {
		return model.ErrCollectionBusy
	}
	s.claim = claim
	return nil
}

func (s *fakeStore) ReleaseCollection(_ context.Context, _ int64, claim string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claim == claim {
		s.claim = ""
		s.released++
	}
	return nil
}

func (s *fakeStore) CompleteCollection(_ context.Context, col *model.Collection, _ model.CollectionMail) (*model.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.completeFail != nil {
		return nil, s.completeFail
	}
	s.completed = append(s.completed, *col)
	return &model.Account{ID: 7, DisplayName: "Hélène"}, nil
}

func order() *model.CertificateOrder {
	return &model.CertificateOrder{ID: 1, ParticipantID: 42, Name: "Hélène D’Arcy-Lefèvre", Email: "helene+sceau@exemple.fr", ValidityDays: 180, DownloadsAllowed: 1}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A collection delivers a PKCS#12 that opens with the password shown and
// holds the key, the leaf and the intermediate.
func TestCollectDelivers(t *testing.T) {
	for _, kt := range []retrieval.KeyType{retrieval.ECDSAP256, retrieval.RSA2048} {
		ca, st := newFakeCA(t), &fakeStore{}
		c := &retrieval.Collector{Store: st, CA: ca, KeyType: kt, Log: quiet}
		d, err := c.Collect(context.Background(), order(), "RG 24/01234", bundle.Modern, "192.0.2.7", nil)
		if err != nil {
			t.Fatal(err)
		}
		key, leaf, chain, err := bundle.Decode(d.Bundle, d.Password)
		if err != nil || leaf.SerialNumber.Cmp(d.Leaf.SerialNumber) != 0 || len(chain) != 1 || key == nil {
			t.Fatalf("%s: bundle does not open with its password: %v", kt, err)
		}
		if _, isRSA := leaf.PublicKey.(interface{ Size() int }); (kt == retrieval.RSA2048) != isRSA {
			t.Errorf("%s: leaf key %T", kt, leaf.PublicKey)
		}
		if len(st.completed) != 1 || st.completed[0].Certificate.Serial != leaf.SerialNumber.String() || st.completed[0].Certificate.CollectedFrom != "192.0.2.7" {
			t.Fatalf("%s: recorded %+v", kt, st.completed)
		}
	}
}

// The database failing after the CA signed: the certificate is revoked
// (nobody got its key) and the download is given back for a retry. The CA
// failing: nothing recorded, the download given back.
func TestCollectFailuresLeaveNothingBehind(t *testing.T) {
	ca, st := newFakeCA(t), &fakeStore{completeFail: errors.New("connection reset")}
	c := &retrieval.Collector{Store: st, CA: ca, Log: quiet}
	if _, err := c.Collect(context.Background(), order(), "RG", bundle.Compatible, "192.0.2.7", nil); err == nil {
		t.Fatal("collection succeeded without its record")
	}
	if len(ca.revoked) != 1 || st.released != 1 || st.claim != "" {
		t.Fatalf("after a failed record: %d revoked, %d released, claim %q", len(ca.revoked), st.released, st.claim)
	}
	st.completeFail = nil
	if _, err := c.Collect(context.Background(), order(), "RG", bundle.Compatible, "192.0.2.7", nil); err != nil {
		t.Fatalf("retry: %v", err)
	}

	ca2, st2 := newFakeCA(t), &fakeStore{}
	ca2.fail = errors.New("token already used")
	c2 := &retrieval.Collector{Store: st2, CA: ca2, Log: quiet}
	if _, err := c2.Collect(context.Background(), order(), "RG", bundle.Compatible, "192.0.2.7", nil); err == nil {
		t.Fatal("collection succeeded without a certificate")
	}
	if st2.released != 1 || len(st2.completed) != 0 || len(ca2.revoked) != 0 {
		t.Fatalf("after a CA failure: released %d, completed %d", st2.released, len(st2.completed))
	}
}

// A claim held by another window: no key, no certificate.
func TestCollectBusy(t *testing.T) {
	ca, st := newFakeCA(t), &fakeStore{claim: "other"}
	c := &retrieval.Collector{Store: st, CA: ca, Log: quiet}
	if _, err := c.Collect(context.Background(), order(), "RG", bundle.Compatible, "x", nil); !errors.Is(err, model.ErrCollectionBusy) {
		t.Fatalf("got %v", err)
	}
	if st.released != 0 || st.claim != "other" {
		t.Fatalf("the other window's claim was touched")
	}
}
