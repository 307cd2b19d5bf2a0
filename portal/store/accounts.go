package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/model"
)

// Register creates an account with its first certificate, in one
// transaction. If the certificate is already registered (another browser
// was faster), nothing is created and the existing account is returned
// with created=false: one certificate, one account.
func (s *Store) Register(ctx context.Context, a *model.Account, c *model.AccountCertificate) (*model.Account, bool, error) {
	if err := a.Validate(); err != nil {
		return nil, false, err
	}
	now := time.Now().UTC()
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		a.ID, a.CreatedAt, a.UpdatedAt = 0, now, now
		if err := tx.Create(a).Error; err != nil {
			return err
		}
		c.ID, c.AccountID, c.AddedAt = 0, a.ID, now
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		return s.audit(tx, model.AuditAccountRegister, a.ID, 0, model.AuditObjects("account", a.ID), "rôle "+a.Role)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		existing, _, err := s.AccountByFingerprint(ctx, c.Fingerprint)
		return existing, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return a, true, nil
}

// AccountByFingerprint finds the account a (not removed) certificate
// belongs to; ErrNotFound if none.
func (s *Store) AccountByFingerprint(ctx context.Context, fingerprint string) (*model.Account, *model.AccountCertificate, error) {
	var c model.AccountCertificate
	err := s.gorm(ctx).Where("fingerprint = ? AND removed_at IS NULL", fingerprint).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	var a model.Account
	if err := s.gorm(ctx).First(&a, c.AccountID).Error; err != nil {
		return nil, nil, err
	}
	return &a, &c, nil
}

// RecordLogin notes which certificate signed in, from where.
func (s *Store) RecordLogin(ctx context.Context, l *model.Login) error {
	l.At = time.Now().UTC()
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(l).Error; err != nil {
			return err
		}
		if err := tx.Model(&model.AccountCertificate{}).Where("fingerprint = ?", l.Fingerprint).Update("last_used_at", l.At).Error; err != nil {
			return err
		}
		e := auditEntry(ctx, model.AuditLogin, l.AccountID, 0, model.AuditObjects("account", l.AccountID), "")
		e.CertIssuer, e.CertSerial = l.Issuer, l.Serial
		if e.IP == "" {
			e.IP = hostOnly(l.RemoteAddr)
		}
		return s.appendAudit(tx, e)
	})
}

// SetSuspended suspends (with a reason) or reactivates an account.
func (s *Store) SetSuspended(ctx context.Context, id int64, suspend bool, reason string) error {
	updates := map[string]any{"suspended_at": nil, "suspended_reason": "", "updated_at": time.Now().UTC()}
	if suspend {
		updates["suspended_at"], updates["suspended_reason"] = time.Now().UTC(), reason
	}
	action, detail := model.AuditAccountReactivate, ""
	if suspend {
		action, detail = model.AuditAccountSuspend, reason
	}
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&model.Account{}).Where("id = ?", id).Updates(updates)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		if res.Error != nil {
			return res.Error
		}
		return s.audit(tx, action, 0, 0, model.AuditObjects("account", id), detail)
	})
}

// AcceptTerms records the terms version an account accepted.
func (s *Store) AcceptTerms(ctx context.Context, id int64, version string) error {
	now := time.Now().UTC()
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&model.Account{}).Where("id = ?", id).
			Updates(map[string]any{"terms_version": version, "terms_accepted_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, model.AuditTermsAccept, id, 0, model.AuditObjects("account", id), "version "+version)
	})
}

// Accounts lists accounts, newest first, optionally of one role.
func (s *Store) Accounts(ctx context.Context, role string, limit, offset int) ([]model.Account, error) {
	q := s.gorm(ctx).Order("id DESC").Limit(limit).Offset(offset)
	if role != "" {
		q = q.Where("role = ?", role)
	}
	var out []model.Account
	return out, q.Find(&out).Error
}

// Account returns an account with its certificates and its last logins.
func (s *Store) Account(ctx context.Context, id int64) (*model.Account, []model.AccountCertificate, []model.Login, error) {
	var a model.Account
	if err := s.gorm(ctx).First(&a, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, nil, ErrNotFound
		}
		return nil, nil, nil, err
	}
	var certs []model.AccountCertificate
	if err := s.gorm(ctx).Where("account_id = ?", id).Order("added_at").Find(&certs).Error; err != nil {
		return nil, nil, nil, err
	}
	var logins []model.Login
	err := s.gorm(ctx).Where("account_id = ?", id).Order("at DESC").Limit(10).Find(&logins).Error
	return &a, certs, logins, err
}

// Errors of the account flows (defined in model for the portal's use).
var (
	ErrLinkInvalid      = model.ErrLinkInvalid
	ErrCertificateTaken = model.ErrCertificateTaken
	ErrLastCertificate  = model.ErrLastCertificate
)

