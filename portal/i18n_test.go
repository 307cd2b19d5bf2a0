package portal

import (
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/useragent"
	"sceau.fr/sceau/templates"
)

// samplePages holds data for every page template, with the handlers' own
// types, filled enough for each page to draw its main parts.
func samplePages() map[string]any {
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	c := &model.Case{ID: 7, Name: "Martin c/ SCI Les Tilleuls", Jurisdiction: "TJ Rennes", RGNumber: "24/01234",
		OrdonnanceDate: day, State: "in_progress", ConsignationDate: &day, OwnerID: 1}
	acc := &model.Account{ID: 1, Role: model.RoleExpert, Domain: "expert", DisplayName: "Claire Expert", Email: "claire@example.org"}
	guides := useragent.Guides()
	errs := model.ValidationErrors{{Field: "email", Message: "Adresse électronique invalide."}, {Field: "case", Message: "Ce champ est obligatoire."}}
	people := []personRow{
		{ID: 1, Name: "Claire Expert", Role: "Expert", Active: true, Owner: true},
		{ID: 2, Name: "Paul Partie", Email: "paul@example.org", Role: "Intervenant (partie)", Parties: "SCI Les Tilleuls", Active: true,
			Orderable: true, CertStatus: "Aucun certificat commandé.", Nonce: "n"},
	}
	return map[string]any{
		"account": accountPage{CSRF: "x", Notice: "Vos choix de notifications sont enregistrés.", Current: "f1", Account: acc,
			Certificates: []model.AccountCertificate{{ID: 1, Fingerprint: "f1", Issuer: "Expert CA", Subject: "Claire Expert", NotAfter: day},
				{ID: 2, Fingerprint: "f2", Issuer: "Expert CA", Subject: "Claire Expert", NotAfter: day}},
			Notifications: &notificationForm{OtherPartiesOffered: true}},
		"case": casePage{CSRF: "x", Case: c, State: "En cours", Owner: true, Journal: true, JournalExport: true,
			Kinds: []option{{"dire", "Dire"}}, Next: []stateChange{{To: "paused", Label: "En pause"}},
			Tree: []folderRow{{ID: 3, Section: "Expert", Name: "Désignation", DepositURL: "/affaires/7/dossiers/3/depot",
				Documents: []documentRow{{ID: 9, Name: "ordonnance.pdf", Kind: "Ordonnance", Depositor: "Claire Expert", At: "14/03/2026",
					Unread: true, PDFA: true, HasCopy: true, Locked: true, LockedAt: "15/03/2026", LockReason: "définitif", CanLock: true}}}}},
		"case_contradictoire": contradictoirePage{CSRF: "x", Case: c},
		"case_edit":           caseEditPage{CSRF: "x", Case: c, Name: c.Name},
		"case_journal":        journalPage{Case: c, Entries: []journalRow{{Seq: 1, At: "14/03/2026", Action: "Dépôt", Who: "Claire"}}},
		"case_new":            caseFormPage{CSRF: "x", Errors: errs},
		"case_participants": participantsPage{CSRF: "x", Notice: "Le participant a été ajouté.", Case: c, Owner: true, NoClerk: true, Paper: true,
			Parties: []partyRow{{ID: 1, Name: "SCI Les Tilleuls", Mode: "Dépôt intervenant"}}, People: people,
			Modes: []option{{"member", "Dépôt intervenant"}}, Roles: []option{{"lawyer", "Avocat"}}, Errors: errs,
			Form: map[string]string{}, Counter: true, CounterLimit: CounterConfig{DefaultValidityDays: 180, MaxValidityDays: 365, DefaultLinkDays: 7, MaxLinkDays: 30, MaxDownloads: 3},
			Directory: &directoryPick{Searched: true, Rows: []pickRow{{AccountID: 4, Name: "Maître Avocat", Role: "Avocat", Lawyer: true,
				Buttons: []option{{"lawyer", "Ajouter comme avocat"}}}}}},
		"case_transition":   transitionPage{CSRF: "x", Case: c, From: "in_progress", To: "paused", FromLabel: "En cours", ToLabel: "En pause"},
		"certificate_link":  linkPage{CSRF: "x", Account: acc, Identity: &certgate.Identity{CommonName: "Claire Expert", IssuerCommonName: "Expert CA", NotAfter: day}},
		"counter":           counterPage{CSRF: "x", Nonce: "n", Step: "code", Name: "Paul Partie", CaseName: c.Name, Expert: "Claire Expert", Expires: "21/03/2026 à 12:00", Error: "Saisissez d’abord le code de retrait.", Guides: guides, Guide: "windows"},
		"counter_delivered": deliveredPage{Name: "Paul Partie", CaseName: c.Name, Password: "K7QM-4TZP", FileName: "certificat.p12", PortalURL: "https://portail.example/", Guide: "windows", NotAfter: "14/09/2026", Bundle: "data:application/x-pkcs12;base64,AA==", Guides: guides},
		"counter_guide":     map[string]any{"Guide": "linux", "Guides": guides, "PortalURL": "https://portail.example/", "FileName": "", "Password": ""},
		"counter_home":      page{},
		"dev_mail":          struct{ Messages []MailboxEntry }{[]MailboxEntry{{Name: "m1", To: "paul@example.org", Subject: "Votre certificat", Date: day}}},
		"dev_mail_message":  struct{ MailboxEntry }{MailboxEntry{Name: "m1", To: "paul@example.org", Subject: "Votre certificat", Text: "Bonjour", Date: day}},
		"directory":         directoryPage{Searched: true, Rows: []directoryRow{{Name: "Maître Avocat", Role: "Avocat"}}},
		"document_receipt":  receiptPage{R: &model.Receipt{DocumentID: 9, CaseID: 7, CaseName: c.Name, FileName: "ordonnance.pdf"}, Kind: "Ordonnance", Role: "Expert", At: "14/03/2026", Size: "1 Ko"},
		"error":             errorPage{Title: "Page introuvable", Message: "Cette page n’existe pas ou plus. Vérifiez l’adresse ou revenez à l’accueil.", RequestID: "abc"},
		"notifications":     noticesPage{Notices: []noticeRow{{Queued: day, Kind: "Dépôt", Summary: "Nouveau document", To: "claire@example.org", State: "envoyé"}}},
		"order_code":        orderPage{CSRF: "x", Case: c, Order: &model.CertificateOrder{ID: 1, Name: "Paul Partie", Email: "paul@example.org"}, Code: "ABCD-EFGH", Expires: "21/03/2026"},
		"portal_home":       page{},
		"portal_welcome": dashboardPage{Name: "Claire Expert", Authority: "Expert CA", NotAfter: day, Professional: true, Expert: true,
			Cases: []caseRow{{ID: 7, Name: c.Name, RG: c.RGNumber, State: "En cours", Ordonnance: day}},
			Court: &courtSection{Court: "TJ Rennes", Rows: []courtCaseRow{{}}, More: true, Shown: 50}},
		"refusal":  refusalPage{Title: "Aucun certificat présenté", Message: "Votre navigateur n’a présenté aucun certificat. L’accès aux espaces d’expertise se fait uniquement avec un certificat électronique installé dans votre navigateur.", Todo: "Choisissez un autre certificat, ou réinstallez le vôtre.", CounterURL: "https://guichet.example/", RequestID: "abc", Accepted: []string{"Justice CA"}},
		"register": registerPage{Authority: "Expert CA", Domain: "expert", CSRF: "x", TermsVersion: "2026-01", Roles: []roleChoice{{"expert", "Expert"}}, Errors: errs},
		"search":   searchPage{Query: "martin", Searched: true, Results: &model.SearchResults{Cases: []model.Case{*c}}, Kinds: kindLabels, Roles: participantRoleLabels, States: stateLabels},
		"terms":    map[string]any{"CSRF": "x", "TermsVersion": "2026-01", "First": true, "Error": "Vous devez accepter les conditions d’utilisation."},
	}
}

