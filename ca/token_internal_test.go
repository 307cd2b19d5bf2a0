package ca

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// Token reuse must be refused atomically even when two Sceau instances
// share one database: two authorities race to spend the same one-time
// token; exactly one may accept it, every time.
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
		const races = 40
		for i := 0; i < races; i++ {
			tok, err := cas[0].token(litigantProvisioner, "/1.0/sign", "jean@exemple.fr", map[string]any{"sans": []string{"jean@exemple.fr"}})
			if err != nil {
				t.Fatal(err)
			}
			var accepted atomic.Int32
			var wg sync.WaitGroup
			for _, c := range cas {
				wg.Add(1)
				go func(c *CA) {
					defer wg.Done()
					if _, err := c.auth.Authorize(withSign(ctx), tok); err == nil {
						accepted.Add(1)
					}
				}(c)
			}
			wg.Wait()
			if n := accepted.Load(); n != 1 {
				t.Fatalf("race %d: the token was accepted %d times", i, n)
			}
		}
	})
}
