package model

import "time"

// IssuedCertificate is every certificate Sceau's CA signed: it is written
// in the same step as the signature, so no certificate exists without it.
type IssuedCertificate struct {
	Serial      string `gorm:"primaryKey"` // decimal, as step-ca names it
	Profile     string // litigant or server
	Subject     string
	Email       string
	NotBefore   time.Time
	NotAfter    time.Time
	Fingerprint string // SHA-256 of the DER, hex
	DER         []byte `gorm:"column:der"`
	CreatedAt   time.Time
}

// TableName is the issued-certificates table.
func (IssuedCertificate) TableName() string { return "ca_certificates" }

// Revocation records one revoked certificate (RFC 5280 reason code).
type Revocation struct {
	Serial        string `gorm:"primaryKey"`
	ReasonCode    int
	Reason        string
	RevokedAt     time.Time
	ExpiresAt     *time.Time
	ProvisionerID string
	TokenID       string
}

// TableName is the revocations table.
func (Revocation) TableName() string { return "ca_revocations" }

// UsedToken is a one-time issuance token already spent: its primary key
// makes a second use fail atomically, even across instances.
type UsedToken struct {
	ID        string `gorm:"primaryKey"`
	UsedAt    time.Time
	ExpiresAt time.Time
}

// TableName is the used-tokens table.
func (UsedToken) TableName() string { return "ca_used_tokens" }

// CRL is one generated certificate revocation list.
type CRL struct {
	Number     int64 `gorm:"primaryKey;autoIncrement:false"`
	ThisUpdate time.Time
	NextUpdate time.Time
	Duration   int64  // nanoseconds between ThisUpdate and NextUpdate
	DER        []byte `gorm:"column:der"`
}

// TableName is the CRL table.
func (CRL) TableName() string { return "ca_crls" }

// CertificateCounts summarises the CA's records.
type CertificateCounts struct {
	Issued, Valid, Revoked int64
}
