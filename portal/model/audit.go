package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Actions recorded in the audit trail.
const (
	AuditLogin               = "login"                // a new session with a certificate
	AuditGateRefusal         = "gate.refusal"         // a certificate refused at the gate
	AuditAccountRegister     = "account.register"     // a professional created their account
	AuditAccountSuspend      = "account.suspend"      // suspended from the command line
	AuditAccountReactivate   = "account.reactivate"   // suspension lifted
	AuditTermsAccept         = "terms.accept"         // terms of use accepted
	AuditCertLinkRequest     = "certificate_link.add" // a link to add a certificate was mailed
	AuditCertLinkUse         = "certificate.add"      // a certificate was added through a link
	AuditCertRemove          = "certificate.remove"   // a certificate was withdrawn
	AuditCaseCreate          = "case.create"
	AuditCaseEdit            = "case.edit"
	AuditCaseView            = "case.view"
	AuditCaseState           = "case.state"
	AuditJournalView         = "journal.view"
	AuditJournalExport       = "journal.export"
	AuditPartyAdd            = "party.add"
	AuditParticipantAdd      = "participant.add"
	AuditParticipantActive   = "participant.activate"
	AuditParticipantInactive = "participant.deactivate"
	AuditFolderAdd           = "folder.add"
	AuditDeposit             = "document.deposit"
	AuditDocumentView        = "document.view"     // the receipt page
	AuditDocumentDownload    = "document.download" // the file or its courtesy copy
	AuditDocumentZip         = "document.zip"      // several documents as one archive
	AuditDocumentLock        = "document.lock"
	AuditDocumentRemind      = "document.remind"
	AuditCertificateOrder    = "certificate.order"   // issue 7: the expert orders a litigant certificate
	AuditCertificateCollect  = "certificate.collect" // issue 7: collected at the counter
	AuditStorageVerify       = "storage.verify"      // a case's files re-read and checked (sceau storage verify)
)

// AuditEntry is one link of the audit trail: who (account, certificate,
// address) did what (action, case, objects, detail) and when. Entries are
// chained: Seq counts from 1 without gaps, PrevHash is the Hash of entry
// Seq-1 (GenesisHash for the first), and Hash covers every other field
// (see CanonicalBytes). Detail is a short French or technical note, never
// a token, code or password.
type AuditEntry struct {
	ID         int64 `gorm:"primaryKey"`
	Seq        int64
	At         time.Time
	Action     string
	AccountID  *int64
	CertIssuer string
	CertSerial string
	IP         string `gorm:"column:ip"`
	RequestID  string
	CaseID     *int64
	// Objects names the objects acted on, "kind:id" separated by spaces,
	// e.g. "folder:3 document:12".
	Objects  string
	Detail   string
	PrevHash string
	Hash     string
}

// TableName is the audit trail table.
func (AuditEntry) TableName() string { return "audit_entries" }

// AuditHead is the single row (ID 1) that holds the end of the chain: the
// last Seq and its Hash. Writers lock it for the length of their
// transaction, so the chain never forks nor skips a number.
type AuditHead struct {
	ID   int64 `gorm:"primaryKey"`
	Seq  int64
	Hash string
}

// TableName is the chain head table.
func (AuditHead) TableName() string { return "audit_head" }

// GenesisHash is the PrevHash of the first entry.
var GenesisHash = strings.Repeat("0", 64)

// auditTimeLayout is the time in the hash: UTC, microseconds (what both
// databases keep).
const auditTimeLayout = "2006-01-02T15:04:05.000000Z"

// CanonicalBytes is what Hash is the SHA-256 of: the string "sceau-audit-v1"
// then each field as a netstring ("<decimal byte length>:<bytes>,"), in
// this order: seq, at (UTC, RFC 3339 with exactly six fractional digits),
// action, account id (decimal, empty when none), certificate issuer,
// certificate serial, IP, request id, case id (decimal, empty when none),
// objects, detail, prev hash (64 lowercase hex digits). The length prefix
// makes the encoding unambiguous whatever the fields contain.
func (e *AuditEntry) CanonicalBytes() []byte {
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	fields := []string{
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(auditTimeLayout), e.Action, opt(e.AccountID),
		e.CertIssuer, e.CertSerial, e.IP, e.RequestID, opt(e.CaseID), e.Objects, e.Detail, e.PrevHash,
	}
	b := []byte("sceau-audit-v1")
	for _, f := range fields {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, ',')
	}
	return b
}

// ComputeHash returns the hex SHA-256 of CanonicalBytes.
func (e *AuditEntry) ComputeHash() string {
	sum := sha256.Sum256(e.CanonicalBytes())
	return hex.EncodeToString(sum[:])
}

// Actor is who acts in a request: the portal's middleware puts it in the
// request context (WithActor) and the store records it with every audit
// entry it writes for that request.
type Actor struct {
	AccountID  int64 // 0 before the account is known (gate, registration)
	CertIssuer string
	CertSerial string
	IP         string
	RequestID  string
}

type actorKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of the context, nil if none (the command
// line, background jobs).
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// AuditRow is an entry of a case's journal, with the name of its account.
type AuditRow struct {
	AuditEntry
	AccountName string
}

// JournalAccess is what a participant may do with a case's journal.
type JournalAccess struct {
	Read, Export bool
}

// AuditObjects formats "kind:id" pairs for AuditEntry.Objects, skipping
// zero ids.
func AuditObjects(pairs ...any) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		kind, _ := pairs[i].(string)
		var id int64
		switch v := pairs[i+1].(type) {
		case int64:
			id = v
		case *int64:
			if v != nil {
				id = *v
			}
		case int:
			id = int64(v)
		}
		if kind != "" && id != 0 {
			parts = append(parts, kind+":"+strconv.FormatInt(id, 10))
		}
	}
	return strings.Join(parts, " ")
}
