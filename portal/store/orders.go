package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// CreateOrder records a litigant certificate order for a party member or
// an outside sapiteur of a case the actor owns (and that is not finished),
// with its collection email. Ordering again replaces the participant's
// earlier orders (re-issue): their links stop working and the
// certificates collected under them are marked for revocation.
//
// The form nonce makes it idempotent: a second submission of the same
// form returns the order it created (existing true) and queues nothing.
func (s *Store) CreateOrder(ctx context.Context, actor int64, o *model.CertificateOrder, render model.OrderMail) (order *model.CertificateOrder, existing bool, err error) {
	err = s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var prior []model.CertificateOrder
		if err := tx.Where("form_nonce = ?", o.FormNonce).Find(&prior).Error; err != nil {
			return err
		}
		if len(prior) == 1 {
			if prior[0].OrderedBy != actor || prior[0].CaseID != o.CaseID || prior[0].ParticipantID != o.ParticipantID {
				return ErrForbidden
			}
			order, existing = &prior[0], true
			return nil
		}
		c, err := s.ownedOpenCase(tx, o.CaseID, actor)
		if err != nil {
			return err
		}
		p, err := orderableParticipant(tx, o.CaseID, o.ParticipantID)
		if err != nil {
			return err
		}
		now := now()
		replaced := tx.Model(&model.CertificateOrder{}).Where("participant_id = ? AND state = ?", p.ID, model.OrderOpen).
			Updates(map[string]any{"state": model.OrderReplaced, "closed_at": now})
		if replaced.Error != nil {
			return replaced.Error
		}
		if err := markDue(tx, "participant_id = ?", []any{p.ID}, now, reasonSuperseded); err != nil {
			return err
		}
		o.ID, o.State, o.CreatedAt, o.OrderedBy = 0, model.OrderOpen, now, actor
		o.Email = strings.TrimSpace(o.Email)
		if err := tx.Create(o).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrStateConflict // the same form raced itself; the caller reads it back
			}
			return err
		}
		var expert model.Account
		if err := tx.First(&expert, actor).Error; err != nil {
			return err
		}
		msg, err := render(o, c, &expert)
		if err != nil {
			return err
		}
		order = o
		if err := enqueueMail(tx, msg); err != nil {
			return err
		}
		detail := fmt.Sprintf("pour %s <%s>, validité %d j, %d retrait(s), lien jusqu’au %s", o.Name, o.Email, o.ValidityDays,
			o.DownloadsAllowed, o.LinkExpiresAt.UTC().Format(time.RFC3339))
		if replaced.RowsAffected > 0 {
			detail += ", remplace la commande précédente"
		}
		return s.audit(tx, model.AuditCertificateOrder, actor, o.CaseID, model.AuditObjects("participant", p.ID, "order", o.ID), detail)
	})
	if errors.Is(err, ErrStateConflict) {
		var again model.CertificateOrder
		if e := s.gorm(ctx).Where("form_nonce = ? AND ordered_by = ?", o.FormNonce, actor).First(&again).Error; e == nil {
			return &again, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return order, existing, nil
}

// RFC 5280 reason codes the store records for the revocation worker.
const (
	reasonKeyCompromise      = 1
	reasonAffiliationChanged = 3
	reasonSuperseded         = 4
	reasonCessation          = 5
)

// markDue marks the not yet revoked certificates matching where for
// revocation with reason.
func markDue(tx *gorm.DB, where string, args []any, at time.Time, reason int) error {
	return tx.Model(&model.CollectedCertificate{}).Where("revoked_at IS NULL AND revoke_due IS NULL AND "+where, args...).
		Updates(map[string]any{"revoke_due": at, "revoke_reason": reason}).Error
}

// orderableParticipant is an active party member or sapiteur of the case
// without a professional account of their own.
func orderableParticipant(tx *gorm.DB, caseID, participantID int64) (*model.Participant, error) {
	var p model.Participant
	if err := tx.Where("id = ? AND case_id = ?", participantID, caseID).First(&p).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if p.Role != string(rights.RolePartyMember) && p.Role != string(rights.RoleSapiteur) || !p.Active {
		return nil, model.ErrNotOrderable
	}
	if p.AccountID != nil {
		var a model.Account
		if err := tx.First(&a, *p.AccountID).Error; err != nil {
			return nil, err
		}
		if a.Domain != model.LitigantDomain {
			return nil, model.ErrNotOrderable
		}
	}
	return &p, nil
}

// OrderByToken finds the order of a collection link (any state: the
// counter tells an expired link from a collected one).
func (s *Store) OrderByToken(ctx context.Context, tokenHash string) (*model.OrderView, error) {
	var v model.OrderView
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("token_hash = ?", tokenHash).First(&v.Order).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		var c model.Case
		if err := tx.First(&c, v.Order.CaseID).Error; err != nil {
			return err
		}
		var a model.Account
		if err := tx.First(&a, v.Order.OrderedBy).Error; err != nil {
			return err
		}
		v.CaseName, v.CaseState, v.ExpertName = c.Name, c.State, a.DisplayName
		v.CaseRef = "RG " + c.RGNumber + ", " + c.Jurisdiction
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// VerifyCode checks a collection code for the order of tokenHash, with
// match comparing it to the stored hash. A wrong code counts against the
// order (which locks at the limit) and against the address, in the same
// transaction that reads the counters, so parallel guesses cannot exceed
// them. The order must be usable at now.
func (s *Store) VerifyCode(ctx context.Context, tokenHash, address string, at time.Time, lim model.CodeLimits, match func(*model.CertificateOrder) bool) (*model.CertificateOrder, error) {
	var out *model.CertificateOrder
	wrong := false
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		refuse := func(o *model.CertificateOrder, why string) error {
			wrong = true
			return s.audit(tx, model.AuditCodeRefused, 0, o.CaseID, model.AuditObjects("participant", o.ParticipantID, "order", o.ID), why)
		}
		var os []model.CertificateOrder
		if err := tx.Raw("SELECT * FROM certificate_orders WHERE token_hash = ?"+s.forUpdate(), tokenHash).Scan(&os).Error; err != nil {
			return err
		}
		if len(os) != 1 {
			return model.ErrOrderUnusable
		}
		o := &os[0]
		switch {
		case o.Collected():
			return model.ErrAlreadyCollected
		case !o.Usable(at):
			return model.ErrOrderUnusable
		case o.LockedAt != nil:
			return refuse(o, "commande bloquée")
		}
		var n int64
		if err := tx.Model(&struct{}{}).Table("counter_failures").Where("address = ? AND at > ?", address, at.Add(-lim.Window).UTC()).Count(&n).Error; err != nil {
			return err
		}
		if n >= int64(lim.PerAddress) {
			return refuse(o, "trop d’essais depuis cette adresse")
		}
		if match(o) {
			out = o
			return s.audit(tx, model.AuditCodeAccepted, 0, o.CaseID, model.AuditObjects("participant", o.ParticipantID, "order", o.ID), "")
		}
		upd := map[string]any{"failed_attempts": gorm.Expr("failed_attempts + 1")}
		why := fmt.Sprintf("code erroné (%d/%d)", o.FailedAttempts+1, lim.PerOrder)
		if o.FailedAttempts+1 >= lim.PerOrder {
			upd["locked_at"] = at.UTC()
			why += ", commande bloquée"
		}
		if err := tx.Model(&model.CertificateOrder{}).Where("id = ?", o.ID).Updates(upd).Error; err != nil {
			return err
		}
		if err := tx.Exec("INSERT INTO counter_failures (address, at) VALUES (?, ?)", address, at.UTC()).Error; err != nil {
			return err
		}
		return refuse(o, why)
	})
	if err != nil {
		return nil, err
	}
	if wrong {
		return nil, model.ErrWrongCode
	}
	return out, nil
}

