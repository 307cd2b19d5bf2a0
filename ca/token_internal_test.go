package ca

import (
	"crypto/sha256"
	"encoding/base64"
	"time"

	"context"
	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// Token reuse must be refused atomically even when two Sceau instances
// share one database: two authorities race to sign with the same one-time
// token; exactly one certificate comes out (and is recorded), every time.
func TestTokenReuseRefusedAcrossInstances(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, s1, s2 *store.Store) {
		ctx := context.Background()
		dir := filepath.Join(t.TempDir(), "ca")
		pw := []byte("correct horse battery staple")
		if err := Bootstrap(ctx, BootstrapOptions{Dir: dir, Organisation: "Test", Password: pw}); err != nil {
			t.Fatal(err)
		}
		var cas [2]*CA
		for i, s := range []*store.Store{s1, s2} {
			c, err := Open(ctx, Options{Dir: dir, Password: pw, Store: s})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			cas[i] = c
		}
		const races = 30
		for i := 0; i < races; i++ {
			key, err := keyutil.GenerateSigner("EC", "P-256", 0)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := x509util.CreateCertificateRequest("", nil, key)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(csr.Raw)
			tok, jti, err := cas[0].tokenWithID(litigantProvisioner, "/1.0/sign", "jean@exemple.fr", map[string]any{
				"sans": []string{"jean@exemple.fr"}, "name": "Jean Dupont", "org": "Test", "ou": "Affaire 1", "pid": "P-1",
				"cdp": []string{}, "policies": []string{},
				"cnf": map[string]string{"x5rt#S256": base64.RawURLEncoding.EncodeToString(sum[:])}})
			if err != nil {
				t.Fatal(err)
			}
			var issued atomic.Int32
			var wg sync.WaitGroup
			for _, c := range cas {
				wg.Add(1)
				go func(c *CA) {
					defer wg.Done()
					if chain, err := c.signWithToken(ctx, tok, jti, csr, 0); err == nil && len(chain) > 0 {
						issued.Add(1)
					}
				}(c)
			}
			wg.Wait()
			if n := issued.Load(); n != 1 {
				t.Fatalf("race %d: the token produced %d certificates", i, n)
			}
		}
		n, err := s1.CountCertificates(ctx, time.Now())
		if err != nil || n.Issued != races {
			t.Fatalf("%d certificates recorded for %d races (%v)", n.Issued, races, err)
		}
	})
}
