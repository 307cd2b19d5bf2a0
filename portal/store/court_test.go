package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// TestCourtKey: the spellings of one court give one key; other courts,
// and the spellings CourtKey does not know, give other keys.
func TestCourtKey(t *testing.T) {
	same := [][]string{
		{"TJ Rennes", "Tribunal judiciaire de Rennes", "TRIBUNAL JUDICIAIRE DE RENNES", "tj de rennes", "  Tribunal  Judiciaire, Rennes "},
		{"CA Rennes", "Cour d’appel de Rennes", "Cour d'appel de Rennes", "COUR D'APPEL DE RENNES", "ca de Rennes"},
		{"TJ Saint-Étienne", "Tribunal judiciaire de Saint Etienne", "TJ St-Etienne"},
		{"Tribunal judiciaire d’Évry", "TJ Evry", "tj d'EVRY"},
		{"TJ Aix-en-Provence", "Tribunal judiciaire d’Aix en Provence"},
		{"Tribunal de commerce de Nantes", "tribunal de commerce de nantes", "Tribunal du commerce de Nantes"},
	}
	for _, group := range same {
		want := store.CourtKey(group[0])
		if want == "" {
			t.Fatalf("CourtKey(%q) is empty", group[0])
		}
		for _, n := range group[1:] {
			if got := store.CourtKey(n); got != want {
				t.Errorf("CourtKey(%q) = %q, want %q (as %q)", n, got, want, group[0])
			}
		}
	}
	if got := store.CourtKey("Tribunal judiciaire de Rennes"); got != "tribunal judiciaire rennes" {
		t.Errorf("key %q", got)
	}
	differ := [][2]string{
		{"TJ Rennes", "CA Rennes"},
		{"TJ Rennes", "TJ Nantes"},
		{"TJ Rennes", "Rennes"},                       // no court named: another key
		{"TJ Rennes", "TGI Rennes"},                   // the old name is not translated
		{"TJ Rennes", "TJ Rennes, 2e chambre civile"}, // a chamber makes another name
		{"Tribunal judiciaire de Paris", "Tribunal judiciaire de Pau"},
	}
	for _, d := range differ {
		if store.CourtKey(d[0]) == store.CourtKey(d[1]) {
			t.Errorf("%q and %q give the same key %q", d[0], d[1], store.CourtKey(d[0]))
		}
	}
	for _, empty := range []string{"", "  ", "— / —", "de la"} {
		if k := store.CourtKey(empty); k != "" {
			t.Errorf("CourtKey(%q) = %q, want empty", empty, k)
		}
	}
}

// TestCourtCases: a magistrate and a clerk see the cases of their court
// however its name was typed, with the expert's name, and nothing of
// other courts; whether they take part decides only the Participant flag
// (the case itself stays refused to them otherwise). Other roles get
// nothing.
func TestCourtCases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		expert := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		judge := caseAccount(t, s, model.RoleMagistrate, "Claire Martin") // Tribunal judiciaire de Rennes
		clerk := caseAccount(t, s, model.RoleClerk, "Julien Bernard")
		lawyer := caseAccount(t, s, model.RoleLawyer, "Sophie Lefèvre")
		mk := func(jurisdiction, rg string) *model.Case {
			c := newCase()
			c.Jurisdiction, c.RGNumber, c.Name = jurisdiction, rg, ""
			out, err := s.CreateCase(ctx, expert, c)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		a := mk("TJ Rennes", "24/00001")
		b := mk("tribunal judiciaire de RENNES", "24/00002")
		mk("TJ Nantes", "24/00003")
		mk("Cour d’appel de Rennes", "24/00004")
		got, err := s.CourtCases(ctx, judge.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID {
			t.Fatalf("the judge's court cases: %+v, want cases %d then %d", got, b.ID, a.ID)
		}
		for _, c := range got {
			if c.ExpertName != "Pierre Durand" || c.Participant || c.RGNumber == "" || c.State != string(rights.StateCreation) || c.OrdonnanceDate.IsZero() {
				t.Errorf("row %+v", c)
			}
		}
		if _, err := s.Case(ctx, a.ID, judge.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a judge of the court reads a case without taking part: %v", err)
		}
		// Taking part: the flag, and the case opens.
		jp := mustParticipant(t, s, a, &model.Participant{Role: string(rights.RoleMagistrate), AccountID: &judge.ID})
		got, _ = s.CourtCases(ctx, judge.ID, 0)
		if len(got) != 2 || got[0].ID != b.ID || got[0].Participant || !got[1].Participant {
			t.Errorf("after joining case %d: %+v", a.ID, got)
		}
		if err := s.SetParticipantActive(ctx, a.ID, expert.ID, jp.ID, false); err != nil {
			t.Fatal(err)
		}
		got, _ = s.CourtCases(ctx, judge.ID, 0)
		if len(got) != 2 || got[1].Participant {
			t.Errorf("deactivated, still flagged: %+v", got)
		}
		if got, _ = s.CourtCases(ctx, judge.ID, 1); len(got) != 1 || got[0].ID != b.ID {
			t.Errorf("limit 1: %+v", got)
		}
		if got, _ := s.CourtCases(ctx, clerk.ID, 0); len(got) != 2 {
			t.Errorf("the clerk sees %d cases, want 2", len(got))
		}
		for _, other := range []*model.Account{expert, lawyer} {
			if got, err := s.CourtCases(ctx, other.ID, 0); err != nil || len(got) != 0 {
				t.Errorf("%s: %d cases (%v), want none", other.Role, len(got), err)
			}
		}
		if got, err := s.CourtCases(ctx, 999999, 0); err != nil || len(got) != 0 {
			t.Errorf("unknown account: %d cases (%v)", len(got), err)
		}
	})
}

