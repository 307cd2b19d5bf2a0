package model

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles an account may hold.
const (
	RoleMagistrate  = "magistrate"
	RoleClerk       = "clerk"
	RoleLawyer      = "lawyer"
	RoleExpert      = "expert"
	RolePartyMember = "party_member"
	RoleSapiteur    = "sapiteur"
)

// Account is a person who uses the portal, identified by one or more
// certificates. Professionals register themselves; litigants' accounts
// come from the expert's certificate order.
type Account struct {
	ID          int64 `gorm:"primaryKey"`
	Role        string
	Domain      string // trust domain of the certificate that registered it
	DisplayName string
	Email       string
	Phone       string
	// Court: magistrates and clerks (their court), experts (court of appeal).
	Court string
	// Lawyers.
	Bar  string
	CNBF string `gorm:"column:cnbf"`
	// Experts.
	Specialties  string
	NationalList bool

	TermsVersion    string
	TermsAcceptedAt *time.Time
	SuspendedAt     *time.Time
	SuspendedReason string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName is the accounts table.
func (Account) TableName() string { return "accounts" }

// Suspended reports whether the account may not sign in.
func (a *Account) Suspended() bool { return a.SuspendedAt != nil }

// FieldError says which form field is wrong and why, in French.
type FieldError struct {
	Field, Message string
}

// ValidationErrors lists every wrong field of a form.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	var b strings.Builder
	for i, e := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", e.Field, e.Message)
	}
	return b.String()
}

// For returns the message for a field ("" if it is fine).
func (v ValidationErrors) For(field string) string {
	for _, e := range v {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// Validate checks the fields a registration needs for the role.
func (a *Account) Validate() error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	text := func(field, value string, required bool, max int) {
		switch {
		case required && strings.TrimSpace(value) == "":
			add(field, "Ce champ est obligatoire.")
		case !utf8.ValidString(value) || strings.ContainsAny(value, "\x00\r\n"):
			add(field, "Ce champ contient des caractères non autorisés.")
		case utf8.RuneCountInString(value) > max:
			add(field, fmt.Sprintf("%d caractères au maximum.", max))
		}
	}
	text("display_name", a.DisplayName, true, 120)
	if _, err := mail.ParseAddress(a.Email); err != nil || strings.ContainsAny(a.Email, " <>") {
		add("email", "Adresse électronique invalide.")
	}
	text("phone", a.Phone, false, 30)
	switch a.Role {
	case RoleMagistrate, RoleClerk:
		text("court", a.Court, true, 120)
	case RoleLawyer:
		text("bar", a.Bar, true, 120)
		text("cnbf", a.CNBF, false, 20)
	case RoleExpert:
		text("court", a.Court, true, 120)
		text("specialties", a.Specialties, true, 500)
	case RolePartyMember, RoleSapiteur:
	default:
		add("role", "Rôle inconnu.")
	}
	if len(v) > 0 {
		return v
	}
	return nil
}

// AccountCertificate is one certificate an account signs in with.
type AccountCertificate struct {
	ID          int64 `gorm:"primaryKey"`
	AccountID   int64
	Fingerprint string // SHA-256 of the DER, hex; unique across accounts
	Issuer      string
	Serial      string
	Subject     string
	NotAfter    time.Time
	AddedAt     time.Time
	RemovedAt   *time.Time
	LastUsedAt  *time.Time
}

// TableName is the account certificates table.
func (AccountCertificate) TableName() string { return "account_certificates" }

// Login records which certificate was used to sign in, and from where.
type Login struct {
	ID          int64 `gorm:"primaryKey"`
	AccountID   int64
	Fingerprint string
	Issuer      string
	Serial      string
	RemoteAddr  string
	At          time.Time
}

// TableName is the logins table.
func (Login) TableName() string { return "logins" }

// Errors of the account flows, shared by the store and the portal.
var (
	// ErrLinkInvalid covers an unknown, expired or already used link: one
	// message that reveals nothing more.
	ErrLinkInvalid = errors.New("certificate link invalid, expired or used")
	// ErrCertificateTaken says the certificate already belongs to an account.
	ErrCertificateTaken = errors.New("certificate already registered")
	// ErrLastCertificate refuses to remove an account's only certificate.
	ErrLastCertificate = errors.New("the last certificate of an account cannot be removed")
)

// CertificateLink lets an account add a certificate: a link emailed to the
// account's address, valid 24 hours, single use, to be opened with the new
// certificate. Only the SHA-256 of its token is stored.
type CertificateLink struct {
	ID              int64 `gorm:"primaryKey"`
	AccountID       int64
	TokenHash       string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	UsedAt          *time.Time
	UsedFingerprint string
}

// TableName is the certificate links table.
func (CertificateLink) TableName() string { return "certificate_links" }
