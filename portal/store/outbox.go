package store

import (
	"context"
	"sort"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
)

// EnqueueMail queues rendered messages for the outbox worker. Actions that
// cause mail call enqueueMail inside their own transaction instead.
func (s *Store) EnqueueMail(ctx context.Context, msgs ...*model.OutboxMessage) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error { return enqueueMail(tx, msgs...) })
}

func enqueueMail(tx *gorm.DB, msgs ...*model.OutboxMessage) error {
	now := time.Now().UTC()
	for _, m := range msgs {
		m.ID = 0
		m.CreatedAt = now
		m.NextAttemptAt = now
		if err := tx.Create(m).Error; err != nil {
			return err
		}
	}
	return nil
}

// ClaimDueMail leases up to limit messages that are due, so that no other
// worker (in this or another instance) sends them while the lease lasts.
// One statement picks and leases them: on PostgreSQL the rows another
// worker is leasing at that moment are skipped (SKIP LOCKED) rather than
// waited for or lost, so concurrent workers each get a full batch of
// different messages; SQLite has one writer at a time.
func (s *Store) ClaimDueMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]model.OutboxMessage, error) {
	now = now.UTC()
	until := now.Add(lease)
	skip := ""
	if s.dialect == migrations.Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var claimed []model.OutboxMessage
	err := s.gorm(ctx).Raw(`UPDATE outbox_messages SET locked_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox_messages
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)
			ORDER BY next_attempt_at, id LIMIT ?`+skip+`)
		RETURNING *`, until, now, now, limit).Scan(&claimed).Error
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order: send the oldest first.
	sort.Slice(claimed, func(i, j int) bool {
		if !claimed[i].NextAttemptAt.Equal(claimed[j].NextAttemptAt) {
			return claimed[i].NextAttemptAt.Before(claimed[j].NextAttemptAt)
		}
		return claimed[i].ID < claimed[j].ID
	})
	return claimed, nil
}

// MarkMailSent records a delivery to the relay.
func (s *Store) MarkMailSent(ctx context.Context, id int64, at time.Time) error {
	return s.gorm(ctx).Model(&model.OutboxMessage{}).Where("id = ?", id).
		Updates(map[string]any{"sent_at": at.UTC(), "locked_until": nil, "last_error": ""}).Error
}

// MarkMailRetry releases the lease and schedules another attempt.
func (s *Store) MarkMailRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.gorm(ctx).Model(&model.OutboxMessage{}).Where("id = ?", id).
		Updates(map[string]any{"next_attempt_at": next.UTC(), "locked_until": nil, "last_error": reason}).Error
}

// MarkMailFailed gives up on a message the relay refused for good (for
// example an unknown recipient); it stays in the table for inspection.
func (s *Store) MarkMailFailed(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.gorm(ctx).Model(&model.OutboxMessage{}).Where("id = ?", id).
		Updates(map[string]any{"failed_at": at.UTC(), "locked_until": nil, "last_error": reason}).Error
}

// OutboxCounts is the state of the outbox, for metrics and status pages.
type OutboxCounts struct {
	Pending, Sent, Failed int64
}

// CountOutbox counts messages by state.
func (s *Store) CountOutbox(ctx context.Context) (OutboxCounts, error) {
	var c OutboxCounts
	db := s.gorm(ctx).Model(&model.OutboxMessage{})
	if err := db.Where("sent_at IS NULL AND failed_at IS NULL").Count(&c.Pending).Error; err != nil {
		return c, err
	}
	if err := s.gorm(ctx).Model(&model.OutboxMessage{}).Where("sent_at IS NOT NULL").Count(&c.Sent).Error; err != nil {
		return c, err
	}
	err := s.gorm(ctx).Model(&model.OutboxMessage{}).Where("failed_at IS NOT NULL").Count(&c.Failed).Error
	return c, err
}

// OutboxMessage reads one message (for tests and the admin).
func (s *Store) OutboxMessage(ctx context.Context, id int64) (*model.OutboxMessage, error) {
	var m model.OutboxMessage
	if err := s.gorm(ctx).First(&m, id).Error; err != nil {
		if err == gorm.ErrRecordNotFound {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &m, nil
}
