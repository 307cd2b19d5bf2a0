package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

var caseFingerprints atomic.Int64

// caseAccount registers an account of the role.
func caseAccount(t *testing.T, s *store.Store, role, name string) *model.Account {
	t.Helper()
	a := &model.Account{Role: role, Domain: role, DisplayName: name,
		Email: fmt.Sprintf("a%d@exemple.test", caseFingerprints.Add(1))}
	switch role {
	case model.RoleExpert:
		a.Court, a.Specialties = "Cour d’appel de Rennes", "Bâtiment"
	case model.RoleMagistrate, model.RoleClerk:
		a.Court = "Tribunal judiciaire de Rennes"
	case model.RoleLawyer:
		a.Bar = "Rennes"
	}
	acc, ok, err := s.Register(context.Background(), a, cert(fmt.Sprintf("case-fp-%d", caseFingerprints.Add(1))))
	if err != nil || !ok {
		t.Fatalf("register %s: %v", name, err)
	}
	return acc
}

func newCase() *model.Case {
	return &model.Case{FirstApplicant: "M. Martin", FirstDefendant: "SCI Les Tilleuls", Jurisdiction: "TJ Rennes",
		RGNumber: "24/01234", OrdonnanceDate: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), MissionCode: "C-12"}
}

func mustCase(t *testing.T, s *store.Store, owner *model.Account) *model.Case {
	t.Helper()
	c, err := s.CreateCase(context.Background(), owner, newCase())
	if err != nil {
		t.Fatalf("create case: %v", err)
	}
	return c
}

func mustParty(t *testing.T, s *store.Store, c *model.Case, name string, mode rights.DepositMode) *model.Party {
	t.Helper()
	p, err := s.AddParty(context.Background(), c.ID, c.OwnerID, &model.Party{Name: name, DepositMode: string(mode)})
	if err != nil {
		t.Fatalf("add party %s: %v", name, err)
	}
	return p
}

func mustParticipant(t *testing.T, s *store.Store, c *model.Case, p *model.Participant) *model.Participant {
	t.Helper()
	out, err := s.AddParticipant(context.Background(), c.ID, c.OwnerID, p)
	if err != nil {
		t.Fatalf("add participant %s: %v", p.Role, err)
	}
	return out
}

// mustTransition moves the case to the state to from its current state
// (kept in c.State).
func mustTransition(t *testing.T, s *store.Store, c *model.Case, to rights.CaseState) {
	t.Helper()
	got, err := s.TransitionCase(context.Background(), c.ID, c.OwnerID, rights.CaseState(c.State), to)
	if err != nil {
		t.Fatalf("transition %s → %s: %v", c.State, to, err)
	}
	c.State = got.State
}

func id(v int64) *int64 { return &v }

// allFolders reads the folders of a case straight from the table, as the
// ground truth the store's answers are compared with.
func allFolders(t *testing.T, s *store.Store, caseID int64) []model.Folder {
	t.Helper()
	var fs []model.Folder
	if err := s.GormForTest().Where("case_id = ?", caseID).Order("id").Find(&fs).Error; err != nil {
		t.Fatal(err)
	}
	return fs
}

func isValidation(err error, field string) bool {
	var v model.ValidationErrors
	return errors.As(err, &v) && v.For(field) != ""
}

func TestCreateCaseBuildsTheDefaultTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, s, owner)
		if c.State != string(rights.StateCreation) || c.OwnerID != owner.ID || c.ID == 0 {
			t.Fatalf("case = %+v", c)
		}
		if c.Name != "M. Martin c/ SCI Les Tilleuls — TJ Rennes, RG 24/01234" {
			t.Errorf("derived name = %q", c.Name)
		}
		fs, err := s.FoldersReadable(ctx, c.ID, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.Section()+"/"+f.Name+"="+f.Kind)
			if f.PartyID != nil || f.ParentID != nil || f.Confidential() {
				t.Errorf("default folder %+v", f)
			}
		}
		want := []string{
			"Expert/Désignation=expert_designation", "Expert/Convocations=expert_convocations",
			"Expert/Notes aux parties=expert_notes", "Expert/Pré-rapport=expert_prereport",
			"Greffe/Communication vers le greffe=registry_outbound", "Greffe/Rapport définitif=final_report",
			"Magistrat/Magistrat=magistrate",
		}
		if !slices.Equal(got, want) {
			t.Errorf("tree:\n got  %q\n want %q", got, want)
		}
		ps, err := s.Participants(ctx, c.ID, owner.ID)
		if err != nil || len(ps) != 1 || ps[0].Role != "expert" || *ps[0].AccountID != owner.ID || !ps[0].Active {
			t.Fatalf("participants = %+v, %v", ps, err)
		}
		cs, err := s.CasesFor(ctx, owner.ID)
		if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
			t.Fatalf("dashboard = %+v, %v", cs, err)
		}
		got2, err := s.Case(ctx, c.ID, owner.ID)
		if err != nil || got2.RGNumber != "24/01234" || !got2.OrdonnanceDate.Equal(c.OrdonnanceDate) || got2.MissionCode != "C-12" {
			t.Fatalf("case = %+v, %v", got2, err)
		}

		// An edited name is kept.
		named := newCase()
		named.Name = "  Expertise Tilleuls  "
		c2, err := s.CreateCase(ctx, owner, named)
		if err != nil || c2.Name != "Expertise Tilleuls" {
			t.Fatalf("named case: %+v %v", c2, err)
		}

		// Bad input: French messages, nothing created.
		bad := &model.Case{FirstApplicant: " ", RGNumber: "24/\x0012", Comment: "ok"}
		_, err = s.CreateCase(ctx, owner, bad)
		for _, f := range []string{"first_applicant", "first_defendant", "jurisdiction", "rg_number", "ordonnance_date"} {
			if !isValidation(err, f) {
				t.Errorf("field %s not reported: %v", f, err)
			}
		}
		var v model.ValidationErrors
		if errors.As(err, &v) && v.For("first_applicant") != "Ce champ est obligatoire." {
			t.Errorf("message = %q", v.For("first_applicant"))
		}
		// Only an expert account creates a case.
		lawyerAcc := caseAccount(t, s, model.RoleLawyer, "Me Avocat")
		if _, err := s.CreateCase(ctx, lawyerAcc, newCase()); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("lawyer creating a case: %v", err)
		}
		if _, err := s.CreateCase(ctx, &model.Account{ID: 987654}, newCase()); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("unknown owner: %v", err)
		}
		cs, _ = s.CasesFor(ctx, owner.ID)
		if len(cs) != 2 {
			t.Errorf("%d cases, want 2", len(cs))
		}
	})
}

func TestPartiesWithEachDepositMode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, s, owner)
		for _, m := range rights.DepositModes() {
			p := mustParty(t, s, c, "Partie "+string(m), m)
			var fs []model.Folder
			for _, f := range allFolders(t, s, c.ID) {
				if f.PartyID != nil && *f.PartyID == p.ID {
					fs = append(fs, f)
				}
			}
			if len(fs) != 2 || fs[0].Kind != "party_dires" || fs[0].Name != "Dires" || fs[1].Kind != "party_pieces" || fs[1].Name != "Pièces" {
				t.Errorf("party %s folders: %+v", m, fs)
			}
		}
		ps, err := s.Parties(ctx, c.ID, owner.ID)
		if err != nil || len(ps) != 4 {
			t.Fatalf("parties: %+v %v", ps, err)
		}
		for i, m := range rights.DepositModes() {
			if ps[i].DepositMode != string(m) {
				t.Errorf("party %d mode %s, want %s", i, ps[i].DepositMode, m)
			}
		}
		if _, err := s.AddParty(ctx, c.ID, owner.ID, &model.Party{Name: "X", DepositMode: "fax"}); !isValidation(err, "deposit_mode") {
			t.Errorf("unknown mode: %v", err)
		}
		if _, err := s.AddParty(ctx, c.ID, owner.ID, &model.Party{Name: "", DepositMode: "lawyer"}); !isValidation(err, "name") {
			t.Errorf("no name: %v", err)
		}
		// Only the owner adds parties; outsiders do not learn the case exists.
		co := caseAccount(t, s, model.RoleExpert, "Co Expert")
		mustParticipant(t, s, c, &model.Participant{AccountID: &co.ID, Role: "co_expert"})
		if _, err := s.AddParty(ctx, c.ID, co.ID, &model.Party{Name: "X", DepositMode: "lawyer"}); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("co-expert adding a party: %v", err)
		}
		other := caseAccount(t, s, model.RoleExpert, "Autre Expert")
		if _, err := s.AddParty(ctx, c.ID, other.ID, &model.Party{Name: "X", DepositMode: "lawyer"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider adding a party: %v", err)
		}
		if _, err := s.AddParty(ctx, 999999, owner.ID, &model.Party{Name: "X", DepositMode: "lawyer"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown case: %v", err)
		}
		if _, err := s.Parties(ctx, c.ID, other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider listing parties: %v", err)
		}
	})
}

