package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// Errors of the case spaces (see package model).
var (
	ErrForbidden     = model.ErrForbidden
	ErrStateConflict = model.ErrStateConflict
	ErrCaseClosed    = model.ErrCaseClosed
)

// Who may do what in a case is decided by package rights. Every method
// below that takes an account id ("actor") resolves that account's
// participant row of the case inside its transaction; someone who is not a
// participant gets ErrNotFound, so that the existence of a case is never
// revealed to outsiders. The folder listings and the deposit check build
// their WHERE from rights.FilterFor: a caller cannot get a folder the
// matrix does not grant.

// defaultTree is the folder tree of a new case.
var defaultTree = []struct {
	kind rights.FolderKind
	name string
}{
	{rights.KindDesignation, "Désignation"},
	{rights.KindConvocations, "Convocations"},
	{rights.KindNotes, "Notes aux parties"},
	{rights.KindPreReport, "Pré-rapport"},
	{rights.KindRegistryOutbound, "Communication vers le greffe"},
	{rights.KindFinalReport, "Rapport définitif"},
	{rights.KindMagistrate, "Magistrat"},
}

// Positions: the expert's folders first, then the parties', the registry's
// and the magistrate's, as in the tree shown to users.
func treePosition(k rights.FolderKind) int {
	return (slices.Index(rights.FolderKinds(), k) + 1) * 10
}

// CreateCase creates a case owned by the expert account owner, in state
// creation, with the owner as its participant of role expert and the
// default folder tree, in one transaction. An empty name is derived from
// the case's fields (model.Case.DefaultName). Invalid input returns
// model.ValidationErrors; an owner that is not an active expert account,
// ErrForbidden.
func (s *Store) CreateCase(ctx context.Context, owner *model.Account, c *model.Case) (*model.Case, error) {
	if owner == nil || owner.ID <= 0 {
		return nil, ErrForbidden
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Name) == "" {
		c.Name = c.DefaultName()
	}
	c.Name = strings.TrimSpace(c.Name)
	now := time.Now().UTC()
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		// The owner is checked in the database, not trusted from the caller.
		var n int64
		if err := tx.Model(&model.Account{}).
			Where("id = ? AND role = ? AND suspended_at IS NULL", owner.ID, model.RoleExpert).
			Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrForbidden
		}
		c.ID, c.State, c.OwnerID, c.CreatedAt, c.UpdatedAt = 0, string(rights.StateCreation), owner.ID, now, now
		c.OrdonnanceDate = c.OrdonnanceDate.UTC()
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		if err := setJurisdictionKey(tx, c); err != nil {
			return err
		}
		ownerID := owner.ID
		p := &model.Participant{CaseID: c.ID, AccountID: &ownerID, Role: string(rights.RoleExpert), Active: true, AddedAt: now}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		folders := make([]model.Folder, 0, len(defaultTree))
		for _, f := range defaultTree {
			folders = append(folders, model.Folder{CaseID: c.ID, Kind: string(f.kind), Name: f.name, Position: treePosition(f.kind), CreatedAt: now})
		}
		if err := tx.Create(&folders).Error; err != nil {
			return err
		}
		return s.audit(tx, model.AuditCaseCreate, owner.ID, c.ID, model.AuditObjects("case", c.ID), "RG "+c.RGNumber+" : "+c.Name)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// forUpdate locks the rows read on PostgreSQL (SQLite transactions are