// PurgeCounterFailures forgets the wrong codes recorded before before:
// past the per-address window they count for nothing, and the table
// would otherwise grow with every guess.
func (s *Store) PurgeCounterFailures(ctx context.Context, before time.Time) (int64, error) {
	res := s.gorm(ctx).Exec("DELETE FROM counter_failures WHERE at < ?", before.UTC())
	return res.RowsAffected, res.Error
}

// ClaimCollection reserves one download of the order for claim until
// until. Of two windows collecting at once, one gets the claim and the
// other ErrCollectionBusy (then ErrAlreadyCollected once the first is done).
func (s *Store) ClaimCollection(ctx context.Context, orderID int64, claim string, at, until time.Time) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&model.CertificateOrder{}).
			Where("id = ? AND state = ? AND link_expires_at > ? AND downloads_used < downloads_allowed AND locked_at IS NULL AND (claim_until IS NULL OR claim_until < ?)",
				orderID, model.OrderOpen, at.UTC(), at.UTC()).
			Updates(map[string]any{"claim": claim, "claim_until": until.UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			return nil
		}
		var o model.CertificateOrder
		if err := tx.First(&o, orderID).Error; err != nil {
			return model.ErrOrderUnusable
		}
		switch {
		case o.Collected():
			return model.ErrAlreadyCollected
		case o.State == model.OrderOpen && o.ClaimUntil != nil && o.ClaimUntil.After(at) && o.LockedAt == nil && at.Before(o.LinkExpiresAt):
			return model.ErrCollectionBusy
		}
		return model.ErrOrderUnusable
	})
}

