package ca

// Benchmarks of issuance and of the revocation cache. They run only with
// -bench, never in a plain `go test`:
//
//	.ci/with-postgres go test -run '^$' -bench . -benchtime 2s -count 3 ./ca/
//
// .ci/with-postgres starts a throw-away cluster with fsync off when
// SCEAU_TEST_DATABASE_URL is unset: commits cost nothing there. Point that
// variable at a PostgreSQL that commits durably to measure what production
// pays; add -cpu 1,2 to see the concurrent figures on one core too.
//
// BenchmarkIssueInterleaved (one issuance at a time) and
// BenchmarkIssueParallelInterleaved (bursts from 8 goroutines) rotate the
// variants within each iteration and report stepca/sceau, step-ca's time
// on its own PostgreSQL backend over Sceau's on PostgreSQL.
//
// They live in package ca (not ca_test) so the step-ca variant can reuse
// Sceau's own issuance code (IssueClient → sign → token → Authorize →
// SignWithContext) with only the authority's database swapped.
//
// Every issuance signs a fresh CSR with a fresh ECDSA P-256 key; keys and
// CSRs are all generated before b.ResetTimer, in every variant alike, so
// key generation is never timed. Each variant's setup (CA, fresh database)
// runs again for every b.N round, outside the timer.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/authority/provisioner"
	stepdb "github.com/smallstep/certificates/db"
	"go.step.sm/crypto/jose"
	"go.step.sm/crypto/pemutil"
	"go.step.sm/crypto/randutil"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store/storetest"
)

var benchPassword = []byte("correct horse battery staple")