// already exclusive: _txlock=immediate).
func (s *Store) forUpdate() string {
	if s.dialect == migrations.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ownedCase reads the case caseID if actor is its owner and an active
// participant of role expert of it, checked in the query (and locks the
// row on PostgreSQL). An actor who participates otherwise gets
// ErrForbidden; anyone else, ErrNotFound.
func (s *Store) ownedCase(tx *gorm.DB, caseID, actor int64) (*model.Case, error) {
	var cs []model.Case
	err := tx.Raw(`SELECT * FROM cases WHERE id = ? AND owner_id = ? AND EXISTS (
		SELECT 1 FROM participants p WHERE p.case_id = cases.id AND p.account_id = ? AND p.role = ? AND p.active = ?)`+s.forUpdate(),
		caseID, actor, actor, string(rights.RoleExpert), true).Scan(&cs).Error
	if err != nil {
		return nil, err
	}
	if len(cs) == 1 {
		return &cs[0], nil
	}
	var n int64
	if err := tx.Model(&model.Participant{}).Where("case_id = ? AND account_id = ?", caseID, actor).Count(&n).Error; err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, ErrForbidden
	}
	return nil, ErrNotFound
}

// ownedOpenCase is ownedCase for a change: a finished or archived case
// gives ErrCaseClosed.
func (s *Store) ownedOpenCase(tx *gorm.DB, caseID, actor int64) (*model.Case, error) {
	c, err := s.ownedCase(tx, caseID, actor)
	if err != nil {
		return nil, err
	}
	return c, open(c)
}

// open refuses changes to a finished or archived case.
func open(c *model.Case) error {
	switch rights.CaseState(c.State) {
	case rights.StateFinished, rights.StateArchived:
		return ErrCaseClosed
	}
	return nil
}

// AddParty adds a party to the case, with its Dires and Pièces folders.
// Only the owner, while the case is not finished; model.ValidationErrors
// on invalid input.
func (s *Store) AddParty(ctx context.Context, caseID, actor int64, p *model.Party) (*model.Party, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !rights.DepositMode(p.DepositMode).Valid() {
		return nil, model.ValidationErrors{{Field: "deposit_mode", Message: "Choisissez le mode de dépôt de la partie."}}
	}
	p.Name = strings.TrimSpace(p.Name)
	now := time.Now().UTC()
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.ownedOpenCase(tx, caseID, actor)
		if err != nil {
			return err
		}
		p.ID, p.CaseID, p.CreatedAt = 0, c.ID, now
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		partyID := p.ID
		folders := []model.Folder{
			{CaseID: c.ID, Kind: string(rights.KindPartyDires), PartyID: &partyID, Name: "Dires", Position: treePosition(rights.KindPartyDires), CreatedAt: now},
			{CaseID: c.ID, Kind: string(rights.KindPartyPieces), PartyID: &partyID, Name: "Pièces", Position: treePosition(rights.KindPartyPieces), CreatedAt: now},
		}
		if err := tx.Create(&folders).Error; err != nil {
			return err
		}
		return s.audit(tx, model.AuditPartyAdd, actor, c.ID, model.AuditObjects("party", p.ID, "folder", folders[0].ID, "folder", folders[1].ID),
			p.Name+" (dépôt "+p.DepositMode+")")
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Parties lists the parties of a case, to any of its participants.
func (s *Store) Parties(ctx context.Context, caseID, accountID int64) ([]model.Party, error) {
	var out []model.Party
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := participantOf(tx, caseID, accountID); err != nil {
			return err
		}
		return tx.Where("case_id = ?", caseID).Order("id").Find(&out).Error
	})
	return out, err
}