func TestLawyerRepresentingTwoParties(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, s, owner)
		p1 := mustParty(t, s, c, "M. Martin", rights.ModeLawyer)
		p2 := mustParty(t, s, c, "Mme Martin", rights.ModeMember)
		p3 := mustParty(t, s, c, "SCI Les Tilleuls", rights.ModeLawyer)
		p4 := mustParty(t, s, c, "Assureur", rights.ModePaper)
		law := caseAccount(t, s, model.RoleLawyer, "Me Dupont")
		lp := mustParticipant(t, s, c, &model.Participant{AccountID: &law.ID, Role: "lawyer", PartyIDs: []int64{p2.ID, p1.ID, p1.ID, p4.ID}})
		if !slices.Equal(lp.PartyIDs, []int64{p1.ID, p2.ID, p4.ID}) {
			t.Errorf("party ids = %v", lp.PartyIDs)
		}
		ps, err := s.Participants(ctx, c.ID, law.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.ID == lp.ID && !slices.Equal(p.PartyIDs, []int64{p1.ID, p2.ID, p4.ID}) {
				t.Errorf("listed party ids = %v", p.PartyIDs)
			}
		}
		mustTransition(t, s, c, rights.StateInProgress)
		for _, f := range allFolders(t, s, c.ID) {
			if f.PartyID == nil {
				continue
			}
			ok, err := s.CanDeposit(ctx, c.ID, f.ID, law.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *f.PartyID == p1.ID || *f.PartyID == p2.ID // p3 is not theirs, p4 is on paper
			if ok != want {
				t.Errorf("lawyer deposit in %s of party %d = %v, want %v", f.Kind, *f.PartyID, ok, want)
			}
		}
		_ = p3

		// A party of another case is refused.
		c2 := mustCase(t, s, owner)
		q := mustParty(t, s, c2, "Autre", rights.ModeLawyer)
		law2 := caseAccount(t, s, model.RoleLawyer, "Me Durand")
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{AccountID: &law2.ID, Role: "lawyer", PartyIDs: []int64{p1.ID, q.ID}}); !isValidation(err, "party_ids") {
			t.Errorf("party of another case: %v", err)
		}
		// Twice the same account: refused with a message.
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{AccountID: &law.ID, Role: "lawyer"}); !isValidation(err, "account_id") {
			t.Errorf("same lawyer twice: %v", err)
		}
		// An account whose role cannot hold the participant role.
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{AccountID: &law2.ID, Role: "magistrate"}); !isValidation(err, "role") {
			t.Errorf("lawyer as magistrate: %v", err)
		}
		// A second owner: refused.
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{AccountID: &law2.ID, Role: "expert"}); !isValidation(err, "role") {
			t.Errorf("second expert: %v", err)
		}
		// Party members: created by the expert, with a party of the case.
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{Role: "party_member", DisplayName: "Jean Martin", Email: "pas une adresse"}); !isValidation(err, "email") || !isValidation(err, "party_id") {
			t.Errorf("bad party member: %v", err)
		}
		pm := mustParticipant(t, s, c, &model.Participant{Role: "party_member", DisplayName: "Jean Martin", Email: "jean@martin.test", Phone: "+33 6 12 34 56 78", PartyID: &p2.ID})
		if pm.AccountID != nil || pm.DisplayName != "Jean Martin" || !pm.Active {
			t.Errorf("party member = %+v", pm)
		}
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{Role: "party_member", DisplayName: "X", Email: "x@x.test", PartyID: &q.ID}); !isValidation(err, "party_ids") {
			t.Errorf("party member of another case's party: %v", err)
		}
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{Role: "clerk", DisplayName: "X", Email: "x@x.test"}); !isValidation(err, "account_id") {
			t.Errorf("clerk without account: %v", err)
		}
		// One supervising magistrate: the flag moves.
		m1 := caseAccount(t, s, model.RoleMagistrate, "Juge Un")
		m2 := caseAccount(t, s, model.RoleMagistrate, "Juge Deux")
		mustParticipant(t, s, c, &model.Participant{AccountID: &m1.ID, Role: "magistrate", Supervising: true})
		mustParticipant(t, s, c, &model.Participant{AccountID: &m2.ID, Role: "magistrate", Supervising: true})
		ps, _ = s.Participants(ctx, c.ID, owner.ID)
		for _, p := range ps {
			if p.Supervising != (p.AccountID != nil && *p.AccountID == m2.ID) {
				t.Errorf("supervising flag on %+v", p)
			}
		}
		if _, err := s.AddParticipant(ctx, c.ID, owner.ID, &model.Participant{AccountID: &law2.ID, Role: "lawyer", Supervising: true}); !isValidation(err, "supervising") {
			t.Errorf("supervising lawyer: %v", err)
		}
	})
}

