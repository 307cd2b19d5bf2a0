package model

import "time"

// OutboxMessage is one email waiting in (or gone from) the outbox. It is
// rendered before it is queued, so what was decided in a transaction is
// exactly what is sent, whatever later changes to the templates.
type OutboxMessage struct {
	ID            int64  `gorm:"primaryKey"`
	MessageID     string // RFC 5322 Message-ID, stable across retries
	CreatedAt     time.Time
	ToAddress     string
	ToName        string
	Subject       string
	TextBody      string
	HTMLBody      string `gorm:"column:html_body"`
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   *time.Time
	SentAt        *time.Time
	FailedAt      *time.Time
	LastError     string
}

// TableName is the outbox table.
func (OutboxMessage) TableName() string { return "outbox_messages" }