// AddFolder adds a folder the expert creates: kind expert_subfolder, or
// confidential (wherever it sits), optionally inside another folder of the
// case (ParentID). Only the owner, while the case is not finished.
func (s *Store) AddFolder(ctx context.Context, caseID, actor int64, f *model.Folder) (*model.Folder, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	switch rights.FolderKind(f.Kind) {
	case rights.KindExpertSubfolder, rights.KindConfidential:
	default:
		return nil, model.ValidationErrors{{Field: "kind", Message: "Seuls des sous-dossiers de l’expert ou des dossiers confidentiels peuvent être ajoutés."}}
	}
	f.Name = strings.TrimSpace(f.Name)
	now := time.Now().UTC()
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.ownedOpenCase(tx, caseID, actor)
		if err != nil {
			return err
		}
		if f.ParentID != nil {
			var n int64
			if err := tx.Model(&model.Folder{}).Where("id = ? AND case_id = ?", *f.ParentID, c.ID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
		}
		f.ID, f.CaseID, f.PartyID, f.CreatedAt = 0, c.ID, nil, now
		f.Position = treePosition(rights.FolderKind(f.Kind))
		if err := tx.Create(f).Error; err != nil {
			return err
		}
		return s.audit(tx, model.AuditFolderAdd, actor, c.ID, model.AuditObjects("folder", f.ID, "parent", f.ParentID), f.Name+" ("+f.Kind+")")
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// AddParticipant adds a participant to the case. Only the owner, while the
// case is not finished. A professional comes with AccountID (an account
// whose role may hold p.Role, see rights.ParticipantRoles); a party member
// or an outside sapiteur may come without, with DisplayName, Email and
// Phone. A party member needs PartyID, a lawyer may list PartyIDs (parties
// of this case). A supervising magistrate takes the flag from any other.
// Invalid input (including an account already in the case) returns
// model.ValidationErrors.
func (s *Store) AddParticipant(ctx context.Context, caseID, actor int64, p *model.Participant) (*model.Participant, error) {
	var v model.ValidationErrors
	add := func(f, m string) { v = append(v, model.FieldError{Field: f, Message: m}) }
	role := rights.Role(p.Role)
	switch {
	case !role.Valid():
		add("role", "Choisissez le rôle du participant.")
	case role == rights.RoleExpert:
		add("role", "L’expertise a déjà son expert : ajoutez un co-expert.")
	case p.AccountID == nil && role != rights.RolePartyMember && role != rights.RoleSapiteur:
		add("account_id", "Choisissez ce professionnel dans l’annuaire.")
	}
	if err := p.Validate(); err != nil {
		var fe model.ValidationErrors
		if errors.As(err, &fe) {
			v = append(v, fe...)
		}
	}
	if role == rights.RolePartyMember && p.PartyID == nil {
		add("party_id", "Choisissez la partie de cet intervenant.")
	}
	if role != rights.RolePartyMember && p.PartyID != nil {
		add("party_id", "Seul un intervenant appartient à une partie.")
	}
	if role != rights.RoleLawyer && len(p.PartyIDs) > 0 {
		add("party_ids", "Seul un avocat représente des parties.")
	}
	if p.Supervising && role != rights.RoleMagistrate {
		add("supervising", "Seul un magistrat peut être chargé du contrôle de l’expertise.")
	}
	if len(v) > 0 {
		return nil, v
	}
	parties := slices.Clone(p.PartyIDs)
	slices.Sort(parties)
	parties = slices.Compact(parties)
	if p.PartyID != nil {
		parties = append(parties, *p.PartyID)
	}
	if p.AccountID != nil {
		p.DisplayName, p.Email, p.Phone = "", "", ""
	} else {
		p.DisplayName, p.Email, p.Phone = strings.TrimSpace(p.DisplayName), strings.TrimSpace(p.Email), strings.TrimSpace(p.Phone)
	}
	now := time.Now().UTC()
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.ownedOpenCase(tx, caseID, actor)
		if err != nil {
			return err
		}
		if p.AccountID != nil {
			var acc model.Account
			err := tx.Where("id = ? AND suspended_at IS NULL", *p.AccountID).First(&acc).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return model.ValidationErrors{{Field: "account_id", Message: "Ce compte n’existe pas ou est suspendu."}}
			}
			if err != nil {
				return err
			}
			if !slices.Contains(rights.ParticipantRoles(acc.Role), role) {
				return model.ValidationErrors{{Field: "role", Message: "Ce compte ne peut pas tenir ce rôle dans une expertise."}}
			}
			var n int64
			if err := tx.Model(&model.Participant{}).Where("case_id = ? AND account_id = ?", c.ID, *p.AccountID).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return model.ValidationErrors{{Field: "account_id", Message: "Cette personne participe déjà à l’expertise."}}
			}
		}
		if len(parties) > 0 {
			var n int64
			if err := tx.Model(&model.Party{}).Where("case_id = ? AND id IN ?", c.ID, parties).Count(&n).Error; err != nil {
				return err
			}
			if int(n) != len(slices.Compact(slices.Sorted(slices.Values(parties)))) {
				return model.ValidationErrors{{Field: "party_ids", Message: "Cette partie n’appartient pas à l’expertise."}}
			}
		}
		if p.Supervising {
			if err := tx.Model(&model.Participant{}).Where("case_id = ? AND supervising = ?", c.ID, true).
				Update("supervising", false).Error; err != nil {
				return err
			}
		}
		p.ID, p.CaseID, p.Active, p.AddedAt = 0, c.ID, true, now
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		if role == rights.RoleLawyer {
			p.PartyIDs = parties
			for _, id := range parties {
				if err := tx.Create(&model.ParticipantParty{ParticipantID: p.ID, PartyID: id}).Error; err != nil {
					return err
				}
			}
		}
		return s.audit(tx, model.AuditParticipantAdd, actor, c.ID, model.AuditObjects("participant", p.ID, "account", p.AccountID, "party", p.PartyID),
			participantDetail(p))
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Two additions of the same account at once.
		return nil, model.ValidationErrors{{Field: "account_id", Message: "Cette personne participe déjà à l’expertise."}}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SetParticipantActive activates or deactivates a participant of the case.
// Only the owner, who cannot deactivate themself (the case would have no
// one to run it); ErrNotFound for a participant of another case.
func (s *Store) SetParticipantActive(ctx context.Context, caseID, actor, participantID int64, active bool) error {
	return s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		return s.setParticipantActive(tx, caseID, actor, participantID, active)
	})
}

