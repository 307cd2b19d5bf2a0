package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// setParticipantActive is SetParticipantActive inside the transaction tx:
// only the owner, on a case not archived, and never the owner's own row.
func (s *Store) setParticipantActive(tx *gorm.DB, caseID, actor, participantID int64, active bool) error {
	c, err := s.ownedCase(tx, caseID, actor)
	if err != nil {
		return err
	}
	if rights.CaseState(c.State) == rights.StateArchived {
		return ErrCaseClosed
	}
	res := tx.Model(&model.Participant{}).
		Where("id = ? AND case_id = ? AND role <> ?", participantID, c.ID, string(rights.RoleExpert)).
		Update("active", active)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := tx.Model(&model.Participant{}).Where("id = ? AND case_id = ?", participantID, c.ID).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrForbidden // the owner
		}
		return ErrNotFound
	}
	action := model.AuditParticipantInactive
	if active {
		action = model.AuditParticipantActive
	}
	return s.audit(tx, action, actor, c.ID, model.AuditObjects("participant", participantID), "")
}

// SetParticipantActiveAndNotify is SetParticipantActive that also tells
// the participant, when their access really changes: the mail notify
// renders is queued in the outbox in the same transaction as the change.
// A participant without an address is changed without a mail. (The mail
// is not kept in the notice history: the notices table admits only the
// kinds of migration 00010.)
func (s *Store) SetParticipantActiveAndNotify(ctx context.Context, caseID, actor, participantID int64, active bool, notify model.AccessNotifier) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		// Lock the case first (as every change of its participants
		// does), so that two changes of one participant are told once.
		c, err := s.ownedCase(tx, caseID, actor)
		if err != nil {
			return err
		}
		var before []struct {
			Active    bool
			Role      string
			AccountID *int64
			Name      string
			Email     string
		}
		if err := tx.Raw(`SELECT p.active AS active, p.role AS role, p.account_id AS account_id,
				COALESCE(a.display_name, p.display_name) AS name, COALESCE(a.email, p.email) AS email
			FROM participants p LEFT JOIN accounts a ON a.id = p.account_id
			WHERE p.id = ? AND p.case_id = ?`, participantID, caseID).Scan(&before).Error; err != nil {
			return err
		}
		if err := s.setParticipantActive(tx, caseID, actor, participantID, active); err != nil {
			return err
		}
		if notify == nil || len(before) == 0 || before[0].Active == active || strings.TrimSpace(before[0].Email) == "" {
			return nil
		}
		var expert model.Account
		if err := tx.Select("id, display_name, email").Where("id = ?", actor).First(&expert).Error; err != nil {
			return err
		}
		b := before[0]
		m, err := notify(&model.AccessChange{Case: c, To: model.Recipient{Name: b.Name, Email: strings.TrimSpace(b.Email)}, Active: active,
			ExpertName: expert.DisplayName, ExpertEmail: expert.Email, ParticipantRole: b.Role, ParticipantID: participantID})
		if err != nil || m == nil {
			return err
		}
		if err := enqueueMail(tx, m); err != nil {
			return err
		}
		if b.AccountID == nil {
			return nil
		}
		return recordNotice(tx, *b.AccountID, model.NoticeAccess, &caseID, nil, m)
	})
}