// member is one participant of the rights fixture, as the test knows it.
type member struct {
	name    string
	account *model.Account
	subject rights.Subject
}

// rightsFixture builds a case with every participant role, every deposit
// mode, an expert's sub-folder and a confidential folder.
func rightsFixture(t *testing.T, s *store.Store, tag string) (*model.Case, []member, map[int64]rights.DepositMode) {
	t.Helper()
	ctx := context.Background()
	owner := caseAccount(t, s, model.RoleExpert, tag+" expert")
	c := mustCase(t, s, owner)
	modes := map[int64]rights.DepositMode{}
	var parties []*model.Party
	for _, m := range rights.DepositModes() {
		p := mustParty(t, s, c, tag+" partie "+string(m), m)
		modes[p.ID] = m
		parties = append(parties, p)
	}
	pLawyer, pMember, pExpert, pPaper := parties[0].ID, parties[1].ID, parties[2].ID, parties[3].ID
	ms := []member{{tag + " expert", owner, rights.Subject{Role: rights.RoleExpert, Active: true}}}
	addAcc := func(name, accRole string, p model.Participant, parties ...int64) *model.Participant {
		acc := caseAccount(t, s, accRole, tag+" "+name)
		p.AccountID = &acc.ID
		out := mustParticipant(t, s, c, &p)
		ms = append(ms, member{tag + " " + name, acc, rights.Subject{Role: rights.Role(p.Role), Active: true, PartyIDs: parties}})
		return out
	}
	addAcc("co-expert", model.RoleExpert, model.Participant{Role: "co_expert"})
	addAcc("sapiteur annuaire", model.RoleExpert, model.Participant{Role: "sapiteur"})
	addAcc("sapiteur externe", model.RoleSapiteur, model.Participant{Role: "sapiteur"})
	addAcc("juge", model.RoleMagistrate, model.Participant{Role: "magistrate", Supervising: true})
	addAcc("juge 2", model.RoleMagistrate, model.Participant{Role: "magistrate"})
	addAcc("greffier", model.RoleClerk, model.Participant{Role: "clerk"})
	inactive := addAcc("greffier inactif", model.RoleClerk, model.Participant{Role: "clerk"})
	addAcc("avocat 2 parties", model.RoleLawyer, model.Participant{Role: "lawyer", PartyIDs: []int64{pLawyer, pMember}}, pLawyer, pMember)
	addAcc("avocat expert+papier", model.RoleLawyer, model.Participant{Role: "lawyer", PartyIDs: []int64{pExpert, pPaper}}, pExpert, pPaper)
	addAcc("avocat sans partie", model.RoleLawyer, model.Participant{Role: "lawyer"})
	for i, pid := range []int64{pLawyer, pMember, pExpert, pPaper} {
		addAcc(fmt.Sprintf("intervenant %d", i), model.RolePartyMember, model.Participant{Role: "party_member", PartyID: id(pid)}, pid)
	}
	if err := s.SetParticipantActive(ctx, c.ID, owner.ID, inactive.ID, false); err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		if ms[i].name == tag+" greffier inactif" {
			ms[i].subject.Active = false
		}
	}
	// An expert's sub-folder inside Désignation, a confidential folder at the top.
	var designation int64
	for _, f := range allFolders(t, s, c.ID) {
		if f.Kind == string(rights.KindDesignation) {
			designation = f.ID
		}
	}
	if _, err := s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "expert_subfolder", Name: "Avis du sapiteur", ParentID: &designation}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "confidential", Name: "Notes de travail"}); err != nil {
		t.Fatal(err)
	}
	return c, ms, modes
}