// ReleaseCollection gives a claimed download back (the certificate could
// not be made): the person can try again.
func (s *Store) ReleaseCollection(ctx context.Context, orderID int64, claim string) error {
	return s.gorm(ctx).Model(&model.CertificateOrder{}).Where("id = ? AND claim = ?", orderID, claim).
		Updates(map[string]any{"claim": "", "claim_until": nil}).Error
}

// CompleteCollection records a certificate made under a claim: one
// download used, the person's account (created at the first collection,
// or the litigant account that already has this address) with the
// certificate to sign in with, the participant linked to that account,
// and the notices. It fails with ErrCollectionBusy when the claim was
// lost (expired and taken by another window): the caller then revokes
// the certificate it made, which nobody has received.
func (s *Store) CompleteCollection(ctx context.Context, col *model.Collection, render model.CollectionMail) (*model.Account, error) {
	var acc model.Account
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var os []model.CertificateOrder
		if err := tx.Raw("SELECT * FROM certificate_orders WHERE id = ? AND claim = ? AND state = ?"+s.forUpdate(),
			col.OrderID, col.Claim, model.OrderOpen).Scan(&os).Error; err != nil {
			return err
		}
		if len(os) != 1 || os[0].DownloadsLeft() < 1 {
			return model.ErrCollectionBusy
		}
		o := &os[0]
		var p model.Participant
		if err := tx.First(&p, o.ParticipantID).Error; err != nil {
			return err
		}
		if !p.Active {
			return model.ErrOrderUnusable
		}
		at := col.At.UTC()
		if err := s.litigantAccount(tx, o, &p, &acc, at); err != nil {
			return err
		}
		upd := map[string]any{"downloads_used": gorm.Expr("downloads_used + 1"), "claim": "", "claim_until": nil,
			"collected_at": at, "collected_from": col.Certificate.CollectedFrom}
		if o.DownloadsLeft() == 1 {
			upd["state"], upd["closed_at"] = model.OrderCollected, at
		}
		if err := tx.Model(&model.CertificateOrder{}).Where("id = ?", o.ID).Updates(upd).Error; err != nil {
			return err
		}
		ac := col.Account
		ac.ID, ac.AccountID, ac.AddedAt = 0, acc.ID, at
		if err := tx.Create(&ac).Error; err != nil {
			return err
		}
		cc := col.Certificate
		cc.ID, cc.OrderID, cc.CaseID, cc.ParticipantID, cc.AccountID, cc.CollectedAt = 0, o.ID, o.CaseID, p.ID, acc.ID, at
		if err := tx.Create(&cc).Error; err != nil {
			return err
		}
		var expert model.Account
		if err := tx.First(&expert, o.OrderedBy).Error; err != nil {
			return err
		}
		msgs, err := render(o, &expert, &acc)
		if err != nil {
			return err
		}
		if err := enqueueCaseNotices(tx, o.CaseID, nil, model.NoticeCertificate, msgs); err != nil {
			return err
		}
		return s.audit(tx, model.AuditCertificateCollect, acc.ID, o.CaseID, model.AuditObjects("participant", p.ID, "order", o.ID),
			fmt.Sprintf("certificat n° %s, profil %s, retiré depuis %s", cc.Serial, cc.Profile, cc.CollectedFrom))
	})
	if err != nil {
		return nil, err
	}
	return &acc, nil
}

// litigantAccount finds or creates the account of the person collecting
// and links the participant to it. A person already known under the same
// address (another case) keeps one account.
func (s *Store) litigantAccount(tx *gorm.DB, o *model.CertificateOrder, p *model.Participant, acc *model.Account, at time.Time) error {
	if p.AccountID != nil {
		return tx.First(acc, *p.AccountID).Error
	}
	var found []model.Account
	if err := tx.Where("domain = ? AND lower(email) = lower(?) AND role IN ?", model.LitigantDomain, o.Email,
		[]string{model.RolePartyMember, model.RoleSapiteur}).Order("id").Limit(1).Find(&found).Error; err != nil {
		return err
	}
	if len(found) == 1 {
		*acc = found[0]
	} else {
		role := model.RolePartyMember
		if p.Role == string(rights.RoleSapiteur) {
			role = model.RoleSapiteur
		}
		*acc = model.Account{Role: role, Domain: model.LitigantDomain, DisplayName: o.Name, Email: o.Email, Phone: o.Phone, CreatedAt: at, UpdatedAt: at}
		if err := tx.Create(acc).Error; err != nil {
			return err
		}
	}
	return tx.Model(&model.Participant{}).Where("id = ? AND account_id IS NULL", p.ID).Update("account_id", acc.ID).Error
}

