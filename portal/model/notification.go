package model

import "time"

// NotificationSettings are an account's personal choices about the mail
// Sceau sends it. State changes of its cases are always mailed.
type NotificationSettings struct {
	AccountID int64 `gorm:"primaryKey"`
	// DepositMail: a mail at each deposit the account may read (not its
	// own), "Notification à chaque dépôt".
	DepositMail bool
	// OtherParties: for magistrates, clerks and lawyers, deposit mails
	// also cover the folders of parties they do not represent ("nouveaux
	// fichiers d'autres parties"); without it those are left to the digest.
	OtherParties bool
	// DailyDigest: the morning mail listing the previous day's new
	// documents the account may read.
	DailyDigest bool
	UpdatedAt   time.Time
}

// TableName is the settings table.
func (NotificationSettings) TableName() string { return "notification_settings" }

// DefaultNotificationSettings are the settings of an account that never
// changed them: the digest only.
func DefaultNotificationSettings(accountID int64) NotificationSettings {
	return NotificationSettings{AccountID: accountID, DailyDigest: true}
}

// Kinds of notices.
const (
	NoticeDeposit   = "deposit"
	NoticeCaseState = "case_state"
	NoticeReminder  = "reminder"
	NoticeDigest    = "digest"
	// NoticeAccess: the participant was made inactive or active again.
	NoticeAccess = "access"
	// NoticeCertificate: the retrieval counter's notices (collection,
	// declared loss, expiry warnings).
	NoticeCertificate = "certificate"
)

// Notice is one mail sent to an account, kept for its in-app history.
type Notice struct {
	ID              int64 `gorm:"primaryKey"`
	AccountID       int64
	Kind            string
	CaseID          *int64
	DocumentID      *int64
	Summary         string // the mail's subject
	OutboxMessageID int64
	CreatedAt       time.Time
}

// TableName is the notices table.
func (Notice) TableName() string { return "notices" }

// NoticeEntry is a notice of an account's history with the state of its
// mail in the outbox.
type NoticeEntry struct {
	Notice
	ToAddress string
	QueuedAt  time.Time
	SentAt    *time.Time
	FailedAt  *time.Time
	Attempts  int
}

// DigestRun is the claim of one account's digest for one day, taken in
// the transaction that queues the digest (if the account has anything new:
// the mail and its notice are then in the outbox and notices tables).
type DigestRun struct {
	Day       string `gorm:"primaryKey"` // YYYY-MM-DD, Paris time
	AccountID int64  `gorm:"primaryKey"`
	ClaimedAt time.Time
}

// TableName is the digest claims table.
func (DigestRun) TableName() string { return "digest_runs" }

// NoticeDocument is a document as a notice describes it: where it is, who
// deposited it, what it is. Never its content.
type NoticeDocument struct {
	CaseID        int64
	CaseName      string
	RGNumber      string
	FolderID      int64
	FolderName    string
	DocumentID    int64
	Kind          string
	FileName      string
	Size          int64
	DepositorName string
	DepositorRole string
	DepositedAt   time.Time
}

// DepositNoticeRenderer renders the mail announcing a deposit to one
// recipient.
type DepositNoticeRenderer func(d *NoticeDocument, to Recipient) (*OutboxMessage, error)

// DigestRenderer renders one account's digest of the documents of day
// (YYYY-MM-DD).
type DigestRenderer func(day string, to Recipient, docs []NoticeDocument) (*OutboxMessage, error)
