package portal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/templates"
)

// fakeDirectory searches names in memory, with the store's paging rules.
type fakeDirectory struct {
	accounts []model.Account // ascending ids
	queries  []model.DirectoryQuery
	err      error
}

func (f *fakeDirectory) SearchDirectory(_ context.Context, q model.DirectoryQuery) ([]model.Account, error) {
	f.queries = append(f.queries, q)
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	var out []model.Account
	for _, a := range f.accounts {
		if slices.Contains(q.Roles(), a.Role) && strings.Contains(strings.ToLower(a.DisplayName), strings.ToLower(q.Text)) &&
			(q.AfterID == 0 || a.ID > q.AfterID) && (q.BeforeID == 0 || a.ID < q.BeforeID) {
			out = append(out, a)
		}
	}
	if len(out) > q.Limit {
		if q.BeforeID > 0 {
			out = out[len(out)-q.Limit:]
		} else {
			out = out[:q.Limit]
		}
	}
	return out, nil
}

func directoryServer(t *testing.T, dir Directory) *Server {
	t.Helper()
	srv, err := New(Config{}, Deps{
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Templates:   templates.MustLoad(),
		Certificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errors.New("no TLS in these tests") },
		Directory:   dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

var lawyerAccount = &model.Account{ID: 1, Role: model.RoleLawyer, DisplayName: "Maître Test"}

// getDirectory calls the handler as the member router would, signed in as acc.
func getDirectory(t *testing.T, srv *Server, acc *model.Account, target string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if acc != nil {
		r = r.WithContext(context.WithValue(r.Context(), accountKey{}, acc))
	}
	w := httptest.NewRecorder()
	srv.directory(w, r)
	return w.Code, w.Body.String()
}

func TestDirectoryFirstVisitShowsTheForm(t *testing.T) {
	dir := &fakeDirectory{}
	code, body := getDirectory(t, directoryServer(t, dir), lawyerAccount, "/annuaire")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{`<label for="q">`, `<input id="q" name="q"`, `<label for="juridiction">`, `<label for="specialite">`,
		`<legend>Rechercher parmi</legend>`, `value="expert" checked`, `role="search"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if strings.Contains(body, "Résultats") || strings.Contains(body, "Saisissez") || len(dir.queries) != 0 {
		t.Errorf("a first visit searched or complained (%d queries)", len(dir.queries))
	}
}

func TestDirectoryShortQuery(t *testing.T) {
	for _, target := range []string{
		"/annuaire?type=expert&q=ab",
		"/annuaire?type=expert&q=+%C3%A9a+",
		"/annuaire?type=justice&q=&juridiction=",
		"/annuaire?type=expert&q=durand&juridiction=ab",
		"/annuaire?q=%ff%fe",
	} {
		dir := &fakeDirectory{}
		code, body := getDirectory(t, directoryServer(t, dir), lawyerAccount, target)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Saisissez au moins 3 caractères.") {
			t.Errorf("%s: status %d, message missing", target, code)
		}
		if len(dir.queries) != 0 || strings.Contains(body, "<table") {
			t.Errorf("%s: searched anyway", target)
		}
		if !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("%s: the field in error is not marked", target)
		}
	}
}

func TestDirectoryRendersResultsEscaped(t *testing.T) {
	dir := &fakeDirectory{accounts: []model.Account{
		{ID: 3, Role: model.RoleExpert, DisplayName: "Élodie <b>Martin</b>", Email: "elodie@experts.test",
			Court: "Cour d’appel d’Aix-en-Provence", Specialties: "Bâtiment & génie civil", NationalList: true},
		{ID: 8, Role: model.RoleExpert, DisplayName: "Élodie Durand", Email: "e.durand@experts.test", Court: "Cour d’appel de Rennes", Specialties: "Œnologie"},
		{ID: 9, Role: model.RoleLawyer, DisplayName: "Élodie Avocate", Email: "avocate@barreau.test", Bar: "Barreau de Paris", CNBF: "12345"},
	}}
	srv := directoryServer(t, dir)
	code, body := getDirectory(t, srv, lawyerAccount, "/annuaire?type=expert&q=%C3%A9lodie&juridiction=&specialite=")
	if code != http.StatusOK {
		t.Fatalf("status %d\n%s", code, body)
	}
	for _, want := range []string{
		"Élodie &lt;b&gt;Martin&lt;/b&gt;", "Cour d’appel d’Aix-en-Provence", "Bâtiment &amp; génie civil", "Œnologie", "Liste nationale",
		`<a href="mailto:elodie@experts.test">elodie@experts.test</a>`,
		`<th scope="col">Nom</th>`, `<th scope="col">Cour d’appel</th>`, `<th scope="col">Spécialités</th>`, `<th scope="row">Élodie Durand</th>`,
		"2 professionnels correspondent à votre recherche.", `value="élodie"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("results lack %s", want)
		}
	}
	if strings.Contains(body, "<b>Martin") || strings.Contains(body, "Avocate") || strings.Contains(body, "Page suivante") {
		t.Error("unescaped name, wrong role or a pager on a single page")
	}
	if q := dir.queries[0]; q.Kind != "expert" || q.Text != "élodie" || q.Court != "" || q.AfterID != 0 || q.Limit != model.DirectoryPageSize+1 {
		t.Errorf("query %+v", q)
	}

	// Lawyers: bar and CNBF columns.
	_, body = getDirectory(t, srv, lawyerAccount, "/annuaire?type=lawyer&q=avocate")
	for _, want := range []string{`<th scope="col">Barreau</th>`, `<th scope="col">N° CNBF</th>`, `<td data-label="Barreau">Barreau de Paris</td>`, `<td data-label="N° CNBF">12345</td>`,
		"1 professionnel correspond à votre recherche."} {
		if !strings.Contains(body, want) {
			t.Errorf("lawyer results lack %s", want)
		}
	}
	// Nothing found.
	_, body = getDirectory(t, srv, lawyerAccount, "/annuaire?type=justice&q=personne")
	if !strings.Contains(body, "Aucun professionnel ne correspond à votre recherche.") || strings.Contains(body, "<table") {
		t.Error("no result: missing sentence or an empty table")
	}
}

var hrefRE = regexp.MustCompile(`<a href="([^"]*)" rel="(prev|next)">`)

func pagerLinks(body string) map[string]string {
	out := map[string]string{}
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		out[m[2]] = html.UnescapeString(m[1])
	}
	return out
}

