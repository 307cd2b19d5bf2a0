package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// people registers accounts for the directory tests and remembers their
// ids by display name.
type people struct {
	t   *testing.T
	s   *store.Store
	ids map[string]int64
	n   int
}

func (p *people) add(a model.Account) int64 {
	p.t.Helper()
	p.n++
	if a.Email == "" {
		a.Email = fmt.Sprintf("personne%d@exemple.test", p.n)
	}
	acc, _, err := p.s.Register(context.Background(), &a, &model.AccountCertificate{Fingerprint: fmt.Sprintf("fp-dir-%d", p.n),
		Issuer: "CN=AC", Serial: fmt.Sprint(p.n), Subject: "CN=" + a.DisplayName, NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		p.t.Fatalf("register %s: %v", a.DisplayName, err)
	}
	p.ids[a.DisplayName] = acc.ID
	return acc.ID
}

func expertIn(name, court, specialties string) model.Account {
	return model.Account{Role: model.RoleExpert, Domain: "expert", DisplayName: name, Court: court, Specialties: specialties}
}

func lawyer(name, email, bar, cnbf string) model.Account {
	return model.Account{Role: model.RoleLawyer, Domain: "bar", DisplayName: name, Email: email, Bar: bar, CNBF: cnbf}
}

func justice(role, name, court string) model.Account {
	return model.Account{Role: role, Domain: "justice", DisplayName: name, Court: court}
}

func seedDirectory(t *testing.T, s *store.Store) *people {
	p := &people{t: t, s: s, ids: map[string]int64{}}
	p.add(expertIn("Pierre Durand", "Cour d’appel de Rennes", "Bâtiment, génie civil"))
	p.add(expertIn("ÉLODIE MARTIN", "Cour d'appel de Paris", "Œnologie"))
	p.add(expertIn("Chloé Lefèvre", "Cour d’appel de Rennes", "Médecine légale"))
	p.add(expertIn("Taux Cinquante", "Cour d’appel d’Agen", "Remise de 50% garantie"))
	p.add(expertIn("Taux Cinq Cents", "Cour d’appel d’Agen", "Remise de 500 garantie"))
	p.add(expertIn("Jean_Luc Tiret", "Cour d’appel de Pau", "Comptabilité"))
	p.add(expertIn("Jean-Luc Trait", "Cour d’appel de Pau", "Comptabilité"))
	p.add(expertIn("Antoine Suspendu", "Cour d’appel de Rennes", "Bâtiment"))
	p.add(lawyer("Maître Sophie Durand", "s.durand@cabinet-martin.test", "Barreau de Rennes", "98765"))
	p.add(lawyer("Maître Paul Ng", "paul.ng@avocats.test", "Barreau de Paris", "12345"))
	p.add(justice(model.RoleMagistrate, "Hélène Durand", "Tribunal judiciaire de Rennes"))
	p.add(justice(model.RoleClerk, "Marc Greffe", "Tribunal judiciaire de Rennes"))
	p.add(justice(model.RoleMagistrate, "Anne Juge", "Tribunal judiciaire de Lyon"))
	// Litigants share names and courts with professionals: never listed.
	p.add(model.Account{Role: model.RolePartyMember, Domain: "internal", DisplayName: "Pierre Durand Partie", Court: "Cour d’appel de Rennes", Specialties: "Bâtiment"})
	p.add(model.Account{Role: model.RoleSapiteur, Domain: "internal", DisplayName: "Sapiteur Durand", Court: "Cour d’appel de Rennes", Specialties: "Bâtiment"})
	if err := s.SetSuspended(context.Background(), p.ids["Antoine Suspendu"], true, "test"); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(accs []model.Account) []string {
	out := make([]string, 0, len(accs))
	for _, a := range accs {
		out = append(out, a.DisplayName)
	}
	return out
}

func TestSearchDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedDirectory(t, s)
		cases := []struct {
			name string
			q    model.DirectoryQuery
			want []string
		}{
			{"expert by name", model.DirectoryQuery{Kind: "expert", Text: "durand"}, []string{"Pierre Durand"}},
			{"expert by name, upper case", model.DirectoryQuery{Kind: "expert", Text: "DURAND"}, []string{"Pierre Durand"}},
			{"stored in capitals with accents", model.DirectoryQuery{Kind: "expert", Text: "elodie"}, []string{"ÉLODIE MARTIN"}},
			{"accented query", model.DirectoryQuery{Kind: "expert", Text: "Élodie"}, []string{"ÉLODIE MARTIN"}},
			{"accent stored, none typed", model.DirectoryQuery{Kind: "expert", Text: "chloe lefevre"}, []string{"Chloé Lefèvre"}},
			{"words in any order", model.DirectoryQuery{Kind: "expert", Text: "  lefèvre   CHLOÉ "}, []string{"Chloé Lefèvre"}},
			{"every word must match", model.DirectoryQuery{Kind: "expert", Text: "chloé durand"}, nil},
			{"expert by court", model.DirectoryQuery{Kind: "expert", Court: "rennes"}, []string{"Pierre Durand", "Chloé Lefèvre"}},
			{"typographic apostrophe both ways", model.DirectoryQuery{Kind: "expert", Court: "cour d'appel de rennes"}, []string{"Pierre Durand", "Chloé Lefèvre"}},
			{"straight apostrophe stored", model.DirectoryQuery{Kind: "expert", Court: "d’appel de Paris"}, []string{"ÉLODIE MARTIN"}},
			{"expert by specialty", model.DirectoryQuery{Kind: "expert", Specialty: "batiment"}, []string{"Pierre Durand"}},
			{"ligature", model.DirectoryQuery{Kind: "expert", Specialty: "oenologie"}, []string{"ÉLODIE MARTIN"}},
			{"ligature typed", model.DirectoryQuery{Kind: "expert", Specialty: "ŒNO"}, []string{"ÉLODIE MARTIN"}},
			{"court and specialty", model.DirectoryQuery{Kind: "expert", Court: "rennes", Specialty: "médecine"}, []string{"Chloé Lefèvre"}},
			{"percent is literal", model.DirectoryQuery{Kind: "expert", Specialty: "50%"}, []string{"Taux Cinquante"}},
			{"underscore is literal", model.DirectoryQuery{Kind: "expert", Text: "jean_luc"}, []string{"Jean_Luc Tiret"}},
			{"backslash is literal", model.DirectoryQuery{Kind: "expert", Text: `jean\luc`}, nil},
			{"lawyer by name", model.DirectoryQuery{Kind: "lawyer", Text: "sophie"}, []string{"Maître Sophie Durand"}},
			{"lawyer by email", model.DirectoryQuery{Kind: "lawyer", Text: "CABINET-MARTIN"}, []string{"Maître Sophie Durand"}},
			{"lawyer by CNBF", model.DirectoryQuery{Kind: "lawyer", Text: "12345"}, []string{"Maître Paul Ng"}},
			{"lawyer by bar", model.DirectoryQuery{Kind: "lawyer", Court: "paris"}, []string{"Maître Paul Ng"}},
			{"lawyer name and bar", model.DirectoryQuery{Kind: "lawyer", Text: "durand", Court: "rennes"}, []string{"Maître Sophie Durand"}},
			{"magistrate by name", model.DirectoryQuery{Kind: "justice", Text: "helene"}, []string{"Hélène Durand"}},
			{"magistrates and clerks by court", model.DirectoryQuery{Kind: "justice", Court: "tribunal judiciaire de rennes"}, []string{"Hélène Durand", "Marc Greffe"}},
			{"justice does not list experts", model.DirectoryQuery{Kind: "justice", Court: "cour d’appel"}, nil},
		}
		for _, c := range cases {
			got, err := s.SearchDirectory(context.Background(), c.q)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if !slices.Equal(names(got), c.want) {
				t.Errorf("%s: got %q, want %q", c.name, names(got), c.want)
			}
		}
	})
}