// OrderStatuses returns, for the case owner, each participant's latest
// order and the certificates collected under all their orders.
func (s *Store) OrderStatuses(ctx context.Context, caseID, actor int64) (map[int64]*model.OrderStatus, error) {
	out := map[int64]*model.OrderStatus{}
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := s.ownedCase(tx, caseID, actor); err != nil {
			return err
		}
		var os []model.CertificateOrder
		if err := tx.Where("case_id = ?", caseID).Order("id").Find(&os).Error; err != nil {
			return err
		}
		for _, o := range os {
			out[o.ParticipantID] = &model.OrderStatus{Order: o}
		}
		var cs []model.CollectedCertificate
		if err := tx.Where("case_id = ?", caseID).Order("id").Find(&cs).Error; err != nil {
			return err
		}
		for _, c := range cs {
			if st := out[c.ParticipantID]; st != nil {
				st.Certificates = append(st.Certificates, c)
			}
		}
		return nil
	})
	return out, err
}

// CancelOrders is the expert's "revoke": the participant's open orders
// stop working and every certificate collected for them is marked for
// revocation (privilegeWithdrawn). It returns how many certificates.
func (s *Store) CancelOrders(ctx context.Context, caseID, actor, participantID int64) (int64, error) {
	var n int64
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := s.ownedCase(tx, caseID, actor); err != nil {
			return err
		}
		at := now()
		if err := tx.Model(&model.CertificateOrder{}).Where("case_id = ? AND participant_id = ? AND state = ?", caseID, participantID, model.OrderOpen).
			Updates(map[string]any{"state": model.OrderCancelled, "closed_at": at}).Error; err != nil {
			return err
		}
		res := tx.Model(&model.CollectedCertificate{}).Where("case_id = ? AND participant_id = ? AND revoked_at IS NULL AND revoke_due IS NULL", caseID, participantID).
			Updates(map[string]any{"revoke_due": at, "revoke_reason": 9})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return s.audit(tx, model.AuditCertificateRevoke, actor, caseID, model.AuditObjects("participant", participantID),
			fmt.Sprintf("%d certificat(s) à révoquer, liens de retrait annulés", n))
	})
	return n, err
}

// RearmOrder unlocks the participant's open order after too many wrong
// codes (the expert checked with the person).
func (s *Store) RearmOrder(ctx context.Context, caseID, actor, participantID int64) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := s.ownedOpenCase(tx, caseID, actor); err != nil {
			return err
		}
		res := tx.Model(&model.CertificateOrder{}).Where("case_id = ? AND participant_id = ? AND state = ? AND locked_at IS NOT NULL", caseID, participantID, model.OrderOpen).
			Updates(map[string]any{"locked_at": nil, "failed_attempts": 0})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.audit(tx, model.AuditOrderRearm, actor, caseID, model.AuditObjects("participant", participantID), "")
	})
}

// DeclareLost marks every certificate collected by the account for
// revocation (keyCompromise) and tells the experts who ordered them.
// It returns how many certificates.
func (s *Store) DeclareLost(ctx context.Context, accountID int64, render model.LostMail) (int, error) {
	var n int
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var cs []model.CollectedCertificate
		if err := tx.Where("account_id = ? AND revoked_at IS NULL AND revoke_due IS NULL", accountID).Find(&cs).Error; err != nil {
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		if err := markDue(tx, "account_id = ?", []any{accountID}, now(), reasonKeyCompromise); err != nil {
			return err
		}
		var person model.Account
		if err := tx.First(&person, accountID).Error; err != nil {
			return err
		}
		seen := map[int64]bool{}
		var lost []model.CertificateOrder
		for _, c := range cs {
			if seen[c.OrderID] {
				continue
			}
			seen[c.OrderID] = true
			var o model.CertificateOrder
			var cs model.Case
			var expert model.Account
			if err := tx.First(&o, c.OrderID).Error; err != nil {
				return err
			}
			if err := tx.First(&cs, o.CaseID).Error; err != nil {
				return err
			}
			if err := tx.First(&expert, o.OrderedBy).Error; err != nil {
				return err
			}
			msg, err := render(&o, &cs, &expert, &person)
			if err != nil {
				return err
			}
			if err := enqueueCaseNotices(tx, o.CaseID, nil, model.NoticeCertificate, []*model.OutboxMessage{msg}); err != nil {
				return err
			}
			lost = append(lost, o)
		}
		n = len(cs)
		// The audit entries last: appending locks the chain's head until
		// the commit, so nothing else may follow them.
		for _, o := range lost {
			if err := s.audit(tx, model.AuditCertificateLost, accountID, o.CaseID, model.AuditObjects("participant", o.ParticipantID, "order", o.ID), "certificat déclaré perdu"); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// MarkAutomaticRevocations marks for revocation the certificates of
// inactive participants and of closed cases, per the policy.
func (s *Store) MarkAutomaticRevocations(ctx context.Context, pol model.RevocationPolicy) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		at := now()
		if pol.OnRemoval {
			if err := markDue(tx, "participant_id IN (SELECT id FROM participants WHERE active = ?)", []any{false}, at, reasonAffiliationChanged); err != nil {
				return err
			}
		}
		if pol.OnClose {
			return markDue(tx, "case_id IN (SELECT id FROM cases WHERE state IN ?)",
				[]any{[]string{string(rights.StateFinished), string(rights.StateArchived)}}, at, reasonCessation)
		}
		return nil
	})
}