func TestDirectoryPagination(t *testing.T) {
	dir := &fakeDirectory{}
	for i := 1; i <= 45; i++ {
		dir.accounts = append(dir.accounts, model.Account{ID: int64(10 * i), Role: model.RoleExpert,
			DisplayName: fmt.Sprintf("Expert Numéro %02d", i), Email: fmt.Sprintf("e%d@experts.test", i)})
	}
	srv := directoryServer(t, dir)
	rows := func(body string) int { return strings.Count(body, `<th scope="row">`) }

	code, body := getDirectory(t, srv, lawyerAccount, "/annuaire?type=expert&q=num%C3%A9ro&juridiction=")
	links := pagerLinks(body)
	if code != http.StatusOK || rows(body) != 20 || links["prev"] != "" || links["next"] != "/annuaire?apres=200&q=num%C3%A9ro&type=expert" {
		t.Fatalf("page 1: status %d, %d rows, links %v", code, rows(body), links)
	}
	if !strings.Contains(body, "20 résultats sur cette page ; d’autres suivent.") || !strings.Contains(body, "Page suivante") {
		t.Error("page 1: summary or link text")
	}
	_, body = getDirectory(t, srv, lawyerAccount, links["next"])
	links = pagerLinks(body)
	if rows(body) != 20 || links["prev"] != "/annuaire?avant=210&q=num%C3%A9ro&type=expert" || links["next"] != "/annuaire?apres=400&q=num%C3%A9ro&type=expert" {
		t.Fatalf("page 2: %d rows, links %v", rows(body), links)
	}
	if !strings.Contains(body, "Page précédente") || !strings.Contains(body, "Expert Numéro 21") || strings.Contains(body, "Expert Numéro 20<") {
		t.Error("page 2 content")
	}
	next := links["next"]
	_, body = getDirectory(t, srv, lawyerAccount, links["prev"])
	links = pagerLinks(body)
	if rows(body) != 20 || links["prev"] != "" || links["next"] != "/annuaire?apres=200&q=num%C3%A9ro&type=expert" || !strings.Contains(body, "Expert Numéro 01<") {
		t.Fatalf("back to page 1: %d rows, links %v", rows(body), links)
	}
	_, body = getDirectory(t, srv, lawyerAccount, next)
	links = pagerLinks(body)
	if rows(body) != 5 || links["next"] != "" || links["prev"] != "/annuaire?avant=410&q=num%C3%A9ro&type=expert" || !strings.Contains(body, "5 résultats sur cette page.") {
		t.Fatalf("page 3: %d rows, links %v", rows(body), links)
	}
	// A page past the end still offers the way back.
	_, body = getDirectory(t, srv, lawyerAccount, "/annuaire?type=expert&q=numero&apres=450")
	links = pagerLinks(body)
	if rows(body) != 0 || links["prev"] != "/annuaire?avant=451&q=numero&type=expert" || !strings.Contains(body, "Aucun résultat sur cette page.") {
		t.Fatalf("past the end: %d rows, links %v", rows(body), links)
	}
}