// Participants lists the participants of a case (lawyers with their
// PartyIDs; for participants with an account, DisplayName and Email are
// filled from it for display), to any of its active participants.
func (s *Store) Participants(ctx context.Context, caseID, accountID int64) ([]model.Participant, error) {
	var out []model.Participant
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		me, err := participantOf(tx, caseID, accountID)
		if err != nil {
			return err
		}
		if !me.Active {
			return ErrNotFound
		}
		if err := tx.Where("case_id = ?", caseID).Order("id").Find(&out).Error; err != nil {
			return err
		}
		var links []model.ParticipantParty
		if err := tx.Raw(`SELECT pp.* FROM participant_parties pp JOIN participants p ON p.id = pp.participant_id
			WHERE p.case_id = ? ORDER BY pp.participant_id, pp.party_id`, caseID).Scan(&links).Error; err != nil {
			return err
		}
		var accounts []model.Account
		if err := tx.Raw(`SELECT a.id, a.display_name, a.email FROM accounts a JOIN participants p ON p.account_id = a.id
			WHERE p.case_id = ?`, caseID).Scan(&accounts).Error; err != nil {
			return err
		}
		for i := range out {
			for _, l := range links {
				if l.ParticipantID == out[i].ID {
					out[i].PartyIDs = append(out[i].PartyIDs, l.PartyID)
				}
			}
			for _, a := range accounts {
				if out[i].AccountID != nil && *out[i].AccountID == a.ID {
					out[i].DisplayName, out[i].Email = a.DisplayName, a.Email
				}
			}
		}
		return nil
	})
	return out, err
}

// TransitionCase moves the case from the state from (the one the expert
// saw and confirmed the change in) to the state to, if actor is its active
// owner and rights.CanTransition allows it. The UPDATE is conditional on
// the case still being in state from: of two experts (or two browsers)
// changing the state at once, exactly one succeeds and the other gets
// ErrStateConflict, also returned when the case is no longer in state
// from or the change is not allowed. A participant who is not the owner
// gets ErrForbidden; anyone else, ErrNotFound.
func (s *Store) TransitionCase(ctx context.Context, caseID, actor int64, from, to rights.CaseState) (*model.Case, error) {
	return s.TransitionCaseAndNotify(ctx, caseID, actor, from, to, nil)
}