// DueRevocations lists certificates marked for revocation and not yet
// revoked at the CA.
func (s *Store) DueRevocations(ctx context.Context, limit int) ([]model.CollectedCertificate, error) {
	var cs []model.CollectedCertificate
	err := s.gorm(ctx).Where("revoke_due IS NOT NULL AND revoked_at IS NULL").Order("revoke_due, id").Limit(limit).Find(&cs).Error
	return cs, err
}

// MarkRevoked records that the CA revoked a collected certificate.
func (s *Store) MarkRevoked(ctx context.Context, id int64, at time.Time) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var c model.CollectedCertificate
		if err := tx.First(&c, id).Error; err != nil {
			return err
		}
		res := tx.Model(&model.CollectedCertificate{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", at.UTC())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return s.audit(tx, model.AuditCertificateCARev, c.AccountID, c.CaseID, model.AuditObjects("participant", c.ParticipantID, "order", c.OrderID),
			fmt.Sprintf("certificat n° %s révoqué (motif RFC 5280 %d)", c.Serial, c.RevokeReason))
	})
}

// WarnExpiring queues the expiry warnings of certificates that expire
// before horizon, in open cases, held by active participants, once per
// certificate even with several instances running (the warned mark is
// set by a conditional UPDATE in the transaction that queues the mails).
func (s *Store) WarnExpiring(ctx context.Context, at, horizon time.Time, render model.ExpiryMail) (int, error) {
	var due []model.CollectedCertificate
	err := s.gorm(ctx).Raw(`SELECT cc.* FROM collected_certificates cc
		JOIN cases c ON c.id = cc.case_id JOIN participants p ON p.id = cc.participant_id
		WHERE cc.expiry_warned_at IS NULL AND cc.revoked_at IS NULL AND cc.revoke_due IS NULL
		AND cc.not_after > ? AND cc.not_after <= ? AND p.active = ? AND c.state IN ?
		ORDER BY cc.id LIMIT 500`, at.UTC(), horizon.UTC(), true,
		[]string{string(rights.StateCreation), string(rights.StateInProgress), string(rights.StatePaused)}).Scan(&due).Error
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range due {
		c := &due[i]
		err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&model.CollectedCertificate{}).Where("id = ? AND expiry_warned_at IS NULL", c.ID).Update("expiry_warned_at", at.UTC())
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			var o model.CertificateOrder
			var cs model.Case
			var expert, person model.Account
			for _, q := range []struct {
				dst any
				id  int64
			}{{&o, c.OrderID}, {&cs, c.CaseID}, {&person, c.AccountID}} {
				if err := tx.First(q.dst, q.id).Error; err != nil {
					return err
				}
			}
			if err := tx.First(&expert, o.OrderedBy).Error; err != nil {
				return err
			}
			msgs, err := render(c, &o, &cs, &expert, &person)
			if err != nil {
				return err
			}
			if err := enqueueCaseNotices(tx, c.CaseID, nil, model.NoticeCertificate, msgs); err != nil {
				return err
			}
			if err := s.audit(tx, model.AuditCertificateExpiry, c.AccountID, c.CaseID, model.AuditObjects("participant", c.ParticipantID, "order", c.OrderID),
				"certificat n° "+c.Serial+" expire le "+c.NotAfter.UTC().Format("2006-01-02")); err != nil {
				return err
			}
			sent++
			return nil
		})
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}