func TestSearchDirectoryNeverListsSuspendedOrLitigants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p := seedDirectory(t, s)
		for _, kind := range []string{"expert", "lawyer", "justice"} {
			for _, q := range []model.DirectoryQuery{{Kind: kind, Text: "dur"}, {Kind: kind, Court: "rennes"}, {Kind: kind, Text: "e a"}} {
				got, err := s.SearchDirectory(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range got {
					if a.ID == p.ids["Antoine Suspendu"] || a.Role == model.RolePartyMember || a.Role == model.RoleSapiteur {
						t.Errorf("%+v listed %s (%s)", q, a.DisplayName, a.Role)
					}
					if a.Phone != "" || a.TermsVersion != "" || a.SuspendedAt != nil {
						t.Errorf("%s: private fields filled", a.DisplayName)
					}
				}
			}
		}
		// Reactivated, the expert is listed again.
		if err := s.SetSuspended(context.Background(), p.ids["Antoine Suspendu"], false, ""); err != nil {
			t.Fatal(err)
		}
		got, err := s.SearchDirectory(context.Background(), model.DirectoryQuery{Kind: "expert", Text: "antoine"})
		if err != nil || !slices.Equal(names(got), []string{"Antoine Suspendu"}) {
			t.Errorf("reactivated: %q %v", names(got), err)
		}
	})
}

func TestSearchDirectoryRefusesBadQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, q := range []model.DirectoryQuery{
			{Kind: "expert"},
			{Kind: "expert", Text: "ab"},
			{Kind: "expert", Text: "  ab  "},
			{Kind: "expert", Text: "durand", Court: "xy"},
			{Kind: "lawyer", Specialty: "bâtiment"},
			{Kind: "party_member", Text: "durand"},
			{Kind: "", Text: "durand"},
			{Kind: "expert", Text: "a b c d e f g"},
			{Kind: "expert", Text: "du\x00rand"},
			{Kind: "expert", Text: "durand", AfterID: 3, BeforeID: 9},
			{Kind: "expert", Text: "durand", AfterID: -1},
		} {
			_, err := s.SearchDirectory(context.Background(), q)
			var v model.ValidationErrors
			if !errors.As(err, &v) {
				t.Errorf("%+v: err = %v, want validation errors", q, err)
			}
		}
	})
}

func TestSearchDirectoryPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p := &people{t: t, s: s, ids: map[string]int64{}}
		var all []int64
		for i := range 25 {
			all = append(all, p.add(expertIn(fmt.Sprintf("Expert Numéro %02d", i), "Cour d’appel de Lyon", "Géotechnique")))
			if i%5 == 0 { // interleave people who do not match
				p.add(expertIn(fmt.Sprintf("Autre %02d", i), "Cour d’appel de Lyon", "Géotechnique"))
			}
		}
		ctx := context.Background()
		page := func(after, before int64) []int64 {
			t.Helper()
			got, err := s.SearchDirectory(ctx, model.DirectoryQuery{Kind: "expert", Text: "numero", AfterID: after, BeforeID: before, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int64, 0, len(got))
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			return ids
		}
		p1 := page(0, 0)
		p2 := page(p1[len(p1)-1], 0)
		// Someone registering between two pages shows up at the end, without
		// shifting what the next page holds.
		late := p.add(expertIn("Expert Numéro tardif", "Cour d’appel de Lyon", "Géotechnique"))
		p3 := page(p2[len(p2)-1], 0)
		if !slices.Equal(p1, all[:10]) || !slices.Equal(p2, all[10:20]) || !slices.Equal(p3, append(slices.Clone(all[20:]), late)) {
			t.Fatalf("pages:\n%v\n%v\n%v\nwant %v then %d", p1, p2, p3, all, late)
		}
		if back := page(0, p3[0]); !slices.Equal(back, p2) {
			t.Errorf("page before the third = %v, want %v", back, p2)
		}
		if back := page(0, p2[0]); !slices.Equal(back, p1) {
			t.Errorf("page before the second = %v, want %v", back, p1)
		}
		if back := page(0, p1[0]); len(back) != 0 {
			t.Errorf("page before the first = %v, want none", back)
		}
		if end := page(late, 0); len(end) != 0 {
			t.Errorf("page after the last = %v", end)
		}
		// The default page length and the cap.
		got, err := s.SearchDirectory(ctx, model.DirectoryQuery{Kind: "expert", Text: "numero"})
		if err != nil || len(got) != model.DirectoryPageSize {
			t.Errorf("default limit: %d results, %v", len(got), err)
		}
	})
}

// The database finds a word exactly where Go would: in the folding of the
// stored text. Random texts over every folded letter, their neighbours in
// ASCII, LIKE and regular expression operators, and other scripts.
func TestDirectoryMatchIsTheSameInGoAndSQL(t *testing.T) {
	alphabet := append(store.FoldRunesForTest(), []rune("aeoszAEOSZ09%_\\.*+?()[]{}^$|'’-@Жж漢")...)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rnd := rand.New(rand.NewPCG(1, 2))
		randomText := func(n int) string {
			out := make([]rune, n)
			for i := range out {
				out[i] = alphabet[rnd.IntN(len(alphabet))]
			}
			return string(out)
		}
		// A word that folds like part of the text, written differently.
		variant := func(text string) string {
			f := []rune(store.FoldForTest(text))
			if len(f) == 0 {
				return "x"
			}
			i := rnd.IntN(len(f))
			j := i + 1 + rnd.IntN(len(f)-i)
			var out []rune
			for _, r := range f[i:j] {
				var same []rune
				for _, c := range alphabet {
					if store.FoldForTest(string(c)) == string(r) {
						same = append(same, c)
					}
				}
				if len(same) > 0 && rnd.IntN(2) == 0 {
					r = same[rnd.IntN(len(same))]
				}
				out = append(out, r)
			}
			return string(out)
		}
		ctx := context.Background()
		checked, found := 0, 0
		for range 400 {
			text := randomText(1 + rnd.IntN(12))
			word := randomText(1 + rnd.IntN(3))
			if rnd.IntN(3) > 0 {
				word = variant(text)
			}
			if strings.ContainsFunc(store.FoldForTest(word), unicode.IsSpace) || store.FoldForTest(word) == "" {
				continue
			}
			want := strings.Contains(store.FoldForTest(text), store.FoldForTest(word))
			got, err := s.MatchesInDatabaseForTest(ctx, text, word)
			if err != nil {
				t.Fatalf("text %q word %q: %v", text, word, err)
			}
			if got != want {
				t.Errorf("text %q (folded %q), word %q (folded %q): database %v, Go %v",
					text, store.FoldForTest(text), word, store.FoldForTest(word), got, want)
			}
			checked++
			if want {
				found++
			}
		}
		if found < checked/3 {
			t.Errorf("only %d matches in %d cases: the test is too weak", found, checked)
		}
		if got := store.FoldForTest("ÉLODIE Lefèvre, Œnologue d’Agen"); got != "elodie lefevre, oenologue d'agen" {
			t.Errorf("fold = %q", got)
		}
	})
}
