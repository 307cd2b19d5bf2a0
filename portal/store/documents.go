package store

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// ErrAlreadyLocked: a document is locked once and for all.
var ErrAlreadyLocked = model.ErrAlreadyLocked

// Documents are append-only: this file has no delete path, and the
// migration adds triggers refusing DELETE. Reading goes through the
// readable folders (rights.FilterFor in the query, see folderQuery), so a
// document of a folder the participant may not read, or of another case,
// is ErrNotFound exactly like one that does not exist.

// forShare locks the rows read against concurrent updates on PostgreSQL
// (SQLite transactions are already exclusive: _txlock=immediate).
func (s *Store) forShare() string {
	if s.dialect == migrations.Postgres {
		return " FOR SHARE"
	}
	return ""
}

// now is the time of record, at the precision both databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CreateDocument records a deposit in the folder of the case by the
// account, in one transaction: it re-checks the deposit right with the
// same query as CanDeposit (rights matrix, case in_progress, participant
// active), so that a participant deactivated or a case paused while the
// file was uploading is refused here; inserts the row; then calls commit
// (the blob's Pending.Commit) last, just before the transaction commits.
// Any error, commit's included, rolls back: nothing is recorded, and the
// caller then aborts the blob. commit is not called when the deposit is
// refused.
//
// The store sets the case, folder, depositor and deposit time (the time of
// the receipt) and sanitises the file names (SafeFileName); the caller
// fills the kind, file fields, blob fields and the certificate used.
// Errors: model.ValidationErrors on invalid input; ErrNotFound for a case
// the account does not participate in or a folder it cannot see;
// ErrForbidden for an inactive participant or a folder it may read but not
// deposit in (party mode, paper party, role); ErrCaseClosed for a finished
// or archived case; ErrStateConflict for a case not (or no longer) in
// progress (en création, en pause).
func (s *Store) CreateDocument(ctx context.Context, caseID, folderID, accountID int64, d *model.Document, commit func() error) (*model.Document, error) {
	if commit == nil {
		return nil, errors.New("store: CreateDocument needs the blob's commit")
	}
	doc := *d
	var err error
	if doc.FileName, err = model.SafeFileName(doc.FileName); err != nil {
		return nil, err
	}
	if doc.CopyBlobKey != nil {
		if doc.CopyFileName, err = model.SafeFileName(doc.CopyFileName); err != nil {
			return nil, model.ValidationErrors{{Field: "copy_file_name", Message: err.(model.ValidationErrors)[0].Message}}
		}
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	err = s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		// Hold the participant and the case still until the commit: a
		// deactivation or a state change waits for this deposit, or this
		// deposit sees it.
		var ids []int64
		if err := tx.Raw(`SELECT id FROM participants WHERE case_id = ? AND account_id = ?`+s.forShare(), caseID, accountID).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNotFound
		}
		var cases []int64
		if err := tx.Raw(`SELECT id FROM cases WHERE id = ?`+s.forShare(), caseID).Scan(&cases).Error; err != nil {
			return err
		}
		p, err := participantOf(tx, caseID, accountID)
		if err != nil {
			return err
		}
		if !p.Active {
			return ErrForbidden
		}
		st, err := caseState(tx, caseID)
		if err != nil {
			return err
		}
		if readable, err := folderAllows(tx, caseID, folderID, p, st, rights.ActionRead); err != nil || !readable {
			return cmp.Or(err, ErrNotFound)
		}
		switch st {
		case rights.StateInProgress:
		case rights.StateFinished, rights.StateArchived:
			return ErrCaseClosed
		default:
			return ErrStateConflict
		}
		if allowed, err := folderAllows(tx, caseID, folderID, p, st, rights.ActionDeposit); err != nil || !allowed {
			return cmp.Or(err, ErrForbidden)
		}
		doc.ID = 0
		doc.CaseID, doc.FolderID = caseID, folderID
		doc.DepositorParticipantID, doc.DepositorAccountID = p.ID, accountID
		doc.DepositedAt = now()
		doc.LockedAt, doc.LockReason, doc.LockedBy = nil, "", nil
		if err := tx.Create(&doc).Error; err != nil {
			return err
		}
		if err := s.noticeDeposit(tx, &doc); err != nil { // notifications.go
			return err
		}
		// The blob is published before the entry is appended: appending
		// locks the chain's head, for every instance, until this
		// transaction ends, and publishing can take seconds (an S3 copy
		// of a large file). A trail that cannot be read publishes nothing.
		if err := s.auditReadable(tx); err != nil {
			return err
		}
		if err := commit(); err != nil {
			return err
		}
		return s.audit(tx, model.AuditDeposit, accountID, caseID, model.AuditObjects("folder", folderID, "document", doc.ID),
			depositDetail(&doc))
	})
	if err != nil {
		return nil, err
	}
	return &doc, nil
}

