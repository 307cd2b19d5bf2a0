package ca

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/certificates/db"
	"github.com/smallstep/nosql/database"
	"go.step.sm/crypto/jose"
	"golang.org/x/crypto/ssh"

	"sceau.fr/sceau/portal/model"
)

// Store is what the CA needs from Sceau's database. portal/store
// implements it on PostgreSQL and SQLite.
type Store interface {
	StoreCertificate(ctx context.Context, c *model.IssuedCertificate) error
	// StoreCertificateSpendingToken spends the token and records the
	// certificate together (or neither), atomically across instances.
	StoreCertificateSpendingToken(ctx context.Context, c *model.IssuedCertificate, tokenID string, tokenExpiry time.Time) error
	GetCertificate(ctx context.Context, serial string) (*model.IssuedCertificate, error)
	RevokeCertificate(ctx context.Context, r *model.Revocation) (created bool, err error)
	IsRevoked(ctx context.Context, serial string) (bool, error)
	Revocations(ctx context.Context) ([]model.Revocation, error)
	RevocationStamp(ctx context.Context) (int64, error)
	UseToken(ctx context.Context, id string, expiresAt time.Time) (bool, error)
	StoreCRL(ctx context.Context, c *model.CRL) error
	LatestCRL(ctx context.Context) (*model.CRL, error)
}

// authDB adapts Store to step-ca's database interfaces (db.AuthDB,
// certificate chain storage, CRL storage), so every certificate, revocation
// and spent token lives in Sceau's own tables. Without it step-ca would fall
// back to a store that cannot revoke.
type authDB struct {
	store   Store
	timeout time.Duration

	// Issuance tokens minted by this process, by the SHA-256 of the public
	// key of the CSR they are bound to. Their spending is deferred to the
	// certificate's own insert (one database round trip per issuance);
	// within this process they are claimed at once so a replay here fails
	// early, and across instances the token's primary key decides when the
	// certificate is recorded.
	pending    sync.Map // spki hash → pendingToken
	pendingIDs sync.Map // token id → struct{}, the ids of pending
	claimed    sync.Map // token id → struct{}
}

type pendingToken struct {
	id     string
	expiry time.Time
}

func spkiHash(der []byte) string {
	sum := sha256.Sum256(der)
	return string(sum[:])
}

// expect registers a token about to be used for signing a CSR.
func (d *authDB) expect(csr *x509.CertificateRequest, id string, expiry time.Time) func() {
	key := spkiHash(csr.RawSubjectPublicKeyInfo)
	d.pendingIDs.Store(id, struct{}{})
	d.pending.Store(key, pendingToken{id, expiry})
	return func() {
		d.pending.CompareAndDelete(key, pendingToken{id, expiry})
		d.pendingIDs.Delete(id)
		d.claimed.Delete(id)
	}
}

func (d *authDB) isPending(id string) bool {
	_, ok := d.pendingIDs.Load(id)
	return ok
}

var (
	_ db.AuthDB                      = (*authDB)(nil)
	_ db.CertificateRevocationListDB = (*authDB)(nil)
)

func (d *authDB) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d.timeout)
}

// StoreCertificateChain records the leaf with the provisioner (profile)
// that issued it. step-ca returns no certificate when this fails.
func (d *authDB) StoreCertificateChain(p provisioner.Interface, chain ...*x509.Certificate) error {
	leaf := chain[0]
	sum := sha256.Sum256(leaf.Raw)
	rec := &model.IssuedCertificate{
		Serial:      leaf.SerialNumber.String(),
		Subject:     leaf.Subject.String(),
		NotBefore:   leaf.NotBefore.UTC(),
		NotAfter:    leaf.NotAfter.UTC(),
		Fingerprint: hex.EncodeToString(sum[:]),
		DER:         leaf.Raw,
	}
	if p != nil {
		rec.Profile = profileOfProvisioner(p.GetName())
	}
	if len(leaf.EmailAddresses) > 0 {
		rec.Email = leaf.EmailAddresses[0]
	}
	ctx, cancel := d.ctx()
	defer cancel()
	if v, ok := d.pending.Load(spkiHash(leaf.RawSubjectPublicKeyInfo)); ok {
		t := v.(pendingToken)
		return d.store.StoreCertificateSpendingToken(ctx, rec, t.id, t.expiry)
	}
	return d.store.StoreCertificate(ctx, rec)
}