// CreateCertificateLink stores a link (hashed token) and queues the mail
// that carries it, in one transaction.
func (s *Store) CreateCertificateLink(ctx context.Context, l *model.CertificateLink, mail *model.OutboxMessage) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		l.ID, l.CreatedAt = 0, time.Now().UTC()
		if err := tx.Create(l).Error; err != nil {
			return err
		}
		if err := enqueueMail(tx, mail); err != nil {
			return err
		}
		// Never the token (nor its hash): the link's id and expiry only.
		return s.audit(tx, model.AuditCertLinkRequest, l.AccountID, 0, model.AuditObjects("account", l.AccountID, "certificate_link", l.ID),
			"lien valable jusqu’au "+l.ExpiresAt.UTC().Format(time.RFC3339))
	})
}

// CertificateLinkAccount returns the account a valid (unused, unexpired)
// link belongs to, without using it.
func (s *Store) CertificateLinkAccount(ctx context.Context, tokenHash string, now time.Time) (*model.Account, error) {
	var l model.CertificateLink
	err := s.gorm(ctx).Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", tokenHash, now.UTC()).First(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, err
	}
	var a model.Account
	return &a, s.gorm(ctx).First(&a, l.AccountID).Error
}

// UseCertificateLink adds the certificate to the link's account and spends
// the link, both or neither. Two clicks: one succeeds, the other gets
// ErrLinkInvalid.
func (s *Store) UseCertificateLink(ctx context.Context, tokenHash string, c *model.AccountCertificate, now time.Time) (*model.Account, error) {
	var acc model.Account
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var l model.CertificateLink
		if err := tx.Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", tokenHash, now.UTC()).First(&l).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrLinkInvalid
			}
			return err
		}
		res := tx.Model(&model.CertificateLink{}).Where("id = ? AND used_at IS NULL", l.ID).
			Updates(map[string]any{"used_at": now.UTC(), "used_fingerprint": c.Fingerprint})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrLinkInvalid
		}
		c.ID, c.AccountID, c.AddedAt = 0, l.AccountID, now.UTC()
		if err := tx.Create(c).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrCertificateTaken
			}
			return err
		}
		if err := tx.First(&acc, l.AccountID).Error; err != nil {
			return err
		}
		e := auditEntry(ctx, model.AuditCertLinkUse, l.AccountID, 0, model.AuditObjects("account", l.AccountID, "certificate_link", l.ID, "certificate", c.ID), "")
		e.CertIssuer, e.CertSerial = c.Issuer, c.Serial
		return s.appendAudit(tx, e)
	})
	if err != nil {
		return nil, err
	}
	return &acc, nil
}

// CertificateByFingerprint finds a certificate record, removed or not.
func (s *Store) CertificateByFingerprint(ctx context.Context, fingerprint string) (*model.AccountCertificate, error) {
	var c model.AccountCertificate
	err := s.gorm(ctx).Where("fingerprint = ?", fingerprint).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &c, err
}

// AccountCertificates lists an account's certificates, oldest first.
func (s *Store) AccountCertificates(ctx context.Context, accountID int64) ([]model.AccountCertificate, error) {
	var out []model.AccountCertificate
	return out, s.gorm(ctx).Where("account_id = ?", accountID).Order("added_at, id").Find(&out).Error
}

// RemoveCertificate withdraws one of the account's certificates; it can no
// longer sign in. The record stays (logins refer to it).
func (s *Store) RemoveCertificate(ctx context.Context, accountID, certID int64, now time.Time) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var active int64
		if err := tx.Model(&model.AccountCertificate{}).Where("account_id = ? AND removed_at IS NULL", accountID).Count(&active).Error; err != nil {
			return err
		}
		res := tx.Model(&model.AccountCertificate{}).Where("id = ? AND account_id = ? AND removed_at IS NULL", certID, accountID).
			Update("removed_at", now.UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if active <= 1 {
			return ErrLastCertificate
		}
		var removed model.AccountCertificate
		if err := tx.First(&removed, certID).Error; err != nil {
			return err
		}
		return s.audit(tx, model.AuditCertRemove, accountID, 0, model.AuditObjects("account", accountID, "certificate", certID),
			"certificat retiré : numéro de série "+removed.Serial+", émetteur "+removed.Issuer)
	})
}

// AccountByEmail finds an active account by its address (case-insensitive),
// to add a professional to a case.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*model.Account, error) {
	var a model.Account
	err := s.gorm(ctx).Where("lower(email) = lower(?) AND suspended_at IS NULL", strings.TrimSpace(email)).Order("id").First(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &a, err
}