// TestPagesInEnglish draws every page through the real template set in
// both languages: no error, the right <html lang>, the switch to the
// other language, no broken format, and English text on the pages that
// are translated.
func TestPagesInEnglish(t *testing.T) {
	set := templates.MustLoad()
	samples := samplePages()
	english := map[string]string{ // page: a text only its English version has
		"account": "My certificates", "case": "Parties and participants", "case_participants": "Add a participant",
		"counter": "Enter the collection code", "counter_delivered": "Copy the password", "counter_guide": "Install your Sceau certificate",
		"counter_home": "Certificate collection counter", "error": "Page not found", "portal_home": "Expert procedures portal",
		"portal_welcome": "Hello Claire Expert", "refusal": "No certificate presented", "terms": "I have read and accept the terms of use.",
		"register": "Create my account", "case_new": "Create the procedure", "case_edit": "Name and deposit of costs",
		"case_transition": "Move the procedure from “In progress” to “Paused”?", "certificate_link": "Link this certificate",
		"order_code": "Write this code down now", "search": "Expert procedures (1)", "directory": "Directory of professionals",
		"document_receipt": "Deposit receipt", "case_journal": "IP address", "case_contradictoire": "No document has been deposited yet.",
		"notifications": "My notifications", "dev_mail": "Emails sent",
	}
	for _, name := range set.PageNames() {
		data, ok := samples[name]
		if !ok {
			t.Errorf("%s: no sample data in samplePages", name)
			continue
		}
		for _, lang := range templates.Langs {
			body, err := set.PageIn(lang, name, data, "/langue?l=x&retour=%2F")
			if err != nil {
				t.Errorf("%s in %s: %v", name, lang, err)
				continue
			}
			html := string(body)
			if !strings.Contains(html, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: no <html lang=%q>", name, lang, lang)
			}
			if strings.Contains(html, "%!") {
				t.Errorf("%s in %s: broken format: %s", name, lang, html[strings.Index(html, "%!")-40:][:80])
			}
			other := map[string]string{templates.French: ">English</a>", templates.English: ">Français</a>"}[lang]
			if !strings.Contains(html, other) {
				t.Errorf("%s in %s: no switch %q", name, lang, other)
			}
			if want, ok := english[name]; ok && lang == templates.English && !strings.Contains(html, want) {
				t.Errorf("%s in English: %q missing", name, want)
			}
			if want, ok := english[name]; ok && lang == templates.French && strings.Contains(html, want) {
				t.Errorf("%s in French: %q present", name, want)
			}
		}
	}
}