// readableDocuments selects the documents of the case in folders the
// participant may read now.
func readableDocuments(tx *gorm.DB, caseID int64, p *model.Participant, st rights.CaseState) *gorm.DB {
	return tx.Model(&model.Document{}).Where("case_id = ? AND folder_id IN (?)", caseID,
		folderQuery(tx.Session(&gorm.Session{NewDB: true}), caseID, p, st, rights.ActionRead).Select("f.id"))
}

// ReadableDocument is a document as listed to a participant.
type ReadableDocument struct {
	model.Document
	// FirstOpenedAt is when this participant first opened the document;
	// nil when it has not yet (the "nouveau" marker).
	FirstOpenedAt *time.Time
}

// New reports whether the participant has not opened the document yet.
func (d ReadableDocument) New() bool { return d.FirstOpenedAt == nil }

// DocumentsReadable lists the documents of the case the account may read,
// by folder then deposit order, the rights matrix applied inside the query
// (through the readable folders), each with whether this participant has
// opened it. Someone who is not a participant gets ErrNotFound; an
// inactive participant gets nothing.
func (s *Store) DocumentsReadable(ctx context.Context, caseID, accountID int64) ([]ReadableDocument, error) {
	var out []ReadableDocument
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, st, err := participantAndState(tx, caseID, accountID)
		if err != nil {
			return err
		}
		var docs []model.Document
		if err := readableDocuments(tx, caseID, p, st).Order("folder_id, deposited_at, id").Find(&docs).Error; err != nil {
			return err
		}
		var opens []model.DocumentOpening
		if err := tx.Where("participant_id = ? AND case_id = ?", p.ID, caseID).Find(&opens).Error; err != nil {
			return err
		}
		first := make(map[int64]time.Time, len(opens))
		for _, o := range opens {
			first[o.DocumentID] = o.FirstOpenedAt
		}
		out = make([]ReadableDocument, len(docs))
		for i, d := range docs {
			out[i].Document = d
			if t, ok := first[d.ID]; ok {
				out[i].FirstOpenedAt = &t
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readableDocument reads one document the participant may read now, or
// gives ErrNotFound.
func readableDocument(tx *gorm.DB, caseID, docID, accountID int64) (*model.Document, *model.Participant, error) {
	p, err := participantOf(tx, caseID, accountID)
	if err != nil {
		return nil, nil, err
	}
	st, err := caseState(tx, caseID)
	if err != nil {
		return nil, nil, err
	}
	var docs []model.Document
	if err := readableDocuments(tx, caseID, p, st).Where("id = ?", docID).Limit(1).Find(&docs).Error; err != nil {
		return nil, nil, err
	}
	if len(docs) == 0 {
		return nil, nil, ErrNotFound
	}
	return &docs[0], p, nil
}

// OpenDocument returns the document to a participant who may read it now
// (ErrNotFound otherwise, whatever the reason) and records the first time
// this participant opened it; later openings leave that date unchanged.
// Call it before serving the content.
// The download is recorded in the audit trail in the same transaction: if
// that fails, so does OpenDocument, and nothing may be served.
func (s *Store) OpenDocument(ctx context.Context, caseID, docID, accountID int64) (*model.Document, error) {
	docs, err := s.openDocuments(ctx, caseID, []int64{docID}, accountID, model.AuditDocumentDownload)
	if err != nil {
		return nil, err
	}
	return docs[0], nil
}

// OpenDocuments is OpenDocument for several documents served together (a
// ZIP archive), in the order asked: every one must be readable now, or the
// whole call gives ErrNotFound and records nothing. One audit entry
// (document.zip) names them all.
func (s *Store) OpenDocuments(ctx context.Context, caseID int64, docIDs []int64, accountID int64) ([]*model.Document, error) {
	return s.openDocuments(ctx, caseID, docIDs, accountID, model.AuditDocumentZip)
}

func (s *Store) openDocuments(ctx context.Context, caseID int64, docIDs []int64, accountID int64, action string) ([]*model.Document, error) {
	if len(docIDs) == 0 {
		return nil, ErrNotFound
	}
	var out []*model.Document
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, st, err := participantAndState(tx, caseID, accountID)
		if err != nil {
			return err
		}
		var docs []model.Document
		if err := readableDocuments(tx, caseID, p, st).Where("id IN ?", docIDs).Find(&docs).Error; err != nil {
			return err
		}
		byID := make(map[int64]*model.Document, len(docs))
		for i := range docs {
			byID[docs[i].ID] = &docs[i]
		}
		at := now()
		var objects []any
		names := make([]string, 0, len(docIDs))
		for _, id := range docIDs {
			d, ok := byID[id]
			if !ok {
				return ErrNotFound
			}
			if err := tx.Exec(`INSERT INTO document_openings (document_id, participant_id, case_id, first_opened_at)
				VALUES (?, ?, ?, ?) ON CONFLICT (document_id, participant_id) DO NOTHING`,
				d.ID, p.ID, caseID, at).Error; err != nil {
				return err
			}
			out = append(out, d)
			objects = append(objects, "document", d.ID)
			names = append(names, d.FileName)
		}
		return s.audit(tx, action, accountID, caseID, model.AuditObjects(objects...), strings.Join(names, ", "))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LockDocument locks a document of the case, irreversibly, with a reason
// shown to all: only the active owning expert (rights.CanLock). A second
// lock gives ErrAlreadyLocked and keeps the first; an empty or invalid
// reason gives model.ValidationErrors (field lock_reason); another
// participant gets ErrForbidden; anyone else, or a document of another
// case, ErrNotFound.
func (s *Store) LockDocument(ctx context.Context, caseID, docID, actor int64, reason string) (*model.Document, error) {
	if err := model.ValidateLockReason(reason); err != nil {
		return nil, err
	}
	var out *model.Document
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.ownedCase(tx, caseID, actor)
		if err != nil {
			return err
		}
		var docs []model.Document
		if err := tx.Where("id = ? AND case_id = ?", docID, caseID).Limit(1).Find(&docs).Error; err != nil {
			return err
		}
		if len(docs) == 0 {
			return ErrNotFound
		}
		if !rights.CanLock(rights.Subject{Role: rights.RoleExpert, Active: true}, rights.CaseState(c.State)) {
			return ErrStateConflict
		}
		at := now()
		res := tx.Model(&model.Document{}).Where("id = ? AND case_id = ? AND locked_at IS NULL", docID, caseID).
			Updates(map[string]any{"locked_at": at, "lock_reason": reason, "locked_by": actor})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrAlreadyLocked
		}
		d := docs[0]
		d.LockedAt, d.LockReason, d.LockedBy = &at, reason, &actor
		if err := s.audit(tx, model.AuditDocumentLock, actor, caseID, model.AuditObjects("document", docID), d.FileName+" : "+reason); err != nil {
			return err
		}
		out = &d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Reader is a participant who may read a document, and when they first
// opened it (nil: not yet).
type Reader struct {
	Participant   model.Participant
	FirstOpenedAt *time.Time
}

// ContradictoireEntry is one document of the contradictoire view.
type ContradictoireEntry struct {
	Document model.Document
	// Readers are the active participants who may read the document now,
	// in participant order, the depositor and the expert included.
	Readers []Reader
}

// Contradictoire is the expert's view of who has opened each document of
// the case and who has not yet: for the active owner only (ErrForbidden
// for another participant, ErrNotFound for anyone else). Who may read is
// decided by the rights matrix for each participant (rights.CanRead), in
// the current state of the case. Five queries whatever the size of the
// case.
func (s *Store) Contradictoire(ctx context.Context, caseID, actor int64) ([]ContradictoireEntry, error) {
	var out []ContradictoireEntry
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		_, out, err = s.contradictoire(tx, caseID, actor)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// contradictoire computes the view inside tx, the owner check first.
func (s *Store) contradictoire(tx *gorm.DB, caseID, actor int64) (*model.Case, []ContradictoireEntry, error) {
	var out []ContradictoireEntry
	c, err := s.ownedCase(tx, caseID, actor)
	if err != nil {
		return nil, nil, err
	}
	err = func() error {
		st := rights.CaseState(c.State)
		var docs []model.Document
		if err := tx.Where("case_id = ?", caseID).Order("folder_id, deposited_at, id").Find(&docs).Error; err != nil {
			return err
		}
		var folders []model.Folder
		if err := tx.Where("case_id = ?", caseID).Find(&folders).Error; err != nil {
			return err
		}
		var parties []model.Party
		if err := tx.Where("case_id = ?", caseID).Find(&parties).Error; err != nil {
			return err
		}
		var ps []model.Participant
		if err := tx.Where("case_id = ? AND active = ?", caseID, true).Order("id").Find(&ps).Error; err != nil {
			return err
		}
		var links []model.ParticipantParty
		if err := tx.Raw(`SELECT pp.* FROM participant_parties pp JOIN participants p ON p.id = pp.participant_id
			WHERE p.case_id = ? ORDER BY pp.participant_id, pp.party_id`, caseID).Scan(&links).Error; err != nil {
			return err
		}
		var opens []model.DocumentOpening
		if err := tx.Where("case_id = ?", caseID).Find(&opens).Error; err != nil {
			return err
		}
		modes := map[int64]rights.DepositMode{}
		for _, pa := range parties {
			modes[pa.ID] = rights.DepositMode(pa.DepositMode)
		}
		rfolders := map[int64]rights.Folder{}
		for _, f := range folders {
			rf := rights.Folder{Kind: rights.FolderKind(f.Kind)}
			if f.PartyID != nil {
				rf.PartyID, rf.PartyMode = *f.PartyID, modes[*f.PartyID]
			}
			rfolders[f.ID] = rf
		}
		for i := range ps {
			for _, l := range links {
				if l.ParticipantID == ps[i].ID {
					ps[i].PartyIDs = append(ps[i].PartyIDs, l.PartyID)
				}
			}
		}
		type key struct{ doc, participant int64 }
		first := make(map[key]time.Time, len(opens))
		for _, o := range opens {
			first[key{o.DocumentID, o.ParticipantID}] = o.FirstOpenedAt
		}
		out = make([]ContradictoireEntry, len(docs))
		for i, d := range docs {
			out[i].Document = d
			for _, p := range ps {
				if !rights.CanRead(subjectOf(&p), rfolders[d.FolderID], st) {
					continue
				}
				r := Reader{Participant: p}
				if t, ok := first[key{d.ID, p.ID}]; ok {
					r.FirstOpenedAt = &t
				}
				out[i].Readers = append(out[i].Readers, r)
			}
		}
		return nil
	}()
	if err != nil {
		return nil, nil, err
	}
	return c, out, nil
}

// Reminder renders the reminder mails about a document to the
// participants who have not opened it yet.
type Reminder func(c *model.Case, d *model.Document, to []model.Recipient) ([]*model.OutboxMessage, error)

// RemindUnopened queues, in one transaction, a reminder about a document
// of the case to every active participant who may read it and has not
// opened it yet (the expert excepted), through the outbox; it returns how
// many were queued. Only the active owner (ErrForbidden for another
// participant, ErrNotFound for anyone else or a document of another
// case). Participants without an address are skipped.
func (s *Store) RemindUnopened(ctx context.Context, caseID, docID, actor int64, render Reminder) (int, error) {
	if render == nil {
		return 0, errors.New("store: RemindUnopened needs a renderer")
	}
	n := 0
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		c, entries, err := s.contradictoire(tx, caseID, actor)
		if err != nil {
			return err
		}
		var entry *ContradictoireEntry
		for i := range entries {
			if entries[i].Document.ID == docID {
				entry = &entries[i]
			}
		}
		if entry == nil {
			return ErrNotFound
		}
		var ids []int64
		for _, r := range entry.Readers {
			if r.FirstOpenedAt == nil && (r.Participant.AccountID == nil || *r.Participant.AccountID != actor) {
				ids = append(ids, r.Participant.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		var to []model.Recipient
		if err := tx.Raw(`SELECT COALESCE(a.display_name, p.display_name) AS name, COALESCE(a.email, p.email) AS email
			FROM participants p LEFT JOIN accounts a ON a.id = p.account_id
			WHERE p.case_id = ? AND p.active = ? AND p.id IN ? AND COALESCE(a.email, p.email) <> ''
			ORDER BY p.id`, caseID, true, ids).Scan(&to).Error; err != nil {
			return err
		}
		if len(to) == 0 {
			return nil
		}
		msgs, err := render(c, &entry.Document, to)
		if err != nil {
			return err
		}
		n = len(msgs)
		if err := s.audit(tx, model.AuditDocumentRemind, actor, caseID, model.AuditObjects("document", docID), strconv.Itoa(n)+" relance(s)"); err != nil {
			return err
		}
		return enqueueCaseNotices(tx, caseID, &docID, model.NoticeReminder, msgs)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Receipt returns what the receipt of a deposit shows, to any participant
// who may read the document now (ErrNotFound otherwise). The depositor is
// named as their account shows them (or as the expert entered them).
func (s *Store) Receipt(ctx context.Context, caseID, docID, accountID int64) (*model.Receipt, error) {
	var out *model.Receipt
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		d, _, err := readableDocument(tx, caseID, docID, accountID)
		if err != nil {
			return err
		}
		var rows []struct {
			CaseName        string `gorm:"column:case_name"`
			RGNumber        string `gorm:"column:rg_number"`
			FolderName      string `gorm:"column:folder_name"`
			Role            string `gorm:"column:role"`
			ParticipantName string `gorm:"column:participant_name"`
			AccountName     string `gorm:"column:account_name"`
		}
		if err := tx.Raw(`SELECT c.name AS case_name, c.rg_number AS rg_number, f.name AS folder_name,
				p.role AS role, p.display_name AS participant_name, COALESCE(a.display_name, '') AS account_name
			FROM documents d
			JOIN cases c ON c.id = d.case_id
			JOIN folders f ON f.id = d.folder_id
			JOIN participants p ON p.id = d.depositor_participant_id
			LEFT JOIN accounts a ON a.id = d.depositor_account_id
			WHERE d.id = ?`, d.ID).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return ErrNotFound
		}
		r := rows[0]
		name := r.AccountName
		if name == "" {
			name = r.ParticipantName
		}
		out = &model.Receipt{
			DocumentID: d.ID, CaseID: d.CaseID, CaseName: r.CaseName, RGNumber: r.RGNumber, FolderName: r.FolderName,
			Kind: d.Kind, FileName: d.FileName, ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256, PDFA: d.PDFA,
			CopyFileName: d.CopyFileName, CopySize: d.CopySize, CopySHA256: d.CopySHA256,
			DepositorName: name, DepositorRole: r.Role,
			CertificateIssuer: d.CertificateIssuer, CertificateSerial: d.CertificateSerial,
			DepositedAt: d.DepositedAt,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
