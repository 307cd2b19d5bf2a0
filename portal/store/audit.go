package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// The audit trail. Every exported method that changes something appends
// its entry with appendAudit inside its own transaction, so the action and
// its record commit together or not at all: an audit write that fails
// fails the action. Who acts comes from the request context
// (model.ActorFrom: account, certificate, IP, request id, put there by
// the portal's middleware), so every caller, HTML pages or API, is
// recorded without doing anything; the account a method acts for (its
// actor argument) is recorded when the context does not name one.
//
// The chain: appendAudit increments the single row of audit_head with
// UPDATE ... RETURNING, which gives seq+1 and the previous hash and holds
// the row's lock until the commit (on PostgreSQL a second writer waits,
// then sees the committed row; SQLite transactions are immediate, one
// writer at a time), computes the entry's hash
// (model.AuditEntry.ComputeHash), inserts it and stores its hash in the
// head, all in the caller's transaction. Two instances on one PostgreSQL database therefore append
// one after the other: no fork, no gap, and a rolled-back action leaves no
// number behind. The head row is locked last in every transaction (call
// appendAudit after the action's own statements) and held only until the
// commit.

// auditDisabled turns appendAudit into a no-op: only the benchmark's
// baseline sets it (audit_export_test.go).
var auditDisabled bool

// maxAuditDetail bounds the detail of an entry, in characters.
const maxAuditDetail = 500

// auditEntry starts an entry for the action from the request's actor;
// accountID, when not zero, is the account the store method acts for and
// wins over the context's (which may not know it yet).
func auditEntry(ctx context.Context, action string, accountID, caseID int64, objects, detail string) *model.AuditEntry {
	e := &model.AuditEntry{Action: action, Objects: objects, Detail: detail}
	if a := model.ActorFrom(ctx); a != nil {
		e.CertIssuer, e.CertSerial, e.IP, e.RequestID = a.CertIssuer, a.CertSerial, a.IP, a.RequestID
		if accountID == 0 {
			accountID = a.AccountID
		}
	}
	if accountID != 0 {
		id := accountID
		e.AccountID = &id
	}
	if caseID != 0 {
		id := caseID
		e.CaseID = &id
	}
	return e
}

// audit appends an entry for the action to the chain inside tx, the actor
// taken from tx's context (see auditEntry).
func (s *Store) audit(tx *gorm.DB, action string, accountID, caseID int64, objects, detail string) error {
	return s.appendAudit(tx, auditEntry(tx.Statement.Context, action, accountID, caseID, objects, detail))
}