// TransitionCaseAndNotify is TransitionCase that also queues, in the same
// transaction, the notices notify renders for every active participant
// with an email address.
func (s *Store) TransitionCaseAndNotify(ctx context.Context, caseID, actor int64, from, to rights.CaseState, notify model.Notifier) (*model.Case, error) {
	var out *model.Case
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		// Read without locking, so that two transitions really race on
		// the conditional UPDATE below.
		var cs []model.Case
		if err := tx.Raw(`SELECT * FROM cases WHERE id = ? AND owner_id = ? AND EXISTS (
			SELECT 1 FROM participants p WHERE p.case_id = cases.id AND p.account_id = ? AND p.role = ? AND p.active = ?)`,
			caseID, actor, actor, string(rights.RoleExpert), true).Scan(&cs).Error; err != nil {
			return err
		}
		if len(cs) == 0 {
			_, err := s.ownedCase(tx, caseID, actor) // ErrForbidden or ErrNotFound
			if err == nil {
				err = ErrStateConflict
			}
			return err
		}
		if afterTransitionRead != nil {
			afterTransitionRead()
		}
		c := cs[0]
		owner := rights.Subject{Role: rights.RoleExpert, Active: true}
		if rights.CaseState(c.State) != from || !rights.CanTransition(owner, from, to) {
			return ErrStateConflict
		}
		now := time.Now().UTC()
		res := tx.Exec(`UPDATE cases SET state = ?, updated_at = ? WHERE id = ? AND state = ? AND owner_id = ? AND EXISTS (
			SELECT 1 FROM participants p WHERE p.case_id = cases.id AND p.account_id = ? AND p.role = ? AND p.active = ?)`,
			string(to), now, c.ID, string(from), actor, actor, string(rights.RoleExpert), true)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrStateConflict
		}
		c.State, c.UpdatedAt = string(to), now
		out = &c
		if err := s.audit(tx, model.AuditCaseState, actor, c.ID, model.AuditObjects("case", c.ID), string(from)+" → "+string(to)); err != nil {
			return err
		}
		if notify == nil {
			return nil
		}
		recipients, err := activeRecipients(tx, c.ID)
		if err != nil {
			return err
		}
		msgs, err := notify(&c, recipients)
		if err != nil {
			return err
		}
		return enqueueCaseNotices(tx, c.ID, nil, model.NoticeCaseState, msgs)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// afterTransitionRead, nil outside tests, lets a test hold a transition
// between its read and its conditional UPDATE.
var afterTransitionRead func()

// Case returns a case to one of its active participants; ErrNotFound to
// anyone else.
func (s *Store) Case(ctx context.Context, caseID, accountID int64) (*model.Case, error) {
	var cs []model.Case
	err := s.gorm(ctx).Raw(`SELECT * FROM cases WHERE id = ? AND EXISTS (
		SELECT 1 FROM participants p WHERE p.case_id = cases.id AND p.account_id = ? AND p.active = ?)`,
		caseID, accountID, true).Scan(&cs).Error
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return &cs[0], nil
}

// CasesFor lists the cases in which the account is an active participant,
// the most recently changed first (the dashboard).
func (s *Store) CasesFor(ctx context.Context, accountID int64) ([]model.Case, error) {
	var out []model.Case
	err := s.gorm(ctx).Raw(`SELECT cases.* FROM cases JOIN participants p ON p.case_id = cases.id
		WHERE p.account_id = ? AND p.active = ? ORDER BY cases.updated_at DESC, cases.id DESC`,
		accountID, true).Scan(&out).Error
	return out, err
}

// participantOf reads the account's participant row in the case (lawyers
// with their PartyIDs); ErrNotFound if there is none.
func participantOf(tx *gorm.DB, caseID, accountID int64) (*model.Participant, error) {
	var ps []model.Participant
	if err := tx.Where("case_id = ? AND account_id = ?", caseID, accountID).Limit(1).Find(&ps).Error; err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, ErrNotFound
	}
	p := &ps[0]
	if rights.Role(p.Role) == rights.RoleLawyer {
		if err := tx.Model(&model.ParticipantParty{}).Where("participant_id = ?", p.ID).
			Order("party_id").Pluck("party_id", &p.PartyIDs).Error; err != nil {
			return nil, err
		}
	}
	return p, nil
}

