package ca

import (
	"crypto/sha256"
	"encoding/base64"
	"time"

	"context"
	"go.step.sm/crypto/jose"
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

// The minted token is an ordinary ES256 JWT: go-jose parses it, verifies
// it with the provisioner's public key and reads every claim back; a claim
// that would override a registered one is refused.
func TestMintedTokenIsAStandardJWT(t *testing.T) {
	jwk, err := jose.GenerateJWK("EC", "P-256", "ES256", "sig", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newTokenMinter(jwk)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, jti, err := m.mint("sceau-litigant", "https://sceau-ca.internal/1.0/sign", "jean@exemple.fr", now, 2*time.Minute,
		map[string]any{"name": "Hélène Dupré-Lefèvre", "sans": []string{"jean@exemple.fr"}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	if h := parsed.Headers[0]; h.Algorithm != "ES256" || h.KeyID != jwk.KeyID || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header = %+v", h)
	}
	pub := jwk.Public()
	var std jose.Claims
	var extra struct {
		Name string   `json:"name"`
		SANs []string `json:"sans"`
	}
	if err := parsed.Claims(pub.Key, &std, &extra); err != nil {
		t.Fatalf("the token does not verify with the public key: %v", err)
	}
	err = std.ValidateWithLeeway(jose.Expected{Issuer: "sceau-litigant", Subject: "jean@exemple.fr", ID: jti,
		Audience: jose.Audience{"https://sceau-ca.internal/1.0/sign"}, Time: now}, 0)
	if err != nil {
		t.Error(err)
	}
	if std.Expiry.Time().Sub(std.IssuedAt.Time()) != 2*time.Minute || len(jti) != 64 {
		t.Errorf("exp-iat = %v, jti %q", std.Expiry.Time().Sub(std.IssuedAt.Time()), jti)
	}
	if extra.Name != "Hélène Dupré-Lefèvre" || len(extra.SANs) != 1 {
		t.Errorf("extra claims = %+v", extra)
	}
	other, err := jose.GenerateJWK("EC", "P-256", "ES256", "sig", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Claims(other.Public().Key, &std); err == nil {
		t.Error("the token verifies with another key")
	}
	if _, _, err := m.mint("sceau-litigant", "aud", "sub", now, time.Minute, map[string]any{"exp": 1}); err == nil {
		t.Error("an extra claim overrode exp")
	}
}