// auditReadable checks, without locking anything, that the chain's head
// can be read in tx: an action that must publish something before its
// entry is appended (a deposit's blob) checks this first.
func (s *Store) auditReadable(tx *gorm.DB) error {
	if auditDisabled {
		return nil
	}
	var seq int64
	if err := tx.Raw(`SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq).Error; err != nil {
		return fmt.Errorf("audit: reading the chain head: %w", err)
	}
	return nil
}

// appendAudit appends e to the chain inside the transaction tx: it sets
// e's Seq, At (if zero), PrevHash and Hash, inserts it and moves the head.
// Call it last in the transaction of the action it records, and return its
// error: the action must fail if its record does.
func (s *Store) appendAudit(tx *gorm.DB, e *model.AuditEntry) error {
	if auditDisabled {
		return nil
	}
	if e.Action == "" {
		return errors.New("audit: an entry needs an action")
	}
	e.Detail = cleanDetail(e.Detail)
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond) // as both databases keep it
	ctx, db := tx.Statement.Context, tx.Statement.ConnPool
	// Fast path: this instance usually knows the head (it wrote the last
	// entry). The head moves only if it still is what we think, checked
	// and locked by the same UPDATE; otherwise nothing is written and the
	// slow path reads the real head.
	if seq, hash, ok := s.auditHead.get(); ok {
		e.Seq, e.PrevHash = seq+1, hash
		e.Hash = e.ComputeHash()
		args := auditArgs(e)
		var res sql.Result
		var err error
		if s.dialect == migrations.Postgres {
			res, err = db.ExecContext(ctx, `WITH h AS (UPDATE audit_head SET seq = $14, hash = $13 WHERE id = 1 AND seq = $15 AND hash = $12 RETURNING 1)
				INSERT INTO audit_entries (`+auditColumns+`) SELECT $1::bigint, $2::timestamptz, $3, $4::bigint, $5, $6, $7, $8, $9::bigint, $10, $11, $12, $13 FROM h`,
				append(args, e.Seq, seq)...)
		} else {
			res, err = db.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ?`, e.Seq, e.Hash, seq, hash)
		}
		if err != nil {
			return fmt.Errorf("audit: appending %s: %w", e.Action, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			if s.dialect != migrations.Postgres {
				if _, err := db.ExecContext(ctx, `INSERT INTO audit_entries (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
					return fmt.Errorf("audit: appending %s: %w", e.Action, err)
				}
			}
			s.auditHead.set(e.Seq, e.Hash)
			return nil
		}
	}
	// Slow path: taking the next number locks the head row until the
	// commit (the UPDATE's row lock on PostgreSQL; SQLite's single writer)
	// and returns the previous hash.
	var heads []model.AuditHead
	if err := tx.Raw(`UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING id, seq, hash`).Scan(&heads).Error; err != nil {
		return fmt.Errorf("audit: taking the chain head: %w", err)
	}
	if len(heads) != 1 {
		return errors.New("audit: the chain head is missing")
	}
	e.ID, e.Seq, e.PrevHash = 0, heads[0].Seq, heads[0].Hash
	e.Hash = e.ComputeHash()
	args := auditArgs(e)
	var res sql.Result
	var err error
	if s.dialect == migrations.Postgres {
		res, err = db.ExecContext(ctx, `WITH e AS (INSERT INTO audit_entries (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq)
			UPDATE audit_head SET hash = $13 WHERE id = 1 AND seq = (SELECT seq FROM e)`, args...)
	} else {
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_entries (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			return fmt.Errorf("audit: appending %s: %w", e.Action, err)
		}
		res, err = db.ExecContext(ctx, `UPDATE audit_head SET hash = ? WHERE id = 1 AND seq = ?`, e.Hash, e.Seq)
	}
	if err != nil {
		return fmt.Errorf("audit: appending %s: %w", e.Action, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.New("audit: the chain head moved under a lock")
	}
	s.auditHead.set(e.Seq, e.Hash)
	return nil
}

// auditColumns are the columns appendAudit writes, in auditArgs' order.
const auditColumns = `seq, at, action, account_id, cert_issuer, cert_serial, ip, request_id, case_id, objects, detail, prev_hash, hash`

func auditArgs(e *model.AuditEntry) []any {
	return []any{e.Seq, e.At, e.Action, e.AccountID, e.CertIssuer, e.CertSerial, e.IP, e.RequestID, e.CaseID, e.Objects, e.Detail, e.PrevHash, e.Hash}
}

// auditHeadCache is the last head this instance wrote. It is only a
// guess: appendAudit checks it in the database before using it, so a
// stale value (another instance appended, or the transaction rolled back)
// costs one more statement, never a fork.
type auditHeadCache struct {
	mu   sync.Mutex
	seq  int64
	hash string
	ok   bool
}

func (c *auditHeadCache) get() (int64, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq, c.hash, c.ok
}

func (c *auditHeadCache) set(seq int64, hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq, c.hash, c.ok = seq, hash, true
}

// cleanDetail keeps a detail to one short line of printable text.
func cleanDetail(d string) string {
	d = strings.ToValidUTF8(d, "?")
	d = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, d)
	d = strings.TrimSpace(d)
	if utf8.RuneCountInString(d) > maxAuditDetail {
		d = string([]rune(d)[:maxAuditDetail-1]) + "…"
	}
	return d
}

// RecordAudit appends one entry in its own transaction: for what has no
// transaction of its own to share (a refusal at the gate, a page view).
// The actor comes from ctx; e's empty actor fields are filled from it. A
// read must not be served if this fails.
func (s *Store) RecordAudit(ctx context.Context, e *model.AuditEntry) error {
	base := auditEntry(ctx, e.Action, 0, 0, "", "")
	if e.AccountID == nil {
		e.AccountID = base.AccountID
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&e.CertIssuer, base.CertIssuer}, {&e.CertSerial, base.CertSerial}, {&e.IP, base.IP}, {&e.RequestID, base.RequestID},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error { return s.appendAudit(tx, e) })
}

// AuditRow is an entry of a case's journal, with the name of its account.
type AuditRow = model.AuditRow

// RecordCaseView records that the account viewed the case page (case.view)
// and says what it may do with the case's journal, in one transaction.
// ErrNotFound for anyone who is not an active participant.
func (s *Store) RecordCaseView(ctx context.Context, caseID, accountID int64) (model.JournalAccess, error) {
	var out model.JournalAccess
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := participantOf(tx, caseID, accountID)
		if err != nil {
			return err
		}
		if !p.Active {
			return ErrNotFound
		}
		sub := subjectOf(p)
		out.Read, out.Export = rights.CanReadJournal(sub, p.Supervising), rights.CanExportJournal(sub, p.Supervising)
		return s.audit(tx, model.AuditCaseView, accountID, caseID, "", "")
	})
	return out, err
}

// CaseAudit returns the audit trail of a case, oldest first, to an active
// participant the rights allow (rights.CanReadJournal; with export,
// rights.CanExportJournal), and records that it was read (journal.view or
// journal.export) in the same transaction. limit > 0 keeps only the most
// recent entries. A participant not allowed gets ErrForbidden; anyone
// else, ErrNotFound.
func (s *Store) CaseAudit(ctx context.Context, caseID, accountID int64, export bool, limit int) ([]AuditRow, error) {
	var out []AuditRow
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := participantOf(tx, caseID, accountID)
		if err != nil {
			return err
		}
		if !p.Active {
			return ErrNotFound
		}
		sub := subjectOf(p)
		allowed := rights.CanReadJournal(sub, p.Supervising)
		action := model.AuditJournalView
		if export {
			allowed, action = rights.CanExportJournal(sub, p.Supervising), model.AuditJournalExport
		}
		if !allowed {
			return ErrForbidden
		}
		q := tx.Table("audit_entries e").Select("e.*, COALESCE(a.display_name, '') AS account_name").
			Joins("LEFT JOIN accounts a ON a.id = e.account_id").Where("e.case_id = ?", caseID)
		if limit > 0 {
			q = q.Order("e.seq DESC").Limit(limit)
		} else {
			q = q.Order("e.seq")
		}
		if err := q.Scan(&out).Error; err != nil {
			return err
		}
		if limit > 0 {
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
		}
		return s.audit(tx, action, accountID, caseID, "", "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AuditBreak is the first place where the chain does not hold.
type AuditBreak struct {
	Seq    int64 // the entry's position in the chain
	ID     int64 // its row id, 0 when the entry is missing
	Reason string
}

func (b *AuditBreak) Error() string {
	if b.ID != 0 {
		return fmt.Sprintf("audit entry %d (row id %d): %s", b.Seq, b.ID, b.Reason)
	}
	return fmt.Sprintf("audit entry %d: %s", b.Seq, b.Reason)
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Entries  int64  // entries checked
	HeadSeq  int64  // the chain head: last seq
	HeadHash string //   and its hash
	Broken   *AuditBreak
}

// auditBatch is how many entries VerifyAudit reads at a time (a variable
// for the tests).
var auditBatch = 2000

// VerifyAudit checks the whole chain against its head: numbers from 1
// without gap, each entry's prev_hash equal to the previous entry's hash,
// each hash equal to the SHA-256 of its content, the last entry equal to
// the head. It reports the first broken entry (changed: its hash no longer
// matches; removed: a number is missing, or the head is ahead of the last
// entry; reordered or inserted: its prev_hash does not match). Entries
// appended while it runs (after the head it read) are left for next time.
// Memory stays flat whatever the length of the trail.
func (s *Store) VerifyAudit(ctx context.Context) (*AuditReport, error) {
	var heads []model.AuditHead
	if err := s.gorm(ctx).Raw(`SELECT id, seq, hash FROM audit_head WHERE id = 1`).Scan(&heads).Error; err != nil {
		return nil, err
	}
	rep := &AuditReport{}
	if len(heads) != 1 {
		rep.Broken = &AuditBreak{Reason: "the chain head (table audit_head) is missing"}
		return rep, nil
	}
	rep.HeadSeq, rep.HeadHash = heads[0].Seq, heads[0].Hash
	prev, want := model.GenesisHash, int64(1)
	for {
		var batch []model.AuditEntry
		if err := s.gorm(ctx).Where("seq >= ? AND seq <= ?", want, rep.HeadSeq).Order("seq").Limit(auditBatch).Find(&batch).Error; err != nil {
			return nil, err
		}
		for i := range batch {
			e := &batch[i]
			switch {
			case e.Seq != want:
				rep.Broken = &AuditBreak{Seq: want, Reason: fmt.Sprintf("missing: the chain jumps from entry %d to entry %d (removed)", want-1, e.Seq)}
			case e.ComputeHash() != e.Hash:
				rep.Broken = &AuditBreak{Seq: e.Seq, ID: e.ID, Reason: "its content does not match its hash (changed)"}
			case e.PrevHash != prev:
				rep.Broken = &AuditBreak{Seq: e.Seq, ID: e.ID, Reason: fmt.Sprintf("its previous hash does not match entry %d (an entry was removed, inserted or reordered before it)", e.Seq-1)}
			}
			if rep.Broken != nil {
				return rep, nil
			}
			rep.Entries++
			prev, want = e.Hash, want+1
		}
		if len(batch) < auditBatch {
			break
		}
	}
	switch {
	case want-1 < rep.HeadSeq:
		rep.Broken = &AuditBreak{Seq: want, Reason: fmt.Sprintf("missing: the chain head is entry %d but the trail ends at entry %d (removed)", rep.HeadSeq, want-1)}
	case prev != rep.HeadHash:
		rep.Broken = &AuditBreak{Seq: rep.HeadSeq, Reason: "the chain head's hash does not match the last entry (changed)"}
	}
	return rep, nil
}

// hostOnly is the IP of a "host:port" remote address.
func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// participantDetail describes an added participant for the trail: role,
// and the name given by the expert for someone without an account (no
// email or phone).
func participantDetail(p *model.Participant) string {
	d := "rôle " + p.Role
	if p.Supervising {
		d += " (contrôle de l’expertise)"
	}
	if p.AccountID == nil && p.DisplayName != "" {
		d += " : " + p.DisplayName
	}
	return d
}

// depositDetail describes a deposit for the trail: kind, file name, size
// and SHA-256 (and the courtesy copy's).
func depositDetail(d *model.Document) string {
	out := d.Kind + " « " + d.FileName + " », " + strconv.FormatInt(d.Size, 10) + " octets, SHA-256 " + d.SHA256
	if d.CopyBlobKey != nil {
		out += " ; copie « " + d.CopyFileName + " », SHA-256 " + d.CopySHA256
	}
	return out
}
