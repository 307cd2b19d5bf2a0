package portal

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/retrieval"
	"sceau.fr/sceau/templates"
)

// Stand-ins that only make the optional routes mount; no test here calls
// them.
type (
	stubGate      struct{ Gate }
	stubAccounts  struct{ Accounts }
	stubCases     struct{ Cases }
	stubMembers   struct{ CaseMembers }
	stubDocuments struct{ Documents }
	stubBlobs     struct{ blobs.Store }
	stubOrders    struct{ Orders }
)

func apiTestServer(t *testing.T) *Server {
	t.Helper()
	srv, err := New(Config{}, Deps{Templates: templates.MustLoad(),
		Certificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil },
		Gate:        stubGate{}, Accounts: stubAccounts{}, Cases: stubCases{}, Members: stubMembers{},
		Documents: stubDocuments{}, Blobs: stubBlobs{}, Orders: stubOrders{}, Collector: &retrieval.Collector{}})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestAPIRoutesAreDocumented walks the router: every method of every route
// under /api/v1 is in openapi.json, and every operation of openapi.json is
// a route (HEAD goes with GET).
func TestAPIRoutesAreDocumented(t *testing.T) {
	srv := apiTestServer(t)
	varPattern := regexp.MustCompile(`\{([a-z]+):[^}]*\}`)
	routes := map[string]bool{}
	err := srv.Router().Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, "/api/v1/") {
			return nil
		}
		methods, err := rt.GetMethods()
		if err != nil {
			t.Errorf("route %s has no method", tpl)
			return nil
		}
		for _, m := range methods {
			if m != http.MethodHead {
				routes[strings.ToLower(m)+" "+varPattern.ReplaceAllString(tpl, "{$1}")] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 10 {
		t.Fatalf("only %d API routes found: %v", len(routes), routes)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented[m+" "+p] = true
			}
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("openapi.json documents %s, which is no route", d)
		}
	}
}

// TestAPIProblemTitles: every problem code has a French and an English
// title, including every refusal of the certificate gate.
func TestAPIProblemTitles(t *testing.T) {
	for code, tt := range problemTexts {
		if tt[0] == "" || tt[1] == "" || tt[0] == tt[1] {
			t.Errorf("problem %s: titles %q", code, tt)
		}
	}
	for _, k := range certgate.RefusalKinds() {
		if _, ok := problemTexts[k.String()]; !ok {
			t.Errorf("gate refusal %s has no problem title", k)
		}
	}
	for status, code := range statusCodes {
		if _, ok := problemTexts[code]; !ok {
			t.Errorf("status %d: problem %s has no title", status, code)
		}
	}
	for _, to := range browserPages {
		if _, ok := problemTexts[to[0]]; !ok {
			t.Errorf("problem %s has no title", to[0])
		}
	}
}

// TestAPIDepositBodyLimit: the API's upload route, and only it, gets the
// upload limit instead of the generic body limit.
func TestAPIDepositBodyLimit(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/cases/12/folders/3/documents":   true,
		"/api/v1/cases/12/folders/3/documents/":  false,
		"/api/v1/cases/12/documents/3/lock":      false,
		"/api/v1/cases/x/folders/3/documents":    false,
		"/api/v1/cases/12/folders/3/documents/1": false,
	} {
		if got := isAPIDeposit(httptest.NewRequest(http.MethodPost, path, nil)); got != want {
			t.Errorf("isAPIDeposit(POST %s) = %v", path, got)
		}
	}
	if isAPIDeposit(httptest.NewRequest(http.MethodGet, "/api/v1/cases/1/folders/3/documents", nil)) {
		t.Errorf("a GET gets the upload limit")
	}
}

// TestAPIPagination: pages follow ids whatever the store's order, the
// last page has no cursor, and the cursor resists tampering.
func TestAPIPagination(t *testing.T) {
	items := []int64{9, 3, 7, 1, 5}
	id := func(v int64) int64 { return v }
	var got []int64
	p := apiPage{limit: 2}
	for range 10 {
		page := paginate(items, id, id, p)
		got = append(got, page.Items...)
		if page.NextCursor == "" {
			break
		}
		after, ok := decodeCursor(page.NextCursor)
		if !ok {
			t.Fatalf("cursor %q does not decode", page.NextCursor)
		}
		p.after = after
	}
	if !slices.Equal(got, []int64{1, 3, 5, 7, 9}) {
		t.Errorf("walked %v", got)
	}
	if page := paginate(items, id, id, apiPage{limit: 5}); page.NextCursor != "" || len(page.Items) != 5 {
		t.Errorf("exact page: %+v", page)
	}
	if page := paginate([]int64{}, id, id, apiPage{limit: 5}); page.Items == nil {
		t.Errorf("an empty page must encode as [], not null")
	}
	for _, bad := range []string{"", "!!", "djE6", "djE6LTE", "eDoz"} {
		if _, ok := decodeCursor(bad); ok {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

// TestAPIRefusalsAreProblems: under /api/ the pages the middleware would
// draw (refusals, errors) become problem documents with the French texts
// of the page and the English title of the code; registration and terms
// are problems instead of redirects. Elsewhere nothing changes.
func TestAPIRefusalsAreProblems(t *testing.T) {
	srv := apiTestServer(t)
	serve := func(path string, f func(w http.ResponseWriter, r *http.Request)) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		f(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	decode := func(rec *httptest.ResponseRecorder) Problem {
		t.Helper()
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("Content-Type %q: %s", ct, rec.Body)
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rec := serve("/api/v1/cases", func(w http.ResponseWriter, r *http.Request) {
		srv.renderPage(w, r, http.StatusForbidden, "refusal", refusalPage{Code: "account-suspended", Title: "Compte suspendu",
			Message: "Votre compte a été suspendu : radié.", Todo: "Contactez l’administrateur."})
	})
	p := decode(rec)
	if rec.Code != 403 || p.Code != "account-suspended" || p.Title != "Compte suspendu" || p.TitleEN != "Account suspended" ||
		p.Detail != "Votre compte a été suspendu : radié. Contactez l’administrateur." || p.Type != "urn:sceau:problem:account-suspended" {
		t.Errorf("refusal: %d %+v", rec.Code, p)
	}
	rec = serve("/api/v1/cases", func(w http.ResponseWriter, r *http.Request) { srv.renderError(w, r, http.StatusServiceUnavailable) })
	if p := decode(rec); rec.Code != 503 || p.Code != "service-unavailable" || p.TitleEN != "Service unavailable" || p.Detail == "" {
		t.Errorf("error page: %d %+v", rec.Code, p)
	}
	rec = serve("/api/v1/me", func(w http.ResponseWriter, r *http.Request) { srv.redirectBrowser(w, r, "/conditions") })
	if p := decode(rec); rec.Code != 403 || p.Code != "terms-not-accepted" || p.DetailEN == "" {
		t.Errorf("terms: %d %+v", rec.Code, p)
	}
	rec = serve("/", func(w http.ResponseWriter, r *http.Request) { srv.redirectBrowser(w, r, "/conditions") })
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/conditions" {
		t.Errorf("a page: %d %v", rec.Code, rec.Header())
	}
	rec = serve("/affaires/1", func(w http.ResponseWriter, r *http.Request) { srv.renderError(w, r, http.StatusNotFound) })
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("a page's error is %q", rec.Header().Get("Content-Type"))
	}
}