func rightsFolder(f model.Folder, modes map[int64]rights.DepositMode) rights.Folder {
	rf := rights.Folder{Kind: rights.FolderKind(f.Kind)}
	if f.PartyID != nil {
		rf.PartyID, rf.PartyMode = *f.PartyID, modes[*f.PartyID]
	}
	return rf
}

// Every participant of two cases, against every folder of both, in every
// state: the store's answers are those of rights.CanRead and CanDeposit
// evaluated in Go, and the other case is always refused as unknown.
func TestFolderRightsAreTheMatrixInEveryState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, membersA, modesA := rightsFixture(t, s, "A")
		b, membersB, modesB := rightsFixture(t, s, "B")
		outsider := caseAccount(t, s, model.RoleExpert, "Hors dossier")
		foldersA, foldersB := allFolders(t, s, a.ID), allFolders(t, s, b.ID)
		if len(foldersA) != 7+8+2 {
			t.Fatalf("%d folders in case A", len(foldersA))
		}
		kinds := map[string]bool{}
		for _, f := range foldersA {
			kinds[f.Kind] = true
		}
		if len(kinds) != len(rights.FolderKinds()) {
			t.Fatalf("fixture covers %d folder kinds of %d", len(kinds), len(rights.FolderKinds()))
		}

		check := func(st rights.CaseState, own *model.Case, ms []member, modes map[int64]rights.DepositMode, mine, theirs []model.Folder, other *model.Case) {
			t.Helper()
			for _, m := range ms {
				readable, err := s.FoldersReadable(ctx, own.ID, m.account.ID)
				if err != nil {
					t.Fatalf("%s in %s: %v", m.name, st, err)
				}
				depositable, err := s.FoldersDepositable(ctx, own.ID, m.account.ID)
				if err != nil {
					t.Fatalf("%s in %s: depositable: %v", m.name, st, err)
				}
				canDeposit := map[int64]bool{}
				for _, id := range depositable {
					canDeposit[id] = true
				}
				got := map[int64]bool{}
				for _, f := range readable {
					if f.CaseID != own.ID {
						t.Errorf("%s in %s reads folder %d of case %d", m.name, st, f.ID, f.CaseID)
					}
					got[f.ID] = true
				}
				for _, f := range mine {
					rf := rightsFolder(f, modes)
					wantRead := rights.CanRead(m.subject, rf, st)
					if got[f.ID] != wantRead {
						t.Errorf("%s in %s: read %s (party %v) = %v, want %v", m.name, st, f.Kind, rf.PartyMode, got[f.ID], wantRead)
					}
					ok, err := s.CanDeposit(ctx, own.ID, f.ID, m.account.ID)
					switch {
					case !wantRead:
						if !errors.Is(err, store.ErrNotFound) {
							t.Errorf("%s in %s: deposit in unreadable %s = %v, %v; want ErrNotFound", m.name, st, f.Kind, ok, err)
						}
					case err != nil:
						t.Errorf("%s in %s: deposit in %s: %v", m.name, st, f.Kind, err)
					case ok != rights.CanDeposit(m.subject, rf, st):
						t.Errorf("%s in %s: deposit in %s (party %v) = %v, want %v", m.name, st, f.Kind, rf.PartyMode, ok, !ok)
					}
					if canDeposit[f.ID] != (err == nil && ok) {
						t.Errorf("%s in %s: FoldersDepositable says %v for %s, CanDeposit %v", m.name, st, canDeposit[f.ID], f.Kind, ok)
					}
				}
				// The other case: unknown, whatever the ids.
				if fs, err := s.FoldersReadable(ctx, other.ID, m.account.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s reads other case: %d folders, %v", m.name, len(fs), err)
				}
				if ids, err := s.FoldersDepositable(ctx, other.ID, m.account.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s deposits in other case: %v, %v", m.name, ids, err)
				}
				for _, f := range theirs {
					if ok, err := s.CanDeposit(ctx, own.ID, f.ID, m.account.ID); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s: other case's folder %d through own case = %v, %v", m.name, f.ID, ok, err)
					}
					if ok, err := s.CanDeposit(ctx, other.ID, f.ID, m.account.ID); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s: other case's folder %d = %v, %v", m.name, f.ID, ok, err)
					}
				}
				for _, f := range mine {
					if ok, err := s.CanDeposit(ctx, other.ID, f.ID, m.account.ID); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s: own folder %d through other case = %v, %v", m.name, f.ID, ok, err)
					}
				}
			}
			if _, err := s.FoldersReadable(ctx, own.ID, outsider.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("outsider reads case: %v", err)
			}
			for _, f := range mine {
				if _, err := s.CanDeposit(ctx, own.ID, f.ID, outsider.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("outsider deposit: %v", err)
				}
			}
		}

		// creation → in_progress → paused → in_progress → finished → archived,
		// case B one step behind so that the two cases differ in state.
		steps := []rights.CaseState{rights.StateCreation, rights.StateInProgress, rights.StatePaused, rights.StateInProgress, rights.StateFinished, rights.StateArchived}
		stB := rights.StateCreation
		for i, st := range steps {
			if i > 0 {
				mustTransition(t, s, a, st)
			}
			if i > 1 {
				stB = steps[i-1]
				mustTransition(t, s, b, stB)
			}
			check(st, a, membersA, modesA, foldersA, foldersB, b)
			check(stB, b, membersB, modesB, foldersB, foldersA, a)
		}
	})
}

func TestInactiveParticipantGetsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, s, owner)
		p := mustParty(t, s, c, "M. Martin", rights.ModeLawyer)
		law := caseAccount(t, s, model.RoleLawyer, "Me Dupont")
		lp := mustParticipant(t, s, c, &model.Participant{AccountID: &law.ID, Role: "lawyer", PartyIDs: []int64{p.ID}})
		mustTransition(t, s, c, rights.StateInProgress)
		var dires int64
		for _, f := range allFolders(t, s, c.ID) {
			if f.Kind == "party_dires" {
				dires = f.ID
			}
		}
		if ok, err := s.CanDeposit(ctx, c.ID, dires, law.ID); err != nil || !ok {
			t.Fatalf("active lawyer: %v %v", ok, err)
		}
		if err := s.SetParticipantActive(ctx, c.ID, owner.ID, lp.ID, false); err != nil {
			t.Fatal(err)
		}
		if fs, err := s.FoldersReadable(ctx, c.ID, law.ID); err != nil || len(fs) != 0 {
			t.Errorf("inactive reads %d folders, %v", len(fs), err)
		}
		if ok, err := s.CanDeposit(ctx, c.ID, dires, law.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("inactive deposit: %v %v", ok, err)
		}
		if cs, err := s.CasesFor(ctx, law.ID); err != nil || len(cs) != 0 {
			t.Errorf("inactive dashboard: %d %v", len(cs), err)
		}
		if _, err := s.Case(ctx, c.ID, law.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("inactive case page: %v", err)
		}
		if _, err := s.Participants(ctx, c.ID, law.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("inactive participants list: %v", err)
		}
		// Only the owner (de)activates, never themself, never across cases.
		if err := s.SetParticipantActive(ctx, c.ID, law.ID, lp.ID, true); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("lawyer reactivating self: %v", err)
		}
		ps, _ := s.Participants(ctx, c.ID, owner.ID)
		if err := s.SetParticipantActive(ctx, c.ID, owner.ID, ps[0].ID, false); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("owner deactivating self: %v", err)
		}
		other := caseAccount(t, s, model.RoleExpert, "Autre")
		c2 := mustCase(t, s, other)
		if err := s.SetParticipantActive(ctx, c2.ID, other.ID, lp.ID, true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("participant of another case: %v", err)
		}
		if err := s.SetParticipantActive(ctx, c.ID, owner.ID, lp.ID, true); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.CanDeposit(ctx, c.ID, dires, law.ID); err != nil || !ok {
			t.Errorf("reactivated lawyer: %v %v", ok, err)
		}
		// An inactive owner changes nothing: simulated by hand, since the
		// store refuses to deactivate an owner.
		if err := s.GormForTest().Model(&model.Participant{}).Where("id = ?", ps[0].ID).Update("active", false).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.StateInProgress, rights.StatePaused); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("inactive owner transition: %v", err)
		}
		if _, err := s.AddParty(ctx, c.ID, owner.ID, &model.Party{Name: "X", DepositMode: "lawyer"}); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("inactive owner adds a party: %v", err)
		}
		if fs, err := s.FoldersReadable(ctx, c.ID, owner.ID); err != nil || len(fs) != 0 {
			t.Errorf("inactive owner reads %d folders, %v", len(fs), err)
		}
	})
}

func TestUnknownCaseOrFolderIsNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, s, owner)
		mustTransition(t, s, c, rights.StateInProgress)
		if _, err := s.FoldersReadable(ctx, 999999, owner.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown case: %v", err)
		}
		if _, err := s.CanDeposit(ctx, c.ID, 999999, owner.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown folder: %v", err)
		}
		if _, err := s.CanDeposit(ctx, 999999, 1, owner.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown case, folder 1: %v", err)
		}
		if _, err := s.TransitionCase(ctx, 999999, owner.ID, rights.StateInProgress, rights.StatePaused); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown case transition: %v", err)
		}
		if _, err := s.Case(ctx, 999999, owner.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown case: %v", err)
		}
		// The same answers for an existing case one does not take part in.
		other := caseAccount(t, s, model.RoleExpert, "Autre")
		if _, err := s.TransitionCase(ctx, c.ID, other.ID, rights.StateInProgress, rights.StatePaused); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider transition: %v", err)
		}
		if _, err := s.AddFolder(ctx, c.ID, other.ID, &model.Folder{Kind: "expert_subfolder", Name: "X"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider folder: %v", err)
		}
		if _, err := s.AddParticipant(ctx, c.ID, other.ID, &model.Participant{AccountID: &other.ID, Role: "co_expert"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("outsider joins: %v", err)
		}
		// A parent folder of another case is unknown too.
		c2 := mustCase(t, s, other)
		f2 := allFolders(t, s, c2.ID)[0]
		if _, err := s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "expert_subfolder", Name: "X", ParentID: &f2.ID}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("parent in another case: %v", err)
		}
		if _, err := s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "final_report", Name: "X"}); !isValidation(err, "kind") {
			t.Errorf("adding a default kind: %v", err)
		}
		if _, err := s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "expert_subfolder", Name: ".."}); !isValidation(err, "name") {
			t.Errorf("folder named '..': %v", err)
		}
	})
}

func TestTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, s, owner)
		co := caseAccount(t, s, model.RoleExpert, "Co Expert")
		mustParticipant(t, s, c, &model.Participant{AccountID: &co.ID, Role: "co_expert"})
		if _, err := s.TransitionCase(ctx, c.ID, co.ID, rights.StateCreation, rights.StateInProgress); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("co-expert transition: %v", err)
		}
		if _, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.StateCreation, rights.StateFinished); !errors.Is(err, store.ErrStateConflict) {
			t.Errorf("creation → finished: %v", err)
		}
		// A stale form: the expert saw the case paused, it is in creation.
		if _, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.StatePaused, rights.StateInProgress); !errors.Is(err, store.ErrStateConflict) {
			t.Errorf("stale from: %v", err)
		}
		if _, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.StateCreation, "bogus"); !errors.Is(err, store.ErrStateConflict) {
			t.Errorf("unknown state: %v", err)
		}
		for _, st := range []rights.CaseState{rights.StateInProgress, rights.StatePaused, rights.StateFinished, rights.StateArchived} {
			got, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.CaseState(c.State), st)
			if err != nil || got.State != string(st) {
				t.Fatalf("→ %s: %+v %v", st, got, err)
			}
			c = got
		}
		if _, err := s.TransitionCase(ctx, c.ID, owner.ID, rights.StateArchived, rights.StateInProgress); !errors.Is(err, store.ErrStateConflict) {
			t.Errorf("archived → in_progress: %v", err)
		}
		if _, err := s.AddParty(ctx, c.ID, owner.ID, &model.Party{Name: "X", DepositMode: "lawyer"}); !errors.Is(err, store.ErrCaseClosed) {
			t.Errorf("party in archived case: %v", err)
		}
		if _, err := s.AddFolder(ctx, c.ID, owner.ID, &model.Folder{Kind: "expert_subfolder", Name: "X"}); !errors.Is(err, store.ErrCaseClosed) {
			t.Errorf("folder in archived case: %v", err)
		}
		got, err := s.Case(ctx, c.ID, owner.ID)
		if err != nil || got.State != "archived" {
			t.Errorf("case = %+v %v", got, err)
		}
	})
}