// TestJurisdictionKeysFilledAtMigrate: cases created before the column
// existed (key left empty) get their key when the migrations run.
func TestJurisdictionKeysFilledAtMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		expert := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		judge := caseAccount(t, s, model.RoleMagistrate, "Claire Martin")
		c := mustCase(t, s, expert)
		if err := s.GormForTest().Exec(`UPDATE cases SET jurisdiction_key = ''`).Error; err != nil {
			t.Fatal(err)
		}
		if got, _ := s.CourtCases(ctx, judge.ID, 0); len(got) != 0 {
			t.Fatalf("a case without key is listed")
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.CourtCases(ctx, judge.ID, 0); len(got) != 1 || got[0].ID != c.ID {
			t.Errorf("after Migrate: %+v", got)
		}
	})
}

// TestParticipantAccessNotice: deactivating and reactivating a participant
// queues one mail to them in the same transaction, with who did it; a
// repeated change tells nothing; a failing renderer leaves the participant
// as they were; a party member without an account is told at the address
// the expert typed.
func TestParticipantAccessNotice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		expert := caseAccount(t, s, model.RoleExpert, "Pierre Durand")
		clerk := caseAccount(t, s, model.RoleClerk, "Julien Bernard")
		c := mustCase(t, s, expert)
		party := mustParty(t, s, c, "SCI Les Tilleuls", rights.ModeMember)
		cp := mustParticipant(t, s, c, &model.Participant{Role: string(rights.RoleClerk), AccountID: &clerk.ID})
		mp := mustParticipant(t, s, c, &model.Participant{Role: string(rights.RolePartyMember), PartyID: &party.ID,
			DisplayName: "Hélène Dupré", Email: "helene@exemple.fr"})
		var seen []*model.AccessChange
		n := 0
		notify := func(ch *model.AccessChange) (*model.OutboxMessage, error) {
			seen = append(seen, ch)
			n++
			return &model.OutboxMessage{MessageID: fmt.Sprintf("<access-%d-%d@test>", c.ID, n), ToAddress: ch.To.Email, ToName: ch.To.Name,
				Subject: fmt.Sprintf("access %v", ch.Active), TextBody: "x"}, nil
		}
		outbox := func() []model.OutboxMessage {
			var out []model.OutboxMessage
			if err := s.GormForTest().Where("message_id LIKE ?", "<access-%").Order("id").Find(&out).Error; err != nil {
				t.Fatal(err)
			}
			return out
		}
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, cp.ID, false, notify); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 1 || seen[0].To.Email != clerk.Email || seen[0].To.Name != "Julien Bernard" || seen[0].Active ||
			seen[0].ExpertName != "Pierre Durand" || seen[0].ExpertEmail != expert.Email || seen[0].Case.ID != c.ID || seen[0].ParticipantRole != "clerk" {
			t.Fatalf("change told: %+v", seen)
		}
		if m := outbox(); len(m) != 1 || m[0].ToAddress != clerk.Email {
			t.Fatalf("outbox: %+v", m)
		}
		if n, err := s.Notices(ctx, clerk.ID, 0, 10); err != nil || len(n) != 1 || n[0].Kind != model.NoticeAccess {
			t.Fatalf("the clerk's notice history: %+v %v", n, err)
		}
		// Again: nothing changes, nothing is told.
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, cp.ID, false, notify); err != nil || len(seen) != 1 || len(outbox()) != 1 {
			t.Errorf("repeated deactivation: %v, %d told", err, len(seen))
		}
		// A renderer that fails: the clerk stays inactive, nothing queued.
		boom := errors.New("template broken")
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, cp.ID, true, func(*model.AccessChange) (*model.OutboxMessage, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("failing renderer: %v", err)
		}
		if _, err := s.Case(ctx, c.ID, clerk.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the clerk was reactivated although the notice failed: %v", err)
		}
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, cp.ID, true, notify); err != nil {
			t.Fatal(err)
		}
		if m := outbox(); len(m) != 2 || m[1].Subject != "access true" || len(seen) != 2 || !seen[1].Active {
			t.Errorf("reactivation mail: %+v", m)
		}
		if _, err := s.Case(ctx, c.ID, clerk.ID); err != nil {
			t.Errorf("reactivated clerk: %v", err)
		}
		// A party member without an account.
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, mp.ID, false, notify); err != nil {
			t.Fatal(err)
		}
		if m := outbox(); len(m) != 3 || m[2].ToAddress != "helene@exemple.fr" || m[2].ToName != "Hélène Dupré" {
			t.Errorf("party member's mail: %+v", m)
		}
		// Refusals tell nobody: the owner, another expert, an unknown id.
		owner, _ := s.Participants(ctx, c.ID, expert.ID)
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, owner[0].ID, false, notify); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("self-deactivation: %v", err)
		}
		other := caseAccount(t, s, model.RoleExpert, "Anne Moreau")
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, other.ID, cp.ID, false, notify); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another expert: %v", err)
		}
		if err := s.SetParticipantActiveAndNotify(ctx, c.ID, expert.ID, 999999, false, notify); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown participant: %v", err)
		}
		if len(outbox()) != 3 || len(seen) != 3 {
			t.Errorf("a refused change was told: %d mails", len(outbox()))
		}
	})
}
