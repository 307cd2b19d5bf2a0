package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// Notices. Every mail that tells an account about its cases (a deposit, a
// state change, a reminder, the daily digest) is queued in the outbox and
// recorded in the notices table in the same transaction as the action that
// causes it, so that the in-app history shows exactly what was queued and,
// through the outbox row, whether and when it was sent. Who is told about a
// document is decided by the same rights filters as the folder listings
// (folderQuery), inside the transaction.

// NoticeRenderers render the mails of notices. The store holds them
// because the deposit mails are queued inside CreateDocument's
// transaction; cmd/sceau sets them at start (SetNoticeRenderers). A nil
// Deposit sends no deposit mail; a nil Digest makes RunDigest fail.
type NoticeRenderers struct {
	Deposit model.DepositNoticeRenderer
	Digest  model.DigestRenderer
}

// SetNoticeRenderers installs the renderers; safe to call while serving.
func (s *Store) SetNoticeRenderers(r NoticeRenderers) { s.notices.Store(&r) }

func (s *Store) renderers() NoticeRenderers {
	if r := s.notices.Load(); r != nil {
		return *r
	}
	return NoticeRenderers{}
}

// NotificationSettings returns the account's settings (the defaults when
// it never changed them).
func (s *Store) NotificationSettings(ctx context.Context, accountID int64) (model.NotificationSettings, error) {
	var rows []model.NotificationSettings
	if err := s.gorm(ctx).Where("account_id = ?", accountID).Limit(1).Find(&rows).Error; err != nil {
		return model.NotificationSettings{}, err
	}
	if len(rows) == 0 {
		return model.DefaultNotificationSettings(accountID), nil
	}
	return rows[0], nil
}

// SaveNotificationSettings records the account's settings.
func (s *Store) SaveNotificationSettings(ctx context.Context, set model.NotificationSettings) error {
	if set.AccountID <= 0 {
		return ErrNotFound
	}
	set.UpdatedAt = now()
	return s.gorm(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "account_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"deposit_mail", "other_parties", "daily_digest", "updated_at"}),
	}).Create(&set).Error
}

// NoticeEntry is a notice of the history with the state of its mail.
type NoticeEntry = model.NoticeEntry

// Notices lists the account's notices, newest first: at most limit, with
// ids below before (0: from the newest), for paging.
func (s *Store) Notices(ctx context.Context, accountID, before int64, limit int) ([]NoticeEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := s.gorm(ctx).Table("notices n").
		Select(`n.*, o.to_address AS to_address, o.created_at AS queued_at, o.sent_at AS sent_at, o.failed_at AS failed_at, o.attempts AS attempts`).
		Joins("JOIN outbox_messages o ON o.id = n.outbox_message_id").
		Where("n.account_id = ?", accountID)
	if before > 0 {
		q = q.Where("n.id < ?", before)
	}
	var out []NoticeEntry
	err := q.Order("n.id DESC").Limit(limit).Scan(&out).Error
	return out, err
}

// recordNotice keeps the notice of a mail already queued (m.ID set).
func recordNotice(tx *gorm.DB, accountID int64, kind string, caseID, docID *int64, m *model.OutboxMessage) error {
	return tx.Create(&model.Notice{AccountID: accountID, Kind: kind, CaseID: caseID, DocumentID: docID,
		Summary: m.Subject, OutboxMessageID: m.ID, CreatedAt: m.CreatedAt}).Error
}