func TestDirectoryBadParameters(t *testing.T) {
	cases := []struct {
		target, message string
		status          int
	}{
		{"/annuaire?type=robot&q=durand", "Choisissez le type de professionnel recherché.", http.StatusBadRequest},
		{"/annuaire?type=party_member&q=durand", "Choisissez le type de professionnel recherché.", http.StatusBadRequest},
		{"/annuaire?type=expert&q=durand&apres=abc", "Ce lien de page n’est pas valide", http.StatusBadRequest},
		{"/annuaire?type=expert&q=durand&apres=-3", "Ce lien de page n’est pas valide", http.StatusBadRequest},
		{"/annuaire?type=expert&q=durand&apres=0", "Ce lien de page n’est pas valide", http.StatusBadRequest},
		{"/annuaire?type=expert&q=durand&avant=9223372036854775807", "Ce lien de page n’est pas valide", http.StatusBadRequest},
		{"/annuaire?type=expert&q=durand&apres=99999999999999999999", "Ce lien de page n’est pas valide", http.StatusBadRequest},
		{"/annuaire?type=expert&q=durand&apres=3&avant=9", "Ce lien de page n’est pas valide", http.StatusBadRequest},
		{"/annuaire?type=lawyer&q=durand&specialite=b%C3%A2timent", "La spécialité ne s’applique qu’à la recherche d’experts.", http.StatusUnprocessableEntity},
		{"/annuaire?type=expert&q=du%00rand", "Ce champ contient des caractères non autorisés.", http.StatusUnprocessableEntity},
		{"/annuaire?type=expert&q=" + strings.Repeat("x", 101), "100 caractères au maximum.", http.StatusUnprocessableEntity},
		{"/annuaire?type=expert&q=a+b+c+d+e+f+g", "6 mots au maximum.", http.StatusUnprocessableEntity},
	}
	for _, c := range cases {
		dir := &fakeDirectory{}
		code, body := getDirectory(t, directoryServer(t, dir), lawyerAccount, c.target)
		if code != c.status || !strings.Contains(body, html.EscapeString(c.message)) && !strings.Contains(body, c.message) {
			t.Errorf("%s: status %d (want %d), message %q missing", c.target, code, c.status, c.message)
		}
		if !strings.Contains(body, `<form method="get" action="/annuaire"`) || len(dir.queries) != 0 {
			t.Errorf("%s: no form again, or searched anyway", c.target)
		}
	}
}

func TestDirectoryAccess(t *testing.T) {
	dir := &fakeDirectory{}
	srv := directoryServer(t, dir)
	for _, acc := range []*model.Account{nil, {ID: 2, Role: model.RolePartyMember}, {ID: 3, Role: model.RoleSapiteur}} {
		if code, _ := getDirectory(t, srv, acc, "/annuaire?type=expert&q=durand"); code != http.StatusForbidden {
			t.Errorf("%v: status %d, want 403", acc, code)
		}
	}
	for _, role := range []string{model.RoleMagistrate, model.RoleClerk, model.RoleLawyer, model.RoleExpert} {
		if code, _ := getDirectory(t, srv, &model.Account{ID: 4, Role: role}, "/annuaire?type=expert&q=durand"); code != http.StatusOK {
			t.Errorf("%s: status %d, want 200", role, code)
		}
	}
	if code, _ := getDirectory(t, directoryServer(t, nil), lawyerAccount, "/annuaire"); code != http.StatusNotFound {
		t.Errorf("no directory wired: status %d, want 404", code)
	}
	dir.err = errors.New("connection refused by 10.0.0.7")
	code, body := getDirectory(t, srv, lawyerAccount, "/annuaire?type=expert&q=durand")
	if code != http.StatusServiceUnavailable || strings.Contains(body, "10.0.0.7") {
		t.Errorf("store down: status %d, or the error leaked", code)
	}
}