func (d *authDB) StoreCertificate(crt *x509.Certificate) error {
	return d.StoreCertificateChain(nil, crt)
}

func (d *authDB) StoreSSHCertificate(*ssh.Certificate) error { return db.ErrNotImplemented }

func (d *authDB) GetCertificate(serial string) (*x509.Certificate, error) {
	ctx, cancel := d.ctx()
	defer cancel()
	rec, err := d.store.GetCertificate(ctx, serial)
	if err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return nil, database.ErrNotFound
		}
		return nil, err
	}
	return x509.ParseCertificate(rec.DER)
}

func (d *authDB) IsRevoked(serial string) (bool, error) {
	ctx, cancel := d.ctx()
	defer cancel()
	return d.store.IsRevoked(ctx, serial)
}

func (d *authDB) Revoke(rci *db.RevokedCertificateInfo) error {
	r := &model.Revocation{
		Serial: rci.Serial, ReasonCode: rci.ReasonCode, Reason: rci.Reason,
		RevokedAt: rci.RevokedAt.UTC(), ProvisionerID: rci.ProvisionerID, TokenID: rci.TokenID,
	}
	if !rci.ExpiresAt.IsZero() {
		t := rci.ExpiresAt.UTC()
		r.ExpiresAt = &t
	}
	ctx, cancel := d.ctx()
	defer cancel()
	created, err := d.store.RevokeCertificate(ctx, r)
	if err != nil {
		return err
	}
	if !created {
		return db.ErrAlreadyExists
	}
	return nil
}

func (d *authDB) GetRevokedCertificates() (*[]db.RevokedCertificateInfo, error) {
	ctx, cancel := d.ctx()
	defer cancel()
	recs, err := d.store.Revocations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]db.RevokedCertificateInfo, 0, len(recs))
	for _, r := range recs {
		info := db.RevokedCertificateInfo{Serial: r.Serial, ReasonCode: r.ReasonCode, Reason: r.Reason,
			RevokedAt: r.RevokedAt, ProvisionerID: r.ProvisionerID, TokenID: r.TokenID}
		if r.ExpiresAt != nil {
			info.ExpiresAt = *r.ExpiresAt
		}
		out = append(out, info)
	}
	return &out, nil
}

func (d *authDB) GetCRL() (*db.CertificateRevocationListInfo, error) {
	ctx, cancel := d.ctx()
	defer cancel()
	c, err := d.store.LatestCRL(ctx)
	if err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return nil, database.ErrNotFound
		}
		return nil, err
	}
	return &db.CertificateRevocationListInfo{Number: c.Number, ExpiresAt: c.NextUpdate, Duration: time.Duration(c.Duration), DER: c.DER}, nil
}

func (d *authDB) StoreCRL(info *db.CertificateRevocationListInfo) error {
	ctx, cancel := d.ctx()
	defer cancel()
	return d.store.StoreCRL(ctx, &model.CRL{Number: info.Number, ThisUpdate: info.ExpiresAt.Add(-info.Duration).UTC(),
		NextUpdate: info.ExpiresAt.UTC(), Duration: int64(info.Duration), DER: info.DER})
}

// UseToken spends a one-time token atomically (a unique key, not a read
// then a write), so two instances cannot both accept it.
func (d *authDB) UseToken(id, tok string) (bool, error) {
	if d.isPending(id) {
		// Spent in the database with the certificate (see authDB.pending).
		_, loaded := d.claimed.LoadOrStore(id, struct{}{})
		return !loaded, nil
	}
	exp := time.Now().Add(time.Hour)
	if t, err := jose.ParseSigned(tok); err == nil {
		var c jose.Claims
		if err := t.UnsafeClaimsWithoutVerification(&c); err == nil && c.Expiry != nil {
			exp = c.Expiry.Time().Add(time.Minute) // the CA allows one minute of clock skew
		}
	}
	ctx, cancel := d.ctx()
	defer cancel()
	return d.store.UseToken(ctx, id, exp)
}

func (d *authDB) IsSSHRevoked(string) (bool, error)          { return false, nil }
func (d *authDB) RevokeSSH(*db.RevokedCertificateInfo) error { return db.ErrNotImplemented }
func (d *authDB) IsSSHHost(string) (bool, error)             { return false, nil }
func (d *authDB) GetSSHHostPrincipals() ([]string, error)    { return nil, nil }
func (d *authDB) Shutdown() error                            { return nil } // the store outlives the authority
