package model

import (
	"errors"
	"time"
)

// Order states.
const (
	OrderOpen      = "open"      // the link and code work
	OrderCollected = "collected" // every allowed download was used
	OrderReplaced  = "replaced"  // the expert re-issued: a newer order supersedes it
	OrderCancelled = "cancelled" // the expert revoked it
)

// CertificateOrder is a litigant certificate the expert ordered for a
// party member or an outside sapiteur. The person collects it at the
// retrieval counter with the emailed link and the collection code the
// expert gave them by another channel; only hashes of both are kept.
type CertificateOrder struct {
	ID               int64 `gorm:"primaryKey"`
	CaseID           int64
	ParticipantID    int64
	OrderedBy        int64 `gorm:"column:ordered_by"`
	Name, Email      string
	Phone            string
	ValidityDays     int
	DownloadsAllowed int
	DownloadsUsed    int
	TokenHash        string
	LinkExpiresAt    time.Time
	CodeSalt         string
	CodeHash         string
	// FormNonce makes the order form idempotent: a double-click or a
	// resubmitted form finds the order it already created.
	FormNonce      string
	FailedAttempts int
	LockedAt       *time.Time
	State          string
	// Claim and ClaimUntil reserve one download while a certificate is
	// being made, so two clicks or two tabs cannot make two.
	Claim         string
	ClaimUntil    *time.Time
	CreatedAt     time.Time
	CollectedAt   *time.Time
	CollectedFrom string
	ClosedAt      *time.Time
}

// TableName is the certificate orders table.
func (CertificateOrder) TableName() string { return "certificate_orders" }

// DownloadsLeft is how many certificates can still be collected.
func (o *CertificateOrder) DownloadsLeft() int { return o.DownloadsAllowed - o.DownloadsUsed }

// Collected reports whether every allowed download was used.
func (o *CertificateOrder) Collected() bool {
	return o.State == OrderCollected || o.State == OrderOpen && o.DownloadsLeft() == 0
}

// Usable reports whether the link still leads to a collection at now.
func (o *CertificateOrder) Usable(now time.Time) bool {
	return o.State == OrderOpen && now.Before(o.LinkExpiresAt) && o.DownloadsLeft() > 0
}

// CollectedCertificate is one certificate collected under an order.
type CollectedCertificate struct {
	ID             int64 `gorm:"primaryKey"`
	OrderID        int64
	CaseID         int64
	ParticipantID  int64
	AccountID      int64
	Serial         string
	Fingerprint    string
	NotAfter       time.Time
	Profile        string
	CollectedAt    time.Time
	CollectedFrom  string
	RevokeDue      *time.Time
	RevokeReason   int
	RevokedAt      *time.Time
	ExpiryWarnedAt *time.Time
}

// TableName is the collected certificates table.
func (CollectedCertificate) TableName() string { return "collected_certificates" }

// OrderStatus is what the participants page shows about a person's
// certificate: the latest order and the certificates collected under it.
type OrderStatus struct {
	Order        CertificateOrder
	Certificates []CollectedCertificate
}

// Errors of the retrieval counter, shared by the store and the portal.
var (
	// ErrOrderUnusable covers an unknown, expired, replaced or cancelled
	// link: one answer that reveals nothing more.
	ErrOrderUnusable = errors.New("collection link invalid or expired")
	// ErrOrderLocked: too many wrong codes; the expert must re-arm it.
	ErrOrderLocked = errors.New("collection locked after too many wrong codes")
	// ErrAlreadyCollected: every allowed download was used.
	ErrAlreadyCollected = errors.New("certificate already collected")
	// ErrCollectionBusy: another window is collecting right now.
	ErrCollectionBusy = errors.New("a collection is in progress")
	// ErrNotOrderable: the participant has an account of their own
	// (professional) or is not a party member or sapiteur.
	ErrNotOrderable = errors.New("no litigant certificate for this participant")
)

// Audit actions of the retrieval counter (with model.AuditCertificateOrder
// and model.AuditCertificateCollect).
const (
	AuditCodeAccepted      = "certificate.code_accepted" // the collection code was right
	AuditCodeRefused       = "certificate.code_refused"  // wrong code, locked order or address over its limit
	AuditCertificateRevoke = "certificate.revoke"        // the expert revoked a participant's certificates
	AuditOrderRearm        = "certificate.rearm"         // the expert unlocked an order
	AuditCertificateLost   = "certificate.lost"          // the holder declared it lost
	AuditCertificateCARev  = "certificate.revoked"       // the CA revoked it (worker)
	AuditCertificateExpiry = "certificate.expiry_notice" // expiry warnings queued
)

// ErrWrongCode is the one answer to a wrong code, a locked order or an
// address over its limit: it reveals nothing about which.
var ErrWrongCode = errors.New("collection code refused")

// LitigantDomain is the trust domain of accounts created at the counter
// (certificates of Sceau's own CA).
const LitigantDomain = "internal"

// OrderMail renders the collection email of an order, queued in the
// transaction that creates it.
type OrderMail func(o *CertificateOrder, c *Case, expert *Account) (*OutboxMessage, error)

// OrderView is an order with what the counter shows about it.
type OrderView struct {
	Order      CertificateOrder
	CaseName   string
	CaseState  string
	ExpertName string
	// CaseRef is the short reference written in the certificate: the RG
	// number and the jurisdiction.
	CaseRef string
}

// CodeLimits bound the guesses of a collection code.
type CodeLimits struct {
	PerOrder   int           // wrong codes before the order locks
	PerAddress int           // wrong codes per address within Window
	Window     time.Duration // of the per-address limit
}

// Collection is what completing a collection records.
type Collection struct {
	OrderID     int64
	Claim       string
	Certificate CollectedCertificate // serial, fingerprint, not after, profile, address
	Account     AccountCertificate   // fingerprint, issuer, serial, subject, not after
	At          time.Time
}

// CollectionMail renders the mails announcing a collection (to the
// expert and to the person), queued with it.
type CollectionMail func(o *CertificateOrder, expert, person *Account) ([]*OutboxMessage, error)

// LostMail renders the notice to the expert who ordered a certificate
// its holder declared lost.
type LostMail func(o *CertificateOrder, c *Case, expert, person *Account) (*OutboxMessage, error)

// ExpiryMail renders the expiry warnings of a certificate (to the person
// and to the expert).
type ExpiryMail func(c *CollectedCertificate, o *CertificateOrder, cs *Case, expert, person *Account) ([]*OutboxMessage, error)

// RevocationPolicy says which collected certificates are revoked without
// anyone asking.
type RevocationPolicy struct {
	OnRemoval bool // the participant was made inactive
	OnClose   bool // the case is finished or archived
}