// Two changes of state at once (two browsers, two instances), both
// confirmed from the state shown: one wins, the other gets
// ErrStateConflict, and the case is in the winner's state.
func TestTransitionRace(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		owner := caseAccount(t, a, model.RoleExpert, "Pierre Durand")
		c := mustCase(t, a, owner)
		mustTransition(t, a, c, rights.StateInProgress)
		rounds := []struct{ x, y rights.CaseState }{
			{rights.StatePaused, rights.StatePaused},       // in_progress: both pause
			{rights.StateInProgress, rights.StateFinished}, // paused: resume or finish
		}
		for r := 0; r < 6; r++ {
			before, err := a.Case(ctx, c.ID, owner.ID)
			if err != nil {
				t.Fatal(err)
			}
			var round struct{ x, y rights.CaseState }
			switch before.State {
			case "in_progress":
				round = rounds[0]
			case "paused":
				round = rounds[1]
			}
			if round.x == "" {
				break
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]error, 2)
			targets := []rights.CaseState{round.x, round.y}
			for i, s := range []*store.Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, results[i] = s.TransitionCase(ctx, c.ID, owner.ID, rights.CaseState(before.State), targets[i])
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			var winner rights.CaseState
			for i, err := range results {
				switch {
				case err == nil:
					wins++
					winner = targets[i]
				case !errors.Is(err, store.ErrStateConflict):
					t.Fatalf("round %d: unexpected error %v", r, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d from %s: %d winners (%v)", r, before.State, wins, results)
			}
			after, err := b.Case(ctx, c.ID, owner.ID)
			if err != nil || after.State != string(winner) {
				t.Fatalf("round %d: state %v, winner %s (%v)", r, after, winner, err)
			}
		}
	})
}

// On PostgreSQL, two transitions that have both read the case in the same
// state before either writes: the conditional UPDATE lets exactly one
// through. (SQLite transactions are exclusive from their start, so there
// the second one reads the new state; TestTransitionRace covers it.)
func TestTransitionConditionalUpdateOnPostgres(t *testing.T) {
	a, b := storetest.OpenPair(t, "postgres")
	ctx := context.Background()
	owner := caseAccount(t, a, model.RoleExpert, "Pierre Durand")
	c := mustCase(t, a, owner)
	mustTransition(t, a, c, rights.StateInProgress)
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	defer store.SetAfterTransitionReadForTest(func() {
		arrived.Done()
		select {
		case <-both: // both have read the case in_progress
		case <-time.After(10 * time.Second):
		}
	})()
	results := make([]error, 2)
	targets := []rights.CaseState{rights.StatePaused, rights.StateFinished}
	var wg sync.WaitGroup
	for i, s := range []*store.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = s.TransitionCase(ctx, c.ID, owner.ID, rights.StateInProgress, targets[i])
		}()
	}
	wg.Wait()
	select {
	case <-both:
	default:
		t.Fatal("the two transitions did not both read before writing")
	}
	wins := 0
	var winner rights.CaseState
	for i, err := range results {
		switch {
		case err == nil:
			wins++
			winner = targets[i]
		case !errors.Is(err, store.ErrStateConflict):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d winners: %v", wins, results)
	}
	got, err := a.Case(ctx, c.ID, owner.ID)
	if err != nil || got.State != string(winner) {
		t.Fatalf("state %+v (winner %s): %v", got, winner, err)
	}
}