// subjectOf is the participant as the rights see it.
func subjectOf(p *model.Participant) rights.Subject {
	sub := rights.Subject{Role: rights.Role(p.Role), Active: p.Active}
	switch sub.Role {
	case rights.RolePartyMember:
		if p.PartyID != nil {
			sub.PartyIDs = []int64{*p.PartyID}
		}
	case rights.RoleLawyer:
		sub.PartyIDs = slices.Clone(p.PartyIDs)
	}
	return sub
}

// filterSQL turns a rights filter into a condition on folders f joined to
// their party pa: the OR of its clauses; an empty filter matches nothing.
func filterSQL(fl rights.Filter) (string, []any) {
	if fl.Empty() {
		return "1 = 0", nil
	}
	var parts []string
	var args []any
	for _, c := range fl.Clauses {
		kinds := make([]string, len(c.Kinds))
		for i, k := range c.Kinds {
			kinds[i] = string(k)
		}
		cond := "f.kind IN ?"
		args = append(args, kinds)
		if c.PartyIDs != nil {
			cond += " AND f.party_id IN ?"
			args = append(args, c.PartyIDs)
		}
		if c.Modes != nil {
			modes := make([]string, len(c.Modes))
			for i, m := range c.Modes {
				modes[i] = string(m)
			}
			cond += " AND pa.deposit_mode IN ?"
			args = append(args, modes)
		}
		parts = append(parts, "("+cond+")")
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// folderQuery selects the folders of the case that the participant p may
// act on, the case being in state st: the rights filter, plus the
// conditions it was computed from (the participant's row, active flag and
// role; the case's state), so that a change committed meanwhile narrows
// the result instead of widening it.
func folderQuery(tx *gorm.DB, caseID int64, p *model.Participant, st rights.CaseState, a rights.Action) *gorm.DB {
	cond, args := filterSQL(rights.FilterFor(a, subjectOf(p), st))
	q := tx.Table("folders f").
		Joins("JOIN cases c ON c.id = f.case_id").
		Joins("LEFT JOIN parties pa ON pa.id = f.party_id AND pa.case_id = f.case_id").
		Where("f.case_id = ? AND c.state = ?", caseID, string(st)).
		Where("EXISTS (SELECT 1 FROM participants pt WHERE pt.id = ? AND pt.case_id = f.case_id AND pt.active = ? AND pt.role = ?)",
			p.ID, true, p.Role)
	return q.Where(cond, args...)
}

// participantAndState reads the account's participation in the case and
// the case's state: what every rights query needs first.
func participantAndState(tx *gorm.DB, caseID, accountID int64) (*model.Participant, rights.CaseState, error) {
	p, err := participantOf(tx, caseID, accountID)
	if err != nil {
		return nil, "", err
	}
	st, err := caseState(tx, caseID)
	if err != nil {
		return nil, "", err
	}
	return p, st, nil
}

// caseState reads the state of a case.
func caseState(tx *gorm.DB, caseID int64) (rights.CaseState, error) {
	var states []string
	if err := tx.Model(&model.Case{}).Where("id = ?", caseID).Pluck("state", &states).Error; err != nil {
		return "", err
	}
	if len(states) == 0 {
		return "", ErrNotFound
	}
	return rights.CaseState(states[0]), nil
}

// FoldersReadable lists the folders of the case the account may read, in
// tree order, the rights matrix applied inside the query. Someone who is
// not a participant of the case gets ErrNotFound; an inactive participant
// gets no folder.
func (s *Store) FoldersReadable(ctx context.Context, caseID, accountID int64) ([]model.Folder, error) {
	var out []model.Folder
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, st, err := participantAndState(tx, caseID, accountID)
		if err != nil {
			return err
		}
		return folderQuery(tx, caseID, p, st, rights.ActionRead).Select("f.*").Order("f.position, f.id").Find(&out).Error
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CanDeposit reports whether the account may deposit in the folder of the
// case now, the rights matrix applied inside the query. A folder that is
// not in the case, or that the account may not even read, and a case the
// account does not participate in, give ErrNotFound.
func (s *Store) CanDeposit(ctx context.Context, caseID, folderID, accountID int64) (bool, error) {
	ok := false
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, st, err := participantAndState(tx, caseID, accountID)
		if err != nil {
			return err
		}
		if readable, err := folderAllows(tx, caseID, folderID, p, st, rights.ActionRead); err != nil || !readable {
			return cmp.Or(err, ErrNotFound)
		}
		ok, err = folderAllows(tx, caseID, folderID, p, st, rights.ActionDeposit)
		return err
	})
	return ok, err
}

// FoldersDepositable lists, in one query, the folders of the case where
// the account may deposit now (those CanDeposit would allow one by one):
// the case page and the API ask it once instead of once per folder.
func (s *Store) FoldersDepositable(ctx context.Context, caseID, accountID int64) ([]int64, error) {
	var ids []int64
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		p, st, err := participantAndState(tx, caseID, accountID)
		if err != nil {
			return err
		}
		readable := folderQuery(tx, caseID, p, st, rights.ActionRead).Select("f.id")
		return folderQuery(tx, caseID, p, st, rights.ActionDeposit).Where("f.id IN (?)", readable).Order("f.id").Pluck("f.id", &ids).Error
	})
	return ids, err
}

