// Package model holds the plain records Sceau stores, with their gorm tags.
// It depends on nothing but the standard library and gorm's tags.
package model

import "errors"

// All lists one value of every stored model, so tests can check that the
// migrations give each field its column in every dialect.
func All() []any {
	return []any{&OutboxMessage{}, &IssuedCertificate{}, &Revocation{}, &UsedToken{}, &CRL{}, &Account{}, &AccountCertificate{}, &Login{}, &CertificateLink{}, &Case{}, &Party{}, &Participant{}, &ParticipantParty{}, &Folder{}, &Document{}, &DocumentOpening{}, &AuditEntry{}, &AuditHead{}, &NotificationSettings{}, &Notice{}, &DigestRun{}}
}

// ErrNotFound is returned when a record does not exist (or is not visible
// to the asker).
var ErrNotFound = errors.New("not found")