// enqueueCaseNotices queues mails rendered for participants of a case and
// keeps a notice for each one addressed to an account of an active
// participant (matched by address: the renderers address the
// participants' accounts).
func enqueueCaseNotices(tx *gorm.DB, caseID int64, docID *int64, kind string, msgs []*model.OutboxMessage) error {
	if err := enqueueMail(tx, msgs...); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	var accounts []struct {
		ID    int64
		Email string
	}
	if err := tx.Raw(`SELECT a.id AS id, a.email AS email FROM participants p JOIN accounts a ON a.id = p.account_id
		WHERE p.case_id = ? AND p.active = ? ORDER BY a.id`, caseID, true).Scan(&accounts).Error; err != nil {
		return err
	}
	cid := caseID
	for _, m := range msgs {
		for _, a := range accounts {
			if strings.EqualFold(strings.TrimSpace(a.Email), m.ToAddress) {
				if err := recordNotice(tx, a.ID, kind, &cid, docID, m); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// noticeDocuments describes documents for notices; where applies to
// documents d.
func noticeDocuments(tx *gorm.DB, where string, args ...any) ([]model.NoticeDocument, error) {
	var out []model.NoticeDocument
	err := tx.Raw(`SELECT d.case_id AS case_id, c.name AS case_name, c.rg_number AS rg_number,
			d.folder_id AS folder_id, f.name AS folder_name, d.id AS document_id, d.kind AS kind,
			d.file_name AS file_name, d.size AS size, d.deposited_at AS deposited_at,
			COALESCE(NULLIF(a.display_name, ''), p.display_name) AS depositor_name, p.role AS depositor_role
		FROM documents d
		JOIN cases c ON c.id = d.case_id
		JOIN folders f ON f.id = d.folder_id
		JOIN participants p ON p.id = d.depositor_participant_id
		LEFT JOIN accounts a ON a.id = d.depositor_account_id
		WHERE `+where+` ORDER BY d.case_id, f.position, d.folder_id, d.deposited_at, d.id`, args...).Scan(&out).Error
	return out, err
}

// withPartyIDs fills the PartyIDs of the lawyers among ps, in one query.
func withPartyIDs(tx *gorm.DB, ps []model.Participant) error {
	var ids []int64
	for _, p := range ps {
		if rights.Role(p.Role) == rights.RoleLawyer {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var links []model.ParticipantParty
	if err := tx.Where("participant_id IN ?", ids).Order("participant_id, party_id").Find(&links).Error; err != nil {
		return err
	}
	for i := range ps {
		for _, l := range links {
			if l.ParticipantID == ps[i].ID {
				ps[i].PartyIDs = append(ps[i].PartyIDs, l.PartyID)
			}
		}
	}
	return nil
}

// otherParty says whether a document in folder f is, for participant p,
// a document "of another party": a party's folder, p being a magistrate,
// a clerk, or a lawyer not representing that party.
func otherParty(p *model.Participant, f *model.Folder) bool {
	if f.PartyID == nil {
		return false
	}
	switch rights.Role(p.Role) {
	case rights.RoleMagistrate, rights.RoleClerk:
		return true
	case rights.RoleLawyer:
		return !slices.Contains(p.PartyIDs, *f.PartyID)
	}
	return false
}

// noticeDeposit queues, inside the deposit's transaction, the deposit
// mails: to every active participant with an account that asked for them
// (not the depositor) and may read the document's folder; documents of
// other parties only to those who asked for them too.
func (s *Store) noticeDeposit(tx *gorm.DB, d *model.Document) error {
	render := s.renderers().Deposit
	if render == nil {
		return nil
	}
	var ps []model.Participant
	if err := tx.Raw(`SELECT p.* FROM participants p
		JOIN accounts a ON a.id = p.account_id
		JOIN notification_settings ns ON ns.account_id = p.account_id
		WHERE p.case_id = ? AND p.active = ? AND p.account_id <> ? AND a.suspended_at IS NULL AND a.email <> '' AND ns.deposit_mail = ?
		ORDER BY p.id`, d.CaseID, true, d.DepositorAccountID, true).Scan(&ps).Error; err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	if err := withPartyIDs(tx, ps); err != nil {
		return err
	}
	var folder model.Folder
	if err := tx.Where("id = ? AND case_id = ?", d.FolderID, d.CaseID).First(&folder).Error; err != nil {
		return err
	}
	st, err := caseState(tx, d.CaseID)
	if err != nil {
		return err
	}
	var to []int
	for i := range ps {
		p := &ps[i]
		ok, err := folderAllows(tx, d.CaseID, d.FolderID, p, st, rights.ActionRead)
		if err != nil {
			return err
		}
		if ok {
			to = append(to, i)
		}
	}
	if len(to) == 0 {
		return nil
	}
	docs, err := noticeDocuments(tx, "d.id = ?", d.ID)
	if err != nil {
		return err
	}
	if len(docs) != 1 {
		return fmt.Errorf("store: deposit notice: document %d not found", d.ID)
	}
	var accounts []struct {
		ID           int64
		DisplayName  string
		Email        string
		OtherParties bool
	}
	ids := make([]int64, 0, len(to))
	for _, i := range to {
		ids = append(ids, *ps[i].AccountID)
	}
	if err := tx.Raw(`SELECT a.id AS id, a.display_name AS display_name, a.email AS email, ns.other_parties AS other_parties
		FROM accounts a JOIN notification_settings ns ON ns.account_id = a.id WHERE a.id IN ?`, ids).Scan(&accounts).Error; err != nil {
		return err
	}
	caseID, docID := d.CaseID, d.ID
	for _, i := range to {
		p := &ps[i]
		for _, a := range accounts {
			if a.ID != *p.AccountID || (otherParty(p, &folder) && !a.OtherParties) {
				continue
			}
			m, err := render(&docs[0], model.Recipient{Name: a.DisplayName, Email: a.Email})
			if err != nil {
				return err
			}
			if err := enqueueMail(tx, m); err != nil {
				return err
			}
			if err := recordNotice(tx, a.ID, model.NoticeDeposit, &caseID, &docID, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// DigestResult counts what a digest run did.
type DigestResult struct {
	Claimed int // accounts whose digest of the day this run claimed
	Queued  int // digests queued (claimed accounts with new documents)
}

// DefaultDigestBatch is the number of accounts claimed per transaction.
const DefaultDigestBatch = 200

// ErrNoDigestRenderer: RunDigest before SetNoticeRenderers.
var ErrNoDigestRenderer = errors.New("store: no digest renderer")

// RunDigest queues the digest of day (YYYY-MM-DD, a calendar day in loc)
// for every account that takes part, actively, in a case with documents
// deposited that day, and has the digest on: the documents of that day it
// may read now, its own deposits aside. Accounts are handled in batches,
// each one transaction that claims the accounts' digests of the day
// (digest_runs, whose primary key makes the claim atomic: of several
// instances running at once, one claims each account, the others skip it)
// and queues their mails. A crash or an error leaves the batches already
// committed done and the others untouched: running again sends the rest,
// nothing twice.
func (s *Store) RunDigest(ctx context.Context, day string, loc *time.Location, batch int) (DigestResult, error) {
	var res DigestResult
	render := s.renderers().Digest
	if render == nil {
		return res, ErrNoDigestRenderer
	}
	from, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return res, fmt.Errorf("store: digest day: %w", err)
	}
	from, to := from.UTC(), from.AddDate(0, 0, 1).UTC()
	if batch <= 0 {
		batch = DefaultDigestBatch
	}
	// The cases with documents that day, and the accounts to consider,
	// read once; each batch then claims its accounts (the claim, not this
	// list, decides who sends).
	var cases []int64
	if err := s.gorm(ctx).Raw(`SELECT DISTINCT case_id FROM documents WHERE deposited_at >= ? AND deposited_at < ?`,
		from, to).Scan(&cases).Error; err != nil {
		return res, err
	}
	if len(cases) == 0 {
		return res, nil
	}
	withDocs := make(map[int64]bool, len(cases))
	for _, c := range cases {
		withDocs[c] = true
	}
	var candidates []int64
	if err := s.gorm(ctx).Raw(`SELECT DISTINCT p.account_id FROM participants p
		JOIN accounts a ON a.id = p.account_id
		LEFT JOIN notification_settings ns ON ns.account_id = p.account_id
		WHERE p.active = ? AND a.suspended_at IS NULL AND COALESCE(ns.daily_digest, ?) = ?
		AND p.case_id IN (SELECT DISTINCT d.case_id FROM documents d WHERE d.deposited_at >= ? AND d.deposited_at < ?)
		AND NOT EXISTS (SELECT 1 FROM digest_runs r WHERE r.day = ? AND r.account_id = p.account_id)
		ORDER BY p.account_id`, true, true, true, from, to, day).Scan(&candidates).Error; err != nil {
		return res, err
	}
	for lo := 0; lo < len(candidates); lo += batch {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		accounts := candidates[lo:min(lo+batch, len(candidates))]
		var claimed, queued int
		err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
			var err error
			claimed, queued, err = digestBatch(tx, render, day, from, to, withDocs, accounts)
			return err
		})
		if err != nil {
			return res, err
		}
		res.Claimed += claimed
		res.Queued += queued
	}
	return res, nil
}

// DigestDayStarted reports whether any account's digest of day was
// claimed: some instance ran (or began) that day's digest.
func (s *Store) DigestDayStarted(ctx context.Context, day string) (bool, error) {
	var started bool
	err := s.gorm(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM digest_runs WHERE day = ?)`, day).Scan(&started).Error
	return started, err
}

// digestBatch claims the digests of the accounts and queues them, inside tx.
func digestBatch(tx *gorm.DB, render model.DigestRenderer, day string, from, to time.Time, withDocs map[int64]bool, accounts []int64) (claimedN, queued int, err error) {
	// The claim: rows another instance inserted first (committed, or
	// waited for on PostgreSQL) are skipped; RETURNING lists ours.
	at := now()
	values := make([]string, len(accounts))
	args := make([]any, 0, 3*len(accounts))
	for i, id := range accounts {
		values[i] = "(?, ?, ?)"
		args = append(args, day, id, at)
	}
	var claimed []int64
	if err := tx.Raw(`INSERT INTO digest_runs (day, account_id, claimed_at) VALUES `+strings.Join(values, ", ")+
		` ON CONFLICT (day, account_id) DO NOTHING RETURNING account_id`, args...).Scan(&claimed).Error; err != nil {
		return 0, 0, err
	}
	slices.Sort(claimed)
	if len(claimed) == 0 {
		return 0, 0, nil
	}
	// The active participations of the claimed accounts in the cases
	// with documents that day, and those cases' states.
	var all []model.Participant
	if err := tx.Raw(`SELECT p.* FROM participants p WHERE p.account_id IN ? AND p.active = ? ORDER BY p.account_id, p.case_id`,
		claimed, true).Scan(&all).Error; err != nil {
		return 0, 0, err
	}
	ps := slices.DeleteFunc(all, func(p model.Participant) bool { return !withDocs[p.CaseID] })
	if err := withPartyIDs(tx, ps); err != nil {
		return 0, 0, err
	}
	caseIDs := make([]int64, 0, len(ps))
	for _, p := range ps {
		caseIDs = append(caseIDs, p.CaseID)
	}
	slices.Sort(caseIDs)
	caseIDs = slices.Compact(caseIDs)
	states := map[int64]rights.CaseState{}
	docsByID := map[int64]model.NoticeDocument{}
	if len(caseIDs) > 0 {
		var cs []model.Case
		if err := tx.Select("id", "state").Where("id IN ?", caseIDs).Find(&cs).Error; err != nil {
			return 0, 0, err
		}
		for _, c := range cs {
			states[c.ID] = rights.CaseState(c.State)
		}
		docs, err := noticeDocuments(tx, "d.case_id IN ? AND d.deposited_at >= ? AND d.deposited_at < ?", caseIDs, from, to)
		if err != nil {
			return 0, 0, err
		}
		for _, d := range docs {
			docsByID[d.DocumentID] = d
		}
	}
	// What each account may read, by the rights filters in SQL: one
	// query per participation, sent in groups joined by UNION ALL.
	readable := map[int64][]int64{}
	const group = 50
	for lo := 0; lo < len(ps); lo += group {
		var parts []string
		var args []any
		for i := lo; i < min(lo+group, len(ps)); i++ {
			p := &ps[i]
			q := readableDocuments(tx.Session(&gorm.Session{NewDB: true}), p.CaseID, p, states[p.CaseID]).
				Select("id").Where("deposited_at >= ? AND deposited_at < ? AND depositor_account_id <> ?", from, to, *p.AccountID)
			parts = append(parts, "SELECT CAST(? AS BIGINT) AS account_id, r"+strconv.Itoa(i)+".id AS document_id FROM (?) AS r"+strconv.Itoa(i))
			args = append(args, *p.AccountID, q)
		}
		var rows []struct{ AccountID, DocumentID int64 }
		if err := tx.Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
			return 0, 0, err
		}
		for _, r := range rows {
			readable[r.AccountID] = append(readable[r.AccountID], r.DocumentID)
		}
	}
	var recipients []model.Account
	if err := tx.Select("id", "display_name", "email").Where("id IN ?", claimed).Order("id").Find(&recipients).Error; err != nil {
		return 0, 0, err
	}
	var msgs []*model.OutboxMessage
	var owners []int64
	for _, a := range recipients {
		ids := readable[a.ID]
		if len(ids) == 0 || strings.TrimSpace(a.Email) == "" {
			continue
		}
		docs := make([]model.NoticeDocument, 0, len(ids))
		for _, id := range ids {
			if d, ok := docsByID[id]; ok {
				docs = append(docs, d)
			}
		}
		slices.SortStableFunc(docs, func(x, y model.NoticeDocument) int {
			return cmp.Or(cmp.Compare(x.CaseID, y.CaseID), x.DepositedAt.Compare(y.DepositedAt), cmp.Compare(x.DocumentID, y.DocumentID))
		})
		m, err := render(day, model.Recipient{Name: a.DisplayName, Email: a.Email}, docs)
		if err != nil {
			return 0, 0, err
		}
		msgs, owners = append(msgs, m), append(owners, a.ID)
	}
	if len(msgs) == 0 {
		return len(claimed), 0, nil
	}
	// The mails and their notices, a few statements for the whole batch.
	if err := enqueueMailBatch(tx, msgs); err != nil {
		return 0, 0, err
	}
	notices := make([]model.Notice, len(msgs))
	for i, m := range msgs {
		notices[i] = model.Notice{AccountID: owners[i], Kind: model.NoticeDigest, Summary: m.Subject, OutboxMessageID: m.ID, CreatedAt: m.CreatedAt}
	}
	if err := tx.CreateInBatches(notices, 500).Error; err != nil {
		return 0, 0, err
	}
	return len(claimed), len(msgs), nil
}

// enqueueMailBatch is enqueueMail in multi-row INSERTs; the ids are
// filled.
func enqueueMailBatch(tx *gorm.DB, msgs []*model.OutboxMessage) error {
	at := time.Now().UTC()
	for _, m := range msgs {
		m.ID, m.CreatedAt, m.NextAttemptAt = 0, at, at
	}
	return tx.CreateInBatches(msgs, 200).Error
}

// DigestRuns lists the claims of a day (tests and the admin).
func (s *Store) DigestRuns(ctx context.Context, day string) ([]model.DigestRun, error) {
	var out []model.DigestRun
	err := s.gorm(ctx).Where("day = ?", day).Order("account_id").Find(&out).Error
	return out, err
}