// folderAllows says whether the matrix grants the action on one folder of
// the case to the participant, in the case's current state (in SQL).
func folderAllows(tx *gorm.DB, caseID, folderID int64, p *model.Participant, st rights.CaseState, a rights.Action) (bool, error) {
	var n int64
	err := folderQuery(tx, caseID, p, st, a).Where("f.id = ?", folderID).Count(&n).Error
	return n > 0, err
}

// activeRecipients are the name and address of every active participant
// of a case (the account's, or the one the expert typed for people
// without an account), skipping those without an address.
func activeRecipients(tx *gorm.DB, caseID int64) ([]model.Recipient, error) {
	var out []model.Recipient
	err := tx.Raw(`SELECT COALESCE(a.display_name, p.display_name) AS name, COALESCE(a.email, p.email) AS email
		FROM participants p LEFT JOIN accounts a ON a.id = p.account_id
		WHERE p.case_id = ? AND p.active = ? AND COALESCE(a.email, p.email) <> ''
		ORDER BY p.id`, caseID, true).Scan(&out).Error
	return out, err
}

// UpdateCaseDetails lets the owner rename the case (an empty name goes
// back to the derived one) and record the consignation date, while the
// case is not finished.
func (s *Store) UpdateCaseDetails(ctx context.Context, caseID, actor int64, name string, consignation *time.Time) (*model.Case, error) {
	var out *model.Case
	err := s.gorm(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.ownedOpenCase(tx, caseID, actor)
		if err != nil {
			return err
		}
		c.Name, c.ConsignationDate = strings.TrimSpace(name), consignation
		if c.Name == "" {
			c.Name = c.DefaultName()
		}
		if err := c.Validate(); err != nil {
			return err
		}
		c.UpdatedAt = time.Now().UTC()
		if err := tx.Model(&model.Case{}).Where("id = ?", c.ID).
			Updates(map[string]any{"name": c.Name, "consignation_date": c.ConsignationDate, "updated_at": c.UpdatedAt}).Error; err != nil {
			return err
		}
		out = c
		detail := "nom : " + c.Name
		if c.ConsignationDate != nil {
			detail += " ; consignation : " + c.ConsignationDate.Format("2006-01-02")
		}
		return s.audit(tx, model.AuditCaseEdit, actor, c.ID, model.AuditObjects("case", c.ID), detail)
	})
	return out, err
}
