package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
)

// These methods back Sceau's certificate authority (package ca), which
// declares the interface they satisfy.

// StoreCertificate records an issued certificate.
func (s *Store) StoreCertificate(ctx context.Context, c *model.IssuedCertificate) error {
	c.CreatedAt = time.Now().UTC()
	return s.gorm(ctx).Create(c).Error
}

// GetCertificate returns an issued certificate by decimal serial.
func (s *Store) GetCertificate(ctx context.Context, serial string) (*model.IssuedCertificate, error) {
	var c model.IssuedCertificate
	err := s.gorm(ctx).Where("serial = ?", serial).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &c, err
}

// RevokeCertificate records a revocation; revoking twice keeps the first
// record and reports created=false.
func (s *Store) RevokeCertificate(ctx context.Context, r *model.Revocation) (created bool, err error) {
	res := s.gorm(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(r)
	return res.RowsAffected == 1, res.Error
}

// IsRevoked reports whether a serial was revoked.
func (s *Store) IsRevoked(ctx context.Context, serial string) (bool, error) {
	var n int64
	err := s.gorm(ctx).Model(&model.Revocation{}).Where("serial = ?", serial).Count(&n).Error
	return n > 0, err
}

// Revocations lists every revocation.
func (s *Store) Revocations(ctx context.Context) ([]model.Revocation, error) {
	var out []model.Revocation
	err := s.gorm(ctx).Order("revoked_at, serial").Find(&out).Error
	return out, err
}

// RevocationStamp changes whenever a revocation is added: instances poll it
// to refresh their revocation cache cheaply.
func (s *Store) RevocationStamp(ctx context.Context) (count int64, err error) {
	err = s.gorm(ctx).Model(&model.Revocation{}).Count(&count).Error
	return count, err
}

// UseToken spends a one-time token. It returns false when the token was
// already used; the primary key makes this atomic across instances.
func (s *Store) UseToken(ctx context.Context, id string, expiresAt time.Time) (bool, error) {
	t := &model.UsedToken{ID: id, UsedAt: time.Now().UTC(), ExpiresAt: expiresAt.UTC()}
	res := s.gorm(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(t)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// PurgeUsedTokens forgets tokens that expired before t (they can no longer
// be replayed: the CA refuses expired tokens anyway).
func (s *Store) PurgeUsedTokens(ctx context.Context, before time.Time) (int64, error) {
	res := s.gorm(ctx).Where("expires_at < ?", before.UTC()).Delete(&model.UsedToken{})
	return res.RowsAffected, res.Error
}

// StoreCRL records a generated CRL; when two instances generate the same
// number at once the first one wins.
func (s *Store) StoreCRL(ctx context.Context, c *model.CRL) error {
	return s.gorm(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(c).Error
}

// LatestCRL returns the CRL with the highest number.
func (s *Store) LatestCRL(ctx context.Context) (*model.CRL, error) {
	var c model.CRL
	err := s.gorm(ctx).Order("number DESC").First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &c, err
}

// CountCertificates counts issued, currently valid and revoked certificates.
func (s *Store) CountCertificates(ctx context.Context, now time.Time) (model.CertificateCounts, error) {
	var c model.CertificateCounts
	db := s.gorm(ctx)
	if err := db.Model(&model.IssuedCertificate{}).Count(&c.Issued).Error; err != nil {
		return c, err
	}
	if err := s.gorm(ctx).Model(&model.Revocation{}).Count(&c.Revoked).Error; err != nil {
		return c, err
	}
	err := s.gorm(ctx).Model(&model.IssuedCertificate{}).
		Where("not_after > ? AND serial NOT IN (SELECT serial FROM ca_revocations)", now.UTC()).Count(&c.Valid).Error
	return c, err
}

// ErrTokenUsed says a one-time issuance token was already spent (by this
// or another instance): the certificate must not be issued.
var ErrTokenUsed = errors.New("one-time token already used")

// StoreCertificateSpendingToken spends the issuance token and records the
// certificate together, or neither: on PostgreSQL in one statement (one
// round trip), on SQLite in one transaction. The token's primary key
// decides atomically across instances; ErrTokenUsed when it was spent.
//
// It is on every issuance's path, so it sends fixed SQL straight to the
// connection pool under gorm (no statement building per call); pgx keeps
// the PostgreSQL statement prepared on each connection.
func (s *Store) StoreCertificateSpendingToken(ctx context.Context, c *model.IssuedCertificate, tokenID string, tokenExpiry time.Time) error {
	now := time.Now().UTC()
	c.CreatedAt = now
	if s.dialect == migrations.Postgres {
		res, err := s.sql.ExecContext(ctx, spendAndStorePostgres, tokenID, now, tokenExpiry.UTC(),
			c.Serial, c.Profile, c.Subject, c.Email, c.NotBefore, c.NotAfter, c.Fingerprint, c.DER, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(ErrTokenUsed, err)
		}
		return nil
	}
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := tx.ExecContext(ctx, spendTokenSQLite, tokenID, now, tokenExpiry.UTC())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(ErrTokenUsed, err)
	}
	if _, err := tx.ExecContext(ctx, storeCertificateSQLite,
		c.Serial, c.Profile, c.Subject, c.Email, c.NotBefore, c.NotAfter, c.Fingerprint, c.DER, now); err != nil {
		return err
	}
	return tx.Commit()
}

const (
	spendAndStorePostgres = `WITH t AS (
	INSERT INTO ca_used_tokens (id, used_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id)
INSERT INTO ca_certificates (serial, profile, subject, email, not_before, not_after, fingerprint, der, created_at)
SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM t`
	spendTokenSQLite       = `INSERT INTO ca_used_tokens (id, used_at, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	storeCertificateSQLite = `INSERT INTO ca_certificates (serial, profile, subject, email, not_before, not_after, fingerprint, der, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)