func TestAcceptLang(t *testing.T) {
	for h, want := range map[string]string{
		"":                                "fr",
		"*":                               "fr",
		"en":                              "en",
		"en-GB,en;q=0.9":                  "en",
		"fr-FR,fr;q=0.9,en;q=0.8":         "fr",
		"en-US,en;q=0.9,fr;q=0.8":         "en",
		"de-DE,de;q=0.9,en;q=0.7":         "en", // prefers English to French
		"de-DE,de;q=0.9":                  "fr",
		"fr;q=0.5, en;q=0.8":              "en",
		"en;q=0, fr":                      "fr",
		"EN-us":                           "en",
		"es, fr;q=0.9, en;q=0.9":          "fr", // a tie keeps the browser's order
		"en;q=garbage, fr;q=0.1":          "en",
		strings.Repeat("xx,", 200) + "en": "en",
	} {
		if got := acceptLang(h); got != want {
			t.Errorf("acceptLang(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/affaires/7?ok=1": true, "/retrait/guide/linux": true,
		"": false, "https://evil.example/": false, "//evil.example/": false, "/\\evil.example": false,
		"evil.example": false, "/a\r\nSet-Cookie: x": false, "javascript:alert(1)": false, "/%0d%0a": true,
	} {
		if got := localPath(p); got != want {
			t.Errorf("localPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestSwitchLang: the switch remembers the choice in a cookie and goes
// back to a local page only.
func TestSwitchLang(t *testing.T) {
	s := &Server{deps: Deps{Templates: templates.MustLoad()}}
	for _, c := range []struct{ query, cookie, location string }{
		{"l=en&retour=%2Faffaires%2F7%3Fok%3D1", "en", "/affaires/7?ok=1"},
		{"l=fr&retour=%2F", "fr", "/"},
		{"l=en&retour=https%3A%2F%2Fevil.example%2F", "en", "/"},
		{"l=en&retour=%2F%2Fevil.example%2F", "en", "/"},
		{"l=en&retour=%2F%5Cevil.example", "en", "/"},
		{"l=en&retour=%2Flangue%3Fl%3Dfr", "en", "/"},
		{"l=en", "en", "/"},
	} {
		w := httptest.NewRecorder()
		s.switchLang(w, httptest.NewRequest(http.MethodGet, "https://portail.example/langue?"+c.query, nil))
		res := w.Result()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != c.location {
			t.Errorf("%s: %d to %q, want 303 to %q", c.query, res.StatusCode, res.Header.Get("Location"), c.location)
		}
		cookies := res.Cookies()
		if len(cookies) != 1 || cookies[0].Name != langCookie || cookies[0].Value != c.cookie || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].Path != "/" {
			t.Errorf("%s: cookies %v", c.query, cookies)
		}
	}
	w := httptest.NewRecorder()
	s.switchLang(w, httptest.NewRequest(http.MethodGet, "https://portail.example/langue?l=de&retour=%2F", nil))
	if w.Code != http.StatusBadRequest || len(w.Result().Cookies()) != 0 {
		t.Errorf("unknown language: %d, cookies %v", w.Code, w.Result().Cookies())
	}
}

// TestLangSwitchURL: the switch leads back to the page for a GET, to the
// form's page (same origin) for a POST, and is left out when a POST came
// from nowhere known (the counter sends no Referer: the password page
// must not be lost).
func TestLangSwitchURL(t *testing.T) {
	get := httptest.NewRequest(http.MethodGet, "https://portail.example/recherche?q=martin", nil)
	if got, want := langSwitchURL(get), "/langue?l=en&retour=%2Frecherche%3Fq%3Dmartin"; got != want {
		t.Errorf("GET: %q, want %q", got, want)
	}
	get.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	if got, want := langSwitchURL(get), "/langue?l=fr&retour=%2Frecherche%3Fq%3Dmartin"; got != want {
		t.Errorf("GET in English: %q, want %q", got, want)
	}
	post := httptest.NewRequest(http.MethodPost, "https://portail.example/affaires", nil)
	post.Header.Set("Referer", "https://portail.example/affaires/nouvelle")
	if got, want := langSwitchURL(post), "/langue?l=en&retour=%2Faffaires%2Fnouvelle"; got != want {
		t.Errorf("POST: %q, want %q", got, want)
	}
	post.Header.Set("Referer", "https://evil.example/x")
	if got := langSwitchURL(post); got != "" {
		t.Errorf("POST from elsewhere: %q, want none", got)
	}
	collect := httptest.NewRequest(http.MethodPost, "https://guichet.example/retrait/certificat", nil)
	if got := langSwitchURL(collect); got != "" {
		t.Errorf("POST without Referer: %q, want none", got)
	}
}

func TestDirectorySummary(t *testing.T) {
	for _, c := range []struct {
		lang        string
		n           int
		paged, more bool
		want        string
	}{
		{"fr", 0, false, false, "Aucun professionnel ne correspond à votre recherche."},
		{"fr", 3, false, false, "3 professionnels correspondent à votre recherche."},
		{"fr", 1, true, true, "1 résultat sur cette page ; d’autres suivent."},
		{"fr", 20, true, true, "20 résultats sur cette page ; d’autres suivent."},
		{"fr", 7, true, false, "7 résultats sur cette page."},
		{"en", 3, false, false, "3 professionals match your search."},
		{"en", 20, true, true, "20 results on this page; more follow."},
		{"en", 1, true, false, "1 result on this page."},
	} {
		if got := directorySummary(c.lang, c.n, c.paged, c.more); got != c.want {
			t.Errorf("directorySummary(%s, %d, %v, %v) = %q, want %q", c.lang, c.n, c.paged, c.more, got, c.want)
		}
	}
}

// TestRefusalInEnglish: a refusal composed in Go (dates, authority) is
// English for an English reader, French for a French one; the JSON API's
// texts never change language.
func TestRefusalInEnglish(t *testing.T) {
	s := &Server{deps: Deps{Templates: templates.MustLoad()}}
	ref := &certgate.Refusal{Kind: certgate.RefusalExpired, DomainLabel: "AC Justice (TEST)", NotAfter: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	for lang, want := range map[string][]string{
		"en": {`<html lang="en">`, "Certificate expired", "Your certificate expired on 01/02/2026.", "Ask AC Justice (TEST) for a new one, install it"},
		"fr": {`<html lang="fr">`, "Certificat expiré", "Votre certificat a expiré le 01/02/2026.", "Demandez-en un nouveau à AC Justice (TEST), installez-le"},
	} {
		r := httptest.NewRequest(http.MethodGet, "https://portail.example/", nil)
		r.AddCookie(&http.Cookie{Name: langCookie, Value: lang})
		w := httptest.NewRecorder()
		s.renderRefusal(w, r, ref)
		body := html.UnescapeString(w.Body.String())
		for _, part := range want {
			if !strings.Contains(body, part) {
				t.Errorf("%s: no %q in\n%s", lang, part, body)
			}
		}
		if w.Code != http.StatusForbidden || w.Header().Get("Content-Language") != lang {
			t.Errorf("%s: %d, Content-Language %q", lang, w.Code, w.Header().Get("Content-Language"))
		}
	}
	api := httptest.NewRequest(http.MethodGet, "https://portail.example/api/v1/me", nil)
	api.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	api.Header.Set("Accept-Language", "en")
	if got := s.tr(api, "Accès refusé"); got != "Accès refusé" {
		t.Errorf("API text translated: %q", got)
	}
}