// benchBootstrap creates one CA folder (root, intermediate, provisioner
// key) that every variant of a benchmark signs with.
func benchBootstrap(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "ca")
	if err := Bootstrap(context.Background(), BootstrapOptions{Dir: dir, Organisation: "Cour d’appel de Rennes", Password: benchPassword}); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchOpen(b *testing.B, dir string, s Store, mod ...func(*Options)) *CA {
	b.Helper()
	o := Options{Dir: dir, Password: benchPassword, Store: s, CRLURL: "https://retrait.example.fr/ca/crl",
		PolicyOIDs: []string{"1.2.250.1.999.1.1"}}
	for _, m := range mod {
		m(&o)
	}
	c, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

func benchLitigant() ClientRequest {
	return ClientRequest{Name: "Hélène Dupré-Lefèvre", Email: "Helene.Dupre+affaire@Exemple.FR",
		CaseRef: "RG 24/01234", ParticipantID: "42", Validity: 180 * 24 * time.Hour}
}

// benchCSRs generates n fresh ECDSA P-256 keys and their CSRs (no subject,
// no SAN, as the portal sends them). Every variant calls it before
// b.ResetTimer: key generation and CSR signing are never timed.
func benchCSRs(b *testing.B, n int) []*x509.CertificateRequest {
	b.Helper()
	out := make([]*x509.CertificateRequest, n)
	for i := range out {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
		if err != nil {
			b.Fatal(err)
		}
		if out[i], err = x509.ParseCertificateRequest(der); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// An issuer is one variant: Sceau on a store, or step-ca on its own
// database, or the bare signature.
type issuer func(ctx context.Context, csr *x509.CertificateRequest) error

func viaIssueClient(c *CA) issuer {
	req := benchLitigant()
	return func(ctx context.Context, csr *x509.CertificateRequest) error {
		_, err := c.IssueClient(ctx, csr, req)
		return err
	}
}

// The variants of BenchmarkIssue, BenchmarkIssueParallel and
// BenchmarkIssueInterleaved. Each setup runs once per b.N round, outside
// the timer, on a fresh database.
var issueVariants = []struct {
	name  string
	setup func(b *testing.B, dir string) issuer
}{
	// The ceiling: one ECDSA P-256 certificate signature with the
	// intermediate key, nothing else (x509.CreateCertificate also verifies
	// the signature it made, as in every other variant).
	{"bare-ecdsa", setupBareECDSA},
	// Sceau's full path with an in-memory Store: the CPU cost of the
	// token path without any database (not a deployable configuration).
	{"sceau-memstore", func(b *testing.B, dir string) issuer {
		return viaIssueClient(benchOpen(b, dir, newMemStore()))
	}},
	{"sceau-sqlite", func(b *testing.B, dir string) issuer {
		return viaIssueClient(benchOpen(b, dir, storetest.Open(b, "sqlite")))
	}},
	{"sceau-postgres", func(b *testing.B, dir string) issuer {
		return viaIssueClient(benchOpen(b, dir, storetest.Open(b, "postgres")))
	}},
	// step-ca's own PostgreSQL backend (smallstep/nosql key/value tables),
	// everything else identical: same CA folder, provisioner, template,
	// claims and token; IssueClient runs unchanged on the swapped authority.
	{"stepca-postgres", setupStepCAPostgres},
}

// BenchmarkIssue issues one litigant certificate per iteration, serially.
// cpu-ns/op is the CPU time of this process per certificate (user +
// system, from getrusage): unlike ns/op it barely moves when other
// processes load the machine, but it leaves out the database server's own
// CPU, so compare it between variants only for sceau-memstore and
// bare-ecdsa.
func BenchmarkIssue(b *testing.B) {
	dir := benchBootstrap(b)
	for _, v := range issueVariants {
		b.Run(v.name, func(b *testing.B) {
			issue := v.setup(b, dir)
			csrs := benchCSRs(b, b.N)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				if err := issue(ctx, csrs[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIssueParallel is the same with b.RunParallel (GOMAXPROCS
// goroutines): the database's round trips overlap with the CPU work.
func BenchmarkIssueParallel(b *testing.B) {
	dir := benchBootstrap(b)
	for _, v := range issueVariants {
		b.Run(v.name, func(b *testing.B) {
			issue := v.setup(b, dir)
			csrs := benchCSRs(b, b.N)
			var next atomic.Int64
			var failed atomic.Value
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := issue(ctx, csrs[next.Add(1)-1]); err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
				}
			})
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkIssueInterleaved issues with every variant in turn within each
// iteration (the order rotates), so load that drifts during the run (a
// shared machine, other processes) slows every variant alike. ns/op is
// one certificate from each; <variant>-ns/op is each variant's own mean,
// and stepca/sceau is step-ca's PostgreSQL time over Sceau's.
func BenchmarkIssueInterleaved(b *testing.B) {
	dir := benchBootstrap(b)
	names := []string{"sceau-memstore", "sceau-sqlite", "sceau-postgres", "stepca-postgres"}
	issuers := make([]issuer, len(names))
	for k, n := range names {
		issuers[k] = variant(b, n)(b, dir)
	}
	csrs := benchCSRs(b, len(names)*b.N)
	ctx := context.Background()
	b.ReportAllocs()
	spent := rotate(b, len(names), func(i, k int) error { return issuers[k](ctx, csrs[i*len(names)+k]) })
	reportEach(b, names, spent)
	b.ReportMetric(float64(spent[3])/float64(spent[2]), "stepca/sceau")
}

// BenchmarkIssueParallelInterleaved is BenchmarkIssueInterleaved under
// concurrency: within each iteration every variant in turn (the order
// rotates) issues issueBurst certificates from issueWorkers goroutines at
// once, as a portal does when several litigants collect their certificate
// at the same time. <variant>-ns/op is each variant's wall time per
// certificate (the inverse of its throughput); ns/op is one burst of
// every variant.
func BenchmarkIssueParallelInterleaved(b *testing.B) {
	const issueWorkers, issueBurst = 8, 32
	dir := benchBootstrap(b)
	names := []string{"sceau-memstore", "sceau-sqlite", "sceau-postgres", "stepca-postgres"}
	issuers := make([]issuer, len(names))
	for k, n := range names {
		issuers[k] = variant(b, n)(b, dir)
	}
	csrs := benchCSRs(b, len(names)*b.N*issueBurst)
	ctx := context.Background()
	b.ReportAllocs()
	spent := rotate(b, len(names), func(i, k int) error {
		base := (i*len(names) + k) * issueBurst
		var next atomic.Int64
		errs := make(chan error, issueWorkers)
		for w := 0; w < issueWorkers; w++ {
			go func() {
				for {
					j := next.Add(1) - 1
					if j >= issueBurst {
						errs <- nil
						return
					}
					if err := issuers[k](ctx, csrs[base+int(j)]); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		var first error
		for w := 0; w < issueWorkers; w++ {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	})
	for k, name := range names {
		b.ReportMetric(float64(spent[k].Nanoseconds())/float64(b.N*issueBurst), name+"-ns/op")
	}
	b.ReportMetric(float64(spent[3])/float64(spent[2]), "stepca/sceau")
}

// BenchmarkIssueStorage times only what one issuance asks of the
// database, through the interface step-ca calls: UseToken (spend the
// one-time token, a real one) then StoreCertificateChain (record the
// leaf). It leaves out the ~1 ms of CPU work (token, template, signatures)
// that every variant of BenchmarkIssue shares. Backends are interleaved as
// in BenchmarkIssueInterleaved.
func BenchmarkIssueStorage(b *testing.B) {
	dir := benchBootstrap(b)
	base := benchOpen(b, dir, newMemStore())
	issued, err := base.IssueClient(context.Background(), benchCSRs(b, 1)[0], benchLitigant())
	if err != nil {
		b.Fatal(err)
	}
	tok, err := base.token(litigantProvisioner, "/1.0/sign", "helene.dupre@exemple.fr", map[string]any{"sans": []string{"helene.dupre@exemple.fr"}})
	if err != nil {
		b.Fatal(err)
	}
	prov, err := base.auth.LoadProvisionerByName(litigantProvisioner)
	if err != nil {
		b.Fatal(err)
	}
	stepca, err := stepdb.New(&stepdb.Config{Type: "postgresql", DataSource: storetest.PostgresURL(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stepca.Shutdown() })
	names := []string{"sceau-sqlite", "sceau-postgres", "stepca-postgres"}
	type chainStorer interface {
		StoreCertificateChain(provisioner.Interface, ...*x509.Certificate) error
	}
	dbs := []stepdb.AuthDB{
		&authDB{store: storetest.Open(b, "sqlite"), timeout: 10 * time.Second},
		&authDB{store: storetest.Open(b, "postgres"), timeout: 10 * time.Second},
		stepca,
	}
	// Distinct token ids, serials and DER (the fingerprint is unique).
	n := len(dbs) * b.N
	ids := make([]string, n)
	leaves := make([]*x509.Certificate, n)
	for i := range leaves {
		id, err := randutil.Hex(32)
		if err != nil {
			b.Fatal(err)
		}
		l := *issued.Leaf
		l.SerialNumber = new(big.Int).SetBytes([]byte(id[:16]))
		l.Raw = append([]byte(nil), issued.Leaf.Raw...)
		copy(l.Raw[len(l.Raw)-16:], id[:16]) // in the signature, which storage does not check
		ids[i], leaves[i] = id, &l
	}
	b.ReportAllocs()
	spent := rotate(b, len(dbs), func(i, k int) error {
		j := i*len(dbs) + k
		if ok, err := dbs[k].UseToken(ids[j], tok); err != nil || !ok {
			return fmt.Errorf("UseToken = %v, %v", ok, err)
		}
		return dbs[k].(chainStorer).StoreCertificateChain(prov, leaves[j])
	})
	reportEach(b, names, spent)
	b.ReportMetric(float64(spent[2])/float64(spent[1]), "stepca/sceau")
}

// rotate runs b.N rounds; round i calls do(i, k) once for every k, starting
// at k = i mod n, and returns the time spent in each k.
func rotate(b *testing.B, n int, do func(i, k int) error) []time.Duration {
	spent := make([]time.Duration, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < n; j++ {
			k := (i + j) % n
			t0 := time.Now()
			if err := do(i, k); err != nil {
				b.Fatal(err)
			}
			spent[k] += time.Since(t0)
		}
	}
	b.StopTimer()
	return spent
}

func reportEach(b *testing.B, names []string, spent []time.Duration) {
	for k, name := range names {
		b.ReportMetric(float64(spent[k].Nanoseconds())/float64(b.N), name+"-ns/op")
	}
}

func variant(b *testing.B, name string) func(*testing.B, string) issuer {
	for _, v := range issueVariants {
		if v.name == name {
			return v.setup
		}
	}
	b.Fatalf("no variant %s", name)
	return nil
}

func setupBareECDSA(b *testing.B, dir string) issuer {
	inter, err := readCert(filepath.Join(dir, IntermediateCertFile))
	if err != nil {
		b.Fatal(err)
	}
	key := benchIntermediateKey(b, dir)
	cdp := []string{"https://retrait.example.fr/ca/crl"}
	policy := []asn1.ObjectIdentifier{{1, 2, 250, 1, 999, 1, 1}}
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	return func(_ context.Context, csr *x509.CertificateRequest) error {
		sn, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return err
		}
		now := time.Now()
		tpl := &x509.Certificate{
			SerialNumber: sn,
			Subject: pkix.Name{CommonName: "Hélène Dupré-Lefèvre", Organization: []string{"Cour d’appel de Rennes"},
				OrganizationalUnit: []string{"Affaire RG 24/01234"}, SerialNumber: "P-42", Country: []string{"FR"}},
			EmailAddresses:        []string{"Helene.Dupre+affaire@exemple.fr"},
			NotBefore:             now.Add(-time.Minute),
			NotAfter:              now.Add(180 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			BasicConstraintsValid: true,
			CRLDistributionPoints: cdp,
			PolicyIdentifiers:     policy,
		}
		_, err = x509.CreateCertificate(rand.Reader, tpl, inter, csr.PublicKey, key)
		return err
	}
}

// benchIntermediateKey decrypts intermediate.key as step-ca's own tooling
// would (pemutil), independently of Sceau's readKey.
func benchIntermediateKey(b *testing.B, dir string) crypto.Signer {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, IntermediateKeyFile))
	if err != nil {
		b.Fatal(err)
	}
	k, err := pemutil.ParseKey(raw, pemutil.WithPassword(benchPassword))
	if err != nil {
		b.Fatal(err)
	}
	return k.(crypto.Signer)
}

// setupStepCAPostgres builds an embedded step-ca on its own PostgreSQL
// backend (db.New with Type postgresql on a fresh, existing database) with
// the configuration start() builds, and returns a copy of a Sceau CA whose
// authority is that one: token minting, request checks and the signing
// call are Sceau's, byte for byte; only the database differs.
func setupStepCAPostgres(b *testing.B, dir string) issuer {
	// A Sceau CA supplies the provisioner signer and request handling; its
	// own store is in memory and is never touched by issuance below.
	base := benchOpen(b, dir, newMemStore())
	sdb, err := stepdb.New(&stepdb.Config{Type: "postgresql", DataSource: storetest.PostgresURL(b)})
	if err != nil {
		b.Fatal(err)
	}
	key := benchIntermediateKey(b, dir)
	root, err := readCert(filepath.Join(dir, RootCertFile))
	if err != nil {
		b.Fatal(err)
	}
	inter, err := readCert(filepath.Join(dir, IntermediateCertFile))
	if err != nil {
		b.Fatal(err)
	}
	a, err := mirrorAuthority(base.opts, root, inter, key, base.jwk.Public(), sdb)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Shutdown(); _ = sdb.Shutdown() })
	sc := &CA{opts: base.opts, auth: a, jwk: base.jwk, minter: base.minter, root: root, intermediate: inter,
		intermediates: []*x509.Certificate{inter}, closeKey: func() error { return nil }, revoked: base.revoked}
	checkSameCertificates(b, base, sc)
	return viaIssueClient(sc)
}

// mirrorAuthority repeats what (*CA).start configures, with the database
// given. Keep it in step with start(); checkSameCertificates catches drift.
func mirrorAuthority(o Options, root, inter *x509.Certificate, key crypto.Signer, pub jose.JSONWebKey, d stepdb.AuthDB) (*authority.Authority, error) {
	jwk := &pub
	litigant := &provisioner.JWK{
		Type: "JWK", Name: litigantProvisioner, Key: jwk,
		Claims: &provisioner.Claims{
			MinTLSDur:                  &provisioner.Duration{Duration: 5 * time.Minute},
			MaxTLSDur:                  &provisioner.Duration{Duration: o.MaxValidity},
			DefaultTLSDur:              &provisioner.Duration{Duration: o.DefaultValidity},
			DisableRenewal:             ptr(true),
			DisableSmallstepExtensions: ptr(true),
		},
		Options: &provisioner.Options{X509: &provisioner.X509Options{Template: litigantTemplate}},
	}
	server := &provisioner.JWK{
		Type: "JWK", Name: serverProvisioner, Key: jwk,
		Claims: &provisioner.Claims{
			MinTLSDur:                  &provisioner.Duration{Duration: 5 * time.Minute},
			MaxTLSDur:                  &provisioner.Duration{Duration: o.ServerValidity},
			DefaultTLSDur:              &provisioner.Duration{Duration: o.ServerValidity},
			DisableRenewal:             ptr(true),
			DisableSmallstepExtensions: ptr(true),
		},
		Options: &provisioner.Options{X509: &provisioner.X509Options{Template: serverTemplate}},
	}
	cfg := &config.Config{
		DNSNames: []string{audienceHost},
		AuthorityConfig: &config.AuthConfig{
			Provisioners: provisioner.List{litigant, server},
			Backdate:     &provisioner.Duration{Duration: time.Minute},
		},
		CRL: &config.CRLConfig{
			Enabled:          true,
			GenerateOnRevoke: true,
			CacheDuration:    &provisioner.Duration{Duration: o.CRLValidity},
			RenewPeriod:      &provisioner.Duration{Duration: o.CRLValidity * 2 / 3},
			IDPurl:           o.CRLURL,
		},
	}
	return authority.NewEmbedded(
		authority.WithConfig(cfg),
		authority.WithX509RootCerts(root),
		authority.WithX509Signer(inter, key),
		authority.WithDatabase(d),
		authority.WithQuietInit(),
	)
}

// checkSameCertificates issues one certificate with each CA and fails when
// they differ in anything but serial, key, validity dates, key identifier
// and signature.
func checkSameCertificates(b *testing.B, ref, c *CA) {
	b.Helper()
	csrs := benchCSRs(b, 2)
	ctx := context.Background()
	var shapes [2]string
	for i, ca := range []*CA{ref, c} {
		issued, err := ca.IssueClient(ctx, csrs[i], benchLitigant())
		if err != nil {
			b.Fatal(err)
		}
		shapes[i] = certShape(issued.Leaf)
	}
	if shapes[0] != shapes[1] {
		b.Fatalf("the step-ca mirror does not issue what Sceau issues:\nSceau:  %s\nstep-ca: %s", shapes[0], shapes[1])
	}
}

func certShape(c *x509.Certificate) string {
	var exts []string
	for _, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 14}) || e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 35}) {
			exts = append(exts, e.Id.String()) // SKI/AKI: present, value depends on the key
			continue
		}
		exts = append(exts, fmt.Sprintf("%s/%t/%x", e.Id, e.Critical, e.Value))
	}
	sort.Strings(exts)
	return fmt.Sprintf("subject=%q issuer=%q validity=%s sigalg=%s exts=%v", c.Subject, c.Issuer,
		c.NotAfter.Sub(c.NotBefore).Round(time.Minute), c.SignatureAlgorithm, exts)
}

// BenchmarkIsRevoked looks a serial up in the revocation cache (a cache
// hit: the database is not queried) with a few thousand revoked serials
// loaded, while the refresher polls the database every 2 s as in
// production. The argument is a *big.Int, as callers have it from the
// peer certificate: its decimal conversion is part of the cost.
func BenchmarkIsRevoked(b *testing.B) {
	const revokedCount = 5000
	ctx := context.Background()
	s := storetest.Open(b, "sqlite")
	limit := new(big.Int).Lsh(big.NewInt(1), 128) // step-ca's serials are 128-bit random
	serials := make([]*big.Int, revokedCount)
	now := time.Now().UTC()
	for i := range serials {
		sn, err := rand.Int(rand.Reader, limit)
		if err != nil {
			b.Fatal(err)
		}
		serials[i] = sn
		if _, err := s.RevokeCertificate(ctx, &model.Revocation{Serial: sn.String(), ReasonCode: 1, Reason: "keyCompromise", RevokedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	c := benchOpen(b, benchBootstrap(b), s, func(o *Options) { o.MaxStale = time.Hour })
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(runCtx) }()
	b.Cleanup(func() { stop(); wg.Wait() })

	revoked := serials[revokedCount/2]
	valid, err := rand.Int(rand.Reader, limit)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		serial *big.Int
		want   bool
	}{{"revoked", revoked, true}, {"not-revoked", valid, false}} {
		if got, err := c.IsRevoked(tc.serial); err != nil || got != tc.want {
			b.Fatalf("%s: IsRevoked = %v, %v", tc.name, got, err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got, err := c.IsRevoked(tc.serial); err != nil || got != tc.want {
					b.Fatalf("IsRevoked = %v, %v", got, err)
				}
			}
		})
		b.Run(tc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			var bad atomic.Bool
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if got, err := c.IsRevoked(tc.serial); err != nil || got != tc.want {
						bad.Store(true)
					}
				}
			})
			if bad.Load() {
				b.Fatal("IsRevoked gave a wrong answer or failed")
			}
		})
	}
}

// memStore is an in-memory Store: Sceau's issuance path with no database
// at all, to separate the CPU cost from the storage cost.
type memStore struct {
	mu     sync.Mutex
	certs  map[string]model.IssuedCertificate
	revs   map[string]model.Revocation
	tokens map[string]time.Time
	crls   []model.CRL
}

func newMemStore() *memStore {
	return &memStore{certs: map[string]model.IssuedCertificate{}, revs: map[string]model.Revocation{}, tokens: map[string]time.Time{}}
}

func (m *memStore) StoreCertificate(_ context.Context, c *model.IssuedCertificate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.certs[c.Serial]; dup {
		return fmt.Errorf("duplicate serial %s", c.Serial)
	}
	m.certs[c.Serial] = *c
	return nil
}

func (m *memStore) StoreCertificateSpendingToken(ctx context.Context, c *model.IssuedCertificate, id string, exp time.Time) error {
	ok, err := m.UseToken(ctx, id, exp)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("token already used")
	}
	return m.StoreCertificate(ctx, c)
}

func (m *memStore) GetCertificate(_ context.Context, serial string) (*model.IssuedCertificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.certs[serial]
	if !ok {
		return nil, model.ErrNotFound
	}
	return &c, nil
}

func (m *memStore) RevokeCertificate(_ context.Context, r *model.Revocation) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.revs[r.Serial]; dup {
		return false, nil
	}
	m.revs[r.Serial] = *r
	return true, nil
}

func (m *memStore) IsRevoked(_ context.Context, serial string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.revs[serial]
	return ok, nil
}

func (m *memStore) Revocations(context.Context) ([]model.Revocation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]model.Revocation, 0, len(m.revs))
	for _, r := range m.revs {
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) RevocationStamp(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.revs)), nil
}

func (m *memStore) UseToken(_ context.Context, id string, exp time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, used := m.tokens[id]; used {
		return false, nil
	}
	m.tokens[id] = exp
	return true, nil
}

func (m *memStore) StoreCRL(_ context.Context, c *model.CRL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crls = append(m.crls, *c)
	return nil
}

func (m *memStore) LatestCRL(context.Context) (*model.CRL, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.crls) == 0 {
		return nil, model.ErrNotFound
	}
	c := m.crls[len(m.crls)-1]
	return &c, nil
}

var _ Store = (*memStore)(nil)
