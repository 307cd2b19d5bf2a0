package ca

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/provisioner"

	"sceau.fr/sceau/portal/model"
)

// Reason is an RFC 5280 CRLReason code.
type Reason int

// The RFC 5280 reasons (7 is unused in the standard).
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonCACompromise         Reason = 2
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonCertificateHold      Reason = 6
	ReasonPrivilegeWithdrawn   Reason = 9
	ReasonAACompromise         Reason = 10
)

var reasonNames = map[Reason]string{
	ReasonUnspecified: "unspecified", ReasonKeyCompromise: "keyCompromise", ReasonCACompromise: "cACompromise",
	ReasonAffiliationChanged: "affiliationChanged", ReasonSuperseded: "superseded",
	ReasonCessationOfOperation: "cessationOfOperation", ReasonCertificateHold: "certificateHold",
	ReasonPrivilegeWithdrawn: "privilegeWithdrawn", ReasonAACompromise: "aACompromise",
}

func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ParseReason accepts an RFC 5280 name (keyCompromise, superseded, …,
// case-insensitive) or its number.
func ParseReason(s string) (Reason, error) {
	for r, n := range reasonNames {
		if strings.EqualFold(s, n) || s == fmt.Sprint(int(r)) {
			return r, nil
		}
	}
	names := make([]string, 0, len(reasonNames))
	for _, n := range reasonNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return 0, fmt.Errorf("%q is not a revocation reason; use one of %s", s, strings.Join(names, ", "))
}

// ErrUnknownCertificate says the serial was never issued by this CA.
var ErrUnknownCertificate = errors.New("no certificate with this serial was issued by Sceau's CA")

// Revoke revokes a certificate by serial. It is idempotent: revoking an
// already revoked certificate succeeds and keeps the first record. The CRL
// is regenerated before Revoke returns.
func (c *CA) Revoke(ctx context.Context, serial *big.Int, reason Reason) error {
	sn := serial.String()
	if _, ok := reasonNames[reason]; !ok {
		return fmt.Errorf("invalid revocation reason %d", reason)
	}
	if _, err := c.opts.Store.GetCertificate(ctx, sn); err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return ErrUnknownCertificate
		}
		return err
	}
	tok, err := c.token(litigantProvisioner, "/1.0/revoke", sn, nil)
	if err != nil {
		return err
	}
	rctx := provisioner.NewContextWithMethod(ctx, provisioner.RevokeMethod)
	if _, err := c.auth.Authorize(rctx, tok); err != nil {
		return fmt.Errorf("revocation refused: %w", err)
	}
	err = c.auth.Revoke(rctx, &authority.RevokeOptions{
		Serial: sn, Reason: reason.String(), ReasonCode: int(reason), PassiveOnly: true, OTT: tok,
	})
	if err != nil && !strings.Contains(err.Error(), "already revoked") {
		return fmt.Errorf("revocation failed: %w", err)
	}
	c.revoked.add(sn)
	return nil
}

// ErrRevocationUnavailable means the revocation data could not be
// refreshed for too long: callers must refuse (fail closed).
var ErrRevocationUnavailable = errors.New("revocation status unavailable")

// IsRevoked answers from memory, in well under a microsecond. The cache is
// compared with the database every RevocationRefresh, so a revocation made
// by another instance is seen within that delay; past MaxStale without a
// successful refresh it fails closed with ErrRevocationUnavailable.
func (c *CA) IsRevoked(serial *big.Int) (bool, error) {
	return c.revoked.isRevoked(serial.String())
}

// Run keeps the revocation cache fresh and regenerates an expired CRL until
// ctx ends. One goroutine per process.
func (c *CA) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.RevocationRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.revoked.refresh(ctx, false); err != nil && ctx.Err() == nil {
				c.opts.Logger.Warn("revocation cache not refreshed", "err", err)
			}
		}
	}
}

// CRL returns the current CRL (DER). A CRL past its nextUpdate (every
// instance was down, say) is regenerated first.
func (c *CA) CRL(ctx context.Context) ([]byte, error) {
	crl, err := c.opts.Store.LatestCRL(ctx)
	if err == nil && time.Now().Before(crl.NextUpdate) {
		return crl.DER, nil
	}
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return nil, err
	}
	if err := c.auth.GenerateCertificateRevocationList(); err != nil {
		return nil, fmt.Errorf("generating the CRL: %w", err)
	}
	crl, err = c.opts.Store.LatestCRL(ctx)
	if err != nil {
		return nil, errNoCRL
	}
	return crl.DER, nil
}

type revocationCache struct {
	store    Store
	maxStale time.Duration

	mu          sync.RWMutex
	serials     map[string]struct{}
	stamp       int64
	refreshedAt time.Time
}

func (r *revocationCache) isRevoked(serial string) (bool, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if time.Since(r.refreshedAt) > r.maxStale {
		return false, ErrRevocationUnavailable
	}
	_, ok := r.serials[serial]
	return ok, nil
}

func (r *revocationCache) add(serial string) {
	r.mu.Lock()
	r.serials[serial] = struct{}{}
	r.mu.Unlock()
}

// refresh reloads the set when the database's revocation count changed
// (revocations are never deleted, so the count only grows).
func (r *revocationCache) refresh(ctx context.Context, force bool) error {
	stamp, err := r.store.RevocationStamp(ctx)
	if err != nil {
		return err
	}
	r.mu.RLock()
	same := stamp == r.stamp && r.serials != nil
	r.mu.RUnlock()
	if same && !force {
		r.mu.Lock()
		r.refreshedAt = time.Now()
		r.mu.Unlock()
		return nil
	}
	recs, err := r.store.Revocations(ctx)
	if err != nil {
		return err
	}
	set := make(map[string]struct{}, len(recs))
	for _, rec := range recs {
		set[rec.Serial] = struct{}{}
	}
	r.mu.Lock()
	r.serials, r.stamp, r.refreshedAt = set, int64(len(recs)), time.Now()
	r.mu.Unlock()
	return nil
}
