package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/retrieval"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// BenchmarkCollection measures one collection at the counter as the
// person's click does it (code check → key → certificate through step-ca
// → PKCS#12 → records and notices), on PostgreSQL and SQLite, against
// the bare work in the same run (key generation, one ECDSA signature of
// a certificate, PKCS#12 encoding). Target: p50 ≤ 30 ms with ECDSA.
//
//	go test ./cmd/sceau -run '^$' -bench Collection -benchtime 200x
func BenchmarkCollection(b *testing.B) {
	for _, dialect := range []string{"postgres", "sqlite"} {
		b.Run("sceau-"+dialect, func(b *testing.B) { benchCollect(b, dialect) })
	}
	b.Run("bare-keygen-sign-p12", benchBare)
}

var benchMailSeq atomic.Int64

func benchCollect(b *testing.B, dialect string) {
	ctx := context.Background()
	s := storetest.Open(b, dialect)
	dir := filepath.Join(b.TempDir(), "ca")
	password := []byte("correct horse battery staple")
	if err := ca.Bootstrap(ctx, ca.BootstrapOptions{Dir: dir, Organisation: "Bench", Password: password}); err != nil {
		b.Fatal(err)
	}
	authority, err := ca.Open(ctx, ca.Options{Dir: dir, Password: password, Store: s, CRLURL: "https://retrait.example.fr/ca/crl"})
	if err != nil {
		b.Fatal(err)
	}
	defer authority.Close()
	pki := &pkiHolder{}
	pki.set(authority)
	var db atomic.Pointer[store.Store]
	db.Store(s)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	coll := &retrieval.Collector{Store: lazyAccounts{&db}, CA: litigantCA{pki}, KeyType: retrieval.ECDSAP256, Log: quiet}

	// An expert's case with a party member, and one order allowing every
	// iteration's download.
	expert, _, err := s.Register(ctx, &model.Account{Role: model.RoleExpert, Domain: "experts", DisplayName: "Pierre Durand",
		Email: "pierre@experts.test", Court: "CA Rennes", Specialties: "Bâtiment"},
		&model.AccountCertificate{Fingerprint: "bench-expert", Issuer: "CN=x", Serial: "1", Subject: "CN=x", NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.CreateCase(ctx, expert, &model.Case{FirstApplicant: "Hélène", FirstDefendant: "SCI", Jurisdiction: "TJ Rennes",
		RGNumber: "24/01234", OrdonnanceDate: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.TransitionCase(ctx, c.ID, expert.ID, rights.StateCreation, rights.StateInProgress); err != nil {
		b.Fatal(err)
	}
	party, err := s.AddParty(ctx, c.ID, expert.ID, &model.Party{Name: "Hélène", DepositMode: string(rights.ModeMember)})
	if err != nil {
		b.Fatal(err)
	}
	p, err := s.AddParticipant(ctx, c.ID, expert.ID, &model.Participant{Role: string(rights.RolePartyMember), PartyID: &party.ID, Active: true,
		DisplayName: "Hélène D’Arcy-Lefèvre", Email: "helene@exemple.fr"})
	if err != nil {
		b.Fatal(err)
	}
	key := []byte("bench session key .............")
	code := retrieval.Code(key, "bench-nonce-0000")
	_, hash, _ := retrieval.NewToken()
	_, _, err = s.CreateOrder(ctx, expert.ID, &model.CertificateOrder{CaseID: c.ID, ParticipantID: p.ID, Name: p.DisplayName, Email: p.Email,
		ValidityDays: 180, DownloadsAllowed: b.N + 1, TokenHash: hash, LinkExpiresAt: time.Now().Add(time.Hour),
		CodeSalt: "salt", CodeHash: retrieval.HashCode("salt", code), FormNonce: "bench-nonce-0000"}, benchOrderMail)
	if err != nil {
		b.Fatal(err)
	}
	lim := model.CodeLimits{PerOrder: 5, PerAddress: 20, Window: time.Hour}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		got, err := s.VerifyCode(ctx, hash, "192.0.2.7", time.Now(), lim, func(o *model.CertificateOrder) bool { return retrieval.CodeMatches(o, code) })
		if err != nil {
			b.Fatal(err)
		}
		if _, err := coll.Collect(ctx, got, "RG 24/01234, TJ Rennes", bundle.Compatible, "192.0.2.7", benchCollectedMail); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, times)
}

func benchOrderMail(o *model.CertificateOrder, _ *model.Case, _ *model.Account) (*model.OutboxMessage, error) {
	return benchMail(o.Email), nil
}

func benchCollectedMail(o *model.CertificateOrder, expert, person *model.Account) ([]*model.OutboxMessage, error) {
	return []*model.OutboxMessage{benchMail(expert.Email), benchMail(person.Email)}, nil
}

func benchMail(to string) *model.OutboxMessage {
	return &model.OutboxMessage{MessageID: fmt.Sprintf("<bench-%d@sceau.test>", benchMailSeq.Add(1)), ToAddress: to, Subject: "s", TextBody: "t", HTMLBody: "<p>t</p>"}
}

// benchBare is the floor: what any collection must do, without step-ca,
// tokens or a database.
func benchBare(b *testing.B) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bare CA"}, NotBefore: time.Now(),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(der)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
		tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Hélène D’Arcy-Lefèvre"}, EmailAddresses: []string{"helene@exemple.fr"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(180 * 24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			b.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		pw, _ := bundle.NewPassword()
		if _, err := bundle.Encode(bundle.Compatible, k, leaf, []*x509.Certificate{caCert}, pw); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, times)
}

func reportPercentiles(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	ms := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}
