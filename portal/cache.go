package portal

import (
	"crypto/sha256"
	"crypto/x509"
	"net/http"
	"sync"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
)

// ttlCache is a small concurrent map whose entries expire. When full it is
// emptied (simple, and an admission costs one signature check at worst).
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu sync.RWMutex
	m  map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v  V
	at time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, max: max, m: make(map[K]ttlEntry[V])}
}

func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.Sub(e.at) > c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[K, V]) put(k K, v V, now time.Time) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		c.m = make(map[K]ttlEntry[V])
	}
	c.m[k] = ttlEntry[V]{v, now}
	c.mu.Unlock()
}

func (c *ttlCache[K, V]) drop(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// Cache lifetimes: a verified chain is re-verified every 5 minutes (expiry
// and revocation are rechecked on every request regardless); an account
// found by fingerprint is read again after 10 seconds, so a suspension or a
// removed certificate takes effect on every instance within 10 seconds.
const (
	verifiedChainTTL  = 5 * time.Minute
	defaultAccountTTL = 10 * time.Second
	cacheEntries      = 50000
)

func chainKey(chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	for _, c := range chain {
		h.Write(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// check is Gate.Check behind the verified-chain cache.
func (s *Server) check(chain []*x509.Certificate) (*certgate.Identity, *certgate.Refusal) {
	if len(chain) == 0 {
		return s.deps.Gate.Check(chain)
	}
	key := chainKey(chain)
	if id, ok := s.verified.get(key, s.now()); ok {
		if refusal := s.deps.Gate.Recheck(id); refusal != nil {
			s.verified.drop(key)
			return nil, refusal
		}
		return id, nil
	}
	id, refusal := s.deps.Gate.Check(chain)
	if id != nil {
		s.verified.put(key, id, s.now())
	}
	return id, refusal
}

// accountOf finds the account of a certificate, cached for accountTTL.
func (s *Server) accountOf(r *http.Request, fingerprint string) (*model.Account, error) {
	if acc, ok := s.accounts.get(fingerprint, s.now()); ok {
		return acc, nil
	}
	acc, _, err := s.deps.Accounts.AccountByFingerprint(r.Context(), fingerprint)
	if err != nil {
		return nil, err
	}
	s.accounts.put(fingerprint, acc, s.now())
	return acc, nil
}
