package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

func docNames(r *store.SearchResults) []string {
	var out []string
	for _, d := range r.Documents {
		out = append(out, d.FileName)
	}
	slices.Sort(out)
	return out
}

func TestSearchFindsOnlyWhatTheAccountMaySee(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newDocFixture(t, s)
		f.deposit(t, s, "confidential", f.owner, "rapport-secret-éléphant.pdf")
		f.deposit(t, s, "expert_notes", f.owner, "Note ÉLÉPHANT.pdf")
		f.deposit(t, s, "party_dires/M. Martin", f.lawyer, "dire-elephant.pdf")
		outsider := caseAccount(t, s, model.RoleLawyer, "Me Étranger")
		search := func(acc *model.Account, q string) *store.SearchResults {
			t.Helper()
			r, err := s.Search(ctx, acc.ID, q)
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			return r
		}

		// Documents: accents and case ignored, the confidential folder
		// only for the expert.
		if got := docNames(search(f.owner, "elephant")); !slices.Equal(got, []string{"Note ÉLÉPHANT.pdf", "dire-elephant.pdf", "rapport-secret-éléphant.pdf"}) {
			t.Errorf("expert finds %v", got)
		}
		if got := docNames(search(f.memberM, "éléphant")); !slices.Equal(got, []string{"Note ÉLÉPHANT.pdf", "dire-elephant.pdf"}) {
			t.Errorf("member finds %v", got)
		}
		if got := docNames(search(f.memberM, "note elephant")); !slices.Equal(got, []string{"Note ÉLÉPHANT.pdf"}) {
			t.Errorf("every word must match: %v", got)
		}
		if r := search(outsider, "elephant"); len(r.Documents)+len(r.Cases)+len(r.Participants) != 0 {
			t.Errorf("an outsider finds %+v", r)
		}

		// Cases, by name or RG number.
		if r := search(f.memberL, "tilleuls"); len(r.Cases) != 1 || r.Cases[0].ID != f.c.ID {
			t.Errorf("case by name: %+v", r.Cases)
		}
		if r := search(f.memberL, "24/01234"); len(r.Cases) != 1 {
			t.Errorf("case by RG: %+v", r.Cases)
		}
		if r := search(outsider, "tilleuls"); len(r.Cases) != 0 {
			t.Errorf("an outsider finds the case: %+v", r.Cases)
		}

		// Participants, by the name of their account.
		r := search(f.memberM, "dupont")
		if len(r.Participants) != 1 || r.Participants[0].Name != "Me Dupont" || r.Participants[0].CaseID != f.c.ID || !r.Participants[0].HasAccount {
			t.Errorf("participant: %+v", r.Participants)
		}
		if r := search(outsider, "dupont"); len(r.Participants) != 0 {
			t.Errorf("an outsider finds participants: %+v", r.Participants)
		}

		// A deactivated participant no longer finds anything.
		var pid int64
		for _, p := range mustParticipants(t, s, f) {
			if p.AccountID != nil && *p.AccountID == f.memberM.ID {
				pid = p.ID
			}
		}
		if err := s.SetParticipantActive(ctx, f.c.ID, f.owner.ID, pid, false); err != nil {
			t.Fatal(err)
		}
		if r := search(f.memberM, "elephant"); len(r.Documents) != 0 {
			t.Errorf("an inactive participant finds %v", docNames(r))
		}

		// Short queries are refused; LIKE and regexp characters are literal.
		for _, q := range []string{"", "ab", "  a b ", "é"} {
			var v model.ValidationErrors
			if _, err := s.Search(ctx, f.owner.ID, q); !errors.As(err, &v) {
				t.Errorf("search %q: %v, want a validation error", q, err)
			}
		}
		for _, q := range []string{"100%", "a_b_c", `.*\`, "(((", "[é]"} {
			if r, err := s.Search(ctx, f.owner.ID, q); err != nil || len(r.Documents) != 0 {
				t.Errorf("search %q: %v, %v", q, err, r)
			}
		}
	})
}

func mustParticipants(t *testing.T, s *store.Store, f *docFixture) []model.Participant {
	t.Helper()
	ps, err := s.Participants(context.Background(), f.c.ID, f.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
