package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// pickedAccount finds, in the directory results of the participants
// page, the account id behind the person's "Ajouter comme" form.
func pickedAccount(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<strong>` + regexp.QuoteMeta(name) + `</strong>[^<]*(?:<span[^>]*>[^<]*</span>)?</p>\s*<form[^>]*>\s*<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="account_id" value="(\d+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no directory result with a form for %s:\n%s", name, page)
	}
	return m[1]
}

// TestPickFromDirectoryCourtCasesAndAccessNotices, through TLS with the
// demo certificates, on both databases:
//   - the expert finds professionals from the participants page by court
//     or name and adds them with the buttons of their results (the account
//     chosen by id; a role the account cannot hold is refused; people
//     already in the case have no button);
//   - a clerk of the court ("Tribunal judiciaire de Rennes" for a case of
//     the "TJ Rennes") sees the case among "Expertises de ma juridiction"
//     without a link while not taking part, and the case page stays
//     refused; a case of another court is not listed; a lawyer has no
//     such list;
//   - deactivating and reactivating the clerk mails them, through SMTP,
//     who did it and whom to contact.
func TestPickFromDirectoryCourtCasesAndAccessNotices(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dir, cfgPath string) {
		setListeners(t)
		r, srv := serveWithSMTP(t, cfgPath)
		pierre := registerExpert(t, r, dir, "expert-pierre-durand", "Pierre Durand", "pierre.durand@experts.test")
		registerExpert(t, r, dir, "experte-anne-moreau", "Anne Moreau", "anne.moreau@experts.test")
		clerk := registerProfessional(t, r, dir, "greffier-julien-bernard", url.Values{"role": {"clerk"}, "display_name": {"Julien Bernard"},
			"email": {"julien.bernard@justice.test"}, "court": {"Tribunal judiciaire de Rennes"}})
		judge := registerProfessional(t, r, dir, "magistrat-claire-martin", url.Values{"role": {"magistrate"}, "display_name": {"Claire Martin"},
			"email": {"claire.martin@justice.test"}, "court": {"TJ de Rennes"}})
		lawyer := registerProfessional(t, r, dir, "avocate-sophie-lefevre", url.Values{"role": {"lawyer"}, "display_name": {"Sophie Lefèvre"},
			"email": {"sophie.lefevre@avocats.test"}, "bar": {"Barreau de Rennes"}})

		_, form := getBody(t, pierre, r.url("portal", "/affaires/nouvelle"))
		csrf := csrfRe.FindStringSubmatch(form)[1]
		mkCase := func(jurisdiction, rg string) string {
			_, body := postForm(t, pierre, r.url("portal", "/affaires"), url.Values{"csrf": {csrf}, "first_applicant": {"Hélène Dupré-Lefèvre"},
				"first_defendant": {"SCI Les Tilleuls"}, "jurisdiction": {jurisdiction}, "rg_number": {rg}, "ordonnance_date": {"2026-10-15"}})
			m := regexp.MustCompile(`/affaires/(\d+)/participants`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no case page:\n%s", body)
			}
			return m[1]
		}
		caseID := mkCase("TJ Rennes", "24/07777")
		mkCase("TJ Nantes", "24/08888")
		base := "/affaires/" + caseID
		page := r.url("portal", base+"/participants")
		if code, body := postForm(t, pierre, r.url("portal", base+"/parties"), url.Values{"csrf": {csrf}, "party_name": {"SCI Les Tilleuls"}, "deposit_mode": {"lawyer"}}); code != 200 ||
			!strings.Contains(body, "La partie a été ajoutée") {
			t.Fatalf("adding the party: %d", code)
		}

		// The search: too short, then by court (accents and case ignored).
		if code, body := getBody(t, pierre, page+"?annuaire=du"); code != 200 || !strings.Contains(body, "Saisissez au moins 3 caractères.") {
			t.Errorf("a two-letter search: %d", code)
		}
		code, body := getBody(t, pierre, page+"?annuaire_juridiction="+url.QueryEscape("RENNÉS"))
		if code != 200 {
			t.Fatalf("directory search: %d", code)
		}
		for _, want := range []string{"Ajouter comme greffier", "Ajouter comme magistrat", "Ajouter comme avocat", "Ajouter comme co-expert",
			"Ajouter comme sapiteur", "Participe déjà à l’expertise."} {
			if !strings.Contains(body, want) {
				t.Errorf("the results lack %q:\n%s", want, body)
			}
		}
		clerkAcc, judgeAcc := pickedAccount(t, body, "Julien Bernard"), pickedAccount(t, body, "Claire Martin")
		lawyerAcc, anneAcc := pickedAccount(t, body, "Sophie Lefèvre"), pickedAccount(t, body, "Anne Moreau")
		partyID := regexp.MustCompile(`name="parties" value="(\d+)"> SCI Les Tilleuls`).FindStringSubmatch(body)
		if partyID == nil {
			t.Fatalf("no party checkbox for the lawyer:\n%s", body)
		}
		if _, body := getBody(t, pierre, page+"?annuaire=lefevre"); !strings.Contains(body, "Sophie Lefèvre") || strings.Contains(body, "Julien Bernard") {
			t.Errorf("search by name: %s", body)
		}

		// Adding by id; the store checks the role against the account.
		add := func(v url.Values) (int, string) {
			v.Set("csrf", csrf)
			v.Set("annuaire_juridiction", "rennes")
			return postForm(t, pierre, page, v)
		}
		for _, bad := range []struct {
			v    url.Values
			want string
		}{
			{url.Values{"account_id": {judgeAcc}, "role": {"lawyer"}}, "Ce compte ne peut pas tenir ce rôle dans une expertise."},
			{url.Values{"account_id": {anneAcc}, "role": {"clerk"}}, "Ce compte ne peut pas tenir ce rôle dans une expertise."},
			{url.Values{"account_id": {lawyerAcc}, "role": {"magistrate"}}, "Ce compte ne peut pas tenir ce rôle dans une expertise."},
			{url.Values{"account_id": {"abc"}, "role": {"clerk"}}, "Ce professionnel n’est pas valide"},
			{url.Values{"account_id": {"999999"}, "role": {"clerk"}}, "Ce compte n’existe pas ou est suspendu."},
		} {
			if code, body := add(bad.v); code != 422 || !strings.Contains(body, htmlEsc(bad.want)) || !strings.Contains(body, "Ajouter comme greffier") {
				t.Errorf("%v: %d, want 422 with %q and the results again", bad.v, code, bad.want)
			}
		}
		if code, body := add(url.Values{"account_id": {judgeAcc}, "role": {"magistrate"}, "supervising": {"1"}}); code != 200 ||
			!strings.Contains(body, "Le participant a été ajouté.") || !strings.Contains(body, "(chargé du contrôle)") {
			t.Errorf("adding the judge: %d", code)
		}
		if code, body := add(url.Values{"account_id": {lawyerAcc}, "role": {"lawyer"}, "parties": {partyID[1]}}); code != 200 ||
			!regexp.MustCompile(`Sophie Lefèvre.*</td><td[^>]*>Avocat</td><td[^>]*>SCI Les Tilleuls</td>`).MatchString(body) {
			t.Errorf("adding the lawyer for the party: %d\n%s", code, body)
		}
		if code, body := add(url.Values{"account_id": {anneAcc}, "role": {"sapiteur"}}); code != 200 || !regexp.MustCompile(`<td[^>]*>Sapiteur</td>`).MatchString(body) {
			t.Errorf("adding Anne Moreau as sapiteur: %d", code)
		}
		if code, body := add(url.Values{"account_id": {judgeAcc}, "role": {"magistrate"}}); code != 422 || !strings.Contains(body, "Cette personne participe déjà à l’expertise.") {
			t.Errorf("adding the judge twice: %d", code)
		}

		// The clerk, not taking part: the case of the court, without a link.
		_, dash := getBody(t, clerk, r.url("portal", "/"))
		if !strings.Contains(dash, "Expertises de ma juridiction") || !strings.Contains(dash, "24/07777") || !strings.Contains(dash, "Pierre Durand") ||
			strings.Contains(dash, `href="`+base+`"`) || strings.Contains(dash, "24/08888") {
			t.Errorf("the clerk's court cases:\n%s", dash)
		}
		if code, _ := getBody(t, clerk, r.url("portal", base)); code != 404 {
			t.Errorf("the clerk opens a case of the court without taking part: %d", code)
		}
		if _, dash := getBody(t, judge, r.url("portal", "/")); !regexp.MustCompile(`<td[^>]*><a href="` + regexp.QuoteMeta(base) + `">`).MatchString(dash) {
			t.Errorf("the judge's court list lacks the link to her case:\n%s", dash)
		}
		if _, dash := getBody(t, lawyer, r.url("portal", "/")); strings.Contains(dash, "Expertises de ma juridiction") {
			t.Errorf("a lawyer's dashboard lists court cases")
		}

		// The clerk joins; deactivation and reactivation are mailed.
		if code, _ := add(url.Values{"account_id": {clerkAcc}, "role": {"clerk"}}); code != 200 {
			t.Fatalf("adding the clerk: %d", code)
		}
		_, body = getBody(t, pierre, page+"?annuaire=bernard")
		if !strings.Contains(body, "Participe déjà à l’expertise.") || strings.Contains(body, "Ajouter comme greffier") {
			t.Errorf("the clerk, now in the case, still has a button")
		}
		m := regexp.MustCompile(`(?s)Julien Bernard.*?/participants/(\d+)/actif`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no activation form for the clerk:\n%s", body)
		}
		toggle := r.url("portal", base+"/participants/"+m[1]+"/actif")
		if code, _ := postForm(t, pierre, toggle, url.Values{"csrf": {csrf}, "active": {"0"}}); code != 200 {
			t.Fatalf("deactivating the clerk: %d", code)
		}
		subject, text, _ := waitSMTP(t, r, srv, "julien.bernard@justice.test", regexp.MustCompile(`retiré l’accès`))
		for _, want := range []string{"Pierre Durand, expert chargé de l’expertise", "RG 24/07777, TJ Rennes", "en qualité de greffier",
			"Vous ne pouvez plus consulter ses documents", "contactez l’expert : Pierre Durand <pierre.durand@experts.test>"} {
			if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
				t.Errorf("deactivation mail lacks %q:\n%s", want, text)
			}
		}
		if !strings.Contains(subject, "vous n’avez plus accès à l’expertise 24/07777") {
			t.Errorf("subject %q", subject)
		}
		if _, dash := getBody(t, clerk, r.url("portal", "/")); !strings.Contains(dash, "24/07777") || strings.Contains(dash, `href="`+base+`"`) {
			t.Errorf("a deactivated clerk: the case should stay listed for the court, without a link")
		}
		if code, _ := postForm(t, pierre, toggle, url.Values{"csrf": {csrf}, "active": {"1"}}); code != 200 {
			t.Fatalf("reactivating the clerk: %d", code)
		}
		subject, text, _ = waitSMTP(t, r, srv, "julien.bernard@justice.test", regexp.MustCompile(`rendu l’accès`))
		if !strings.Contains(subject, "vous avez de nouveau accès à l’expertise 24/07777") || !regexp.MustCompile(`https://localhost:\d+`+base+`\b`).MatchString(text) {
			t.Errorf("reactivation mail %q:\n%s", subject, text)
		}
		if _, dash := getBody(t, clerk, r.url("portal", "/")); !strings.Contains(dash, `href="`+base+`"`) {
			t.Errorf("a reactivated clerk has no link to the case")
		}
		// One mail each way, none to the others.
		n := 0
		for _, msg := range srv.Messages() {
			if _, text := plainText(t, msg.Data); strings.Contains(text, "l’accès à cette expertise") {
				n++
				if msg.To[0] != "julien.bernard@justice.test" {
					t.Errorf("access mail to %v", msg.To)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d access mails, want 2", n)
		}
	})
}
